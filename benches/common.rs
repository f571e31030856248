//! Shared fixtures for the benchmarks: one typical access token and the claims type.

#![allow(dead_code)]

use serde::{Deserialize, Serialize};

pub(crate) const SECRET: &[u8] = b"bench-secret-bench-secret-bench-secret-64-bytes-long-for-hs512!!";
pub(crate) const ISSUER: &str = "https://auth.example.com";
pub(crate) const AUDIENCE: &str = "orders-api";
/// Far in the future, so the token stays valid whenever the benchmark runs.
pub(crate) const EXP: i64 = 4_102_444_800;
pub(crate) const IAT: i64 = 1_700_000_000;

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

/// Claims for jwt-simple, whose registered claims live outside the custom struct.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct CustomOnly {
    pub(crate) name: String,
    pub(crate) role: String,
}
