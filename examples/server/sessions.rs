//! Refresh tokens, logout and revocation (feature `sessions`): access tokens live 15 minutes,
//! refresh tokens rotate on every use and travel in an `HttpOnly` cookie.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;
use tower_jwt_auth::session::{Issued, MemoryStore, RefreshError, StoreError};
use tower_jwt_auth::Claims;

use super::app::AppState;
use super::errors::{error, json_error};
use super::tokens::{issue_token, now_precise, UserClaims, ACCESS_TOKEN_TTL};

/// The session store: in memory (one process) or Redis (a fleet, `REDIS_URL`), chosen at
/// start-up.
#[cfg(feature = "redis")]
pub(crate) type Store = tower_jwt_auth::Either<MemoryStore, tower_jwt_auth::session::RedisStore>;
/// The session store: in memory (one process); without the `redis` feature the right side
/// is never made.
#[cfg(not(feature = "redis"))]
pub(crate) type Store = tower_jwt_auth::Either<MemoryStore, MemoryStore>;

/// The store `REDIS_URL` names, else one in memory; says which at start-up.
pub(crate) async fn store_from_env() -> Result<Store, String> {
    let Some(url) = std::env::var("REDIS_URL").ok().filter(|v| !v.is_empty()) else {
        println!("sessions: in-memory store (one process; refresh tokens and revocations are not shared)");
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
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://***{}", &url[..scheme], &url[at..]),
        _ => url.to_owned(),
    }
}

/// Drops ended sessions and expired revocations of the in-memory store (run every minute).
pub(crate) fn purge(state: &AppState) {
    if let Store::Left(store) = state.sessions.store() {
        store.purge(now_precise(), ACCESS_TOKEN_TTL as f64 + 60.0);
    }
}

/// The refresh-token key: HMAC-SHA256 of a fixed label under JWT_SECRET.
pub(crate) fn refresh_secret(secret: &str) -> [u8; 32] {
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
pub(crate) async fn open(state: &AppState, name: &str, role: &str) -> Response {
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
pub(crate) async fn refresh(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
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
pub(crate) async fn logout(
    State(state): State<Arc<AppState>>,
    Claims(claims): Claims<UserClaims>,
) -> Response {
    let until = claims
        .exp
        .map_or(now_precise() + ACCESS_TOKEN_TTL as f64, |e| e.as_secs() as f64);
    // The session covers the token (which carries its `sid`) for as long as the token lives;
    // a token without a session is listed by its `jti`. One entry either way: the list bounds
    // each subject's entries, so it is not spent twice. If the store fails (503), the client
    // can retry with the same token.
    let revoked = match (claims.sid.as_deref(), claims.jti.as_deref()) {
        (Some(sid), _) => state.sessions.revoke(sid).await.map(|_| ()),
        (None, Some(jti)) => {
            state
                .sessions
                .revoke_token(claims.sub.as_deref(), jti, until)
                .await
        }
        (None, None) => Ok(()),
    };
    if let Err(e) = revoked {
        return unavailable(&e);
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(SET_COOKIE, cookie("", 0));
    response
}

/// `POST /admin/revoke` (role admin), `{"sub": "alice"}`: every token of the subject issued
/// until now, and every refresh session of it, stop working; the next login works.
pub(crate) async fn revoke(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
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
