//! JSON errors: the middleware's rejections and the handlers' own refusals, with a challenge on
//! every 401.

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use tower_jwt_auth::AuthError;

/// The realm of this server's challenges.
pub(crate) const REALM: &str = "tower-jwt-auth example";

/// Rejections as JSON; the middleware keeps the status and the `WWW-Authenticate` challenge.
pub(crate) fn json_rejection(error: &AuthError) -> Response<Body> {
    let code = error.kind().error_code().unwrap_or(match error.status() {
        StatusCode::SERVICE_UNAVAILABLE => "temporarily_unavailable",
        _ => "unauthorized",
    });
    Json(json!({ "error": code, "error_description": error.description() })).into_response()
}

/// A JSON error `{"error", "error_description"}`.
pub(crate) fn error(status: StatusCode, code: &str, description: &str) -> Response {
    json_error(
        status,
        &json!({ "error": code, "error_description": description }),
    )
}

/// A JSON error. A 401 carries a challenge, as every 401 must (RFC 9110 §15.5.2): the realm only,
/// since the refused credential (a password, a refresh token) is not a bearer token.
pub(crate) fn json_error(status: StatusCode, body: &serde_json::Value) -> Response {
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
