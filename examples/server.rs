//! A protected axum API: login → token → protected calls, with 401 and 403 done right.
//!
//! Run with
//!
//! ```sh
//! cargo run --example server
//! ```
//!
//! With no configuration it makes a random HS256 secret for the run and prints a ready token and
//! curl lines. Environment (all optional):
//!
//! | variable | meaning | default |
//! | --- | --- | --- |
//! | `JWT_SECRET` | HS256 secret (UTF-8, at least 32 bytes) | random, printed |
//! | `JWT_ISSUER` | tokens must carry this `iss`; issued tokens carry it | none |
//! | `JWT_AUDIENCE` | tokens must carry this `aud`; issued tokens carry it | none |
//! | `BIND` | listen address | `127.0.0.1:3000` |
//! | `JWT_JWKS_URL` | JWKS mode: tokens are verified only against this remote key set (`JWT_SECRET` is not used to verify) and `POST /login` answers 404; needs `--features jwks` | unset |
//! | `JWT_JWKS_COOLDOWN_SECS` | least time between refetches forced by unknown `kid`s | 30 |
//! | `JWT_OIDC_ISSUER` | like `JWT_JWKS_URL`, with the key set found by OpenID Connect discovery; `iss` must equal it | unset |
//! | `REDIS_URL` | with `--features redis`: sessions and revocations in this Redis, shared by every instance (which must share `JWT_SECRET`); unset: in memory, one process | unset |
//! | `REDIS_MAX_STALENESS_SECS` | with `REDIS_URL`: answer 503 to token-bearing requests when the revocation mirror has not been confirmed for this long | none (enforce the last mirror) |
//! | `JWT_SIGNING_KEY_FILE` | a PKCS#8 PEM private key (RSA, P-256/384/521, Ed25519): tokens are signed with it (algorithm from the key, `kid` its RFC 7638 thumbprint), verified with its public half (HS256 tokens are then refused), and the public key is served at `GET /.well-known/jwks.json`; needs `--features aws-lc` | unset |
//!
//! Routes: `GET /health` (open), `POST /login` (`{"username","password"}`; demo users `alice` /
//! `alice-password` with role `user`, `admin` / `admin-password` with role `admin`), `GET /me`
//! (any valid token), `GET /admin` (role `admin`, else 403).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::header::AUTHORIZATION;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_jwt_auth::{
    Audience, AuthError, Claims, JwtAuthLayer, NumericDate, RequireClaimsLayer, SigningKey, Validation,
};

/// The realm of this server's challenges.
const REALM: &str = "tower-jwt-auth example";

/// Access tokens live 15 minutes.
const ACCESS_TOKEN_TTL: i64 = 15 * 60;

/// The server's settings, read from the environment by [`Config::from_env`].
#[derive(Clone, Debug)]
pub struct Config {
    /// The HS256 secret.
    pub secret: String,
    /// Required and issued `iss`.
    pub issuer: Option<String>,
    /// Required and issued `aud`.
    pub audience: Option<String>,
    /// A PKCS#8 PEM private key to sign with instead of the secret.
    pub signing_key_pem: Option<Vec<u8>>,
    /// Verify against a remote key set instead (JWKS mode).
    pub remote: Option<Remote>,
}

/// Where JWKS mode finds its keys.
#[derive(Clone, Debug)]
pub enum Remote {
    /// A JWK Set URL.
    Jwks {
        /// The key set's URL.
        url: String,
        /// The unknown-`kid` cooldown.
        cooldown: Duration,
    },
    /// An OpenID Connect issuer.
    Oidc {
        /// The issuer URL (also the required `iss`).
        issuer: String,
    },
}

impl Config {
    /// Reads `JWT_SECRET`, `JWT_ISSUER` and `JWT_AUDIENCE`; the bool says whether the secret was
    /// generated.
    fn from_env() -> Result<(Self, bool), String> {
        let non_empty = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let cooldown = match non_empty("JWT_JWKS_COOLDOWN_SECS") {
            Some(secs) => Duration::from_secs(
                secs.parse()
                    .map_err(|_| format!("JWT_JWKS_COOLDOWN_SECS={secs:?} is not a number of seconds"))?,
            ),
            None => Duration::from_secs(30),
        };
        let remote = match (non_empty("JWT_JWKS_URL"), non_empty("JWT_OIDC_ISSUER")) {
            (Some(url), _) => Some(Remote::Jwks { url, cooldown }),
            (None, Some(issuer)) => Some(Remote::Oidc { issuer }),
            (None, None) => None,
        };
        let signing_key_pem = match non_empty("JWT_SIGNING_KEY_FILE") {
            Some(path) => Some(
                std::fs::read(&path).map_err(|e| format!("cannot read JWT_SIGNING_KEY_FILE={path}: {e}"))?,
            ),
            None => None,
        };
        let (secret, generated) = match non_empty("JWT_SECRET") {
            Some(secret) => (secret, false),
            None => (random_b64(32), true),
        };
        let config = Self {
            secret,
            issuer: non_empty("JWT_ISSUER"),
            audience: non_empty("JWT_AUDIENCE"),
            signing_key_pem,
            remote,
        };
        Ok((config, generated))
    }
}

