//! What the integration tests share: the pinned clock, the HS256 secret of the tests and its
//! keys, the claims the protected services read, a `redis-server` of a test's own
//! ([`redis_server`]) and the example server's application ([`example_server`]).
//!
//! Each test crate declares `mod support;` and uses the part it needs.

// Each test crate uses a part of this module; the rest is unused there.
#![allow(dead_code)]

#[cfg(feature = "axum")]
pub(crate) mod example_server;
#[cfg(feature = "jwks")]
pub(crate) mod idp;
pub(crate) mod loopback;
pub(crate) mod redis_server;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;
use tower_jwt_auth::{Scopes, SigningKey, Validation};

/// The pinned current time.
pub(crate) const NOW: u64 = 1_700_000_000;
/// An expiry comfortably in the future.
pub(crate) const LATER: u64 = NOW + 600;
/// The secret of the configured key (32 bytes: HS256).
pub(crate) const SECRET: &[u8; 32] = b"the-32-byte-secret-of-the-tests!";
/// A secret the service does not know.
pub(crate) const ATTACKER: &[u8; 32] = b"an-attacker-chosen-32-byte-key!!";

/// The claims the protected service reads.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct MyClaims {
    pub(crate) sub: String,
    #[serde(default)]
    pub(crate) role: String,
    #[serde(default)]
    pub(crate) scope: Scopes,
}

/// The default validation with its clock pinned at [`NOW`].
pub(crate) fn validation() -> Validation {
    Validation::new().clock(|| NOW)
}

/// The HS256 key of [`SECRET`], to sign with.
pub(crate) fn signer() -> SigningKey {
    SigningKey::hs256(SECRET).expect("a 32-byte secret")
}

/// `claims` signed with [`SECRET`].
pub(crate) fn token(claims: &Value) -> String {
    signer().sign(claims).expect("claims are an object")
}

/// base64url without padding.
pub(crate) fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}
