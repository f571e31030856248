//! Keys and key resolution.
//!
//! A [`VerifyingKey`] is bound to exactly one [`Algorithm`]; a token whose `alg` differs is
//! refused, whatever it claims. A [`KeyResolver`] picks the key for a token from its `kid` and
//! `alg`: synchronously when it can (a static key, a [`KeyRing`], a cache hit), asynchronously
//! when it must wait (a remote key set).
//!
//! | resolver | when |
//! | --- | --- |
//! | [`VerifyingKey`] | one key; a token's `kid` must be absent or equal to the key's `kid`, if it has one |
//! | [`KeyRing`] | rotation: keys chosen by `kid`; tokens without `kid` are refused unless a default is named |
//! | [`resolver_fn`] | a closure answering at once |
//! | your own type | anything else, including asynchronous look-ups ([`Resolution::Pending`]) |

#[cfg(feature = "aws-lc")]
pub(crate) mod der;
mod hmac;
pub(crate) mod jwk;
#[cfg(feature = "aws-lc")]
pub(crate) mod public;
mod signing;
#[cfg(feature = "jwks")]
pub(crate) mod snapshot;

use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

pub(crate) use self::hmac::HmacKey;
pub use self::jwk::{Jwk, JwkSet, KeySet, SkippedKey};
pub use self::signing::SigningKey;
use crate::{Algorithm, AuthErrorKind, ConfigError};

/// The longest `kid` accepted in configuration.
const MAX_KID_LEN: usize = 256;

/// A key that verifies signatures of exactly one algorithm.
///
/// ```
/// use tower_jwt_auth::{Algorithm, VerifyingKey};
///
/// let key = VerifyingKey::hs256(b"a secret of at least thirty-two bytes!")?.with_kid("2024-06")?;
/// assert_eq!(key.algorithm(), Algorithm::HS256);
/// assert_eq!(key.kid(), Some("2024-06"));
/// // Secrets shorter than the hash output are refused (RFC 7518 section 3.2).
/// assert!(VerifyingKey::hs256(b"too short").is_err());
/// # Ok::<(), tower_jwt_auth::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct VerifyingKey {
    alg: Algorithm,
    kid: Option<Box<str>>,
    /// The one issuer whose tokens this key may verify (a key discovered for an issuer).
    issuer: Option<Box<str>>,
    material: Material,
}

// The pre-keyed HMAC state is kept inline: it is read on every HS verification.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
pub(crate) enum Material {
    Hmac(HmacKey),
    #[cfg(feature = "aws-lc")]
    Public(public::PublicKey),
}

impl VerifyingKey {
    /// An HS256 key. The secret must be at least 32 bytes.
    ///
    /// # Errors
    /// [`ConfigError::KeyTooShort`] for a shorter secret.
    pub fn hs256(secret: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        Self::hmac(Algorithm::HS256, secret)
    }

    /// An HS384 key. The secret must be at least 48 bytes.
    ///
    /// # Errors
    /// [`ConfigError::KeyTooShort`] for a shorter secret.
    pub fn hs384(secret: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        Self::hmac(Algorithm::HS384, secret)
    }

    /// An HS512 key. The secret must be at least 64 bytes.
    ///
    /// # Errors
    /// [`ConfigError::KeyTooShort`] for a shorter secret.
    pub fn hs512(secret: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        Self::hmac(Algorithm::HS512, secret)
    }

    /// An HMAC key for `alg` (which must be one of the HS algorithms).
    ///
    /// # Errors
    /// [`ConfigError::KeyTooShort`] when the secret is shorter than the hash output.
    pub fn hmac(alg: Algorithm, secret: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        Ok(Self {
            alg,
            kid: None,
            issuer: None,
            material: Material::Hmac(HmacKey::new(alg, secret.as_ref())?),
        })
    }

    pub(crate) fn from_parts(alg: Algorithm, kid: Option<Box<str>>, material: Material) -> Self {
        Self {
            alg,
            kid,
            issuer: None,
            material,
        }
    }

