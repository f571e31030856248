//! The in-memory [`SessionStore`]: zero configuration, one process.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::future::{ready, Future};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{finite, now, RotateRequest, Rotation, SessionRecord, SessionStore, StoreError};
use crate::time::Due;
use crate::Revocations;

/// The revocation cap of [`MemoryStore::new`].
const DEFAULT_CAP: usize = 100_000;

/// The sessions per subject of [`MemoryStore::new`].
const DEFAULT_SESSIONS_PER_SUBJECT: usize = 32;

/// How many ended sessions a write drops.
const PURGE_BATCH: usize = 16;

/// Sessions and revocations in this process's memory (a mutex held for microseconds, never
/// across an `.await`), bounded without a timer:
///
/// * at most [`MemoryStore::sessions_per_subject`] live sessions per subject (default 32): a
///   new one past it revokes the subject's oldest (its refresh token stops working, its access
///   tokens are refused);
/// * a revoked session (logout, reuse, "log out everywhere", the cap) is dropped at once: while
///   its revocation is listed a refresh with it answers [`Rotation::Revoked`], afterwards
///   [`Rotation::Unknown`] (refused either way);
/// * a session past its absolute end is dropped by the next writes (a few per write, earliest
///   end first), and an idle one when it is presented or at its absolute end;
/// * the revocation list bounds itself (see [`Revocations`](crate::Revocations)).
///
/// [`MemoryStore::purge`] drops everything that has ended at once.
///
/// ```
/// use tower_jwt_auth::session::{MemoryStore, SessionStore};
///
/// let store = MemoryStore::new().sessions_per_subject(10);
/// // The list `JwtAuthLayer::sessions` (or `JwtAuthLayer::check`) hands to the layer.
/// assert!(store.revocations().is_empty());
/// ```
#[derive(Debug)]
pub struct MemoryStore {
    state: Mutex<State>,
    revocations: Revocations,
    per_subject: usize,
}

#[derive(Debug, Default)]
struct State {
    sessions: HashMap<String, SessionRecord>,
    /// Each subject's sessions, oldest first.
    by_subject: HashMap<String, VecDeque<String>>,
    /// Every session's absolute end, earliest first (items of sessions that went are skipped).
    ends: BinaryHeap<Reverse<Due<String>>>,
}

impl State {
    /// Removes a session and its place in its subject's index.
    fn remove(&mut self, sid: &str) -> Option<SessionRecord> {
        let record = self.sessions.remove(sid)?;
        if let Some(sids) = self.by_subject.get_mut(&record.sub) {
            sids.retain(|s| s != sid);
            if sids.is_empty() {
                self.by_subject.remove(&record.sub);
            }
        }
        Some(record)
    }

    /// Drops up to `limit` sessions past their absolute end; returns how many.
    fn purge_ended(&mut self, now: f64, limit: usize) -> usize {
        let mut dropped = 0;
        for _ in 0..limit {
            match self.ends.peek() {
                Some(Reverse(Due(end, _))) if *end <= now => {}
                _ => break,
            }
            let Some(Reverse(Due(_, sid))) = self.ends.pop() else {
                break;
            };
            if self.sessions.get(&sid).is_some_and(|r| r.expires_at <= now) && self.remove(&sid).is_some() {
                dropped += 1;
            }
        }
        if self.ends.len() > 2 * self.sessions.len() + 1024 {
            self.ends = self
                .sessions
                .values()
                .map(|r| Reverse(Due(r.expires_at, r.sid.clone())))
                .collect();
        }
        dropped
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::with_revocations(Revocations::new(DEFAULT_CAP))
    }
}

impl MemoryStore {
    /// An empty store, with a revocation list of at most 100,000 entries (64 per subject) and
    /// at most 32 sessions per subject.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store that records revocations in `list`.
    #[must_use]
    pub fn with_revocations(list: Revocations) -> Self {
        Self {
            state: Mutex::default(),
            revocations: list,
            per_subject: DEFAULT_SESSIONS_PER_SUBJECT,
        }
    }

    /// The most live sessions one subject may hold (default 32, at least 1): a new session
    /// past it revokes the subject's oldest.
    #[must_use]
    pub fn sessions_per_subject(mut self, cap: usize) -> Self {
        self.per_subject = cap.max(1);
        self
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Drops every session whose absolute expiry is before `now` (seconds since the epoch), and
    /// revocations that can no longer match (`max_token_lifetime`: the longest access-token
    /// lifetime, in seconds); returns how many sessions were dropped. Writes do the same a few
    /// at a time, so calling it is optional.
    pub fn purge(&self, now: f64, max_token_lifetime: f64) -> usize {
        self.revocations.purge(now, max_token_lifetime);
        let mut state = self.lock();
        let ended: Vec<String> = state
            .sessions
            .values()
            .filter(|r| r.expires_at <= now)
            .map(|r| r.sid.clone())
            .collect();
        for sid in &ended {
            state.remove(sid);
        }
        ended.len()
    }

    /// The number of sessions held (revoked ones are dropped at once, ended ones by the next
    /// writes).
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().sessions.len()
    }