/// The claims this server issues and reads.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UserClaims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    role: Option<String>,
    /// Issued at, with sub-second precision so that a revocation cutoff splits a second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iat: Option<f64>,
    /// The refresh session this access token belongs to (with the `sessions` feature).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exp: Option<NumericDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    jti: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
    /// One audience or several: RFC 7519 §4.1.3 allows an array, and identity providers send
    /// them. (The layer has already checked that one of them is `JWT_AUDIENCE`.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    aud: Option<Audience>,
}

struct AppState {
    #[cfg(feature = "sessions")]
    sessions: tower_jwt_auth::session::Sessions<sessions::Store>,
    signing: SigningKey,
    config: Config,
    users: Vec<User>,
    /// Verified against when the user is unknown, so both failures cost the same.
    dummy_hash: String,
}

struct User {
    name: &'static str,
    role: &'static str,
    password_hash: String,
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
fn app_with(
    config: Config,
    #[cfg(feature = "sessions")] store: sessions::Store,
) -> Result<Router, Box<dyn std::error::Error + Send + Sync>> {
    let signing = signing_key(&config)?;
    let mut validation = Validation::new().leeway(Duration::from_secs(30));
    if let Some(iss) = &config.issuer {
        validation = validation.issuer(iss.as_str())?;
    }
    if let Some(aud) = &config.audience {
        validation = validation.audience(aud.as_str())?;
    }
    let keys = server_keys(&config, &signing)?;
    #[cfg(feature = "jwks")]
    if let Some(Remote::Oidc { issuer }) = &config.remote {
        if config.issuer.as_ref().is_some_and(|iss| iss != issuer) {
            return Err("JWT_ISSUER and JWT_OIDC_ISSUER differ".into());
        }
        validation = validation.issuer(issuer.as_str())?;
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
    let auth = JwtAuthLayer::<UserClaims>::new(keys)
        .validation(validation)
        .realm(REALM)?
        .with_rejection(json_rejection);
    // The layer checks the revocation list the store keeps current.
    #[cfg(feature = "sessions")]
    let auth = auth.sessions(&sessions);
    let admin_only = RequireClaimsLayer::equals(|c: &UserClaims| c.role.as_deref().unwrap_or(""), "admin")
        .realm(REALM)?
        .with_rejection(json_rejection);

    let state = Arc::new(AppState {
        #[cfg(feature = "sessions")]
        sessions,
        signing,
        config,
        users: vec![
            User {
                name: "alice",
                role: "user",
                password_hash: hash_password("alice-password")?,
            },
            User {
                name: "admin",
                role: "admin",
                password_hash: hash_password("admin-password")?,
            },
        ],
        dummy_hash: hash_password(&random_b64(16))?,
    });
    #[cfg(feature = "sessions")]
    sessions::purge_periodically(&state);

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
    #[cfg(feature = "aws-lc")]
    let router = match jwks {
        Some(jwks) => router.route_service("/.well-known/jwks.json", axum::routing::get_service(jwks)),
        None => router,
    };
    // In JWKS mode another party issues the tokens: no login here (404).
    let router = if jwks_mode {
        router
    } else {
        router.route("/login", post(login))
    };
    #[cfg(feature = "sessions")]
    let router = if jwks_mode {
        router
    } else {
        router.route("/session/refresh", post(sessions::refresh))
    };
    Ok(router
        .route("/health", get(|| async { Json(json!({ "status": "ok" })) }))
        .merge(protected)
        .with_state(state)
        .layer(DefaultBodyLimit::max(16 * 1024))
        // Marks the token as sensitive so that logging layers redact it.
        .layer(SetSensitiveRequestHeadersLayer::new([AUTHORIZATION])))
}

/// Refresh tokens, logout and revocation (feature `sessions`): access tokens live 15 minutes,
/// refresh tokens rotate on every use and travel in an `HttpOnly` cookie.
#[cfg(feature = "sessions")]
mod sessions {
    use axum::http::header::{COOKIE, SET_COOKIE};
    use axum::http::{HeaderMap, HeaderValue};
    use hmac::{Hmac, Mac};
    use sha2::Sha256;
    use tower_jwt_auth::session::{Issued, MemoryStore, RefreshError, StoreError};

    use super::*;

    /// The session store: in memory (one process) or Redis (a fleet, `REDIS_URL`), chosen at
    /// start-up.
    #[cfg(feature = "redis")]
    pub(crate) type Store = tower_jwt_auth::Either<MemoryStore, tower_jwt_auth::session::RedisStore>;
    /// The session store: in memory (one process); without the `redis` feature the right side
    /// is never made.
    #[cfg(not(feature = "redis"))]
    pub(crate) type Store = tower_jwt_auth::Either<MemoryStore, MemoryStore>;

    /// The store `REDIS_URL` names, else one in memory; says which at start-up.
    pub(super) async fn store_from_env() -> Result<Store, String> {
        let Some(url) = std::env::var("REDIS_URL").ok().filter(|v| !v.is_empty()) else {
            println!(
                "sessions: in-memory store (one process; refresh tokens and revocations are not shared)"
            );
            return Ok(Store::Left(MemoryStore::new()));
        };
        #[cfg(not(feature = "redis"))]
        {
            let _ = url;
            Err("REDIS_URL is set, but this build has no Redis store (build with --features redis)".into())
        }
        #[cfg(feature = "redis")]
        {
            let mut options = tower_jwt_auth::session::RedisOptions::default();
            if let Some(secs) = std::env::var("REDIS_MAX_STALENESS_SECS")
                .ok()
                .filter(|v| !v.is_empty())
            {
                let secs: u64 = secs
                    .parse()
                    .map_err(|_| format!("REDIS_MAX_STALENESS_SECS={secs:?} is not a number of seconds"))?;
                options = options.max_staleness(Duration::from_secs(secs));
            }
            let shown = redact(&url);
            let store = tower_jwt_auth::session::RedisStore::connect(&url, options)
                .await
                .map_err(|e| format!("REDIS_URL ({shown}): {e}"))?;
            println!("sessions: Redis store at {shown} (shared by every instance with the same JWT_SECRET)");
            Ok(Store::Right(store))
        }
    }

    /// A Redis URL without its password.
    #[cfg(feature = "redis")]
    pub(super) fn redact(url: &str) -> String {
        match (url.find("://"), url.rfind('@')) {
            (Some(scheme), Some(at)) if at > scheme => format!("{}://***{}", &url[..scheme], &url[at..]),
            _ => url.to_owned(),
        }
    }

    /// Drops ended sessions and expired revocations of the in-memory store every minute, for
    /// as long as the application lives.
    pub(super) fn purge_periodically(state: &Arc<AppState>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let state = Arc::downgrade(state);
        runtime.spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                let Some(state) = state.upgrade() else { return };
                if let Store::Left(store) = state.sessions.store() {
                    store.purge(now_precise(), ACCESS_TOKEN_TTL as f64 + 60.0);
                }
            }
        });
    }

    /// The refresh-token key: HMAC-SHA256 of a fixed label under JWT_SECRET.
    pub(super) fn refresh_secret(secret: &str) -> [u8; 32] {
        let Ok(mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
            return [0; 32];
        };
        mac.chain_update(b"tower-jwt-auth example server: refresh tokens")
            .finalize()
            .into_bytes()
            .into()
    }

    /// A 503 for a store that cannot answer (or a full revocation list).
    fn unavailable(e: &StoreError) -> Response {
        let description = match e {
            StoreError::Full { .. } => "revocation list full",
            _ => "session store unavailable",
        };
        error(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            description,
        )
    }

    const COOKIE_NAME: &str = "__Host-refresh_token";

    /// The refresh cookie: host-only, HTTPS-only, invisible to scripts, never sent cross-site.
    fn cookie(value: &str, max_age: i64) -> HeaderValue {
        let cookie =
            format!("{COOKIE_NAME}={value}; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age={max_age}");
        HeaderValue::from_str(&cookie)
            .unwrap_or_else(|_| HeaderValue::from_static("__Host-refresh_token=; Max-Age=0"))
    }

    /// The `/login` (and `/session/refresh`) answer: a new access token, the refresh token in
    /// the body and in the cookie.
    fn answer(state: &AppState, issued: &Issued) -> Response {
        let session = &issued.session;
        let role = session
            .claims
            .get("role")
            .and_then(|r| r.as_str())
            .unwrap_or("user");
        let Ok(access) = issue_token(
            &state.signing,
            &state.config,
            &session.sub,
            role,
            Some(&session.sid),
        ) else {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "could not issue a token",
            );
        };
        let max_age = (session.expires_at - now_precise()).max(0.0) as i64;
        let mut response = Json(json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_TTL,
            "refresh_token": issued.refresh_token.as_str(),
        }))
        .into_response();
        response
            .headers_mut()
            .insert(SET_COOKIE, cookie(issued.refresh_token.as_str(), max_age));
        response
    }

    /// Opens a session after a successful login.
    pub(super) async fn open(state: &AppState, name: &str, role: &str) -> Response {
        let mut claims = serde_json::Map::new();
        claims.insert("role".into(), role.into());
        match state.sessions.issue(name, claims).await {
            Ok(issued) => answer(state, &issued),
            Err(e) => unavailable(&e),
        }
    }

    fn refresh_cookie(headers: &HeaderMap) -> Option<String> {
        headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == COOKIE_NAME)
            .map(|(_, value)| value.to_owned())
    }

    /// `POST /session/refresh`: the refresh token from the cookie or `{"refresh_token": ...}`.
    pub(super) async fn refresh(
        State(state): State<Arc<AppState>>,
        headers: HeaderMap,
        body: Bytes,
    ) -> Response {
        #[derive(Deserialize)]
        struct Body {
            refresh_token: String,
        }
        let token = if body.iter().all(u8::is_ascii_whitespace) {
            refresh_cookie(&headers)
        } else {
            match serde_json::from_slice::<Body>(&body) {
                Ok(body) => Some(body.refresh_token),
                Err(_) => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "invalid_request",
                        "expected JSON {\"refresh_token\"}",
                    )
                }
            }
        };
        let Some(token) = token else {
            return error(StatusCode::BAD_REQUEST, "invalid_request", "no refresh token");
        };
        match state.sessions.refresh(&token).await {
            Ok(issued) => answer(&state, &issued),
            Err(RefreshError::Unavailable(e)) => unavailable(&e),
            // On reuse (theft or a bug) the store has revoked the session and its access tokens.
            Err(e) => json_error(
                StatusCode::UNAUTHORIZED,
                &json!({
                    "error": "invalid_grant",
                    "error_description": e.to_string(),
                    "code": e.code(),
                }),
            ),
        }
    }

    /// `POST /session/logout` (bearer token): revokes the token and its session, clears the
    /// cookie.
    pub(super) async fn logout(
        State(state): State<Arc<AppState>>,
        Claims(claims): Claims<UserClaims>,
    ) -> Response {
        let until = claims
            .exp
            .map_or(now_precise() + ACCESS_TOKEN_TTL as f64, |e| e.as_secs() as f64);
        // The session first: it covers the token (which carries its `sid`), and if it fails
        // (503) the client can retry with the same token. Once it is revoked, listing the `jti`
        // as well is belt and braces: its failure does not undo the logout.
        let session_revoked = match claims.sid.as_deref() {
            Some(sid) => match state.sessions.revoke(sid).await {
                Ok(_) => true,
                Err(e) => return unavailable(&e),
            },
            None => false,
        };
        if let Some(jti) = claims.jti.as_deref() {
            if let Err(e) = state.sessions.revoke_token(jti, until).await {
                if !session_revoked {
                    return unavailable(&e);
                }
            }
        }
        let mut response = StatusCode::NO_CONTENT.into_response();
        response.headers_mut().insert(SET_COOKIE, cookie("", 0));
        response
    }

    /// `POST /admin/revoke` (role admin), `{"sub": "alice"}`: every token of the subject issued
    /// until now, and every refresh session of it, stop working; the next login works.
    pub(super) async fn revoke(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
        #[derive(Deserialize)]
        struct Body {
            sub: String,
        }
        let Ok(Body { sub }) = serde_json::from_slice::<Body>(&body) else {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "expected JSON {\"sub\"}",
            );
        };
        match state.sessions.revoke_subject(&sub).await {
            Ok(_) => StatusCode::NO_CONTENT.into_response(),
            Err(e) => unavailable(&e),
        }
    }
}