    /// A public key from PEM (`PUBLIC KEY`, `RSA PUBLIC KEY` or `CERTIFICATE`) or DER
    /// (SubjectPublicKeyInfo, PKCS#1 `RSAPublicKey` or certificate), bound to the algorithm its
    /// kind implies: EC keys by curve (P-256 → ES256, P-384 → ES384, P-521 → ES512), Ed25519 →
    /// EdDSA, RSA → RS256 (see [`with_algorithm`](Self::with_algorithm) for the others).
    ///
    /// # Errors
    /// [`ConfigError::InvalidKey`] for an unreadable, unsupported or weak key (RSA under 2048
    /// bits, an even modulus, exponent 1, a point off its curve).
    #[cfg(feature = "aws-lc")]
    #[cfg_attr(docsrs, doc(cfg(feature = "aws-lc")))]
    pub fn from_public_key(bytes: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        let parts = der::parse_public(bytes.as_ref())?;
        let alg = public::default_algorithm(&parts);
        Self::public(alg, parts)
    }

    #[cfg(feature = "aws-lc")]
    pub(crate) fn public(alg: Algorithm, parts: der::PublicParts) -> Result<Self, ConfigError> {
        Ok(Self {
            alg,
            kid: None,
            issuer: None,
            material: Material::Public(public::PublicKey::new(alg, parts)?),
        })
    }

    /// Rebinds a public key to another algorithm of its kind (an RSA key to PS256, say).
    ///
    /// # Errors
    /// [`ConfigError::WrongKeyType`] when `alg` does not fit the key (ES384 for a P-256 key, any
    /// change of an HMAC key's algorithm).
    pub fn with_algorithm(self, alg: Algorithm) -> Result<Self, ConfigError> {
        if alg == self.alg {
            return Ok(self);
        }
        match self.material {
            Material::Hmac(_) => Err(ConfigError::WrongKeyType { algorithm: alg }),
            #[cfg(feature = "aws-lc")]
            Material::Public(key) => {
                let mut rebound = Self::public(alg, key.parts().clone())?;
                rebound.kid = self.kid;
                rebound.issuer = self.issuer;
                Ok(rebound)
            }
        }
    }

    /// The public key's parts, for JWK export and thumbprints (`None` for HMAC keys).
    #[cfg(feature = "aws-lc")]
    pub(crate) fn public_parts(&self) -> Option<&der::PublicParts> {
        match &self.material {
            Material::Hmac(_) => None,
            Material::Public(key) => Some(key.parts()),
        }
    }

    /// Names the key, for key rings and for the `kid` check of a static key.
    ///
    /// # Errors
    /// [`ConfigError::InvalidKeyId`] for an empty `kid` or one over 256 bytes.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Result<Self, ConfigError> {
        self.kid = Some(check_kid(kid.into())?);
        Ok(self)
    }

    /// Binds the key to one issuer: a token it verifies must carry `iss` equal to `issuer`,
    /// whatever [`Validation`](crate::Validation) it is checked under. Keys a
    /// [`JwksResolver::oidc`](crate::JwksResolver::oidc) discovers are bound to their issuer, so
    /// that a key set serving several tenants never lets one tenant's token pass as another's.
    ///
    /// ```
    /// use tower_jwt_auth::{AuthErrorKind, SigningKey, Validation};
    ///
    /// let signing = SigningKey::hs256([3u8; 32])?;
    /// let key = signing.verifying_key().with_issuer("https://tenant-a.example.com")?;
    /// let exp = tower_jwt_auth::NumericDate::now().as_secs() + 60;
    /// let other = signing.sign(&serde_json::json!({"iss": "https://tenant-b.example.com", "exp": exp}))?;
    /// let err = Validation::new().verify::<serde_json::Value>(&other, &key).unwrap_err();
    /// assert_eq!(err.kind(), AuthErrorKind::InvalidIssuer);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`ConfigError::EmptyValue`] for an empty issuer.
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Result<Self, ConfigError> {
        let issuer = issuer.into();
        if issuer.is_empty() {
            return Err(ConfigError::EmptyValue("issuer"));
        }
        self.issuer = Some(issuer.into_boxed_str());
        Ok(self)
    }

    /// [`with_issuer`](Self::with_issuer) for an issuer already known to be non-empty.
    #[cfg(feature = "jwks")]
    pub(crate) fn bound_to(mut self, issuer: &str) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// The issuer this key is bound to, if any (see [`with_issuer`](Self::with_issuer)).
    #[must_use]
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// The bound issuer as a one-element list, the shape the claims reader matches against.
    pub(crate) fn issuer_list(&self) -> Option<&[Box<str>]> {
        self.issuer.as_ref().map(std::slice::from_ref)
    }

    #[cfg(feature = "aws-lc")]
    pub(crate) fn material_clone(&self) -> Material {
        self.material.clone()
    }

    /// The one algorithm this key verifies.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The key's `kid`, if it has one.
    #[must_use]
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Checks the signature of a compact JWS's signing input; the caller has already checked
    /// that the token's `alg` is this key's.
    pub(crate) fn verify_signature(&self, signing_input: &[u8], signature_b64: &str) -> bool {
        match &self.material {
            Material::Hmac(k) => k.verify(signing_input, signature_b64),
            #[cfg(feature = "aws-lc")]
            Material::Public(k) => k.verify(signing_input, signature_b64),
        }
    }
}

