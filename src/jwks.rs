//! Remote JWK Sets and OpenID Connect discovery: [`JwksResolver`] (feature `jwks`).
//!
//! | behaviour | default | option |
//! | --- | --- | --- |
//! | key look-up for a cached `kid` | synchronous, lock-free (an `ArcSwap` snapshot), no `.await` | — |
//! | set lifetime | 5 min; `Cache-Control: max-age` honoured between 1 min and 24 h | [`JwksOptions::cache_ttl`] |
//! | refresh | in the background, ahead of expiry with jitter; requests never wait on it | — |
//! | unknown `kid` | one refetch inside that request, shared by concurrent requests (single flight), at most once per cooldown | [`JwksOptions::cooldown`] (30 s) |
//! | failed fetch (5xx, timeout, HTML, truncated or oversized body, empty or unusable set) | the last good set stays in use; background retries back off from 1 s to 30 s | — |
//! | last good set too old | 503 | [`JwksOptions::max_stale`] (24 h) |
//! | no set ever obtained | 503 for requests with a token; the server still starts | — |
//! | transport | hyper + rustls (aws-lc-rs provider, webpki roots), HTTPS only except loopback, no redirects | — |
//! | limits | 2 s to connect, 5 s in all, 256 KiB body, 100 keys | [`JwksOptions`] |
//! | keys | see [`KeySet`]: `oct` keys never used, unusable keys skipped | — |
//!
//! Fetches, failures and skipped keys are `tracing` events (target `tower_jwt_auth::jwks`).

use std::collections::hash_map::RandomState;
use std::fmt;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE};
use http::{Request, StatusCode, Uri};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::key::jwk::DocumentError;
use crate::key::snapshot::{CachedKey, Snapshot};
use crate::key::{KeyError, KeyQuery, KeyRef, KeyResolver, Resolution};
use crate::{ConfigError, KeySet, VerifyingKey};

/// Settings of a [`JwksResolver`]; every field has the documented default.
#[derive(Clone, Debug)]
pub struct JwksOptions {
    cache_ttl: Duration,
    cooldown: Duration,
    max_stale: Duration,
    connect_timeout: Duration,
    total_timeout: Duration,
    max_body: usize,
    max_keys: usize,
}

impl Default for JwksOptions {
    fn default() -> Self {
        Self {
            cache_ttl: Duration::from_secs(300),
            cooldown: Duration::from_secs(30),
            max_stale: Duration::from_secs(24 * 3600),
            connect_timeout: Duration::from_secs(2),
            total_timeout: Duration::from_secs(5),
            max_body: 256 * 1024,
            max_keys: 100,
        }
    }
}

impl JwksOptions {
    /// How long a set is used without a `Cache-Control: max-age` (default 5 minutes).
    #[must_use]
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// The least time between two refetches forced by unknown `kid`s, counted from failed
    /// fetches too (default 30 s). A storm of random `kid`s costs at most one fetch per cooldown.
    #[must_use]
    pub fn cooldown(mut self, cooldown: Duration) -> Self {
        self.cooldown = cooldown;
        self
    }

    /// How long the last good set stays in use while fetches fail (default 24 h); past it,
    /// requests with a token get 503.
    #[must_use]
    pub fn max_stale(mut self, max_stale: Duration) -> Self {
        self.max_stale = max_stale;
        self
    }

    /// Connection and total timeouts of one fetch (defaults 2 s and 5 s).
    #[must_use]
    pub fn timeouts(mut self, connect: Duration, total: Duration) -> Self {
        self.connect_timeout = connect;
        self.total_timeout = total;
        self
    }

    /// The largest response body accepted (default 256 KiB).
    #[must_use]
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// The most keys a set may hold (default 100); a larger set is refused whole.
    #[must_use]
    pub fn max_keys(mut self, keys: usize) -> Self {
        self.max_keys = keys;
        self
    }
}

