//! The application: its state, routes and layers. `main` builds it with the store the
//! environment names; tests build it with `app` (sessions in memory) or `app_with_redis`
//! and drive it with `oneshot`.

use std::sync::Arc;
use std::time::Duration;

#[cfg(feature = "aws-lc")]
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, PRAGMA};
use axum::http::{HeaderValue, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_jwt_auth::{
    Claims, JwtAuthLayer, ProtectedResourceMetadata, RequireClaimsLayer, SigningKey, Validation,
};

use super::config::Config;
#[cfg(feature = "jwks")]
use super::config::Remote;
use super::errors::{json_rejection, REALM};
use super::keys::{server_keys, signing_key};
use super::limits::LoginLimits;
use super::login::{login, User};
use super::passwords::{PasswordHash, PasswordPool};
#[cfg(feature = "sessions")]
use super::sessions;
#[cfg(feature = "sessions")]
use super::tokens::ACCESS_TOKEN_TTL;
use super::tokens::{random_b64, UserClaims};

/// How long a request, its body included, may take before it is answered 408.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) struct AppState {
    #[cfg(feature = "sessions")]
    pub(crate) sessions: tower_jwt_auth::session::Sessions<sessions::Store>,
    pub(crate) signing: SigningKey,
    pub(crate) config: Config,
    pub(crate) users: Vec<User>,
    /// Verified against when the user is unknown, so both failures cost the same.
    pub(crate) dummy_hash: PasswordHash,
    /// Where passwords are hashed and checked: a fixed pool, a bounded queue.
    pub(crate) passwords: Arc<PasswordPool>,
    /// Login rate limits, per address and per username.
    pub(crate) limits: LoginLimits,
}

/// Builds the application (sessions, with the `sessions` feature, in memory). Fails on a
/// configuration error (such as a secret under 32 bytes).
pub fn app(config: Config) -> Result<Router, Box<dyn std::error::Error + Send + Sync>> {
    app_with(
        config,
        #[cfg(feature = "sessions")]
        sessions::Store::Left(tower_jwt_auth::session::MemoryStore::new()),
    )
}

/// Builds the application with its sessions and revocations in Redis at `url`, shared with
/// every other instance built the same way (with the same `JWT_SECRET`).
#[cfg(feature = "redis")]
pub async fn app_with_redis(
    config: Config,
    url: &str,
    options: tower_jwt_auth::session::RedisOptions,
) -> Result<Router, Box<dyn std::error::Error + Send + Sync>> {
    let store = tower_jwt_auth::session::RedisStore::connect(url, options).await?;
    app_with(config, sessions::Store::Right(store))
}