pub(crate) fn check_kid(kid: String) -> Result<Box<str>, ConfigError> {
    if kid.is_empty() || kid.len() > MAX_KID_LEN {
        return Err(ConfigError::InvalidKeyId);
    }
    Ok(kid.into_boxed_str())
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("issuer", &self.issuer)
            .field("material", &"<redacted>")
            .finish()
    }
}

/// What a resolver is asked: the token's `alg` (already known to be supported) and `kid`.
///
/// The `kid` is an opaque string from an unverified header: compare it, never use it as a path,
/// a query or a URL.
#[derive(Clone, Copy, Debug)]
pub struct KeyQuery<'a> {
    alg: Algorithm,
    kid: Option<&'a str>,
}

impl<'a> KeyQuery<'a> {
    /// A query, for testing resolvers.
    #[must_use]
    pub const fn new(alg: Algorithm, kid: Option<&'a str>) -> Self {
        Self { alg, kid }
    }

    /// The token's `alg`. A resolver may use it to narrow its choice; the verifier checks it
    /// against the chosen key's algorithm regardless.
    #[must_use]
    pub const fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The token's `kid`, if any.
    #[must_use]
    pub const fn kid(&self) -> Option<&'a str> {
        self.kid
    }
}

/// A resolved key: borrowed from the resolver (no reference counting on the fast path) or
/// shared.
///
/// ```
/// use std::sync::Arc;
/// use tower_jwt_auth::{KeyRef, VerifyingKey};
///
/// let key = VerifyingKey::hs256([5u8; 32])?;
/// assert_eq!(KeyRef::borrowed(&key).algorithm(), key.algorithm());
/// let shared = KeyRef::shared(Arc::new(key.clone()));
/// assert_eq!(shared.kid(), None);
/// # Ok::<(), tower_jwt_auth::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct KeyRef<'r> {
    held: Held<'r>,
}

#[derive(Clone, Debug)]
enum Held<'r> {
    Borrowed(&'r VerifyingKey),
    Shared(Arc<VerifyingKey>),
    /// A key of a fetched set's current snapshot, held without touching any reference count
    /// shared between threads.
    #[cfg(feature = "jwks")]
    Cached(snapshot::CachedKey),
}

impl<'r> KeyRef<'r> {
    /// A key the resolver owns.
    #[must_use]
    pub const fn borrowed(key: &'r VerifyingKey) -> Self {
        Self {
            held: Held::Borrowed(key),
        }
    }

    /// A key shared with others (a closure's answer).
    #[must_use]
    pub const fn shared(key: Arc<VerifyingKey>) -> Self {
        Self {
            held: Held::Shared(key),
        }
    }

    #[cfg(feature = "jwks")]
    pub(crate) const fn cached(key: snapshot::CachedKey) -> Self {
        Self {
            held: Held::Cached(key),
        }
    }
}

