//! `POST /login`: the demo users, their Argon2 password hashes, and a check that answers a wrong
//! password and an unknown user alike.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
#[cfg(not(feature = "sessions"))]
use axum::{response::IntoResponse, Json};
use serde::Deserialize;
#[cfg(not(feature = "sessions"))]
use serde_json::json;

use super::app::AppState;
use super::errors::error;
#[cfg(not(feature = "sessions"))]
use super::tokens::{issue_token, ACCESS_TOKEN_TTL};

pub(crate) struct User {
    pub(crate) name: &'static str,
    pub(crate) role: &'static str,
    pub(crate) password_hash: String,
}

#[derive(Deserialize)]
struct LoginRequest {
    username: String,
    password: String,
}

pub(crate) async fn login(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
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
    return super::sessions::open(&state, name, role).await;
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

pub(crate) fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
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