/// Why a fetch failed. The resolver keeps using its last good set.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FetchError {
    /// Connecting or sending failed (refused, reset, TLS...).
    Connect(String),
    /// No complete answer within the timeout.
    Timeout,
    /// The answer was not `200 OK` (redirects are not followed).
    Status(u16),
    /// The answer was not JSON.
    NotJson,
    /// The body was larger than allowed.
    TooLarge,
    /// The body was cut short or unreadable.
    Body(String),
    /// The JSON was not a JWK Set (or a discovery document), or held too many keys.
    Invalid(String),
    /// The set held no usable key.
    NoUsableKey,
    /// The discovery document named another issuer, or a `jwks_uri` that is not HTTPS.
    Discovery(String),
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connect(e) => write!(f, "connection failed: {e}"),
            Self::Timeout => f.write_str("timed out"),
            Self::Status(code) => write!(f, "answered HTTP {code}"),
            Self::NotJson => f.write_str("answered something other than JSON"),
            Self::TooLarge => f.write_str("answered a body over the size limit"),
            Self::Body(e) => write!(f, "body unreadable: {e}"),
            Self::Invalid(e) => write!(f, "invalid document: {e}"),
            Self::NoUsableKey => f.write_str("the key set holds no usable key"),
            Self::Discovery(e) => write!(f, "discovery failed: {e}"),
        }
    }
}

impl std::error::Error for FetchError {}

/// What a [`JwksResolver`] knows now, for health checks and logs.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct JwksStatus {
    /// Usable keys in the current set.
    pub keys: usize,
    /// When the current set was fetched.
    pub fetched_at: Option<SystemTime>,
    /// Whether the current set has outlived its cache lifetime (fetches are failing).
    pub stale: bool,
    /// Whether forced refetches are currently held back by the cooldown.
    pub cooling_down: bool,
    /// Whether a fetch is under way.
    pub fetching: bool,
    /// The last failure and when it happened, until a fetch succeeds.
    pub last_error: Option<(FetchError, SystemTime)>,
}

type HttpsClient = Client<HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// A [`KeyResolver`] over a remote JWK Set (see the [module docs](self)).
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
    inner: Arc<Inner>,
}

impl fmt::Debug for JwksResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksResolver")
            .field("source", &self.inner.source)
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
enum Source {
    Jwks(Uri),
    Oidc { issuer: String, discovery: Uri },
}

struct Inner {
    source: Source,
    client: HttpsClient,
    options: JwksOptions,
    snapshot: ArcSwap<Snapshot>,
    /// Held by the one fetch under way; requests for unknown keys queue on it (single flight).
    fetch_lock: tokio::sync::Mutex<()>,
    state: Mutex<FetchState>,
    refresher: AtomicBool,
    /// OIDC: the `jwks_uri` found by discovery, and when.
    discovered: Mutex<Option<(Uri, Instant)>>,
}

#[derive(Default)]
struct FetchState {
    /// A fetch (forced or background) is under way.
    in_flight: bool,
    last_completed: Option<Instant>,
    last_forced: Option<Instant>,
    failures: u32,
    last_error: Option<(FetchError, SystemTime)>,
}

fn check_url(url: &str) -> Result<Uri, ConfigError> {
    let uri: Uri = url.parse().map_err(|_| ConfigError::InvalidKey("not a URL"))?;
    let host = uri.host().unwrap_or("");
    let loopback = host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match uri.scheme_str() {
        Some("https") => Ok(uri),
        Some("http") if loopback => Ok(uri),
        _ => Err(ConfigError::InvalidKey(
            "key set URLs must be HTTPS (plain HTTP only on loopback)",
        )),
    }
}

fn client(options: &JwksOptions) -> Result<HttpsClient, ConfigError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    #[cfg(feature = "jwks-native-roots")]
    {
        let native = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(native.certs);
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|_| ConfigError::InvalidKey("TLS configuration failed"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(options.connect_timeout));
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new()).build(https))
}

fn random_fraction() -> f64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u8(0);
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

