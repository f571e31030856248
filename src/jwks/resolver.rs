//! [`JwksResolver`]: its constructors, its status, and the [`KeyResolver`] it implements (a
//! lock-free look-up in the cached set, else a wait for the refetch that the cache runs in a
//! task of its own and shares between concurrent requests).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use super::cache::{Admission, Cache, Waiter};
use super::client::HttpClient;
use super::discovery::Source;
use super::error::FetchError;
use super::options::JwksOptions;
use super::status::JwksStatus;
use crate::key::snapshot::CachedKey;
use crate::key::{Binding, KeyError, KeyQuery, KeyRef, KeyResolver, Resolution};
use crate::{Algorithm, ConfigError, VerifyingKey};

/// A [`KeyResolver`] over a remote JWK Set (see the [module docs](crate::jwks)).
///
/// A known `kid` is answered from the cached set without waiting. An unknown one (or a
/// resolver with no usable set yet) forces a refetch, at most one per
/// [cooldown](JwksOptions::cooldown). Fetches run in Tokio tasks of their own, one at a time per
/// resolver, and requests only wait for them: a request that is cancelled mid-fetch (its client
/// hung up) leaves the fetch running, the cache is filled for the next request, and the
/// cooldown is counted from the fetch's start all the same. A refetch needs a Tokio runtime: it
/// starts in [`resolve`](KeyResolver::resolve) when that runs on one, else when the returned
/// future is first polled (on one).
///
/// ```no_run
/// use tower_jwt_auth::{JwksOptions, JwksResolver, JwtAuthLayer, Validation};
///
/// #[derive(Clone, serde::Deserialize)]
/// struct Claims { sub: String }
///
/// // OpenID Connect: discovery from the issuer. Its keys are bound to it: a token they verify
/// // must carry that `iss`, whatever `Validation` the layer is given.
/// let oidc = JwksResolver::oidc("https://accounts.example.com", JwksOptions::default())?;
/// let auth = JwtAuthLayer::<Claims>::new(oidc)
///     .validation(Validation::new().audience("orders-api")?);
/// // Or a JWKS URL directly.
/// let keys = JwksResolver::new("https://auth.example.com/.well-known/jwks.json")?;
/// # let _ = (auth, keys);
/// # Ok::<(), tower_jwt_auth::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct JwksResolver {
    inner: Arc<Cache>,
}

/// Checks the URLs an OIDC resolver of `issuer` would fetch (the issuer and its discovery
/// document), without building the resolver and its TLS client.
pub(crate) fn check_issuer_url(issuer: &str) -> Result<(), ConfigError> {
    Source::oidc(issuer).map(drop)
}

/// Checks a JWK Set URL, without building a resolver and its TLS client.
pub(crate) fn check_jwks_url(url: &str) -> Result<(), ConfigError> {
    Source::jwks(url).map(drop)
}

/// An HTTP client for key set fetches, built once (its TLS roots read once) and shared by
/// several resolvers.
#[derive(Clone)]
pub(crate) struct JwksClient(HttpClient);

impl JwksClient {
    /// A client with the timeouts and body limit of `options`.
    pub(crate) fn new(options: &JwksOptions) -> Result<Self, ConfigError> {
        Ok(Self(HttpClient::new(options)?))
    }
}

impl fmt::Debug for JwksClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksClient").finish_non_exhaustive()
    }
}

impl fmt::Debug for JwksResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksResolver")
            .field("source", &self.inner.source)
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

impl JwksResolver {
    /// A resolver for the JWK Set at `url`, with default options.
    ///
    /// # Errors
    /// [`ConfigError::InvalidUrl`] for a URL that cannot be parsed or is not HTTPS (plain HTTP
    /// is allowed on loopback only); [`ConfigError::Tls`] if the TLS client cannot be set up.
    pub fn new(url: &str) -> Result<Self, ConfigError> {
        Self::with_options(url, JwksOptions::default())
    }

    /// A resolver for the JWK Set at `url`.
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn with_options(url: &str, options: JwksOptions) -> Result<Self, ConfigError> {
        Self::build(Source::jwks(url)?, options)
    }

    /// A resolver that finds the key set through OpenID Connect discovery of `issuer`
    /// (`/.well-known/openid-configuration`, then RFC 8414's
    /// `/.well-known/oauth-authorization-server`), requiring the document's `issuer` to equal
    /// `issuer` exactly and its `jwks_uri` to be HTTPS. The document is refreshed daily; the last
    /// good one is kept on errors.
    ///
    /// Every key found is bound to `issuer` ([`VerifyingKey::with_issuer`]): tokens must carry
    /// `iss` equal to `issuer`, whatever [`Validation`](crate::Validation) checks them, so a
    /// later `.validation(..)` on the layer cannot drop the requirement.
    ///
    /// # Errors
    /// As [`new`](Self::new), for the issuer URL.
    pub fn oidc(issuer: &str, options: JwksOptions) -> Result<Self, ConfigError> {
        let binding = Arc::new(Binding::issuer(issuer));
        Self::bound(Source::oidc(issuer)?, options, Some(binding))
    }

    fn build(source: Source, options: JwksOptions) -> Result<Self, ConfigError> {
        Self::bound(source, options, None)
    }

