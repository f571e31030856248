//! [`resolver_fn`]: a resolver from a closure that answers at once.

use std::fmt;
use std::sync::Arc;

use super::{KeyError, KeyQuery, KeyRef, KeyResolver, NeverPending, Resolution, VerifyingKey};

/// A resolver from a closure that answers at once.
///
/// ```
/// use std::sync::Arc;
/// use tower_jwt_auth::{resolver_fn, VerifyingKey};
/// use tower_jwt_auth::key::KeyError;
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
