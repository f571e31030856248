//! The cached key set and how it is kept fresh: the fetch state, the one fetch under way (a
//! [`Flight`], run by its own task so that no caller going away can cut it short), the cooldown
//! of forced refetches, the backoff of failing fetches, the background refresh loop and
//! `fetch_and_store`.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;
use tokio::runtime::Handle;
use tokio::sync::watch;

use super::client::HttpClient;
use super::discovery::{Discovered, Source};
use super::error::FetchError;
use super::options::JwksOptions;
use super::status::JwksStatus;
use crate::key::jwk::DocumentError;
use crate::key::snapshot::Snapshot;
use crate::key::Binding;
use crate::{ConfigError, KeySet};

/// What a resolver shares with its clones and its background task.
pub(super) struct Cache {
    pub(super) source: Source,
    client: HttpClient,
    pub(super) options: JwksOptions,
    pub(super) snapshot: ArcSwap<Snapshot>,
    state: Mutex<FetchState>,
    refresher: AtomicBool,
    /// OIDC: the `jwks_uri` found by discovery, and when.
    discovered: Discovered,
    /// The issuer every fetched key is bound to (OIDC, or one issuer of several), with its
    /// own rules.
    binding: Option<Arc<Binding>>,
}

#[derive(Default)]
struct FetchState {
    /// The fetch under way (forced, background or reload), if any: there is at most one, and
    /// whoever needs a fetch while it runs waits for it (single flight).
    flight: Option<Flight>,
    /// How many fetches were started: the number the next one gets.
    started: u64,
    last_completed: Option<Instant>,
    /// When the last forced refetch started (the cooldown counts from there).
    last_forced: Option<Instant>,
    failures: u32,
    last_error: Option<(FetchError, SystemTime)>,
}

/// How a fetch ended: `None` while it runs.
type Landing = Option<Result<(), FetchError>>;

/// The fetch under way: its number (in start order) and the end its task will announce.
struct Flight {
    number: u64,
    done: watch::Receiver<Landing>,
}

/// What [`Cache::admit_refetch`] answers a request that found no key.
pub(super) enum Admission {
    /// Wait for this fetch (under way, or just started).
    Wait(Waiter),
    /// The cooldown holds a new refetch back.
    Throttled,
    /// A refetch may start, but there is no Tokio runtime here to run it on.
    NoRuntime,
}

/// A wait for the end of one fetch, whether the fetch succeeds, fails or its task is stopped.
pub(super) struct Waiter(watch::Receiver<Landing>);

impl Waiter {
    /// The outcome of the fetch; [`FetchError::Aborted`] if its task was stopped first (its
    /// Tokio runtime shut down).
    pub(super) async fn landed(mut self) -> Result<(), FetchError> {
        match self.0.wait_for(Option::is_some).await {
            Ok(landing) => landing.clone().unwrap_or(Err(FetchError::Aborted)),
            Err(_) => Err(FetchError::Aborted),
        }
    }
}

fn random_fraction() -> f64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u8(0);
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

