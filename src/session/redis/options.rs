//! [`RedisOptions`]: the settings of [`RedisStore`](super::RedisStore).

use std::time::Duration;

/// Settings of [`RedisStore`](super::RedisStore).
#[derive(Clone, Debug)]
pub struct RedisOptions {
    pub(super) prefix: String,
    pub(super) cap: usize,
    pub(super) per_subject: usize,
    pub(super) sessions_per_subject: usize,
    pub(super) timeout: Duration,
    pub(super) reconcile: Duration,
    pub(super) max_staleness: Option<Duration>,
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            prefix: "tower-jwt-auth:".to_owned(),
            cap: 100_000,
            per_subject: 64,
            sessions_per_subject: 32,
            timeout: Duration::from_secs(2),
            reconcile: Duration::from_secs(1),
            max_staleness: None,
        }
    }
}

impl RedisOptions {
    /// The prefix of every key and of the pub/sub channel (default `tower-jwt-auth:`); set one per
    /// application sharing a Redis.
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The most revocations held (default 100,000, at least 1). A revocation past it is never
    /// refused: the subject with the most entries is compacted into one cutoff, or when that
    /// frees nothing, the list becomes one cutoff for everyone (see
    /// [`Revocations`](crate::Revocations)).
    #[must_use]
    pub fn cap(mut self, cap: usize) -> Self {
        self.cap = cap.max(1);
        self
    }

    /// The most revocations attributed to one subject (default 64, at least 1): past it, the
    /// subject's entries are compacted into one subject cutoff at the current time, in Redis and
    /// in every mirror ([`Revocations::per_subject`](crate::Revocations::per_subject)).
    #[must_use]
    pub fn revocations_per_subject(mut self, bound: usize) -> Self {
        self.per_subject = bound.max(1);
        self
    }

    /// The most sessions one subject may hold (default 32, at least 1): a new session past it
    /// removes the subject's oldest (its access tokens are refused). It bounds "log out
    /// everywhere", which walks the subject's sessions in one script.
    #[must_use]
    pub fn sessions_per_subject(mut self, cap: usize) -> Self {
        self.sessions_per_subject = cap.max(1);
        self
    }

    /// How long a store operation may take before it fails with
    /// [`StoreError::Unavailable`](crate::session::StoreError::Unavailable) (default 2 s).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How often the mirror compares its sequence number with Redis's (default 1 s).
    #[must_use]
    pub fn reconcile_interval(mut self, interval: Duration) -> Self {
        self.reconcile = interval.max(Duration::from_millis(10));
        self
    }

    /// Fail closed when the mirror has not been confirmed current for longer than `bound` (at
    /// least twice the reconcile interval; a smaller bound is raised to that): the layer then
    /// answers 503 to token-bearing requests until Redis answers again. The mirror is confirmed
    /// every reconcile interval, so after Redis goes away the 503s start between `bound` minus
    /// one interval and `bound`.
    ///
    /// Default: none, the last mirror is enforced however old it is. Revocations are written
    /// through Redis, so while Redis is down for the whole fleet the mirror misses nothing, and
    /// failing closed would turn a Redis outage into an outage of every API. The risk is one
    /// instance cut off from a Redis the others still reach: it misses revocations made
    /// meanwhile, for at most the access tokens' lifetime (15 minutes). Set a bound (say, 30 s)
    /// where serving a revoked token for that long is worse than refusing everyone.
    #[must_use]
    pub fn max_staleness(mut self, bound: Duration) -> Self {
        self.max_staleness = Some(bound);
        self
    }
}
