//! The revocation list (feature `sessions`): refuse genuine tokens that were recalled, by `jti`,
//! by session (`sid`) or by subject cutoff, with an in-memory, lock-free check.
//!
//! The list holds only revoked, not yet expired entries, so it stays small; every instance keeps
//! it in memory. When the list is empty a check is three atomic flag loads (about 3 ns) and the
//! token's identifiers are not even collected; otherwise its `jti`, `sid`, `sub` and `iat`, read in the same pass as
//! the claims, are looked up in hash maps.
//!
//! Cutoffs ("log out everywhere" for a subject, or for everyone) are compared with `iat`: a token
//! issued at or before the cutoff is refused. Issue `iat` with sub-second precision (a fractional
//! NumericDate) so that a token minted right after a cutoff, in the same second, is not caught;
//! with whole-second `iat`s, tokens of the cutoff's second are refused (the safe side).

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;

use crate::{AuthErrorKind, TokenCheck, TokenIds};

/// Why the list refused to record a revocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RevocationError {
    /// The list holds as many entries as its cap allows (after purging expired ones).
    Full {
        /// The cap.
        cap: usize,
    },
}

impl fmt::Display for RevocationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full { cap } => write!(f, "the revocation list is full ({cap} entries)"),
        }
    }
}

impl std::error::Error for RevocationError {}

#[derive(Clone, Debug, Default)]
struct Snapshot {
    /// Revoked token ids, until the token's own `exp`.
    tokens: HashMap<Box<str>, f64>,
    /// Revoked sessions, until the session's end.
    sessions: HashMap<Box<str>, f64>,
    /// Per-subject cutoffs: tokens of the subject issued at or before it are refused; with the
    /// time the entry may go (infinite for local entries, purged by the token lifetime).
    subjects: HashMap<Box<str>, (f64, f64)>,
    /// A cutoff for everyone.
    global: Option<f64>,
}

impl Snapshot {
    fn len(&self) -> usize {
        self.tokens.len() + self.sessions.len() + self.subjects.len() + usize::from(self.global.is_some())
    }

    /// The latest cutoff that applies to `sub`: all cutoffs are combined here and nowhere else.
    fn cutoff(&self, sub: Option<&str>) -> Option<f64> {
        let subject = sub.and_then(|s| self.subjects.get(s)).map(|&(cutoff, _)| cutoff);
        match (subject, self.global) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }
}

/// A shared, lock-free-to-read revocation list; clones share it.
///
/// ```
/// use tower_jwt_auth::Revocations;
///
/// let list = Revocations::new(10_000);
/// list.revoke_token("jti-123", 1_900_000_000.0)?;
/// assert!(list.is_revoked(Some("jti-123"), None, Some("alice"), Some(1_800_000_000.0)));
/// assert!(!list.is_revoked(Some("jti-456"), None, Some("alice"), Some(1_800_000_000.0)));
/// # Ok::<(), tower_jwt_auth::RevocationError>(())
/// ```
#[derive(Clone)]
pub struct Revocations {
    inner: Arc<Inner>,
}

struct Inner {
    current: ArcSwap<Snapshot>,
    /// Whether `current` holds an entry: set after each publication, so that the verifier's
    /// common case (an empty list) is one relaxed load, not a snapshot load.
    occupied: AtomicBool,
    /// Serializes writers (copy on write); readers never take it.
    write: Mutex<()>,
    cap: usize,
    /// Set by a shared store's mirror when the list is older than its maximum staleness.
    stale: AtomicBool,
}

/// One revocation, as a shared store hands it to the mirror.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
pub(crate) enum Entry {
    /// A token id, refused until `until`.
    Token(Box<str>, f64),
    /// A session id, refused until `until`.
    Session(Box<str>, f64),
    /// A subject cutoff, kept until `until`.
    Subject(Box<str>, f64, f64),
}

impl Entry {
    /// When the entry stops mattering.
    fn end(&self) -> f64 {
        match self {
            Self::Token(_, until) | Self::Session(_, until) | Self::Subject(_, _, until) => *until,
        }
    }
}

impl fmt::Debug for Revocations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Revocations")
            .field("entries", &self.len())
            .field("cap", &self.inner.cap)
            .finish()
    }
}