impl Deref for KeyRef<'_> {
    type Target = VerifyingKey;
    fn deref(&self) -> &VerifyingKey {
        match &self.held {
            Held::Borrowed(k) => k,
            Held::Shared(k) => k,
            #[cfg(feature = "jwks")]
            Held::Cached(k) => k,
        }
    }
}

/// A resolver's answer: now, or later.
#[derive(Debug)]
pub enum Resolution<'r, F> {
    /// The answer is known without waiting.
    Ready(Result<KeyRef<'r>, KeyError>),
    /// The answer needs waiting for `F`.
    Pending(F),
}

/// Finds the key for a token.
///
/// Resolvers take `&self`: a resolver is shared by every request and synchronizes internally.
/// Answer [`Resolution::Ready`] whenever possible; the middleware then verifies the token and
/// calls the inner service in the same `call`, with no allocation and no boxing.
///
/// ```
/// use std::sync::Arc;
/// use tower_jwt_auth::{KeyError, KeyQuery, KeyRef, KeyResolver, NeverPending, Resolution, VerifyingKey};
///
/// /// Picks a key by tenant prefix in the `kid`.
/// struct Tenants { a: VerifyingKey, b: VerifyingKey }
///
/// impl KeyResolver for Tenants {
///     type Future = NeverPending;
///     fn resolve(&self, query: &KeyQuery<'_>) -> Resolution<'_, NeverPending> {
///         Resolution::Ready(match query.kid() {
///             Some(kid) if kid.starts_with("a:") => Ok(KeyRef::borrowed(&self.a)),
///             Some(kid) if kid.starts_with("b:") => Ok(KeyRef::borrowed(&self.b)),
///             _ => Err(KeyError::unknown_key()),
///         })
///     }
/// }
/// ```
pub trait KeyResolver {
    /// The future of the asynchronous path; [`NeverPending`] for resolvers that always answer at
    /// once.
    type Future: Future<Output = Result<Arc<VerifyingKey>, KeyError>>;

    /// Finds the key for `query`.
    fn resolve(&self, query: &KeyQuery<'_>) -> Resolution<'_, Self::Future>;
}

impl<K: KeyResolver + ?Sized> KeyResolver for Arc<K> {
    type Future = K::Future;
    fn resolve(&self, query: &KeyQuery<'_>) -> Resolution<'_, Self::Future> {
        (**self).resolve(query)
    }
}

/// One static key. A token's `kid`, when both it and the key have one, must match.
impl KeyResolver for VerifyingKey {
    type Future = NeverPending;
    fn resolve(&self, query: &KeyQuery<'_>) -> Resolution<'_, NeverPending> {
        Resolution::Ready(match (query.kid(), self.kid()) {
            (Some(asked), Some(mine)) if asked != mine => Err(KeyError::unknown_key()),
            _ => Ok(KeyRef::borrowed(self)),
        })
    }
}

/// A resolver chosen at run time: either side's answer.
impl<A: KeyResolver, B: KeyResolver> KeyResolver for crate::Either<A, B> {
    type Future = crate::either::EitherFuture<A::Future, B::Future>;
    fn resolve(&self, query: &KeyQuery<'_>) -> Resolution<'_, Self::Future> {
        match self {
            Self::Left(a) => match a.resolve(query) {
                Resolution::Ready(key) => Resolution::Ready(key),
                Resolution::Pending(f) => Resolution::Pending(crate::either::EitherFuture::left(f)),
            },
            Self::Right(b) => match b.resolve(query) {
                Resolution::Ready(key) => Resolution::Ready(key),
                Resolution::Pending(f) => Resolution::Pending(crate::either::EitherFuture::right(f)),
            },
        }
    }
}

/// The future of resolvers that never wait: it cannot be constructed.
#[derive(Debug)]
pub enum NeverPending {}

impl Future for NeverPending {
    type Output = Result<Arc<VerifyingKey>, KeyError>;
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Self::Output> {
        match *self.get_mut() {}
    }
}

/// Why a resolver could not provide a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeyError {
    kind: KeyErrorKind,
}

/// The kinds of [`KeyError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyErrorKind {
    /// No key matches the token (answered with 401 `invalid_token`).
    UnknownKey,
    /// The key source cannot answer now (answered with 503).
    Unavailable,
}

impl KeyError {
    /// No key matches the token.
    #[must_use]
    pub const fn unknown_key() -> Self {
        Self {
            kind: KeyErrorKind::UnknownKey,
        }
    }

