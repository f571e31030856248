//! [`KeyRing`]: keys selected by `kid`, for rotation.

use std::sync::Arc;

use super::{KeyError, KeyQuery, KeyRef, KeyResolver, NeverPending, Resolution, VerifyingKey};
use crate::ConfigError;

/// Keys selected by `kid`, for rotation: publish tokens under a new `kid` while the old key
/// still verifies the tokens already issued, then drop it.
///
/// Policy for tokens **without** a `kid`: refused ([`AuthErrorKind::UnknownKey`](crate::AuthErrorKind::UnknownKey)) unless a
/// default key is named with [`KeyRing::with_default_kid`].
///
/// ```
/// use tower_jwt_auth::{KeyRing, VerifyingKey};
///
/// let ring = KeyRing::new([
///     VerifyingKey::hs256([1u8; 32])?.with_kid("2024-05")?,
///     VerifyingKey::hs256([2u8; 32])?.with_kid("2024-06")?,
/// ])?
/// .with_default_kid("2024-06")?;
/// assert_eq!(ring.len(), 2);
/// # Ok::<(), tower_jwt_auth::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct KeyRing {
    keys: Arc<[VerifyingKey]>,
    default: Option<usize>,
}

impl KeyRing {
    /// A ring of keys, each with a distinct `kid`.
    ///
    /// # Errors
    /// [`ConfigError::MissingKeyId`] for a key without `kid`, [`ConfigError::DuplicateKeyId`]
    /// for two keys with the same one.
    pub fn new(keys: impl IntoIterator<Item = VerifyingKey>) -> Result<Self, ConfigError> {
        let keys: Vec<VerifyingKey> = keys.into_iter().collect();
        for (i, key) in keys.iter().enumerate() {
            let kid = key.kid().ok_or(ConfigError::MissingKeyId)?;
            if keys.iter().take(i).any(|k| k.kid() == Some(kid)) {
                return Err(ConfigError::DuplicateKeyId);
            }
        }
        Ok(Self {
            keys: keys.into(),
            default: None,
        })
    }

    /// Tokens without a `kid` are verified with the key named `kid` (by default they are
    /// refused).
    ///
    /// # Errors
    /// [`ConfigError::UnknownDefaultKey`] if the ring has no such key.
    pub fn with_default_kid(mut self, kid: &str) -> Result<Self, ConfigError> {
        let index = self
            .keys
            .iter()
            .position(|k| k.kid() == Some(kid))
            .ok_or(ConfigError::UnknownDefaultKey)?;
        self.default = Some(index);
        Ok(self)
    }

    /// The number of keys.
    #[must_use]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the ring is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

impl KeyResolver for KeyRing {
    type Future = NeverPending;
    fn resolve(&self, query: &KeyQuery<'_>) -> Resolution<'_, NeverPending> {
        let found = match query.kid() {
            Some(kid) => self.keys.iter().find(|k| k.kid() == Some(kid)),
            None => self.default.and_then(|i| self.keys.get(i)),
        };
        Resolution::Ready(found.map(KeyRef::borrowed).ok_or(KeyError::unknown_key()))
    }

    fn resolves_locally(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::resolver::ready_kid as ready;
    use crate::Algorithm;

    #[test]
    fn a_key_ring_selects_by_kid_and_refuses_tokens_without_one_by_default() {
        let ring = KeyRing::new([
            VerifyingKey::hs256([1u8; 32]).unwrap().with_kid("a").unwrap(),
            VerifyingKey::hs256([2u8; 32]).unwrap().with_kid("b").unwrap(),
        ])
        .unwrap();
        let q = |kid| KeyQuery::new(Algorithm::HS256, kid);
        assert_eq!(ready(ring.resolve(&q(Some("b")))), Ok(Some("b".into())));
        assert_eq!(ready(ring.resolve(&q(Some("c")))), Err(KeyError::unknown_key()));
        assert_eq!(ready(ring.resolve(&q(None))), Err(KeyError::unknown_key()));
        let ring = ring.with_default_kid("a").unwrap();
        assert_eq!(ready(ring.resolve(&q(None))), Ok(Some("a".into())));
    }

    #[test]
    fn key_ring_configuration_mistakes_are_errors() {
        let k = || VerifyingKey::hs256([1u8; 32]).unwrap();
        assert_eq!(KeyRing::new([k()]).unwrap_err(), ConfigError::MissingKeyId);
        assert_eq!(
            KeyRing::new([k().with_kid("a").unwrap(), k().with_kid("a").unwrap()]).unwrap_err(),
            ConfigError::DuplicateKeyId
        );
        let ring = KeyRing::new([k().with_kid("a").unwrap()]).unwrap();
        assert_eq!(
            ring.with_default_kid("z").unwrap_err(),
            ConfigError::UnknownDefaultKey
        );
        assert_eq!(k().with_kid("").unwrap_err(), ConfigError::InvalidKeyId);
        assert_eq!(
            k().with_kid("x".repeat(257)).unwrap_err(),
            ConfigError::InvalidKeyId
        );
    }
}