/// Builds the application with its session store.
pub(crate) fn app_with(
    config: Config,
    #[cfg(feature = "sessions")] store: sessions::Store,
) -> Result<Router, Box<dyn std::error::Error + Send + Sync>> {
    let signing = signing_key(&config)?;
    // JWT_PROFILE=rfc9068: the JWT access-token profile (`typ: at+jwt`, its required claims).
    let rules = if config.rfc9068 {
        Validation::rfc9068()
    } else {
        Validation::new()
    };
    let mut validation = rules.leeway(Duration::from_secs(30));
    // With several issuers each key is bound to its own: a validation issuer would narrow them
    // all to that one.
    #[cfg(feature = "jwks")]
    let several = matches!(config.remote, Some(Remote::Issuers { .. }));
    #[cfg(not(feature = "jwks"))]
    let several = false;
    if let Some(iss) = config.issuer.as_ref().filter(|_| !several) {
        validation = validation.issuer(iss.as_str())?;
    }
    if let Some(aud) = &config.audience {
        validation = validation.audience(aud.as_str())?;
    }
    let keys = server_keys(&config, &signing)?;
    #[cfg(feature = "jwks")]
    match &config.remote {
        Some(Remote::Oidc { issuer, .. }) => {
            if config.issuer.as_ref().is_some_and(|iss| iss != issuer) {
                return Err("JWT_ISSUER and JWT_OIDC_ISSUER differ".into());
            }
            validation = validation.issuer(issuer.as_str())?;
        }
        // Each issuer's keys are bound to it: the validation names none of its own.
        Some(Remote::Issuers { issuers, .. })
            if config.issuer.as_ref().is_some_and(|iss| !issuers.contains(iss)) =>
        {
            return Err("JWT_ISSUER is not one of JWT_TRUSTED_ISSUERS".into());
        }
        _ => {}
    }
    let jwks_mode = config.remote.is_some();
    // Refresh tokens are authenticated with a key derived from JWT_SECRET, so that every
    // instance sharing the secret (and a Redis) accepts them.
    #[cfg(feature = "sessions")]
    let sessions = tower_jwt_auth::session::Sessions::new(
        sessions::refresh_secret(&config.secret),
        store,
        tower_jwt_auth::session::SessionOptions::default()
            .access_token_lifetime(Duration::from_secs(ACCESS_TOKEN_TTL as u64 + 60)),
    )?;
    // OAUTH_RESOURCE: the RFC 9728 metadata document, named by every 401 challenge.
    let metadata = resource_metadata(&config)?;
    let mut auth = JwtAuthLayer::<UserClaims>::new(keys)
        .validation(validation)
        .realm(REALM)?;
    let mut admin_only =
        RequireClaimsLayer::equals(|c: &UserClaims| c.role.as_deref().unwrap_or(""), "admin").realm(REALM)?;
    if let Some(metadata) = &metadata {
        auth = auth.resource_metadata(metadata.url())?;
        admin_only = admin_only.resource_metadata(metadata.url())?;
    }
    let auth = auth.with_rejection(json_rejection);
    let admin_only = admin_only.with_rejection(json_rejection);
    // The layer checks the revocation list the store keeps current.
    #[cfg(feature = "sessions")]
    let auth = auth.sessions(&sessions);

    let passwords = PasswordPool::start()?;
    let state = Arc::new(AppState {
        #[cfg(feature = "sessions")]
        sessions,
        signing,
        config,
        users: vec![
            User {
                name: "alice",
                role: "user",
                password_hash: passwords.hash("alice-password")?,
            },
            User {
                name: "admin",
                role: "admin",
                password_hash: passwords.hash("admin-password")?,
            },
        ],
        dummy_hash: passwords.hash(&random_b64(16))?,
        passwords,
        limits: LoginLimits::default(),
    });
    // Forget addresses and usernames that no longer limit anyone.
    periodically(&state, Duration::from_secs(30), |state| {
        state.limits.retain_recent()
    });
    #[cfg(feature = "sessions")]
    periodically(&state, Duration::from_secs(60), sessions::purge);

    #[cfg(feature = "aws-lc")]
    let jwks = if state.config.signing_key_pem.is_some() {
        Some(tower_jwt_auth::PublishJwks::<Body>::new(
            [state.signing.verifying_key()],
            300,
        )?)
    } else {
        None
    };

    let protected = Router::new()
        .route("/me", get(me))
        .route("/admin", get(admin).route_layer(admin_only.clone()));
    #[cfg(feature = "sessions")]
    let protected = protected
        .route("/session/logout", post(sessions::logout))
        .route("/admin/revoke", post(sessions::revoke).route_layer(admin_only));
    let protected = protected
        // `route_layer`: only matched routes need a token, so unknown paths stay 404.
        .route_layer(auth);

    let router = Router::new();
    // Public: outside the auth layers.
    let router = match metadata {
        Some(metadata) => {
            let path = metadata.path().to_owned();
            router.route_service(&path, metadata)
        }
        None => router,
    };
    #[cfg(feature = "aws-lc")]
    let router = match jwks {
        Some(jwks) => router.route_service("/.well-known/jwks.json", axum::routing::get_service(jwks)),
        None => router,
    };
    // In JWKS mode another party issues the tokens: no login here (404).
    let router = if jwks_mode {
        router
    } else {
        router.route("/login", post(login).route_layer(no_store()))
    };
    #[cfg(feature = "sessions")]
    let router = if jwks_mode {
        router
    } else {
        router.route(
            "/session/refresh",
            post(sessions::refresh).route_layer(no_store()),
        )
    };
    Ok(router
        .route("/health", get(|| async { Json(json!({ "status": "ok" })) }))
        .merge(protected)
        .with_state(state)
        // Request bodies up to 16 KiB: a longer declared `Content-Length` is answered 413 at once,
        // before any `100 Continue` and before a handler runs.
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(16 * 1024))
        // A request (its body included: a client may send it as slowly as it likes) has
        // REQUEST_TIMEOUT to be answered, else 408.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        // Marks the token as sensitive so that logging layers redact it.
        .layer(SetSensitiveRequestHeadersLayer::new([AUTHORIZATION])))
}

