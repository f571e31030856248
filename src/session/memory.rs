//! The in-memory [`SessionStore`]: zero configuration, one process.

use std::collections::HashMap;
use std::future::{ready, Future};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::{Rotation, SessionRecord, SessionStore, StoreError};
use crate::Revocations;

/// The revocation cap of [`MemoryStore::new`].
const DEFAULT_CAP: usize = 100_000;

/// Sessions and revocations in this process's memory (a mutex held for microseconds, never
/// across an `.await`). Expired sessions are dropped by [`MemoryStore::purge`].
///
/// ```
/// use tower_jwt_auth::session::{MemoryStore, SessionStore};
///
/// let store = MemoryStore::new();
/// // The list to give to `Validation::revocations`.
/// assert!(store.revocations().is_empty());
/// ```
#[derive(Debug)]
pub struct MemoryStore {
    sessions: Mutex<HashMap<String, SessionRecord>>,
    revocations: Revocations,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::with_revocations(Revocations::new(DEFAULT_CAP))
    }
}

impl MemoryStore {
    /// An empty store, with a revocation list of at most 100,000 entries.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store that records revocations in `list`.
    #[must_use]
    pub fn with_revocations(list: Revocations) -> Self {
        Self {
            sessions: Mutex::default(),
            revocations: list,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, SessionRecord>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Drops sessions whose absolute expiry is before `now` (seconds since the epoch), and
    /// revocations that can no longer match (`max_token_lifetime`: the longest access-token
    /// lifetime, in seconds); returns how many sessions were dropped.
    pub fn purge(&self, now: f64, max_token_lifetime: f64) -> usize {
        self.revocations.purge(now, max_token_lifetime);
        let mut sessions = self.lock();
        let before = sessions.len();
        sessions.retain(|_, s| s.expires_at > now);
        before - sessions.len()
    }

    /// The number of sessions held (revoked ones included until they expire).
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no session is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// A session's record, for inspection.
    #[must_use]
    pub fn get(&self, sid: &str) -> Option<SessionRecord> {
        self.lock().get(sid).cloned()
    }
}

impl SessionStore for MemoryStore {
    fn create(&self, record: SessionRecord) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.lock().insert(record.sid.clone(), record);
        ready(Ok(()))
    }

    fn rotate(
        &self,
        sid: &str,
        generation: u64,
        now: f64,
        grace: Duration,
        idle: Duration,
        revoke_until: f64,
    ) -> impl Future<Output = Result<Rotation, StoreError>> + Send {
        let mut sessions = self.lock();
        let outcome = match sessions.get_mut(sid) {
            None => Rotation::Unknown,
            Some(record) => rotate(record, generation, now, grace, idle),
        };
        if outcome == Rotation::ReuseDetected {
            // Under the session lock, so no refresh slips between the two. A full list still
            // leaves the session revoked; its access tokens then live out their lifetime.
            if let Err(_e) = self.revocations.revoke_session(sid, revoke_until) {
                #[cfg(feature = "tracing")]
                tracing::warn!(error = %_e, "refresh-token reuse: session revoked, but its access tokens could not be listed");
            }
        }
        ready(Ok(outcome))
    }

    fn revoke(&self, sid: &str, until: f64) -> impl Future<Output = Result<bool, StoreError>> + Send {
        let mut sessions = self.lock();
        let outcome = self
            .revocations
            .revoke_session(sid, until)
            .map_err(StoreError::from)
            .map(|()| sessions.get_mut(sid).map(|r| r.revoked = true).is_some());
        ready(outcome)
    }

    fn revoke_subject(
        &self,
        sub: &str,
        cutoff: f64,
        _until: f64,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send {
        let mut sessions = self.lock();
        let outcome = self
            .revocations
            .revoke_subject(sub, cutoff)
            .map_err(StoreError::from)
            .map(|()| {
                let mut count = 0;
                for record in sessions.values_mut().filter(|r| r.sub == sub && !r.revoked) {
                    record.revoked = true;
                    count += 1;
                }
                count
            });
        ready(outcome)
    }

    fn revoke_token(&self, jti: &str, exp: f64) -> impl Future<Output = Result<(), StoreError>> + Send {
        ready(self.revocations.revoke_token(jti, exp).map_err(StoreError::from))
    }

    fn revocations(&self) -> &Revocations {
        &self.revocations
    }
}

/// The rotation rule, shared by stores that hold records in memory: the one place that decides
/// between rotating, converging, and revoking on reuse.
pub(crate) fn rotate(
    record: &mut SessionRecord,
    generation: u64,
    now: f64,
    grace: Duration,
    idle: Duration,
) -> Rotation {
    if record.revoked {
        return Rotation::Revoked;
    }
    if now >= record.expires_at || now - record.last_used > idle.as_secs_f64() {
        return Rotation::Expired;
    }
    if generation == record.generation {
        record.generation += 1;
        record.rotated_at = now;
        record.last_used = now;
        return Rotation::Rotated(record.clone());
    }
    let predecessor = generation.checked_add(1) == Some(record.generation);
    if predecessor && now - record.rotated_at <= grace.as_secs_f64() {
        return Rotation::Converged(record.clone());
    }
    // An older generation, a generation from the future, or the predecessor too late.
    record.revoked = true;
    Rotation::ReuseDetected
}