/// The keys tokens are verified with: the signing key's (HS256 secret or public half), or a
/// remote key set in JWKS mode.
#[derive(Clone, Debug)]
pub enum ServerKeys {
    /// One local key.
    Local(Box<tower_jwt_auth::VerifyingKey>),
    /// A remote JWK Set.
    #[cfg(feature = "jwks")]
    Remote(tower_jwt_auth::JwksResolver),
}

type KeyFuture = std::pin::Pin<
    Box<
        dyn std::future::Future<Output = Result<Arc<tower_jwt_auth::VerifyingKey>, tower_jwt_auth::KeyError>>
            + Send,
    >,
>;

impl tower_jwt_auth::KeyResolver for ServerKeys {
    type Future = KeyFuture;

    fn resolve(&self, query: &tower_jwt_auth::KeyQuery<'_>) -> tower_jwt_auth::Resolution<'_, KeyFuture> {
        use tower_jwt_auth::Resolution;
        match self {
            Self::Local(key) => match key.resolve(query) {
                Resolution::Ready(found) => Resolution::Ready(found),
                Resolution::Pending(never) => match never {},
            },
            #[cfg(feature = "jwks")]
            Self::Remote(resolver) => resolver.resolve(query),
        }
    }
}

fn server_keys(
    config: &Config,
    signing: &SigningKey,
) -> Result<ServerKeys, Box<dyn std::error::Error + Send + Sync>> {
    match &config.remote {
        None => Ok(ServerKeys::Local(Box::new(signing.verifying_key()))),
        #[cfg(feature = "jwks")]
        Some(Remote::Jwks { url, cooldown }) => Ok(ServerKeys::Remote(tower_jwt_auth::JwksResolver::with_options(
            url,
            tower_jwt_auth::JwksOptions::default().cooldown(*cooldown),
        )?)),
        #[cfg(feature = "jwks")]
        Some(Remote::Oidc { issuer }) => Ok(ServerKeys::Remote(tower_jwt_auth::JwksResolver::oidc(
            issuer,
            tower_jwt_auth::JwksOptions::default(),
        )?)),
        #[cfg(not(feature = "jwks"))]
        Some(_) => Err("JWT_JWKS_URL / JWT_OIDC_ISSUER need the `jwks` feature (cargo run --example server --features jwks)".into()),
    }
}

/// The key tokens are signed with: the PKCS#8 key when one is configured, else the HS256 secret.
fn signing_key(config: &Config) -> Result<SigningKey, Box<dyn std::error::Error + Send + Sync>> {
    match &config.signing_key_pem {
        #[cfg(feature = "aws-lc")]
        Some(pem) => Ok(SigningKey::from_pkcs8(pem)?),
        #[cfg(not(feature = "aws-lc"))]
        Some(_) => Err(
            "JWT_SIGNING_KEY_FILE needs the `aws-lc` feature (cargo run --example server --features aws-lc)"
                .into(),
        ),
        None => Ok(SigningKey::hs256(config.secret.as_bytes())?),
    }
}

/// Rejections as JSON; the middleware keeps the status and the `WWW-Authenticate` challenge.
fn json_rejection(error: &AuthError) -> Response<Body> {
    let code = error.kind().error_code().unwrap_or(match error.status() {
        StatusCode::SERVICE_UNAVAILABLE => "temporarily_unavailable",
        _ => "unauthorized",
    });
    Json(json!({ "error": code, "error_description": error.description() })).into_response()
}

async fn me(Claims(claims): Claims<UserClaims>) -> Json<UserClaims> {
    Json(claims)
}

async fn admin(Claims(claims): Claims<UserClaims>) -> Json<serde_json::Value> {
    Json(json!({ "message": "welcome, admin", "sub": claims.sub }))
}

#[derive(Deserialize)]
struct LoginRequest {
    username: String,
    password: String,
}

async fn login(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let Ok(request) = serde_json::from_slice::<LoginRequest>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "expected JSON {\"username\", \"password\"}",
        );
    };
    let checker = Arc::clone(&state);
    // Argon2 is deliberately slow: keep it off the async workers.
    let verified = tokio::task::spawn_blocking(move || {
        let user = checker.users.iter().find(|u| u.name == request.username);
        // Unknown users are checked against a dummy hash: same answer, similar time.
        let hash = user.map_or(checker.dummy_hash.as_str(), |u| u.password_hash.as_str());
        let ok = verify_password(&request.password, hash);
        user.filter(|_| ok).map(|u| (u.name, u.role))
    })
    .await;
    let Ok(Some((name, role))) = verified else {
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_grant",
            "wrong username or password",
        );
    };
    #[cfg(feature = "sessions")]
    return sessions::open(&state, name, role).await;
    #[cfg(not(feature = "sessions"))]
    match issue_token(&state.signing, &state.config, name, role, None) {
        Ok(token) => Json(json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_TTL,
        }))
        .into_response(),
        Err(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "could not issue a token",
        ),
    }
}