    /// The key source is unavailable.
    #[must_use]
    pub const fn unavailable() -> Self {
        Self {
            kind: KeyErrorKind::Unavailable,
        }
    }

    /// What went wrong.
    #[must_use]
    pub const fn kind(&self) -> KeyErrorKind {
        self.kind
    }
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.kind {
            KeyErrorKind::UnknownKey => "no key matches the token",
            KeyErrorKind::Unavailable => "the key source is unavailable",
        })
    }
}

impl std::error::Error for KeyError {}

impl From<KeyError> for AuthErrorKind {
    fn from(e: KeyError) -> Self {
        match e.kind {
            KeyErrorKind::UnknownKey => Self::UnknownKey,
            KeyErrorKind::Unavailable => Self::KeyUnavailable,
        }
    }
}

impl From<KeyError> for crate::AuthError {
    fn from(e: KeyError) -> Self {
        Self::new(e.into())
    }
}

/// Keys selected by `kid`, for rotation: publish tokens under a new `kid` while the old key
/// still verifies the tokens already issued, then drop it.
///
/// Policy for tokens **without** a `kid`: refused ([`AuthErrorKind::UnknownKey`]) unless a
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
}

/// A resolver from a closure that answers at once.
///
/// ```
/// use std::sync::Arc;
/// use tower_jwt_auth::{resolver_fn, KeyError, VerifyingKey};
///
/// let key = Arc::new(VerifyingKey::hs256([9u8; 32])?);
/// let resolver = resolver_fn(move |query| match query.kid() {
///     Some("main") => Ok(Arc::clone(&key)),
///     _ => Err(KeyError::unknown_key()),
/// });
/// # let _ = resolver;
/// # Ok::<(), tower_jwt_auth::ConfigError>(())
/// ```
pub fn resolver_fn<F>(f: F) -> FnResolver<F>
where
    F: Fn(&KeyQuery<'_>) -> Result<Arc<VerifyingKey>, KeyError>,
{
    FnResolver(f)
}

/// The resolver made by [`resolver_fn`].
#[derive(Clone, Copy)]
pub struct FnResolver<F>(F);

impl<F> fmt::Debug for FnResolver<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FnResolver(<fn>)")
    }
}

impl<F> KeyResolver for FnResolver<F>
where
    F: Fn(&KeyQuery<'_>) -> Result<Arc<VerifyingKey>, KeyError>,
{
    type Future = NeverPending;
    fn resolve(&self, query: &KeyQuery<'_>) -> Resolution<'_, NeverPending> {
        Resolution::Ready((self.0)(query).map(KeyRef::shared))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready<F>(r: Resolution<'_, F>) -> Result<Option<String>, KeyError> {
        match r {
            Resolution::Ready(k) => k.map(|k| k.kid().map(str::to_owned)),
            Resolution::Pending(_) => panic!("pending"),
        }
    }

    #[test]
    fn a_static_key_checks_the_kid_only_when_both_have_one() {
        let anonymous = VerifyingKey::hs256([1u8; 32]).unwrap();
        let named = anonymous.clone().with_kid("k1").unwrap();
        let q = |kid| KeyQuery::new(Algorithm::HS256, kid);
        assert!(ready(anonymous.resolve(&q(Some("anything")))).is_ok());
        assert!(ready(named.resolve(&q(None))).is_ok());
        assert!(ready(named.resolve(&q(Some("k1")))).is_ok());
        assert_eq!(ready(named.resolve(&q(Some("k2")))), Err(KeyError::unknown_key()));
    }

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

    #[test]
    fn debug_output_never_shows_key_material() {
        let key = VerifyingKey::hs256(b"super-secret-value-that-is-32-bytes!!").unwrap();
        let shown = format!("{key:?}");
        assert!(!shown.contains("super"), "{shown}");
        assert!(shown.contains("redacted"));
    }
}
