//! Remote JWK Sets and OpenID Connect discovery: [`JwksResolver`] (feature `jwks`).
//!
//! | behaviour | default | option |
//! | --- | --- | --- |
//! | key look-up for a cached `kid` | synchronous, lock-free (an `ArcSwap` snapshot), no `.await` | — |
//! | set lifetime | 5 min; `Cache-Control: max-age` honoured between 1 min and 24 h | [`JwksOptions::cache_ttl`] |
//! | refresh | in the background, ahead of expiry with jitter; requests never wait on it | — |
//! | unknown `kid` | one refetch, in a task of its own, shared by concurrent requests (single flight), at most once per cooldown counted from its start; a request that goes away neither stops it nor frees the cooldown | [`JwksOptions::cooldown`] (30 s) |
//! | fetches under way | at most one per resolver (forced, background or [`reload`](JwksResolver::reload)); each runs to its end in its own Tokio task | — |
//! | failed fetch (5xx, timeout, HTML, truncated or oversized body, empty or unusable set) | the last good set stays in use; background retries back off from 1 s to 30 s | — |
//! | last good set too old | 503 | [`JwksOptions::max_stale`] (24 h) |
//! | no set ever obtained | 503 for requests with a token; the server still starts | — |
//! | transport | hyper + rustls (aws-lc-rs provider, webpki roots), HTTPS only except loopback, no redirects | — |
//! | limits | 2 s to connect, 5 s in all, 256 KiB body, 100 keys | [`JwksOptions`] |
//! | keys | see [`KeySet`](crate::KeySet): `oct` keys never used, unusable keys skipped | — |
//!
//! Fetches, failures and skipped keys are `tracing` events (target `tower_jwt_auth::jwks`).

mod cache;
mod client;
mod discovery;
mod error;
mod options;
mod resolver;
mod status;

pub use self::error::FetchError;
pub use self::options::JwksOptions;
pub(crate) use self::resolver::{check_issuer_url, check_jwks_url, JwksClient};
pub use self::resolver::{JwksFuture, JwksResolver};
pub use self::status::JwksStatus;