/// The protected-resource metadata (RFC 9728) of `OAUTH_RESOURCE`: the resource byte for byte,
/// the issuers tokens come from as its authorization servers, and this server's published keys
/// when it signs with a private key.
fn resource_metadata(
    config: &Config,
) -> Result<Option<ProtectedResourceMetadata<axum::body::Body>>, Box<dyn std::error::Error + Send + Sync>> {
    let Some(resource) = &config.resource else {
        return Ok(None);
    };
    let mut metadata = ProtectedResourceMetadata::new(resource)?;
    // axum reads `:x`, `*x` and braces in a route as parameters (and panics on the first two).
    if metadata
        .path()
        .split('/')
        .any(|segment| segment.starts_with([':', '*']) || segment.contains(['{', '}']))
    {
        return Err(format!(
            "OAUTH_RESOURCE={resource:?}: a path segment begins with ':' or '*', or holds a brace"
        )
        .into());
    }
    let servers = match &config.remote {
        Some(remote) => remote.issuers(),
        None => config.issuer.iter().cloned().collect(),
    };
    if !servers.is_empty() {
        metadata = metadata.authorization_servers(servers)?;
    }
    if config.signing_key_pem.is_some() && config.remote.is_none() {
        // The keys are served at the root of the resource's origin.
        let origin_end = resource
            .find("://")
            .map(|scheme| {
                resource[scheme + 3..]
                    .find('/')
                    .map_or(resource.len(), |p| scheme + 3 + p)
            })
            .unwrap_or(resource.len());
        metadata = metadata.jwks_uri(&format!("{}/.well-known/jwks.json", &resource[..origin_end]))?;
    }
    Ok(Some(metadata))
}

/// Token responses must not be cached (RFC 6749 §5.1): their errors neither, for simplicity.
fn no_store() -> (
    SetResponseHeaderLayer<HeaderValue>,
    SetResponseHeaderLayer<HeaderValue>,
) {
    (
        SetResponseHeaderLayer::overriding(CACHE_CONTROL, HeaderValue::from_static("no-store")),
        SetResponseHeaderLayer::overriding(PRAGMA, HeaderValue::from_static("no-cache")),
    )
}

/// Runs `task` every `period` for as long as the application lives (when built inside a Tokio
/// runtime).
fn periodically(state: &Arc<AppState>, period: Duration, task: fn(&AppState)) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let state = Arc::downgrade(state);
    runtime.spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(state) = state.upgrade() else { return };
            task(&state);
        }
    });
}

async fn me(Claims(claims): Claims<UserClaims>) -> Json<UserClaims> {
    Json(claims)
}

async fn admin(Claims(claims): Claims<UserClaims>) -> Json<serde_json::Value> {
    Json(json!({ "message": "welcome, admin", "sub": claims.sub }))
}
