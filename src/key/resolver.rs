//! [`KeyResolver`]: how the middleware finds the key for a token, and what a resolver answers
//! ([`Resolution`], [`KeyRef`], [`KeyError`]); the static key and [`Either`](crate::Either)
//! as resolvers.

use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

#[cfg(feature = "jwks")]
use super::snapshot;
use super::VerifyingKey;
use crate::either::EitherFuture;
use crate::{Algorithm, AuthErrorKind, Either};

/// What a resolver is asked: the token's `alg` (already known to be supported), `kid`, and,
/// for a resolver that [wants it](KeyResolver::wants_issuer), `iss`.
///
/// The `kid` and `iss` are opaque strings from an unverified token: compare them, never use
/// them as a path, a query or a URL.
#[derive(Clone, Copy, Debug)]
pub struct KeyQuery<'a> {
    alg: Algorithm,
    kid: Option<&'a str>,
    iss: Option<&'a str>,
}

impl<'a> KeyQuery<'a> {
    /// A query, for testing resolvers.
    #[must_use]
    pub const fn new(alg: Algorithm, kid: Option<&'a str>) -> Self {
        Self { alg, kid, iss: None }
    }

    /// The same query with the token's unverified `iss`.
    #[must_use]
    pub const fn with_issuer(self, iss: Option<&'a str>) -> Self {
        Self { iss, ..self }
    }

    /// The token's `iss` as the token claims it, before any verification: only to choose a key
    /// source. Read only for resolvers that [want it](KeyResolver::wants_issuer); `None`
    /// otherwise, and when the token has no string `iss`.
    #[must_use]
    pub const fn issuer(&self) -> Option<&'a str> {
        self.iss
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
/// use tower_jwt_auth::VerifyingKey;
/// use tower_jwt_auth::key::KeyRef;
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

    /// The same key, no longer borrowing the resolver: shared and cached keys as they are, a
    /// borrowed one cloned.
    #[cfg(feature = "jwks")]
    pub(crate) fn into_owned(self) -> KeyRef<'static> {
        let held = match self.held {
            Held::Borrowed(key) => Held::Shared(Arc::new(key.clone())),
            Held::Shared(key) => Held::Shared(key),
            Held::Cached(key) => Held::Cached(key),
        };
        KeyRef { held }
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
/// use tower_jwt_auth::{KeyResolver, VerifyingKey};
/// use tower_jwt_auth::key::{KeyError, KeyQuery, KeyRef, NeverPending, Resolution};
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

    /// Whether this resolver chooses by the token's `iss` ([`KeyQuery::issuer`]): the pipeline
    /// then reads `iss` from the payload before asking for the key (a second read of the
    /// payload, so other resolvers say no). Default: no.
    fn wants_issuer(&self) -> bool {
        false
    }

    /// Whether [`resolve`](Self::resolve) only reads what the resolver holds in memory: no
    /// I/O, no fetch started, nothing recorded. The pipeline then asks such a resolver for the
    /// key before it checks the alphabet of the whole token, which decoding the token checks
    /// on the way; a malformed token is still refused, with the same error
    /// ([`AuthErrorKind::Malformed`](crate::AuthErrorKind::Malformed)), and never verified.
    /// Other resolvers are asked only for well-formed tokens, so that a malformed one never
    /// starts a fetch; and a local resolver answers at once ([`Resolution::Ready`]: one that
    /// waits is answered "malformed" for a malformed token, its future dropped). Default: no;
    /// yes for a [`VerifyingKey`], a [`KeyRing`](crate::KeyRing) and a
    /// [`KeySet`](crate::KeySet).
    fn resolves_locally(&self) -> bool {
        false
    }
}

impl<K: KeyResolver + ?Sized> KeyResolver for Arc<K> {
    type Future = K::Future;
    fn resolve(&self, query: &KeyQuery<'_>) -> Resolution<'_, Self::Future> {
        (**self).resolve(query)
    }

    fn wants_issuer(&self) -> bool {
        (**self).wants_issuer()
    }

    fn resolves_locally(&self) -> bool {
        (**self).resolves_locally()
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

    fn resolves_locally(&self) -> bool {
        true
    }
}

/// A resolver chosen at run time: either side's answer.
impl<A: KeyResolver, B: KeyResolver> KeyResolver for Either<A, B> {
    type Future = EitherFuture<A::Future, B::Future>;
    fn resolve(&self, query: &KeyQuery<'_>) -> Resolution<'_, Self::Future> {
        match self {
            Self::Left(a) => match a.resolve(query) {
                Resolution::Ready(key) => Resolution::Ready(key),
                Resolution::Pending(f) => Resolution::Pending(EitherFuture::left(f)),
            },
            Self::Right(b) => match b.resolve(query) {
                Resolution::Ready(key) => Resolution::Ready(key),
                Resolution::Pending(f) => Resolution::Pending(EitherFuture::right(f)),
            },
        }
    }

    fn wants_issuer(&self) -> bool {
        match self {
            Self::Left(a) => a.wants_issuer(),
            Self::Right(b) => b.wants_issuer(),
        }
    }

    fn resolves_locally(&self) -> bool {
        match self {
            Self::Left(a) => a.resolves_locally(),
            Self::Right(b) => b.resolves_locally(),
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
    /// The token's `iss` names no trusted issuer (answered with 401 `invalid_token`, "untrusted
    /// issuer").
    UntrustedIssuer,
    /// The token has no string `iss`, and the resolver chooses by it (401, "missing iss
    /// claim").
    MissingIssuer,
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

    /// The token's issuer is not trusted.
    #[must_use]
    pub const fn untrusted_issuer() -> Self {
        Self {
            kind: KeyErrorKind::UntrustedIssuer,
        }
    }

    /// The token names no issuer, and one is needed to choose its key.
    #[must_use]
    pub const fn missing_issuer() -> Self {
        Self {
            kind: KeyErrorKind::MissingIssuer,
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
            KeyErrorKind::UntrustedIssuer => "the token's issuer is not trusted",
            KeyErrorKind::MissingIssuer => "the token names no issuer",
        })
    }
}

impl std::error::Error for KeyError {}

impl From<KeyError> for AuthErrorKind {
    fn from(e: KeyError) -> Self {
        match e.kind {
            KeyErrorKind::UnknownKey => Self::UnknownKey,
            KeyErrorKind::Unavailable => Self::KeyUnavailable,
            KeyErrorKind::UntrustedIssuer => Self::UntrustedIssuer,
            KeyErrorKind::MissingIssuer => Self::MissingClaim(crate::Claim::Iss),
        }
    }
}

impl From<KeyError> for crate::AuthError {
    fn from(e: KeyError) -> Self {
        Self::new(e.into())
    }
}

/// The `kid` of a ready answer, for the resolvers' unit tests.
#[cfg(test)]
pub(super) fn ready_kid<F>(r: Resolution<'_, F>) -> Result<Option<String>, KeyError> {
    match r {
        Resolution::Ready(k) => k.map(|k| k.kid().map(str::to_owned)),
        Resolution::Pending(_) => panic!("pending"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::ready_kid as ready;

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
}