impl JwksResolver {
    /// A resolver for the JWK Set at `url`, with default options.
    ///
    /// # Errors
    /// [`ConfigError::InvalidKey`] for a URL that is not HTTPS (plain HTTP is allowed on
    /// loopback only).
    pub fn new(url: &str) -> Result<Self, ConfigError> {
        Self::with_options(url, JwksOptions::default())
    }

    /// A resolver for the JWK Set at `url`.
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn with_options(url: &str, options: JwksOptions) -> Result<Self, ConfigError> {
        Self::build(Source::Jwks(check_url(url)?), options)
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
        check_url(issuer)?;
        let discovery = check_url(&format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        ))?;
        Self::build(
            Source::Oidc {
                issuer: issuer.to_owned(),
                discovery,
            },
            options,
        )
    }

    fn build(source: Source, options: JwksOptions) -> Result<Self, ConfigError> {
        Ok(Self {
            inner: Arc::new(Inner {
                client: client(&options)?,
                source,
                options,
                snapshot: ArcSwap::from_pointee(Snapshot::empty()),
                fetch_lock: tokio::sync::Mutex::new(()),
                state: Mutex::new(FetchState::default()),
                refresher: AtomicBool::new(false),
                discovered: Mutex::new(None),
            }),
        })
    }

    /// The issuer of an OIDC resolver.
    #[must_use]
    pub fn issuer(&self) -> Option<&str> {
        match &self.inner.source {
            Source::Oidc { issuer, .. } => Some(issuer),
            Source::Jwks(_) => None,
        }
    }

    /// Fetches the set now (for a warm start; resolvers are lazy by default). A failure leaves
    /// the resolver working: requests will fetch again.
    ///
    /// # Errors
    /// The [`FetchError`] of the attempt.
    pub async fn warm_up(&self) -> Result<(), FetchError> {
        self.reload().await
    }

    /// Fetches the set now, replacing it on success.
    ///
    /// # Errors
    /// The [`FetchError`] of the attempt; the previous set stays in use.
    pub async fn reload(&self) -> Result<(), FetchError> {
        let _flight = self.inner.fetch_lock.lock().await;
        self.inner.fetch_and_store().await
    }

    /// What the resolver knows now.
    #[must_use]
    pub fn status(&self) -> JwksStatus {
        let snapshot = self.inner.snapshot.load();
        let now = Instant::now();
        let state = self.inner.lock_state();
        JwksStatus {
            keys: snapshot.keys.len(),
            fetched_at: snapshot.fetched_at.map(|(_, wall)| wall),
            stale: snapshot.expires_at.is_some_and(|at| now > at),
            cooling_down: !self.inner.cooldown_elapsed(&state, now),
            fetching: state.in_flight,
            last_error: state.last_error.clone(),
        }
    }

    fn ensure_refresher(&self) {
        if self.inner.refresher.load(Ordering::Relaxed) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.inner.refresher.swap(true, Ordering::AcqRel) {
            return;
        }
        let weak = Arc::downgrade(&self.inner);
        runtime.spawn(refresh_loop(weak));
    }
}

async fn refresh_loop(weak: Weak<Inner>) {
    loop {
        let wait = {
            let Some(inner) = weak.upgrade() else { return };
            let snapshot = inner.snapshot.load();
            let until_too_old = snapshot
                .stale_deadline(inner.options.max_stale)
                .filter(|_| !snapshot.too_old.load(Ordering::Relaxed))
                .map_or(Duration::MAX, |deadline| {
                    deadline.saturating_duration_since(Instant::now())
                });
            inner.next_refresh_in().min(until_too_old)
        };
        tokio::time::sleep(wait).await;
        let Some(inner) = weak.upgrade() else { return };
        {
            let snapshot = inner.snapshot.load();
            if snapshot
                .stale_deadline(inner.options.max_stale)
                .is_some_and(|deadline| Instant::now() >= deadline)
            {
                snapshot.too_old.store(true, Ordering::Relaxed);
            }
        }
        let _flight = inner.fetch_lock.lock().await;
        // A forced fetch may have just refreshed the set.
        if inner.next_refresh_in() == Duration::ZERO {
            let _ = inner.fetch_and_store().await;
        }
    }
}

