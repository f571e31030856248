//! The in-memory [`SessionStore`]: zero configuration, one process.

use std::collections::HashMap;
use std::future::{ready, Future};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::{Rotation, SessionRecord, SessionStore, StoreError};

/// Sessions in this process's memory (a mutex held for microseconds, never across an
/// `.await`). Expired sessions are dropped when touched and by [`MemoryStore::purge`].
#[derive(Debug, Default)]
pub struct MemoryStore {
    sessions: Mutex<HashMap<String, SessionRecord>>,
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, SessionRecord>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Drops sessions whose absolute expiry is before `now` (seconds since the epoch).
    pub fn purge(&self, now: f64) -> usize {
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
    ) -> impl Future<Output = Result<Rotation, StoreError>> + Send {
        let mut sessions = self.lock();
        let outcome = match sessions.get_mut(sid) {
            None => Rotation::Unknown,
            Some(record) => rotate(record, generation, now, grace, idle),
        };
        ready(Ok(outcome))
    }

    fn revoke(&self, sid: &str) -> impl Future<Output = Result<bool, StoreError>> + Send {
        let found = self.lock().get_mut(sid).map(|r| r.revoked = true).is_some();
        ready(Ok(found))
    }

    fn revoke_subject(&self, sub: &str) -> impl Future<Output = Result<usize, StoreError>> + Send {
        let mut count = 0;
        for record in self.lock().values_mut().filter(|r| r.sub == sub && !r.revoked) {
            record.revoked = true;
            count += 1;
        }
        ready(Ok(count))
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
