//! The in-memory [`SessionStore`]: zero configuration, one process.

use std::collections::HashMap;
use std::future::{ready, Future};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{finite, now, RotateRequest, Rotation, SessionRecord, SessionStore, StoreError};
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
/// // The list `JwtAuthLayer::sessions` (or `JwtAuthLayer::check`) hands to the layer.
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
        let checked = finite(&[record.rotated_at, record.last_used, record.expires_at]);
        if checked.is_ok() {
            self.lock().insert(record.sid.clone(), record);
        }
        ready(checked)
    }

    fn rotate(
        &self,
        request: RotateRequest<'_>,
    ) -> impl Future<Output = Result<Rotation, StoreError>> + Send {
        let RotateRequest {
            sid,
            generation,
            now,
            grace,
            idle,
            revoke_until,
        } = request;
        if let Err(e) = finite(&[now, revoke_until]) {
            return ready(Err(e));
        }
        let mut sessions = self.lock();
        let outcome = match sessions.get_mut(sid) {
            None => Rotation::Unknown,
            Some(record) => record.rotate(generation, now, grace, idle),
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
        if let Err(e) = finite(&[until]) {
            return ready(Err(e));
        }
        let mut sessions = self.lock();
        // The session ends even when the list is full.
        let found = sessions.get_mut(sid).map(|r| r.revoked = true).is_some();
        let listed = if until > now() {
            self.revocations.revoke_session(sid, until)
        } else {
            Ok(())
        };
        ready(listed.map(|()| found).map_err(StoreError::from))
    }

    fn revoke_subject(
        &self,
        sub: &str,
        cutoff: f64,
        until: f64,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send {
        if let Err(e) = finite(&[cutoff, until]) {
            return ready(Err(e));
        }
        let mut sessions = self.lock();
        let mut revoked = Vec::new();
        for record in sessions.values_mut().filter(|r| r.sub == sub && !r.revoked) {
            record.revoked = true;
            revoked.push(record.sid.clone());
        }
        // The subject's sessions are listed too: an access token minted by a refresh that
        // committed just before the cutoff (with an `iat` just after it) is caught by its `sid`.
        let mut listed = Ok(());
        if until > now() {
            listed = self.revocations.revoke_subject(sub, cutoff);
            for sid in &revoked {
                listed = listed.and(self.revocations.revoke_session(sid, until));
            }
        }
        ready(listed.map(|()| revoked.len()).map_err(StoreError::from))
    }

    fn revoke_token(&self, jti: &str, exp: f64) -> impl Future<Output = Result<(), StoreError>> + Send {
        let listed = match finite(&[exp]) {
            Err(e) => Err(e),
            // A token that has expired needs no entry.
            Ok(()) if exp <= now() => Ok(()),
            Ok(()) => self.revocations.revoke_token(jti, exp).map_err(StoreError::from),
        };
        ready(listed)
    }

    fn revocations(&self) -> &Revocations {
        &self.revocations
    }
}
