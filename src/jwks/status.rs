//! [`JwksStatus`]: what a resolver knows now.

use std::time::SystemTime;

use super::error::FetchError;

/// What a [`JwksResolver`](super::JwksResolver) knows now, for health checks and logs.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct JwksStatus {
    /// Usable keys in the current set.
    pub keys: usize,
    /// When the current set was fetched.
    pub fetched_at: Option<SystemTime>,
    /// Whether the current set has outlived its cache lifetime (fetches are failing).
    pub stale: bool,
    /// Whether forced refetches are currently held back by the cooldown.
    pub cooling_down: bool,
    /// Whether a fetch is under way.
    pub fetching: bool,
    /// The last failure and when it happened, until a fetch succeeds.
    pub last_error: Option<(FetchError, SystemTime)>,
}
