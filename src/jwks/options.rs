//! [`JwksOptions`]: the settings of a [`JwksResolver`](super::JwksResolver).

use std::time::Duration;

/// Settings of a [`JwksResolver`](super::JwksResolver); every field has the documented default.
#[derive(Clone, Debug)]
pub struct JwksOptions {
    pub(super) cache_ttl: Duration,
    pub(super) cooldown: Duration,
    pub(super) max_stale: Duration,
    pub(super) connect_timeout: Duration,
    pub(super) total_timeout: Duration,
    pub(super) max_body: usize,
    pub(super) max_keys: usize,
}

impl Default for JwksOptions {
    fn default() -> Self {
        Self {
            cache_ttl: Duration::from_secs(300),
            cooldown: Duration::from_secs(30),
            max_stale: Duration::from_secs(24 * 3600),
            connect_timeout: Duration::from_secs(2),
            total_timeout: Duration::from_secs(5),
            max_body: 256 * 1024,
            max_keys: 100,
        }
    }
}

impl JwksOptions {
    /// How long a set is used without a `Cache-Control: max-age` (default 5 minutes).
    #[must_use]
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// The least time between two refetches forced by unknown `kid`s (default 30 s), counted
    /// from the moment a refetch starts, whether it then succeeds or fails. A storm of random
    /// `kid`s costs at most one fetch per cooldown.
    ///
    /// A forced refetch runs in a Tokio task of its own, not in the request that forced it: if
    /// that request is cancelled (its client hangs up, a timeout drops it), the fetch still runs
    /// to its end and fills the cache, and its start still counts. Requests that find no key
    /// while it runs wait for it rather than fetch again.
    #[must_use]
    pub fn cooldown(mut self, cooldown: Duration) -> Self {
        self.cooldown = cooldown;
        self
    }

    /// How long the last good set stays in use while fetches fail (default 24 h); past it,
    /// requests with a token get 503.
    #[must_use]
    pub fn max_stale(mut self, max_stale: Duration) -> Self {
        self.max_stale = max_stale;
        self
    }

    /// Connection and total timeouts of one fetch (defaults 2 s and 5 s).
    #[must_use]
    pub fn timeouts(mut self, connect: Duration, total: Duration) -> Self {
        self.connect_timeout = connect;
        self.total_timeout = total;
        self
    }

    /// The largest response body accepted (default 256 KiB).
    #[must_use]
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// The most keys a set may hold (default 100); a larger set is refused whole.
    #[must_use]
    pub fn max_keys(mut self, keys: usize) -> Self {
        self.max_keys = keys;
        self
    }
}