impl Revocations {
    /// An empty list that holds at most `cap` entries.
    #[must_use]
    pub fn new(cap: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                current: ArcSwap::from_pointee(Snapshot::default()),
                occupied: AtomicBool::new(false),
                write: Mutex::new(()),
                cap,
                stale: AtomicBool::new(false),
            }),
        }
    }

    /// The number of entries.
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner.current.load().len()
    }

    /// Whether the list is empty (the common case: one atomic load).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Copies, changes and publishes the snapshot; `grows` tells whether the change adds an
    /// entry (updating one that is there never counts against the cap).
    fn update(
        &self,
        grows: impl FnOnce(&Snapshot) -> bool,
        change: impl FnOnce(&mut Snapshot),
    ) -> Result<(), RevocationError> {
        let _writer = self.inner.write.lock().unwrap_or_else(PoisonError::into_inner);
        let mut next = Snapshot::clone(&self.inner.current.load());
        if grows(&next) && next.len() >= self.inner.cap {
            return Err(RevocationError::Full { cap: self.inner.cap });
        }
        change(&mut next);
        let occupied = next.len() > 0;
        self.inner.current.store(Arc::new(next));
        self.inner.occupied.store(occupied, Ordering::Release);
        Ok(())
    }

    /// The cap given to [`Revocations::new`].
    #[must_use]
    pub fn cap(&self) -> usize {
        self.inner.cap
    }

    /// Whether the list is known to be out of date: its shared store has been unreachable for
    /// longer than the store's `max_staleness`. Token-bearing requests then get 503
    /// ([`AuthErrorKind::RevocationsUnavailable`](crate::AuthErrorKind::RevocationsUnavailable)).
    /// Always `false` for a list no shared store feeds.
    #[must_use]
    pub fn is_stale(&self) -> bool {
        self.inner.stale.load(Ordering::Relaxed)
    }

    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn set_stale(&self, stale: bool) {
        self.inner.stale.store(stale, Ordering::Relaxed);
    }

    /// Merges entries from the shared store that holds the truth (which enforces the cap
    /// itself). Entries are never dropped by a load, only when they end ([`Revocations::purge`]):
    /// a store that lost data (flushed, restarted without persistence) cannot bring a revoked
    /// token back on an instance that saw its revocation. Entries that have ended by `now` are
    /// not added.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn mirror(&self, entries: impl IntoIterator<Item = Entry>, now: f64) {
        let _ = self.update(
            |_| false,
            |s| {
                for entry in entries.into_iter().filter(|e| e.end() > now) {
                    match entry {
                        Entry::Token(id, until) => {
                            let e = s.tokens.entry(id).or_insert(until);
                            *e = e.max(until);
                        }
                        Entry::Session(id, until) => {
                            let e = s.sessions.entry(id).or_insert(until);
                            *e = e.max(until);
                        }
                        Entry::Subject(id, cutoff, until) => {
                            let e = s.subjects.entry(id).or_insert((cutoff, until));
                            *e = (e.0.max(cutoff), e.1.max(until));
                        }
                    }
                }
            },
        );
    }

    /// Refuses the token `jti` until its expiry `exp` (seconds since the epoch; of two ends, the
    /// later wins).
    ///
    /// # Errors
    /// [`RevocationError::Full`] when the cap is reached.
    pub fn revoke_token(&self, jti: &str, exp: f64) -> Result<(), RevocationError> {
        self.update(
            |s| !s.tokens.contains_key(jti),
            |s| {
                let e = s.tokens.entry(jti.into()).or_insert(exp);
                *e = e.max(exp);
            },
        )
    }

    /// Refuses every token of session `sid` until `until` (the session's end).
    ///
    /// # Errors
    /// [`RevocationError::Full`] when the cap is reached.
    pub fn revoke_session(&self, sid: &str, until: f64) -> Result<(), RevocationError> {
        self.update(
            |s| !s.sessions.contains_key(sid),
            |s| {
                let e = s.sessions.entry(sid.into()).or_insert(until);
                *e = e.max(until);
            },
        )
    }

    /// Refuses every token of `sub` issued at or before `cutoff` ("log out everywhere"). A later
    /// cutoff replaces an earlier one; an earlier one never moves it back.
    ///
    /// # Errors
    /// [`RevocationError::Full`] when the cap is reached.
    pub fn revoke_subject(&self, sub: &str, cutoff: f64) -> Result<(), RevocationError> {
        self.update(
            |s| !s.subjects.contains_key(sub),
            |s| {
                let entry = s.subjects.entry(sub.into()).or_insert((cutoff, f64::INFINITY));
                entry.0 = entry.0.max(cutoff);
            },
        )
    }

    /// Refuses every token issued at or before `cutoff`, whoever its subject.
    ///
    /// This cutoff is local to this list (shared stores do not carry it); a mirror's reload
    /// keeps it.
    ///
    /// # Errors
    /// [`RevocationError::Full`] when the cap is reached.
    pub fn revoke_all(&self, cutoff: f64) -> Result<(), RevocationError> {
        self.update(
            |s| s.global.is_none(),
            |s| s.global = Some(s.global.map_or(cutoff, |g| g.max(cutoff))),
        )
    }

    /// Drops entries that can no longer match: token and session entries past their end, and
    /// cutoffs older than `now - max_token_lifetime` (every token they could catch has expired).
    pub fn purge(&self, now: f64, max_token_lifetime: f64) {
        let horizon = now - max_token_lifetime;
        // Purging never grows the list, so it cannot fail.
        let _ = self.update(
            |_| false,
            |s| {
                s.tokens.retain(|_, exp| *exp > now);
                s.sessions.retain(|_, until| *until > now);
                s.subjects
                    .retain(|_, &mut (cutoff, until)| cutoff > horizon && until > now);
                if s.global.is_some_and(|g| g <= horizon) {
                    s.global = None;
                }
            },
        );
    }

    /// Whether a token with these claims is revoked. A cutoff applies to tokens issued at or
    /// before it; a token without `iat` under a cutoff is refused.
    #[must_use]
    pub fn is_revoked(
        &self,
        jti: Option<&str>,
        sid: Option<&str>,
        sub: Option<&str>,
        iat: Option<f64>,
    ) -> bool {
        let snapshot = self.inner.current.load();
        // The common case, without hashing the identifiers.
        if snapshot.len() == 0 {
            return false;
        }
        jti.is_some_and(|j| snapshot.tokens.contains_key(j))
            || sid.is_some_and(|s| snapshot.sessions.contains_key(s))
            || snapshot
                .cutoff(sub)
                .is_some_and(|cutoff| iat.map_or(true, |issued| issued <= cutoff))
    }
}