impl Inner {
    fn lock_state(&self) -> std::sync::MutexGuard<'_, FetchState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn cooldown_elapsed(&self, state: &FetchState, now: Instant) -> bool {
        state.last_forced.map_or(true, |at| {
            now.saturating_duration_since(at) >= self.options.cooldown
        })
    }

    /// When the background task should fetch next: ahead of expiry with jitter, or after a
    /// backoff from 1 s to 30 s while fetches fail.
    fn next_refresh_in(&self) -> Duration {
        let now = Instant::now();
        let state = self.lock_state();
        if state.failures > 0 || self.snapshot.load().fetched_at.is_none() {
            let backoff = Duration::from_secs(1u64 << state.failures.min(5)).min(Duration::from_secs(30));
            let since = state
                .last_completed
                .map_or(backoff, |at| now.saturating_duration_since(at));
            return backoff.saturating_sub(since);
        }
        let snapshot = self.snapshot.load();
        match (snapshot.fetched_at, snapshot.expires_at) {
            (Some((fetched, _)), Some(expires)) => {
                let ttl = expires.saturating_duration_since(fetched);
                // Refresh in the last 10-20 % of the lifetime.
                let early = ttl.mul_f64(0.1 + 0.1 * random_fraction());
                expires.saturating_duration_since(now).saturating_sub(early)
            }
            _ => Duration::ZERO,
        }
    }

    /// Fetches and stores the set; the caller holds `fetch_lock`.
    async fn fetch_and_store(&self) -> Result<(), FetchError> {
        /// Clears `in_flight` even if the fetching future is dropped midway.
        struct InFlight<'a>(&'a Inner);
        impl Drop for InFlight<'_> {
            fn drop(&mut self) {
                self.0.lock_state().in_flight = false;
            }
        }
        self.lock_state().in_flight = true;
        let guard = InFlight(self);
        let result = self.fetch().await;
        drop(guard);
        let now = Instant::now();
        let mut state = self.lock_state();
        state.last_completed = Some(now);
        match result {
            Ok((set, ttl)) => {
                tracing::debug!(target: "tower_jwt_auth::jwks", keys = set.len(), ttl_secs = ttl.as_secs(), "key set fetched");
                let issuer = match &self.source {
                    Source::Oidc { issuer, .. } => Some(issuer.as_str()),
                    Source::Jwks(_) => None,
                };
                self.snapshot.store(Arc::new(Snapshot {
                    keys: set
                        .keys()
                        .cloned()
                        // Discovered keys verify that issuer's tokens only.
                        .map(|key| match issuer {
                            Some(issuer) => key.bound_to(issuer),
                            None => key,
                        })
                        .map(Arc::new)
                        .collect(),
                    fetched_at: Some((now, SystemTime::now())),
                    expires_at: Some(now + ttl),
                    too_old: AtomicBool::new(false),
                }));
                state.failures = 0;
                state.last_error = None;
                Ok(())
            }
            Err(error) => {
                tracing::warn!(target: "tower_jwt_auth::jwks", %error, "key set fetch failed; keeping the last good set");
                state.failures = state.failures.saturating_add(1);
                state.last_error = Some((error.clone(), SystemTime::now()));
                Err(error)
            }
        }
    }

    async fn fetch(&self) -> Result<(KeySet, Duration), FetchError> {
        let url = match &self.source {
            Source::Jwks(url) => url.clone(),
            Source::Oidc { issuer, discovery } => self.jwks_uri(issuer, discovery).await?,
        };
        let (body, max_age) = self.get(&url).await?;
        let keys = KeySet::from_document(&body, self.options.max_keys).map_err(|e| match e {
            DocumentError::NotASet => FetchError::Invalid("not a JWK Set".to_owned()),
            DocumentError::TooManyKeys => {
                FetchError::Invalid(format!("more than {} keys", self.options.max_keys))
            }
        })?;
        if keys.is_empty() {
            return Err(FetchError::NoUsableKey);
        }
        let ttl = max_age.map_or(self.options.cache_ttl, |age| {
            age.clamp(Duration::from_secs(60), Duration::from_secs(24 * 3600))
        });
        Ok((keys, ttl))
    }

    /// The `jwks_uri` of the issuer, from a discovery document at most a day old.
    async fn jwks_uri(&self, issuer: &str, discovery: &Uri) -> Result<Uri, FetchError> {
        let cached = self
            .discovered
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        if let Some((uri, at)) = &cached {
            if at.elapsed() < Duration::from_secs(24 * 3600) {
                return Ok(uri.clone());
            }
        }
        let found = match self.discover(issuer, discovery).await {
            Ok(uri) => uri,
            // Keep the last good document on errors; never cache a failure.
            Err(e) => return cached.map(|(uri, _)| uri).ok_or(e),
        };
        *self
            .discovered
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((found.clone(), Instant::now()));
        Ok(found)
    }

    async fn discover(&self, issuer: &str, discovery: &Uri) -> Result<Uri, FetchError> {
        #[derive(serde::Deserialize)]
        struct Document {
            issuer: String,
            jwks_uri: String,
        }
        let body = match self.get(discovery).await {
            Ok((body, _)) => body,
            Err(first) => {
                let fallback = format!(
                    "{}/.well-known/oauth-authorization-server",
                    issuer.trim_end_matches('/')
                );
                let fallback: Uri = fallback.parse().map_err(|_| first.clone())?;
                self.get(&fallback).await.map_err(|_| first)?.0
            }
        };
        let doc: Document = serde_json::from_slice(&body)
            .map_err(|_| FetchError::Invalid("not a discovery document".to_owned()))?;
        if doc.issuer != issuer {
            return Err(FetchError::Discovery(format!(
                "the document names issuer {:?}, expected {issuer:?}",
                doc.issuer
            )));
        }
        check_url(&doc.jwks_uri).map_err(|_| FetchError::Discovery("jwks_uri is not HTTPS".to_owned()))
    }

    /// GET `url`: `200 OK`, JSON, a bounded body, within the total timeout.
    async fn get(&self, url: &Uri) -> Result<(Bytes, Option<Duration>), FetchError> {
        let request = Request::get(url.clone())
            .header(ACCEPT, "application/jwk-set+json, application/json")
            .body(Empty::<Bytes>::new())
            .map_err(|e| FetchError::Connect(e.to_string()))?;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| FetchError::Connect(e.to_string()))?;
            if response.status() != StatusCode::OK {
                return Err(FetchError::Status(response.status().as_u16()));
            }
            let json = response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.to_ascii_lowercase().contains("json"));
            if !json {
                return Err(FetchError::NotJson);
            }
            let max_age = response
                .headers()
                .get(CACHE_CONTROL)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_max_age);
            let body = Limited::new(response.into_body(), self.options.max_body)
                .collect()
                .await
                .map_err(|e| {
                    if e.is::<http_body_util::LengthLimitError>() {
                        FetchError::TooLarge
                    } else {
                        FetchError::Body(e.to_string())
                    }
                })?
                .to_bytes();
            Ok((body, max_age))
        };
        tokio::time::timeout(self.options.total_timeout, exchange)
            .await
            .map_err(|_| FetchError::Timeout)?
    }
}