    /// A resolver whose every key is bound to `binding`'s issuer and rules.
    fn bound(
        source: Source,
        options: JwksOptions,
        binding: Option<Arc<Binding>>,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            inner: Arc::new(Cache::new(source, options, binding, None)?),
        })
    }

    /// The key set of one issuer among several: OIDC discovery of `issuer`, or the JWK Set at
    /// `jwks_url` when given; every key bound to `binding`. With `client`, its connection pool
    /// and TLS configuration are shared (the issuers of one template); else one is built.
    pub(crate) fn for_issuer(
        issuer: &str,
        jwks_url: Option<&str>,
        options: JwksOptions,
        binding: Arc<Binding>,
        client: Option<&JwksClient>,
    ) -> Result<Self, ConfigError> {
        let source = match jwks_url {
            Some(url) => Source::jwks(url)?,
            None => Source::oidc(issuer)?,
        };
        let client = client.map(|c| c.0.clone());
        Ok(Self {
            inner: Arc::new(Cache::new(source, options, Some(binding), client)?),
        })
    }

    /// The issuer of an OIDC resolver.
    #[must_use]
    pub fn issuer(&self) -> Option<&str> {
        self.inner.source.issuer()
    }

    /// Fetches the set now (for a warm start; resolvers are lazy by default). A failure leaves
    /// the resolver working: requests will fetch again. As with [`reload`](Self::reload), the
    /// fetch runs in its own task.
    ///
    /// # Errors
    /// The [`FetchError`] of the attempt.
    pub async fn warm_up(&self) -> Result<(), FetchError> {
        self.reload().await
    }

    /// Fetches the set now, replacing it on success. A fetch under way that started before
    /// this call is waited for, then a new one is started; one started since is shared. The
    /// fetch runs in a Tokio task of its own: dropping this future stops only the wait.
    ///
    /// # Errors
    /// The [`FetchError`] of the attempt; the previous set stays in use.
    /// [`FetchError::Aborted`] without a Tokio runtime.
    pub async fn reload(&self) -> Result<(), FetchError> {
        self.inner.reload().await
    }

    /// What the resolver knows now.
    #[must_use]
    pub fn status(&self) -> JwksStatus {
        self.inner.status()
    }

    /// The slow path of [`resolve`](KeyResolver::resolve): an unknown key, or no usable set.
    /// `usable` tells whether the current set could have answered (then a throttled request
    /// gets "unknown key", else "unavailable").
    fn resolve_slow(&self, query: &KeyQuery<'_>, usable: bool) -> Resolution<'_, JwksFuture> {
        let waiter = match self.inner.admit_refetch(Instant::now()) {
            Admission::Wait(waiter) => Some(waiter),
            // Not on a Tokio runtime here: the future starts the fetch when first polled (on
            // one, as `jwtck` does).
            Admission::NoRuntime => None,
            Admission::Throttled => {
                tracing::debug!(target: "tower_jwt_auth::jwks", kid = ?query.kid(), "refetch throttled by the cooldown");
                return Resolution::Ready(Err(refused(usable)));
            }
        };
        let kid = query.kid().map(str::to_owned);
        Resolution::Pending(Box::pin(refetched(
            Arc::clone(&self.inner),
            query.alg(),
            kid,
            waiter,
            usable,
        )))
    }
}

/// The answer to a request whose refetch is refused: "unknown key" if the set in use could have
/// answered it (`usable`), else "unavailable".
fn refused(usable: bool) -> KeyError {
    if usable {
        KeyError::unknown_key()
    } else {
        KeyError::unavailable()
    }
}

/// The key for `alg` and `kid` once the fetch `waiter` waits for has ended (whatever its
/// outcome: the set in use then answers). Without a `waiter` (no Tokio runtime at `resolve`),
/// the refetch is asked for now, at the first poll.
async fn refetched(
    inner: Arc<Cache>,
    alg: Algorithm,
    kid: Option<String>,
    waiter: Option<Waiter>,
    usable: bool,
) -> Result<Arc<VerifyingKey>, KeyError> {
    let waiter = match waiter {
        Some(waiter) => waiter,
        None => match inner.admit_refetch(Instant::now()) {
            Admission::Wait(waiter) => waiter,
            Admission::Throttled => return Err(refused(usable)),
            Admission::NoRuntime => {
                tracing::warn!(target: "tower_jwt_auth::jwks", "no Tokio runtime to fetch the key set on");
                return Err(KeyError::unavailable());
            }
        },
    };
    let _ = waiter.landed().await;
    let snapshot = inner.snapshot.load();
    let in_date = snapshot
        .fetched_at
        .is_some_and(|(at, _)| at.elapsed() <= inner.options.max_stale);
    if !in_date {
        return Err(KeyError::unavailable());
    }
    snapshot
        .find(alg, kid.as_deref())
        .cloned()
        .ok_or(KeyError::unknown_key())
}

/// The asynchronous path of [`JwksResolver`]: a refetch for an unknown key, or the first fetch.
pub type JwksFuture = Pin<Box<dyn Future<Output = Result<Arc<VerifyingKey>, KeyError>> + Send>>;

impl KeyResolver for JwksResolver {
    type Future = JwksFuture;

    fn resolve(&self, query: &KeyQuery<'_>) -> Resolution<'_, JwksFuture> {
        self.inner.ensure_refresher();
        let snapshot = self.inner.snapshot.load();
        let usable = self.inner.usable(&snapshot);
        if usable {
            if let Some(index) = snapshot.position(query.alg(), query.kid()) {
                if let Some(key) = CachedKey::new(snapshot, index) {
                    return Resolution::Ready(Ok(KeyRef::cached(key)));
                }
            }
        }
        self.resolve_slow(query, usable)
    }
}