/// The list is a [`TokenCheck`]: give it to [`Validation::check`](crate::Validation::check) or, better,
/// [`JwtAuthLayer::check`](crate::JwtAuthLayer::check). A list known to be out of date refuses
/// with 503 ([`AuthErrorKind::RevocationsUnavailable`]); an empty one asks for no identifiers.
impl TokenCheck for Revocations {
    fn needs_ids(&self) -> bool {
        self.inner.occupied.load(Ordering::Acquire)
    }

    fn check(&self, ids: &TokenIds<'_>) -> Result<(), AuthErrorKind> {
        if self.is_stale() {
            return Err(AuthErrorKind::RevocationsUnavailable);
        }
        // An entry published after this load is a revocation racing the request: the request
        // was in flight before it.
        if self.needs_ids() && self.is_revoked(ids.jti(), ids.sid(), ids.sub(), ids.iat()) {
            return Err(AuthErrorKind::Revoked);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cutoffs_combine_to_the_latest_and_split_a_second() {
        let list = Revocations::new(100);
        list.revoke_subject("alice", 1000.5).unwrap();
        list.revoke_all(900.0).unwrap();
        // Issued before the cutoff, in the same second: refused; right after it: accepted.
        assert!(list.is_revoked(None, None, Some("alice"), Some(1000.4)));
        assert!(!list.is_revoked(None, None, Some("alice"), Some(1000.6)));
        // An earlier subject cutoff never moves the latest back.
        list.revoke_subject("alice", 10.0).unwrap();
        assert!(list.is_revoked(None, None, Some("alice"), Some(1000.4)));
        // The global cutoff applies to everyone; a later global wins over an earlier subject one.
        assert!(list.is_revoked(None, None, Some("bob"), Some(899.0)));
        assert!(!list.is_revoked(None, None, Some("bob"), Some(901.0)));
        list.revoke_all(2000.0).unwrap();
        assert!(list.is_revoked(None, None, Some("alice"), Some(1500.0)));
        // No iat under a cutoff: refused.
        assert!(list.is_revoked(None, None, Some("carol"), None));
    }

    #[test]
    fn the_cap_refuses_growth_and_purge_frees_room() {
        let list = Revocations::new(2);
        list.revoke_token("a", 100.0).unwrap();
        list.revoke_session("s", 200.0).unwrap();
        assert_eq!(
            list.revoke_token("b", 300.0),
            Err(RevocationError::Full { cap: 2 })
        );
        list.purge(150.0, 900.0);
        assert_eq!(list.len(), 1);
        list.revoke_token("b", 300.0).unwrap();
        assert!(list.is_revoked(Some("b"), None, None, None));
        assert!(!list.is_revoked(Some("a"), None, None, None));
    }
}