impl Cache {
    /// An empty cache for `source`; nothing is fetched yet.
    pub(super) fn new(
        source: Source,
        options: JwksOptions,
        binding: Option<Arc<Binding>>,
        client: Option<HttpClient>,
    ) -> Result<Self, ConfigError> {
        let client = match client {
            Some(client) => client,
            None => HttpClient::new(&options)?,
        };
        Ok(Self {
            binding,
            client,
            source,
            options,
            snapshot: ArcSwap::from_pointee(Snapshot::empty()),
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
            fetching: state.flight.is_some(),
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

    /// What a request that found no key waits for: the fetch under way, whatever started it;
    /// else a forced refetch started now, in its own task, its start recorded at `now` for the
    /// cooldown. Nothing starts when the cooldown holds it back, or when there is no Tokio
    /// runtime to fetch on (then nothing is recorded either).
    ///
    /// The fetch does not depend on the request: dropping the request (a client that hangs up)
    /// neither stops the fetch nor erases its start, so the next unknown `kid` waits for that
    /// fetch or meets the cooldown.
    pub(super) fn admit_refetch(self: &Arc<Self>, now: Instant) -> Admission {
        let mut state = self.lock_state();
        if let Some(flight) = &state.flight {
            return Admission::Wait(Waiter(flight.done.clone()));
        }
        if !self.cooldown_elapsed(&state, now) {
            return Admission::Throttled;
        }
        let Ok(runtime) = Handle::try_current() else {
            return Admission::NoRuntime;
        };
        state.last_forced = Some(now);
        let (_, waiter, takeoff) = self.start(&mut state);
        drop(state);
        takeoff.spawn(&runtime);
        Admission::Wait(waiter)
    }

    /// Fetches the set now, replacing it on success: waits for the fetch under way if it started
    /// after this call, else (after it ends) for a new one. The fetch runs in its own task:
    /// dropping this future does not stop it.
    pub(super) async fn reload(self: &Arc<Self>) -> Result<(), FetchError> {
        let asked = self.lock_state().started;
        loop {
            let (number, waiter) = {
                let mut state = self.lock_state();
                match &state.flight {
                    Some(flight) => (flight.number, Waiter(flight.done.clone())),
                    None => {
                        let Ok(runtime) = Handle::try_current() else {
                            return Err(FetchError::Aborted);
                        };
                        let (number, waiter, takeoff) = self.start(&mut state);
                        drop(state);
                        takeoff.spawn(&runtime);
                        (number, waiter)
                    }
                }
            };
            let landing = waiter.landed().await;
            if number >= asked {
                return landing;
            }
        }
    }

    /// Records a new fetch as the one under way (the caller holds the state lock and has
    /// checked that none is) and returns its number, a wait for it, and the task to spawn once
    /// the lock is released.
    fn start(self: &Arc<Self>, state: &mut FetchState) -> (u64, Waiter, Takeoff) {
        let (done, waiting) = watch::channel(None);
        let number = state.started;
        state.started = number.wrapping_add(1);
        state.flight = Some(Flight {
            number,
            done: waiting.clone(),
        });
        let grounded = Grounded {
            cache: Arc::clone(self),
            number,
        };
        (number, Waiter(waiting), Takeoff { grounded, done })
    }

    fn lock_state(&self) -> std::sync::MutexGuard<'_, FetchState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn cooldown_elapsed(&self, state: &FetchState, now: Instant) -> bool {
        state
            .last_forced
            .is_none_or(|at| now.saturating_duration_since(at) >= self.options.cooldown)
    }

    /// When the background task should fetch next: ahead of expiry with jitter, or after a
    /// backoff from 1 s to 30 s while fetches fail.
    fn next_refresh_in(&self, state: &FetchState, now: Instant) -> Duration {
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

    /// Fetches and stores the set; only the task of the flight under way calls it ([`fly`]).
    async fn fetch_and_store(&self) -> Result<(), FetchError> {
        let result = self.fetch().await;
        let now = Instant::now();
        let mut state = self.lock_state();
        state.last_completed = Some(now);
        match result {
            Ok((set, ttl)) => {
                tracing::debug!(target: "tower_jwt_auth::jwks", keys = set.len(), ttl_secs = ttl.as_secs(), "key set fetched");
                self.snapshot.store(Arc::new(Snapshot {
                    keys: set
                        .keys()
                        .cloned()
                        // Discovered keys verify that issuer's tokens only.
                        .map(|key| match &self.binding {
                            Some(binding) => key.with_binding(Arc::clone(binding)),
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

/// A fetch recorded as under way, not yet spawned.
struct Takeoff {
    grounded: Grounded,
    done: watch::Sender<Landing>,
}

impl Takeoff {
    /// Spawns the fetch's task on `runtime`. Call it without the state lock held: a runtime
    /// shutting down drops the task at once, and that ends the flight, which takes the lock.
    fn spawn(self, runtime: &Handle) {
        runtime.spawn(fly(self.grounded, self.done));
    }
}

/// Ends flight `number` when dropped, however its task ends: done, or dropped midway or before
/// it ever ran (its runtime shut down). The waiters then see the channel close, and the next
/// fetch may start.
struct Grounded {
    cache: Arc<Cache>,
    number: u64,
}

impl Drop for Grounded {
    fn drop(&mut self) {
        let mut state = self.cache.lock_state();
        if state.flight.as_ref().is_some_and(|f| f.number == self.number) {
            state.flight = None;
        }
    }
}

/// The task of a flight: runs one fetch to its end, whatever becomes of the requests waiting
/// for it, then ends the flight and tells them.
async fn fly(grounded: Grounded, done: watch::Sender<Landing>) {
    let result = grounded.cache.fetch_and_store().await;
    drop(grounded);
    done.send_replace(Some(result));
}

/// The background refresh: sleeps until the set is due, then fetches (or waits for the fetch
/// under way), until the resolver is dropped.
async fn refresh_loop(weak: Weak<Cache>) {
    /// Lets the next request start a new refresh task if this one is dropped (its runtime shut
    /// down).
    struct Stopped(Weak<Cache>);
    impl Drop for Stopped {
        fn drop(&mut self) {
            if let Some(cache) = self.0.upgrade() {
                cache.refresher.store(false, Ordering::Release);
            }
        }
    }
    let _stopped = Stopped(Weak::clone(&weak));
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
            let state = inner.lock_state();
            inner.next_refresh_in(&state, Instant::now()).min(until_too_old)
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
        let Ok(runtime) = Handle::try_current() else {
            return;
        };
        let waiter = {
            let mut state = inner.lock_state();
            match &state.flight {
                // A fetch under way (forced, or a reload) refreshes the set: wait for it, then
                // plan again.
                Some(flight) => Some(Waiter(flight.done.clone())),
                None if inner.next_refresh_in(&state, Instant::now()) == Duration::ZERO => {
                    let (_, waiter, takeoff) = inner.start(&mut state);
                    drop(state);
                    takeoff.spawn(&runtime);
                    Some(waiter)
                }
                None => None,
            }
        };
        if let Some(waiter) = waiter {
            let _ = waiter.landed().await;
        }
    }
}