fn issue_token(
    signing: &SigningKey,
    config: &Config,
    sub: &str,
    role: &str,
    sid: Option<&str>,
) -> Result<String, tower_jwt_auth::SignError> {
    let now = now_precise();
    signing.sign(&UserClaims {
        sub: Some(sub.to_owned()),
        role: Some(role.to_owned()),
        iat: Some(now),
        sid: sid.map(str::to_owned),
        exp: Some(NumericDate::from_secs(now as i64 + ACCESS_TOKEN_TTL)),
        jti: Some(random_b64(16)),
        iss: config.issuer.clone(),
        aud: config.audience.clone().map(Audience::One),
    })
}

/// Seconds since the epoch, to the microsecond: the crate's clock.
fn now_precise() -> f64 {
    tower_jwt_auth::SystemClock::now_precise()
}

/// A JSON error `{"error", "error_description"}`.
fn error(status: StatusCode, code: &str, description: &str) -> Response {
    json_error(
        status,
        &json!({ "error": code, "error_description": description }),
    )
}

/// A JSON error. A 401 carries a challenge, as every 401 must (RFC 9110 §15.5.2): the realm only,
/// since the refused credential (a password, a refresh token) is not a bearer token.
fn json_error(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut response = (status, Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        if let Ok(challenge) = axum::http::HeaderValue::from_str(&format!("Bearer realm=\"{REALM}\"")) {
            response
                .headers_mut()
                .insert(axum::http::header::WWW_AUTHENTICATE, challenge);
        }
    }
    response
}

fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).map_err(|_| argon2::password_hash::Error::Crypto)?;
    let salt = SaltString::encode_b64(&salt)?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|hash| {
            Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        })
        .unwrap_or(false)
}

fn random_b64(bytes: usize) -> String {
    use base64::Engine as _;
    let mut buf = vec![0u8; bytes];
    // The OS random source does not fail on supported platforms; fall back loudly if it does.
    if getrandom::getrandom(&mut buf).is_err() {
        eprintln!("warning: the OS random source failed");
        std::process::exit(1);
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

#[tokio::main]
async fn main() {
    let (config, generated) = match Config::from_env() {
        Ok(found) => found,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    #[cfg(feature = "sessions")]
    let store = match sessions::store_from_env().await {
        Ok(store) => store,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    #[cfg(not(feature = "sessions"))]
    if std::env::var("REDIS_URL").is_ok_and(|v| !v.is_empty()) {
        eprintln!("error: REDIS_URL is set, but this build has no sessions (build with --features redis)");
        std::process::exit(2);
    }
    if let Some(remote) = &config.remote {
        println!("JWKS mode: verifying tokens with the keys of {remote:?}; POST /login is disabled");
    } else if config.signing_key_pem.is_some() {
        println!("signing with the key in JWT_SIGNING_KEY_FILE; its public key is at /.well-known/jwks.json");
    } else if generated {
        println!("JWT_SECRET is not set: generated a random HS256 secret for this run:");
        println!("  JWT_SECRET={}", config.secret);
    }
    let bind = std::env::var("BIND").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let addr: SocketAddr = match bind.parse() {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("error: BIND={bind:?} is not a socket address: {e}");
            std::process::exit(2);
        }
    };
    let state_config = config.clone();
    let router = match app_with(
        config,
        #[cfg(feature = "sessions")]
        store,
    ) {
        Ok(router) => router,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("error: cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    let base = format!("http://{}", listener.local_addr().unwrap_or(addr));
    print_quick_start(&state_config, &base);
    if let Err(e) = axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
    {
        eprintln!("error: {e}");
    }
}

fn print_quick_start(config: &Config, base: &str) {
    println!("listening on {base}");
    if let Ok(key) = signing_key(config) {
        if let (Ok(user), Ok(admin)) = (
            issue_token(&key, config, "alice", "user", None),
            issue_token(&key, config, "admin", "admin", None),
        ) {
            println!("\nA token for alice (role user), valid 15 minutes:\n  {user}\n");
            println!("Try:");
            println!("  curl -i {base}/me -H 'Authorization: Bearer {user}'");
            println!("  curl -i {base}/admin -H 'Authorization: Bearer {user}'    # 403: alice is not admin");
            println!("  curl -i {base}/admin -H 'Authorization: Bearer {admin}'");
            println!("  curl -i {base}/me                                          # 401: no token");
            println!(
                "  curl -i {base}/login -H 'content-type: application/json' -d '{{\"username\":\"admin\",\"password\":\"admin-password\"}}'"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{header, Request};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    const SECRET: &str = "test-secret-that-is-at-least-32-bytes-long";

    fn config(issuer: Option<&str>, audience: Option<&str>) -> Config {
        Config {
            secret: SECRET.into(),
            issuer: issuer.map(Into::into),
            audience: audience.map(Into::into),
            signing_key_pem: None,
            remote: None,
        }
    }

    async fn send(app: &Router, req: Request<Body>) -> (StatusCode, header::HeaderMap, serde_json::Value) {
        let response = app.clone().oneshot(req).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        (status, headers, json)
    }

    fn login_request(body: &str) -> Request<Body> {
        Request::post("/login")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_owned()))
            .unwrap()
    }

    fn get(path: &str, token: Option<&str>) -> Request<Body> {
        let mut req = Request::get(path);
        if let Some(token) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        req.body(Body::empty()).unwrap()
    }

    async fn login(app: &Router, user: &str, password: &str) -> String {
        let (status, _, json) = send(
            app,
            login_request(&format!(r#"{{"username":"{user}","password":"{password}"}}"#)),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(json["token_type"], "Bearer");
        assert_eq!(json["expires_in"], ACCESS_TOKEN_TTL);
        json["access_token"].as_str().unwrap().to_owned()
    }

    #[tokio::test]
    async fn health_needs_no_token() {
        let app = app(config(None, None)).unwrap();
        let (status, _, _) = send(&app, get("/health", None)).await;
        assert_eq!(status, StatusCode::OK);
    }

    #[tokio::test]
    async fn login_then_me_returns_sub_and_role() {
        let app = app(config(None, None)).unwrap();
        let token = login(&app, "alice", "alice-password").await;
        let (status, _, json) = send(&app, get("/me", Some(&token))).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(json["sub"], "alice");
        assert_eq!(json["role"], "user");
    }

    #[tokio::test]
    async fn admin_route_answers_403_for_users_and_200_for_admins() {
        let app = app(config(None, None)).unwrap();
        let user = login(&app, "alice", "alice-password").await;
        let (status, headers, json) = send(&app, get("/admin", Some(&user))).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(
            headers[header::WWW_AUTHENTICATE],
            "Bearer realm=\"tower-jwt-auth example\", error=\"insufficient_scope\""
        );
        assert_eq!(json["error"], "insufficient_scope");
        let admin = login(&app, "admin", "admin-password").await;
        let (status, _, _) = send(&app, get("/admin", Some(&admin))).await;
        assert_eq!(status, StatusCode::OK);
    }

    #[tokio::test]
    async fn missing_and_bad_tokens_get_401_with_a_challenge() {
        let app = app(config(None, None)).unwrap();
        let (status, headers, _) = send(&app, get("/me", None)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            headers[header::WWW_AUTHENTICATE],
            "Bearer realm=\"tower-jwt-auth example\""
        );
        let (status, headers, json) = send(&app, get("/admin", Some("a.b.c"))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(headers[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .contains("error=\"invalid_token\""));
        assert_eq!(json["error"], "invalid_token");
    }

    #[tokio::test]
    async fn wrong_password_and_unknown_user_get_the_same_401() {
        let app = app(config(None, None)).unwrap();
        let wrong = send(&app, login_request(r#"{"username":"alice","password":"nope"}"#)).await;
        let unknown = send(&app, login_request(r#"{"username":"mallory","password":"nope"}"#)).await;
        assert_eq!(wrong.0, StatusCode::UNAUTHORIZED);
        assert_eq!(wrong.0, unknown.0);
        assert_eq!(wrong.2, unknown.2);
        // Every 401 carries a challenge.
        assert_eq!(
            wrong.1[header::WWW_AUTHENTICATE],
            "Bearer realm=\"tower-jwt-auth example\""
        );
    }

    #[tokio::test]
    async fn malformed_login_json_gets_400() {
        let app = app(config(None, None)).unwrap();
        let nested = format!("{}{}", "[".repeat(5_000), "]".repeat(5_000));
        for body in ["{", "[]", r#"{"username":"alice"}"#, "", nested.as_str()] {
            let (status, _, _) = send(&app, login_request(body)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body:.40}");
        }
        let huge = "x".repeat(64 * 1024);
        let (status, _, _) = send(&app, login_request(&huge)).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[tokio::test]
    async fn issuer_and_audience_are_issued_and_enforced() {
        let app = app(config(Some("https://issuer.example"), Some("example-api"))).unwrap();
        let token = login(&app, "alice", "alice-password").await;
        let (status, _, json) = send(&app, get("/me", Some(&token))).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(json["iss"], "https://issuer.example");
        assert_eq!(json["aud"], "example-api");
        // A token from a server without iss/aud is refused here.
        let plain = login(&app_without_iss_aud(), "alice", "alice-password").await;
        let (status, _, json) = send(&app, get("/me", Some(&plain))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(json["error_description"], "missing iss claim");
    }

    /// Defect: an `aud` array naming the configured audience got 401 "invalid claims".
    #[tokio::test]
    async fn an_audience_array_naming_ours_is_accepted() {
        let app = app(config(None, Some("example-api"))).unwrap();
        let signing = SigningKey::hs256(SECRET).unwrap();
        let exp = NumericDate::now().as_secs() + 300;
        let token = |aud: serde_json::Value| {
            signing
                .sign(&json!({"sub": "carol", "role": "user", "aud": aud, "exp": exp}))
                .unwrap()
        };
        let (status, _, json) = send(&app, get("/me", Some(&token(json!(["other", "example-api"]))))).await;
        assert_eq!(status, StatusCode::OK, "{json}");
        assert_eq!(json["sub"], "carol");
        assert_eq!(json["aud"], json!(["other", "example-api"]));
        let (status, _, json) = send(&app, get("/me", Some(&token(json!(["other", "another"]))))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(json["error_description"], "invalid audience");
    }

    fn app_without_iss_aud() -> Router {
        app(config(None, None)).unwrap()
    }

    #[tokio::test]
    async fn oversized_tokens_are_refused_without_a_5xx() {
        let app = app(config(None, None)).unwrap();
        let huge = "a".repeat(100 * 1024);
        let (status, _, json) = send(&app, get("/me", Some(&huge))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(json["error_description"], "token too large");
    }

    #[tokio::test]
    async fn unknown_paths_stay_404() {
        let app = app(config(None, None)).unwrap();
        let (status, _, _) = send(&app, get("/nope", None)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    #[cfg(feature = "aws-lc")]
    #[tokio::test]
    async fn a_signing_key_file_signs_verifies_and_publishes_its_public_key() {
        // A throwaway P-256 key (PKCS#8), for this test only.
        let pem = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/keys/example-server-p256.pem"
        ))
        .unwrap();
        let mut c = config(None, None);
        c.signing_key_pem = Some(pem);
        let app = app(c).unwrap();
        let token = login(&app, "alice", "alice-password").await;
        let header = tower_jwt_auth::dangerous::decode_header_unverified(&token).unwrap();
        assert_eq!(header["alg"], "ES256");
        let (status, _, _) = send(&app, get("/me", Some(&token))).await;
        assert_eq!(status, StatusCode::OK);
        let (status, headers, jwks) = send(&app, get("/.well-known/jwks.json", None)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_TYPE], "application/jwk-set+json");
        assert_eq!(jwks["keys"][0]["kid"], header["kid"]);
        // HS256 tokens made with the (unused) secret are refused.
        let hs = SigningKey::hs256(SECRET)
            .unwrap()
            .sign(&json!({"sub":"x","role":"admin","exp": NumericDate::now().as_secs() + 60}))
            .unwrap();
        let (status, _, _) = send(&app, get("/me", Some(&hs))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }

    #[cfg(feature = "jwks")]
    #[tokio::test]
    async fn jwks_mode_has_no_login_and_answers_503_while_the_key_set_is_unreachable() {
        let mut c = config(None, None);
        c.remote = Some(Remote::Jwks {
            url: "http://127.0.0.1:1/jwks.json".into(),
            cooldown: Duration::from_secs(30),
        });
        let app = app(c).unwrap();
        let (status, _, _) = send(
            &app,
            login_request(r#"{"username":"alice","password":"alice-password"}"#),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let token = SigningKey::hs256(SECRET)
            .unwrap()
            .sign(&json!({"sub":"x","role":"admin","exp": NumericDate::now().as_secs() + 60}))
            .unwrap();
        let (status, headers, _) = send(&app, get("/me", Some(&token))).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(headers.get(header::WWW_AUTHENTICATE).is_none());
        let (status, _, _) = send(&app, get("/health", None)).await;
        assert_eq!(status, StatusCode::OK);
    }

    #[cfg(feature = "redis")]
    #[test]
    fn redis_urls_are_shown_without_their_password() {
        assert_eq!(
            sessions::redact("redis://user:secret@db.internal:6379/2"),
            "redis://***@db.internal:6379/2"
        );
        assert_eq!(
            sessions::redact("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
    }

    #[cfg(feature = "sessions")]
    #[tokio::test]
    async fn sessions_refresh_rotate_detect_reuse_log_out_and_revoke() {
        let app = app(config(None, None)).unwrap();
        let post = |path: &str, body: String, cookie: Option<&str>, bearer: Option<&str>| {
            let mut req = Request::post(path).header(header::CONTENT_TYPE, "application/json");
            if let Some(c) = cookie {
                req = req.header(header::COOKIE, format!("__Host-refresh_token={c}"));
            }
            if let Some(t) = bearer {
                req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
            }
            req.body(Body::from(body)).unwrap()
        };
        let response = app
            .clone()
            .oneshot(login_request(
                r#"{"username":"alice","password":"alice-password"}"#,
            ))
            .await
            .unwrap();
        let set_cookie = response.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(set_cookie.starts_with("__Host-refresh_token=rt1_"));
        for part in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/", "Max-Age="] {
            assert!(set_cookie.contains(part), "{set_cookie}");
        }
        assert!(!set_cookie.contains("Domain"));
        let body: serde_json::Value =
            serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
        let first = body["refresh_token"].as_str().unwrap().to_owned();
        let access = body["access_token"].as_str().unwrap().to_owned();

        // Refresh from the cookie, then from the body: each rotates.
        let (status, headers, json) =
            send(&app, post("/session/refresh", String::new(), Some(&first), None)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(headers[header::SET_COOKIE].to_str().unwrap().contains("rt1_"));
        let second = json["refresh_token"].as_str().unwrap().to_owned();
        assert_ne!(second, first);
        let (status, _, json) = send(
            &app,
            post(
                "/session/refresh",
                json!({"refresh_token": second}).to_string(),
                None,
                None,
            ),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let third = json["refresh_token"].as_str().unwrap().to_owned();
        let third_access = json["access_token"].as_str().unwrap().to_owned();
        assert_eq!(
            send(&app, get("/me", Some(&third_access))).await.0,
            StatusCode::OK
        );

        // Reuse of the first token: invalid_grant, and the session dies with its tokens.
        let (status, _, json) = send(&app, post("/session/refresh", String::new(), Some(&first), None)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(json["error"], "invalid_grant");
        assert_eq!(json["code"], "reused");
        let (status, _, json) = send(&app, post("/session/refresh", String::new(), Some(&third), None)).await;
        assert_eq!(
            (status, json["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("revoked"))
        );
        assert_eq!(
            send(&app, get("/me", Some(&third_access))).await.0,
            StatusCode::UNAUTHORIZED
        );
        // The login's own access token belonged to the same session.
        assert_eq!(
            send(&app, get("/me", Some(&access))).await.0,
            StatusCode::UNAUTHORIZED
        );

        // No token, malformed JSON: 400.
        assert_eq!(
            send(&app, post("/session/refresh", String::new(), None, None))
                .await
                .0,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            send(&app, post("/session/refresh", "{".into(), None, None))
                .await
                .0,
            StatusCode::BAD_REQUEST
        );

        // Logout: 204, cookie cleared, the access token and the refresh token stop working.
        let (_, _, json) = send(
            &app,
            login_request(r#"{"username":"alice","password":"alice-password"}"#),
        )
        .await;
        let (access, refresh) = (
            json["access_token"].as_str().unwrap().to_owned(),
            json["refresh_token"].as_str().unwrap().to_owned(),
        );
        let (status, headers, _) =
            send(&app, post("/session/logout", String::new(), None, Some(&access))).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert!(headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0"));
        assert_eq!(
            send(&app, get("/me", Some(&access))).await.0,
            StatusCode::UNAUTHORIZED
        );
        let (status, _, json) = send(
            &app,
            post("/session/refresh", String::new(), Some(&refresh), None),
        )
        .await;
        assert_eq!(
            (status, json["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid_grant"))
        );

        // Admin revocation of alice: her tokens and refresh tokens stop, her next login works.
        let (_, _, alice) = send(
            &app,
            login_request(r#"{"username":"alice","password":"alice-password"}"#),
        )
        .await;
        let admin = login(&app, "admin", "admin-password").await;
        let user = login(&app, "alice", "alice-password").await;
        assert_eq!(
            send(
                &app,
                post(
                    "/admin/revoke",
                    json!({"sub": "alice"}).to_string(),
                    None,
                    Some(&user)
                )
            )
            .await
            .0,
            StatusCode::FORBIDDEN
        );
        let (status, _, _) = send(
            &app,
            post(
                "/admin/revoke",
                json!({"sub": "alice"}).to_string(),
                None,
                Some(&admin),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(
            send(&app, get("/me", Some(&user))).await.0,
            StatusCode::UNAUTHORIZED
        );
        let alice_refresh = alice["refresh_token"].as_str().unwrap().to_owned();
        assert_eq!(
            send(
                &app,
                post("/session/refresh", String::new(), Some(&alice_refresh), None)
            )
            .await
            .0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(send(&app, get("/me", Some(&admin))).await.0, StatusCode::OK);
        let again = login(&app, "alice", "alice-password").await;
        assert_eq!(send(&app, get("/me", Some(&again))).await.0, StatusCode::OK);
    }

    #[test]
    fn a_short_secret_is_a_configuration_error() {
        let mut c = config(None, None);
        c.secret = "short".into();
        assert!(app(c).is_err());
    }
}