    /// Whether no session is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.lock().sessions.is_empty()
    }

    /// A session's record, for inspection.
    #[must_use]
    pub fn get(&self, sid: &str) -> Option<SessionRecord> {
        self.lock().sessions.get(sid).cloned()
    }
}

impl SessionStore for MemoryStore {
    fn create(
        &self,
        record: SessionRecord,
        revoke_until: f64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let checked = finite(&[
            record.rotated_at,
            record.last_used,
            record.expires_at,
            revoke_until,
        ]);
        if checked.is_err() {
            return ready(checked);
        }
        let now = now();
        let mut state = self.lock();
        state.purge_ended(now, PURGE_BATCH);
        // A revoked session is not kept (nothing can be minted with it).
        if record.revoked {
            state.remove(&record.sid);
            return ready(Ok(()));
        }
        let (sid, sub) = (record.sid.clone(), record.sub.clone());
        state.ends.push(Reverse(Due(record.expires_at, sid.clone())));
        if let Some(old) = state.sessions.insert(sid.clone(), record) {
            // The same id again (a test, or a store fed by hand): one place in the index.
            if let Some(sids) = state.by_subject.get_mut(&old.sub) {
                sids.retain(|s| *s != sid);
            }
        }
        let sids = state.by_subject.entry(sub).or_default();
        sids.push_back(sid);
        let mut evicted = Vec::new();
        while sids.len() > self.per_subject {
            evicted.extend(sids.pop_front());
        }
        for oldest in evicted {
            if let Some(record) = state.sessions.remove(&oldest) {
                if revoke_until > now {
                    self.revocations
                        .revoke_session_of(&record.sub, &oldest, revoke_until);
                }
            }
        }
        ready(Ok(()))
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
        let mut state = self.lock();
        let outcome = match state.sessions.get_mut(sid) {
            // A session revoked here is dropped at once; its listed revocation still names it.
            None if self.revocations.lists_session(sid) => Rotation::Revoked,
            None => Rotation::Unknown,
            Some(record) => record.rotate(generation, now, grace, idle),
        };
        match outcome {
            Rotation::ReuseDetected => {
                // Under the session lock, so no refresh slips between the two.
                if let Some(record) = state.remove(sid) {
                    self.revocations.revoke_session_of(&record.sub, sid, revoke_until);
                }
            }
            Rotation::Expired | Rotation::Revoked => {
                state.remove(sid);
            }
            _ => {}
        }
        ready(Ok(outcome))
    }

    fn revoke(&self, sid: &str, until: f64) -> impl Future<Output = Result<bool, StoreError>> + Send {
        if let Err(e) = finite(&[until]) {
            return ready(Err(e));
        }
        let mut state = self.lock();
        state.purge_ended(now(), PURGE_BATCH);
        let removed = state.remove(sid);
        if until > now() {
            match &removed {
                Some(record) => self.revocations.revoke_session_of(&record.sub, sid, until),
                None => self.revocations.revoke_session(sid, until),
            }
        }
        ready(Ok(removed.is_some()))
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
        let mut state = self.lock();
        let sids = state.by_subject.remove(sub).unwrap_or_default();
        for sid in &sids {
            state.sessions.remove(sid);
        }
        // The subject's sessions are listed too: an access token minted by a refresh that
        // committed just before the cutoff (with an `iat` just after it) is caught by its `sid`.
        if until > now() {
            self.revocations.revoke_subject_until(sub, cutoff, until);
            for sid in &sids {
                self.revocations.revoke_session_of(sub, sid, until);
            }
        }
        ready(Ok(sids.len()))
    }

    fn revoke_token(
        &self,
        sub: Option<&str>,
        jti: &str,
        exp: f64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let listed = match finite(&[exp]) {
            Err(e) => Err(e),
            // A token that has expired needs no entry.
            Ok(()) if exp <= now() => Ok(()),
            Ok(()) => {
                match sub {
                    Some(sub) => self.revocations.revoke_token_of(sub, jti, exp),
                    None => self.revocations.revoke_token(jti, exp),
                }
                Ok(())
            }
        };
        ready(listed)
    }

    fn revocations(&self) -> &Revocations {
        &self.revocations
    }
}
