//! The cached key set and how it is kept fresh: the fetch state, the cooldown of forced
//! refetches, the backoff of failing fetches, the background refresh loop and
//! `fetch_and_store`.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;

use super::client::HttpClient;
use super::discovery::{Discovered, Source};
use super::error::FetchError;
use super::options::JwksOptions;
use super::status::JwksStatus;
use crate::key::jwk::DocumentError;
use crate::key::snapshot::Snapshot;
use crate::{ConfigError, KeySet};

/// What a resolver shares with its clones and its background task.
pub(super) struct Cache {
    pub(super) source: Source,
    client: HttpClient,
    pub(super) options: JwksOptions,
    pub(super) snapshot: ArcSwap<Snapshot>,
    /// Held by the one fetch under way; requests for unknown keys queue on it (single flight).
    fetch_lock: tokio::sync::Mutex<()>,
    state: Mutex<FetchState>,
    refresher: AtomicBool,
    /// OIDC: the `jwks_uri` found by discovery, and when.
    discovered: Discovered,
}

#[derive(Default)]
struct FetchState {
    /// A fetch (forced or background) is under way.
    in_flight: bool,
    last_completed: Option<Instant>,
    last_forced: Option<Instant>,
    failures: u32,
    last_error: Option<(FetchError, SystemTime)>,
}

fn random_fraction() -> f64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u8(0);
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

impl Cache {
    /// An empty cache for `source`; nothing is fetched yet.
    pub(super) fn new(source: Source, options: JwksOptions) -> Result<Self, ConfigError> {
        Ok(Self {
            client: HttpClient::new(&options)?,
            source,
            options,
            snapshot: ArcSwap::from_pointee(Snapshot::empty()),
            fetch_lock: tokio::sync::Mutex::new(()),
            state: Mutex::new(FetchState::default()),
            refresher: AtomicBool::new(false),
            discovered: Discovered::default(),
        })
    }

    /// What the cache knows now.
    pub(super) fn status(&self) -> JwksStatus {
        let snapshot = self.snapshot.load();
        let now = Instant::now();
        let state = self.lock_state();
        JwksStatus {
            keys: snapshot.keys.len(),
            fetched_at: snapshot.fetched_at.map(|(_, wall)| wall),
            stale: snapshot.expires_at.is_some_and(|at| now > at),
            cooling_down: !self.cooldown_elapsed(&state, now),
            fetching: state.in_flight,
            last_error: state.last_error.clone(),
        }
    }

    /// Starts the background refresh task, once, if a Tokio runtime is running.
    pub(super) fn ensure_refresher(self: &Arc<Self>) {
        if self.refresher.load(Ordering::Relaxed) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.refresher.swap(true, Ordering::AcqRel) {
            return;
        }
        let weak = Arc::downgrade(self);
        runtime.spawn(refresh_loop(weak));
    }

    /// Whether `snapshot` may answer requests without a fetch. With the background task
    /// running, it flags a set that became too old; without one (no Tokio runtime), the clock
    /// is read here.
    pub(super) fn usable(&self, snapshot: &Snapshot) -> bool {
        snapshot.fetched_at.is_some()
            && !snapshot.too_old.load(Ordering::Relaxed)
            && (self.refresher.load(Ordering::Relaxed)
                || snapshot
                    .stale_deadline(self.options.max_stale)
                    .is_some_and(|deadline| Instant::now() < deadline))
    }

    /// Whether a request that found no key may wait for a fetch: a fetch under way, or a
    /// forced one not yet done, answers it too; otherwise a forced fetch is recorded at `now`,
    /// unless the cooldown holds it back (then `false`).
    pub(super) fn admit_refetch(&self, now: Instant) -> bool {
        let mut state = self.lock_state();
        // A fetch under way, or a forced one not yet done, answers this request too: wait
        // for it rather than refuse or fetch again.
        let forced_pending = state
            .last_forced
            .is_some_and(|forced| state.last_completed.map_or(true, |done| done < forced));
        if !state.in_flight && !forced_pending {
            if !self.cooldown_elapsed(&state, now) {
                return false;
            }
            state.last_forced = Some(now);
        }
        true
    }

    /// Waits for the fetch that answers a request admitted at `requested`
    /// ([`admit_refetch`](Self::admit_refetch)), fetching in its place if nobody did.
    pub(super) async fn join_refetch(&self, requested: Instant) {
        let _flight = self.fetch_lock.lock().await;
        // Whoever fetched since the forced fetch was asked for answered this request too
        // (single flight); if its asker went away before fetching, the first waiter
        // fetches in its place.
        let must_fetch = {
            let state = self.lock_state();
            let since = state.last_forced.unwrap_or(requested).min(requested);
            state.last_completed.map_or(true, |done| done < since)
        };
        if must_fetch {
            let _ = self.fetch_and_store().await;
        }
    }

    /// Fetches the set now (after the fetch under way, if any), replacing it on success.
    pub(super) async fn reload(&self) -> Result<(), FetchError> {
        let _flight = self.fetch_lock.lock().await;
        self.fetch_and_store().await
    }

