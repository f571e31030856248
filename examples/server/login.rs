//! `POST /login`: the demo users, their Argon2 password hashes, and a check that answers a wrong
//! password and an unknown user alike, behind the limits of `limits.rs`, on the pool of
//! `passwords.rs`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use axum::Extension;
#[cfg(not(feature = "sessions"))]
use axum::{response::IntoResponse, Json};
use serde::Deserialize;
#[cfg(not(feature = "sessions"))]
use serde_json::json;

use super::app::AppState;
use super::errors::error;
use super::limits::{RetryAfter, MAX_USERNAME};
use super::passwords::PasswordHash;
#[cfg(not(feature = "sessions"))]
use super::tokens::{issue_token, ACCESS_TOKEN_TTL};

/// Longer passwords are refused (400) before they are checked.
const MAX_PASSWORD: usize = 1024;

pub(crate) struct User {
    pub(crate) name: &'static str,
    pub(crate) role: &'static str,
    pub(crate) password_hash: PasswordHash,
}

#[derive(Deserialize)]
struct LoginRequest {
    username: String,
    password: String,
}

pub(crate) async fn login(
    State(state): State<Arc<AppState>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    body: Bytes,
) -> Response {
    // Without a peer address (a test driving the router directly) every request counts as one
    // client.
    let address = peer.map_or(
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        |Extension(ConnectInfo(peer))| peer.ip(),
    );
    if let Err(retry) = state.limits.attempt_from(address) {
        return retry_later(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            "too many logins from this address",
            &retry,
        );
    }
    let request = match serde_json::from_slice::<LoginRequest>(&body) {
        Ok(request) if request.username.len() <= MAX_USERNAME && request.password.len() <= MAX_PASSWORD => {
            request
        }
        _ => return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "expected JSON {\"username\", \"password\"} (a username up to 256 bytes, a password up to 1024)",
        ),
    };
    // One check at a time per username, and only while its failure quota lasts.
    let _turn = state.limits.turn(&request.username).await;
    if let Err(retry) = state.limits.may_try(&request.username) {
        return retry_later(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            "too many failed logins for this username",
            &retry,
        );
    }
    let user = state.users.iter().find(|u| u.name == request.username);
    // Unknown users are checked against a dummy hash: same answer, same time.
    let hash = user.map_or(&state.dummy_hash, |u| &u.password_hash).clone();
    let verified = match state.passwords.verify(request.password, hash).await {
        Ok(verified) => verified,
        Err(_busy) => {
            return retry_later(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "too many logins in progress",
                &RetryAfter(std::time::Duration::from_secs(1)),
            )
        }
    };
    let Some(user) = user.filter(|_| verified) else {
        state.limits.failed(&request.username);
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_grant",
            "wrong username or password",
        );
    };
    #[cfg(feature = "sessions")]
    return super::sessions::open(&state, user.name, user.role).await;
    #[cfg(not(feature = "sessions"))]
    match issue_token(&state.signing, &state.config, user.name, user.role, None) {
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

/// A 429 or 503 with `Retry-After`.
fn retry_later(status: StatusCode, code: &str, description: &str, retry: &RetryAfter) -> Response {
    let mut response = error(status, code, description);
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(retry.seconds()));
    response
}
