//! The access tokens this server issues: their claims, their lifetime, how they are minted.

use serde::{Deserialize, Serialize};
use tower_jwt_auth::{Audience, NumericDate, SigningKey};

use super::config::Config;

/// Access tokens live 15 minutes.
pub(crate) const ACCESS_TOKEN_TTL: i64 = 15 * 60;

/// The claims this server issues and reads.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct UserClaims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) sub: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) role: Option<String>,
    /// Issued at, with sub-second precision so that a revocation cutoff splits a second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) iat: Option<f64>,
    /// The refresh session this access token belongs to (with the `sessions` feature).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) exp: Option<NumericDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) jti: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) iss: Option<String>,
    /// One audience or several: RFC 7519 §4.1.3 allows an array, and identity providers send
    /// them. (The layer has already checked that one of them is `JWT_AUDIENCE`.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) aud: Option<Audience>,
}

pub(crate) fn issue_token(
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

/// Seconds since the epoch with their fraction: the crate's clock.
pub(crate) fn now_precise() -> f64 {
    tower_jwt_auth::SystemClock::now_precise()
}

pub(crate) fn random_b64(bytes: usize) -> String {
    use base64::Engine as _;
    let mut buf = vec![0u8; bytes];
    // The OS random source does not fail on supported platforms; fall back loudly if it does.
    if getrandom::getrandom(&mut buf).is_err() {
        eprintln!("warning: the OS random source failed");
        std::process::exit(1);
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}