    fn lock_state(&self) -> std::sync::MutexGuard<'_, FetchState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn cooldown_elapsed(&self, state: &FetchState, now: Instant) -> bool {
        state.last_forced.map_or(true, |at| {
            now.saturating_duration_since(at) >= self.options.cooldown
        })
    }

    /// When the background task should fetch next: ahead of expiry with jitter, or after a
    /// backoff from 1 s to 30 s while fetches fail.
    fn next_refresh_in(&self) -> Duration {
        let now = Instant::now();
        let state = self.lock_state();
        if state.failures > 0 || self.snapshot.load().fetched_at.is_none() {
            let backoff = Duration::from_secs(1u64 << state.failures.min(5)).min(Duration::from_secs(30));
            let since = state
                .last_completed
                .map_or(backoff, |at| now.saturating_duration_since(at));
            return backoff.saturating_sub(since);
        }
        let snapshot = self.snapshot.load();
        match (snapshot.fetched_at, snapshot.expires_at) {
            (Some((fetched, _)), Some(expires)) => {
                let ttl = expires.saturating_duration_since(fetched);
                // Refresh in the last 10-20 % of the lifetime.
                let early = ttl.mul_f64(0.1 + 0.1 * random_fraction());
                expires.saturating_duration_since(now).saturating_sub(early)
            }
            _ => Duration::ZERO,
        }
    }

    /// Fetches and stores the set; the caller holds `fetch_lock`.
    async fn fetch_and_store(&self) -> Result<(), FetchError> {
        /// Clears `in_flight` even if the fetching future is dropped midway.
        struct InFlight<'a>(&'a Cache);
        impl Drop for InFlight<'_> {
            fn drop(&mut self) {
                self.0.lock_state().in_flight = false;
            }
        }
        self.lock_state().in_flight = true;
        let guard = InFlight(self);
        let result = self.fetch().await;
        drop(guard);
        let now = Instant::now();
        let mut state = self.lock_state();
        state.last_completed = Some(now);
        match result {
            Ok((set, ttl)) => {
                tracing::debug!(target: "tower_jwt_auth::jwks", keys = set.len(), ttl_secs = ttl.as_secs(), "key set fetched");
                let issuer = self.source.issuer();
                self.snapshot.store(Arc::new(Snapshot {
                    keys: set
                        .keys()
                        .cloned()
                        // Discovered keys verify that issuer's tokens only.
                        .map(|key| match issuer {
                            Some(issuer) => key.bound_to(issuer),
                            None => key,
                        })
                        .map(Arc::new)
                        .collect(),
                    fetched_at: Some((now, SystemTime::now())),
                    expires_at: Some(now + ttl),
                    too_old: AtomicBool::new(false),
                }));
                state.failures = 0;
                state.last_error = None;
                Ok(())
            }
            Err(error) => {
                tracing::warn!(target: "tower_jwt_auth::jwks", %error, "key set fetch failed; keeping the last good set");
                state.failures = state.failures.saturating_add(1);
                state.last_error = Some((error.clone(), SystemTime::now()));
                Err(error)
            }
        }
    }

    async fn fetch(&self) -> Result<(KeySet, Duration), FetchError> {
        let url = match &self.source {
            Source::Jwks(url) => url.clone(),
            Source::Oidc { issuer, discovery } => {
                self.discovered.jwks_uri(&self.client, issuer, discovery).await?
            }
        };
        let (body, max_age) = self.client.get(&url).await?;
        let keys = KeySet::from_document(&body, self.options.max_keys).map_err(|e| match e {
            DocumentError::NotASet => FetchError::Invalid("not a JWK Set".to_owned()),
            DocumentError::TooManyKeys => {
                FetchError::Invalid(format!("more than {} keys", self.options.max_keys))
            }
        })?;
        if keys.is_empty() {
            return Err(FetchError::NoUsableKey);
        }
        let ttl = max_age.map_or(self.options.cache_ttl, |age| {
            age.clamp(Duration::from_secs(60), Duration::from_secs(24 * 3600))
        });
        Ok((keys, ttl))
    }
}

async fn refresh_loop(weak: Weak<Cache>) {
    loop {
        let wait = {
            let Some(inner) = weak.upgrade() else { return };
            let snapshot = inner.snapshot.load();
            let until_too_old = snapshot
                .stale_deadline(inner.options.max_stale)
                .filter(|_| !snapshot.too_old.load(Ordering::Relaxed))
                .map_or(Duration::MAX, |deadline| {
                    deadline.saturating_duration_since(Instant::now())
                });
            inner.next_refresh_in().min(until_too_old)
        };
        tokio::time::sleep(wait).await;
        let Some(inner) = weak.upgrade() else { return };
        {
            let snapshot = inner.snapshot.load();
            if snapshot
                .stale_deadline(inner.options.max_stale)
                .is_some_and(|deadline| Instant::now() >= deadline)
            {
                snapshot.too_old.store(true, Ordering::Relaxed);
            }
        }
        let _flight = inner.fetch_lock.lock().await;
        // A forced fetch may have just refreshed the set.
        if inner.next_refresh_in() == Duration::ZERO {
            let _ = inner.fetch_and_store().await;
        }
    }
}
