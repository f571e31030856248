//! Shared fixtures for the benchmarks: one typical access token and the claims type, the
//! hand-written floor and middleware, and the in-process route benchmarks' handlers and
//! criterion settings (`layer.rs`, `peers/`).

#![allow(dead_code)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
// The floor stays on the RustCrypto releases issue 16 measured it with.
use hmac012::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2_010::{Sha256, Sha512};

pub(crate) const SECRET: &[u8] = b"bench-secret-bench-secret-bench-secret-64-bytes-long-for-hs512!!";
pub(crate) const ISSUER: &str = "https://auth.example.com";
pub(crate) const AUDIENCE: &str = "orders-api";
/// Far in the future, so the token stays valid whenever the benchmark runs.
pub(crate) const EXP: i64 = 4_102_444_800;
pub(crate) const IAT: i64 = 1_700_000_000;

/// The middle of `values` (sorted in place; the upper middle for an even count).
pub(crate) fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The environment variable `name` parsed, or `default` when it is unset or does not parse:
/// how the non-criterion benchmarks are bounded.
pub(crate) fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The rules every contender checks: the benchmark token's issuer and audience.
pub(crate) fn validation() -> tower_jwt_auth::Validation {
    tower_jwt_auth::Validation::new()
        .issuer(ISSUER)
        .unwrap()
        .audience(AUDIENCE)
        .unwrap()
}

/// The claims of a typical access token, decoded into an owned struct.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct BenchClaims {
    pub(crate) sub: String,
    pub(crate) name: String,
    pub(crate) role: String,
    pub(crate) iat: i64,
    pub(crate) exp: i64,
    pub(crate) iss: String,
    pub(crate) aud: String,
}

pub(crate) fn claims(exp: i64) -> BenchClaims {
    BenchClaims {
        sub: "user-1234567890".into(),
        name: "Alice Example".into(),
        role: "admin".into(),
        iat: IAT,
        exp,
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
    }
}

/// The claims beside the registered ones, for jwt-simple and huskarl-resource-server, whose
/// registered claims live outside the custom struct.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct CustomOnly {
    pub(crate) name: String,
    pub(crate) role: String,
}

/// The least honest work: split, decode the signature into a stack buffer, HMAC from a
/// pre-keyed state, constant-time compare, decode the payload, deserialize, check exp/iss/aud.
pub(crate) enum Floor {
    Hs256(Hmac<Sha256>),
    Hs512(Hmac<Sha512>),
}

impl Floor {
    pub(crate) fn mac_ok(&self, input: &[u8], sig_b64: &str) -> bool {
        let mut sig = [0u8; 96];
        let Ok(n) = URL_SAFE_NO_PAD.decode_slice(sig_b64, &mut sig) else {
            return false;
        };
        match self {
            Self::Hs256(m) => m.clone().chain_update(input).verify_slice(&sig[..n]).is_ok(),
            Self::Hs512(m) => m.clone().chain_update(input).verify_slice(&sig[..n]).is_ok(),
        }
    }

    pub(crate) fn verify(&self, token: &str, now: i64) -> Option<BenchClaims> {
        let (signing_input, sig) = token.rsplit_once('.')?;
        let (_, payload) = signing_input.split_once('.')?;
        if !self.mac_ok(signing_input.as_bytes(), sig) {
            return None;
        }
        let mut buf = [0u8; 1024];
        let n = URL_SAFE_NO_PAD.decode_slice(payload, &mut buf).ok()?;
        let claims: BenchClaims = serde_json::from_slice(&buf[..n]).ok()?;
        (claims.exp > now && claims.iss == ISSUER && claims.aud == AUDIENCE).then_some(claims)
    }
}

/// jsonwebtoken's key and rules for the benchmark token, for [`hand_written`].
pub(crate) struct JwtKeys {
    pub(crate) key: jsonwebtoken::DecodingKey,
    pub(crate) validation: jsonwebtoken::Validation,
}

impl JwtKeys {
    pub(crate) fn new() -> Self {
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        Self {
            key: jsonwebtoken::DecodingKey::from_secret(SECRET),
            validation,
        }
    }
}

/// `token` with its signature's sixth character changed: still canonical base64url (a middle
/// character carries six bits of the tag), so it is refused as a bad signature, after the HMAC.
pub(crate) fn bad_signature(token: &str) -> String {
    let (body, sig) = token.rsplit_once('.').unwrap();
    let mut bad = sig.as_bytes().to_vec();
    bad[5] = if bad[5] == b'A' { b'B' } else { b'A' };
    format!("{body}.{}", String::from_utf8(bad).unwrap())
}

/// The token of `Authorization: Bearer <token>` as the hand-written middlewares find it, or 401.
pub(crate) fn bearer(req: &axum::extract::Request) -> Result<&str, axum::http::StatusCode> {
    req.headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(axum::http::StatusCode::UNAUTHORIZED)
}

/// The `Authorization` value the benchmarks send with `token`.
pub(crate) fn bearer_header(token: &str) -> axum::http::HeaderValue {
    axum::http::HeaderValue::from_str(&format!("Bearer {token}")).unwrap()
}

/// What users write today (after axum's jwt example): a `from_fn` middleware around
/// `jsonwebtoken::decode`, the claims handed on in the extensions.
pub(crate) async fn hand_written(
    axum::extract::State(keys): axum::extract::State<std::sync::Arc<JwtKeys>>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Result<axum::response::Response, axum::http::StatusCode> {
    let token = bearer(&req)?;
    let data = jsonwebtoken::decode::<BenchClaims>(token, &keys.key, &keys.validation)
        .map_err(|_| axum::http::StatusCode::UNAUTHORIZED)?;
    req.extensions_mut().insert(data.claims);
    Ok(next.run(req).await)
}

/// The in-process route benchmarks' handlers (`layer.rs`, `peers/`): a route without
/// middleware answering `ok`.
pub(crate) async fn bare() -> &'static str {
    "ok"
}

/// A route behind tower-jwt-auth: the handler takes `Claims<T>`.
pub(crate) async fn with_claims(
    tower_jwt_auth::Claims(claims): tower_jwt_auth::Claims<BenchClaims>,
) -> &'static str {
    std::hint::black_box(&claims);
    "ok"
}

/// A route behind a middleware that hands the claims on as a plain extension.
pub(crate) async fn with_extension(axum::Extension(claims): axum::Extension<BenchClaims>) -> &'static str {
    std::hint::black_box(&claims);
    "ok"
}

/// Criterion's settings for the in-process route benchmarks.
pub(crate) fn route_config() -> criterion::Criterion {
    criterion::Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2))
        .sample_size(60)
}