fn parse_max_age(value: &str) -> Option<Duration> {
    value.split(',').find_map(|directive| {
        let (name, secs) = directive.trim().split_once('=')?;
        name.eq_ignore_ascii_case("max-age")
            .then(|| secs.trim().parse::<u64>().ok())
            .flatten()
            .map(Duration::from_secs)
    })
}

/// The asynchronous path of [`JwksResolver`]: a refetch for an unknown key, or the first fetch.
pub type JwksFuture = Pin<Box<dyn Future<Output = Result<Arc<VerifyingKey>, KeyError>> + Send>>;

impl KeyResolver for JwksResolver {
    type Future = JwksFuture;

    fn resolve(&self, query: &KeyQuery<'_>) -> Resolution<'_, JwksFuture> {
        self.ensure_refresher();
        let snapshot = self.inner.snapshot.load();
        // With the background task running, it flags a set that became too old; without one
        // (no Tokio runtime), the clock is read here.
        let usable = snapshot.fetched_at.is_some()
            && !snapshot.too_old.load(Ordering::Relaxed)
            && (self.inner.refresher.load(Ordering::Relaxed)
                || snapshot
                    .stale_deadline(self.inner.options.max_stale)
                    .is_some_and(|deadline| Instant::now() < deadline));
        if usable {
            if let Some(index) = snapshot.position(query.alg(), query.kid()) {
                if let Some(key) = CachedKey::new(snapshot, index) {
                    return Resolution::Ready(Ok(KeyRef::cached(key)));
                }
            }
        }
        // The slow path: an unknown key, or no usable set.
        let now = Instant::now();
        {
            let mut state = self.inner.lock_state();
            // A fetch under way, or a forced one not yet done, answers this request too: wait
            // for it rather than refuse or fetch again.
            let forced_pending = state
                .last_forced
                .is_some_and(|forced| state.last_completed.map_or(true, |done| done < forced));
            if !state.in_flight && !forced_pending {
                if !self.inner.cooldown_elapsed(&state, now) {
                    tracing::debug!(target: "tower_jwt_auth::jwks", kid = ?query.kid(), "refetch throttled by the cooldown");
                    return Resolution::Ready(Err(if usable {
                        KeyError::unknown_key()
                    } else {
                        KeyError::unavailable()
                    }));
                }
                state.last_forced = Some(now);
            }
        }
        let inner = Arc::clone(&self.inner);
        let alg = query.alg();
        let kid = query.kid().map(str::to_owned);
        let requested = now;
        Resolution::Pending(Box::pin(async move {
            {
                let _flight = inner.fetch_lock.lock().await;
                // Whoever fetched since the forced fetch was asked for answered this request too
                // (single flight); if its asker went away before fetching, the first waiter
                // fetches in its place.
                let must_fetch = {
                    let state = inner.lock_state();
                    let since = state.last_forced.unwrap_or(requested).min(requested);
                    state.last_completed.map_or(true, |done| done < since)
                };
                if must_fetch {
                    let _ = inner.fetch_and_store().await;
                }
            }
            let snapshot = inner.snapshot.load();
            let usable = snapshot
                .fetched_at
                .is_some_and(|(at, _)| at.elapsed() <= inner.options.max_stale);
            if !usable {
                return Err(KeyError::unavailable());
            }
            snapshot
                .find(alg, kid.as_deref())
                .cloned()
                .ok_or(KeyError::unknown_key())
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_https_except_on_loopback() {
        assert!(check_url("https://example.com/jwks").is_ok());
        assert!(check_url("http://127.0.0.1:8080/jwks").is_ok());
        assert!(check_url("http://[::1]:8080/jwks").is_ok());
        assert!(check_url("http://localhost/jwks").is_ok());
        assert!(check_url("http://example.com/jwks").is_err());
        assert!(check_url("http://10.0.0.1/jwks").is_err());
        assert!(check_url("ftp://example.com/jwks").is_err());
        assert!(check_url("not a url").is_err());
    }

    #[test]
    fn max_age_is_read_from_cache_control() {
        assert_eq!(
            parse_max_age("public, max-age=600"),
            Some(Duration::from_secs(600))
        );
        assert_eq!(parse_max_age("no-cache"), None);
        assert_eq!(parse_max_age("max-age=abc"), None);
    }
}
