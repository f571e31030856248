//! The revocation list (feature `sessions`): refuse genuine tokens that were recalled, by `jti`,
//! by session (`sid`) or by subject cutoff, with an in-memory check.
//!
//! The list holds only revoked, not yet ended entries, so it stays small; every instance keeps
//! it in memory. When the list is empty a check is three atomic flag loads (about 3 ns) and the
//! token's identifiers are not even collected; otherwise its `jti`, `sid`, `sub` and `iat`, read
//! in the same pass as the claims, are looked up in hash maps under a read lock (readers never
//! wait for each other; a writer holds the lock for a bounded amount of work, never a copy of the
//! list).
//!
//! Cutoffs ("log out everywhere" for a subject, or for everyone) are compared with `iat`: a token
//! issued at or before the cutoff is refused. Issue `iat` with sub-second precision (a fractional
//! NumericDate) so that a token minted right after a cutoff, in the same second, is not caught;
//! with whole-second `iat`s, tokens of the cutoff's second are refused (the safe side).
//!
//! See [`Revocations`] for how the list stays bounded without ever failing open.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::time::Due;
use crate::{AuthErrorKind, SystemClock, TokenCheck, TokenIds};

/// Why the list refused to record a revocation; no method returns it any more.
///
/// The list never refuses a write (see [`Revocations`](crate::Revocations)): past its bounds it
/// compacts entries into cutoffs instead. The type is kept, deprecated, so that code naming it
/// (or converting it into a [`StoreError`](crate::session::StoreError)) still compiles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[deprecated(since = "0.1.0", note = "the revocation list never refuses a write any more")]
pub enum RevocationError {
    /// The list holds as many entries as its cap allows (after purging expired ones).
    Full {
        /// The cap.
        cap: usize,
    },
}

#[allow(deprecated)]
impl fmt::Display for RevocationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full { cap } => write!(f, "the revocation list is full ({cap} entries)"),
        }
    }
}

#[allow(deprecated)]
impl std::error::Error for RevocationError {}

/// The per-subject bound of [`Revocations::new`].
const DEFAULT_PER_SUBJECT: usize = 64;

/// How many entries of a shared store's load are merged under one lock.
const MIRROR_CHUNK: usize = 1024;

/// How many ended entries a write drops (more at the cap: all of them).
const PURGE_BATCH: usize = 64;

/// What an entry names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Kind {
    Token,
    Session,
    Subject,
}

/// A token or session entry: its end, and the subject it is attributed to.
#[derive(Debug)]
struct Listed {
    until: f64,
    owner: Option<Arc<str>>,
}

/// An entry's end, in the queue of ends (checked against the entry when it comes up: an entry
/// whose end moved, or that went, leaves a stale item behind).
type End = Due<(Kind, Arc<str>)>;

/// The list and its bookkeeping, under one lock.
#[derive(Debug, Default)]
struct Lists {
    /// Revoked token ids, until the token's own `exp`.
    tokens: HashMap<Arc<str>, Listed>,
    /// Revoked sessions, until the session's end.
    sessions: HashMap<Arc<str>, Listed>,
    /// Per-subject cutoffs: tokens of the subject issued at or before it are refused; with the
    /// time the entry may go (infinite for [`Revocations::revoke_subject`], purged by the token
    /// lifetime).
    subjects: HashMap<Arc<str>, (f64, f64)>,
    /// A cutoff for everyone, and the time it may go.
    global: Option<(f64, f64)>,
    /// The token and session entries attributed to each subject.
    owned: HashMap<Arc<str>, HashSet<(Kind, Arc<str>)>>,
    /// The subjects by their number of entries, to find the largest at the cap.
    by_count: BTreeSet<(usize, Arc<str>)>,
    /// Every finite end, earliest first.
    ends: BinaryHeap<Reverse<End>>,
}

impl Lists {
    fn len(&self) -> usize {
        self.tokens.len() + self.sessions.len() + self.subjects.len() + usize::from(self.global.is_some())
    }

    fn is_empty(&self) -> bool {
        self.tokens.is_empty()
            && self.sessions.is_empty()
            && self.subjects.is_empty()
            && self.global.is_none()
    }

    /// The latest cutoff that applies to `sub`: all cutoffs are combined here and nowhere else.
    fn cutoff(&self, sub: Option<&str>) -> Option<f64> {
        let subject = sub.and_then(|s| self.subjects.get(s)).map(|&(cutoff, _)| cutoff);
        let global = self.global.map(|(cutoff, _)| cutoff);
        match (subject, global) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    fn map(&mut self, kind: Kind) -> &mut HashMap<Arc<str>, Listed> {
        match kind {
            Kind::Session => &mut self.sessions,
            Kind::Token | Kind::Subject => &mut self.tokens,
        }
    }

    fn push_end(&mut self, until: f64, kind: Kind, id: &Arc<str>) {
        if until.is_finite() {
            self.ends.push(Reverse(Due(until, (kind, Arc::clone(id)))));
        }
    }

    /// Moves `sub` from `old` entries to `new` in the index by count.
    fn recount(&mut self, sub: &Arc<str>, old: usize, new: usize) {
        if old > 0 {
            self.by_count.remove(&(old, Arc::clone(sub)));
        }
        if new > 0 {
            self.by_count.insert((new, Arc::clone(sub)));
        }
    }

    /// Attributes an entry to `sub`; returns how many entries `sub` then holds.
    fn own(&mut self, sub: &Arc<str>, kind: Kind, id: &Arc<str>) -> usize {
        let set = self.owned.entry(Arc::clone(sub)).or_default();
        let old = set.len();
        set.insert((kind, Arc::clone(id)));
        let new = set.len();
        if new != old {
            self.recount(sub, old, new);
        }
        new
    }

    fn disown(&mut self, sub: &Arc<str>, kind: Kind, id: &Arc<str>) {
        let Some(set) = self.owned.get_mut(sub) else {
            return;
        };
        let old = set.len();
        set.remove(&(kind, Arc::clone(id)));
        let new = set.len();
        if new == 0 {
            self.owned.remove(sub);
        }
        if new != old {
            self.recount(sub, old, new);
        }
    }

    /// Lists a token or session until `until` (of two ends, the later wins), attributed to
    /// `owner` when given (the first attribution stays); compacts the owner past `bound`.
    fn add(&mut self, kind: Kind, id: &str, until: f64, owner: Option<&str>, now: f64, bound: usize) {
        // An end that is not a number: kept, failing closed, until compacted away.
        let until = if until.is_nan() { f64::INFINITY } else { until };
        let (id, grew_end, attribute) = match self.map(kind).get_key_value(id) {
            Some((key, listed)) => (
                Arc::clone(key),
                (until > listed.until).then_some(until),
                listed.owner.is_none() && owner.is_some(),
            ),
            None => (Arc::from(id), Some(until), owner.is_some()),
        };
        let owner: Option<Arc<str>> = if attribute { owner.map(Arc::from) } else { None };
        let map = self.map(kind);
        match map.get_mut(&id) {
            Some(listed) => {
                listed.until = listed.until.max(until);
                if owner.is_some() {
                    listed.owner.clone_from(&owner);
                }
            }
            None => {
                map.insert(
                    Arc::clone(&id),
                    Listed {
                        until,
                        owner: owner.clone(),
                    },
                );
            }
        }
        if let Some(end) = grew_end {
            self.push_end(end, kind, &id);
        }
        if let Some(owner) = owner {
            if self.own(&owner, kind, &id) > bound {
                self.compact(&owner, now);
            }
        }
    }

    /// A subject cutoff (the later cutoff and the later end win).
    fn subject(&mut self, sub: &str, cutoff: f64, until: f64) {
        let (key, grew) = match self.subjects.get_key_value(sub) {
            Some((key, &(_, old))) => (Arc::clone(key), until > old),
            None => (Arc::from(sub), true),
        };
        let entry = self.subjects.entry(Arc::clone(&key)).or_insert((cutoff, until));
        *entry = (entry.0.max(cutoff), entry.1.max(until));
        if grew {
            self.push_end(until, Kind::Subject, &key);
        }
    }

    /// Replaces the entries attributed to `sub` by one cutoff at `now`, kept until the latest of
    /// their ends; returns how many entries the list lost.
    fn compact(&mut self, sub: &Arc<str>, now: f64) -> usize {
        let Some(set) = self.owned.remove(sub) else {
            return 0;
        };
        self.recount(sub, set.len(), 0);
        let before = self.len();
        let mut until = now;
        for (kind, id) in &set {
            if let Some(listed) = self.map(*kind).remove(id) {
                until = until.max(listed.until);
            }
        }
        self.subject(sub, now, until);
        #[cfg(feature = "tracing")]
        tracing::debug!(target: "tower_jwt_auth::revocation", entries = set.len(), "a subject's revocations compacted into one cutoff");
        before.saturating_sub(self.len())
    }

    /// Replaces the whole list by one cutoff for everyone at `now` (subject cutoffs later than
    /// `now` stay).
    fn everyone(&mut self, now: f64) {
        let mut until = now;
        for listed in self.tokens.values().chain(self.sessions.values()) {
            until = until.max(listed.until);
        }
        for &(_, end) in self.subjects.values() {
            until = until.max(end);
        }
        let (cutoff, until) = match self.global {
            Some((c, u)) => (c.max(now), u.max(until)),
            None => (now, until),
        };
        let dropped = self.len();
        self.tokens.clear();
        self.sessions.clear();
        self.owned.clear();
        self.by_count.clear();
        self.subjects.retain(|_, &mut (c, _)| c > cutoff);
        self.global = Some((cutoff, until));
        self.rebuild_ends();
        #[cfg(feature = "tracing")]
        tracing::warn!(target: "tower_jwt_auth::revocation", entries = dropped, "revocation list at its cap: replaced by a cutoff for everyone (every token issued until now is refused; clients refresh)");
        #[cfg(not(feature = "tracing"))]
        let _ = dropped;
    }

    /// Drops up to `limit` entries that have ended by `now`, earliest end first.
    fn purge_ended(&mut self, now: f64, limit: usize) {
        for _ in 0..limit {
            match self.ends.peek() {
                Some(Reverse(Due(until, _))) if *until <= now => {}
                _ => break,
            }
            let Some(Reverse(Due(_, (kind, id)))) = self.ends.pop() else {
                break;
            };
            match kind {
                Kind::Token | Kind::Session => {
                    let map = self.map(kind);
                    if map.get(&id).is_some_and(|l| l.until <= now) {
                        if let Some(Listed {
                            owner: Some(owner), ..
                        }) = map.remove(&id)
                        {
                            self.disown(&owner, kind, &id);
                        }
                    }
                }
                Kind::Subject => {
                    if self.subjects.get(&id).is_some_and(|&(_, until)| until <= now) {
                        self.subjects.remove(&id);
                    }
                }
            }
        }
        if self.global.is_some_and(|(_, until)| until <= now) {
            self.global = None;
        }
        // Stale items (ends that moved, entries that went) are dropped by a rebuild once they
        // outnumber the entries: amortized, a write stays constant work.
        if self.ends.len() > 2 * self.len() + 1024 {
            self.rebuild_ends();
        }
    }

    fn rebuild_ends(&mut self) {
        let tokens = self.tokens.iter().map(|(id, l)| (l.until, Kind::Token, id));
        let sessions = self.sessions.iter().map(|(id, l)| (l.until, Kind::Session, id));
        let subjects = self
            .subjects
            .iter()
            .map(|(id, &(_, until))| (until, Kind::Subject, id));
        self.ends = tokens
            .chain(sessions)
            .chain(subjects)
            .filter(|(until, _, _)| until.is_finite())
            .map(|(until, kind, id)| Reverse(Due(until, (kind, Arc::clone(id)))))
            .collect();
    }

    /// Brings the list back within `cap`: purges every ended entry, then compacts the largest
    /// subject, or as a last resort replaces everything by a cutoff for everyone.
    fn make_room(&mut self, now: f64, cap: usize) {
        if self.len() <= cap {
            return;
        }
        self.purge_ended(now, usize::MAX);
        while self.len() > cap {
            let largest = self.by_count.last().map(|(count, sub)| (*count, Arc::clone(sub)));
            let frees = largest.as_ref().map_or(0, |(count, sub)| {
                count.saturating_sub(usize::from(!self.subjects.contains_key(sub)))
            });
            match largest {
                Some((_, sub)) if frees > 0 => {
                    // Bookkeeping out of step (a panic mid-write) must not spin here.
                    if self.compact(&sub, now) == 0 {
                        self.everyone(now);
                        break;
                    }
                }
                _ => {
                    self.everyone(now);
                    // Only subject cutoffs in the future can remain: nothing more to free.
                    break;
                }
            }
        }
    }
}

/// A shared revocation list; clones share it.
///
/// # Bounded, and never failing open
///
/// A write always succeeds, and what it was asked to refuse is refused: when the list would grow
/// past a bound, entries are replaced by a cutoff that refuses at least as much.
///
/// 1. **Per subject.** An entry may be attributed to the subject (`sub`) whose token or session
///    it names ([`Revocations::revoke_token_of`], [`Revocations::revoke_session_of`]; the
///    session stores always attribute). When a subject holds more than
///    [`Revocations::per_subject`] entries (default 64), they are *compacted*: dropped, and
///    replaced by one subject cutoff at the current time, kept until the latest of their ends.
///    Every token those entries named was issued before its revocation, so before the cutoff:
///    the cutoff refuses it. It also refuses the subject's **other** tokens issued so far, its
///    live access tokens included: their clients refresh (the subject's sessions are untouched)
///    and get tokens issued after the cutoff. That is the price of a bound that one user logging
///    in and out cannot push everyone else's entries out of.
/// 2. **The whole list** holds at most [`Revocations::cap`] entries (entries that have ended
///    never count: they are purged first). At the cap, the subject with the most entries is
///    compacted; when that frees nothing (every entry unattributed, or one per subject), the
///    list is replaced by one cutoff for everyone at the current time (every token issued until
///    now is refused, which subsumes every entry; everyone refreshes once), logged at WARN with
///    the `tracing` feature.
/// 3. **Ended entries go by themselves.** Every write also drops a few entries that have ended
///    (by the system clock), oldest end first, so the list needs no timer to stay bounded;
///    [`Revocations::purge`] drops them all at once and also the cutoffs older than the
///    longest token lifetime.
///
/// Cutoffs are judged against `iat`, so compaction relies on the issuers' clocks agreeing with
/// this one's (NTP), as JWT validation does anyway; and a token minted by a refresh that
/// committed just before its session was revoked, with an `iat` after the compaction, would no
/// longer be caught by its `sid` once that entry is compacted (a race of microseconds, since the
/// compaction happens at a later write).
///
/// ```
/// use tower_jwt_auth::Revocations;
///
/// let list = Revocations::new(10_000);
/// list.revoke_token("jti-123", 1_900_000_000.0);
/// assert!(list.is_revoked(Some("jti-123"), None, Some("alice"), Some(1_800_000_000.0)));
/// assert!(!list.is_revoked(Some("jti-456"), None, Some("alice"), Some(1_800_000_000.0)));
/// ```
#[derive(Clone)]
pub struct Revocations {
    inner: Arc<Inner>,
}

struct Inner {
    lists: RwLock<Lists>,
    /// Whether `lists` holds an entry: set after each write, so that the verifier's common case
    /// (an empty list) is one load, not a lock.
    occupied: AtomicBool,
    cap: usize,
    per_subject: AtomicUsize,
    /// Set by a shared store's mirror when the list is older than its maximum staleness.
    stale: AtomicBool,
}

/// One revocation, as a shared store hands it to the mirror.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
pub(crate) enum Entry {
    /// A token id, refused until `until`, maybe attributed to a subject.
    Token(Box<str>, f64, Option<Box<str>>),
    /// A session id, refused until `until`, maybe attributed to a subject.
    Session(Box<str>, f64, Option<Box<str>>),
    /// A subject cutoff, kept until `until`.
    Subject(Box<str>, f64, f64),
    /// A cutoff for everyone, kept until `until`.
    Global(f64, f64),
}

impl Entry {
    /// When the entry stops mattering.
    fn end(&self) -> f64 {
        match self {
            Self::Token(_, until, _)
            | Self::Session(_, until, _)
            | Self::Subject(_, _, until)
            | Self::Global(_, until) => *until,
        }
    }
}

impl fmt::Debug for Revocations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Revocations")
            .field("entries", &self.len())
            .field("cap", &self.inner.cap)
            .field("per_subject", &self.per_subject_bound())
            .finish()
    }
}

impl Revocations {
    /// An empty list that holds at most `cap` entries (at least 1), and at most 64 per subject.
    #[must_use]
    pub fn new(cap: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                lists: RwLock::default(),
                occupied: AtomicBool::new(false),
                cap: cap.max(1),
                per_subject: AtomicUsize::new(DEFAULT_PER_SUBJECT),
                stale: AtomicBool::new(false),
            }),
        }
    }

    /// The most entries attributed to one subject (default 64, at least 1); past it they are
    /// compacted into one subject cutoff (see [`Revocations`](crate::Revocations)). Applies to
    /// every clone, from the next write on.
    ///
    /// ```
    /// use tower_jwt_auth::{Revocations, SystemClock};
    ///
    /// let list = Revocations::new(10_000).per_subject(2);
    /// let (issued, exp) = (SystemClock::now_precise() - 60.0, SystemClock::now_precise() + 900.0);
    /// list.revoke_token_of("alice", "j1", exp);
    /// list.revoke_token_of("alice", "j2", exp);
    /// assert_eq!(list.len(), 2);
    /// // A third entry: alice's entries become one cutoff, which refuses all three tokens and
    /// // her other tokens issued so far.
    /// list.revoke_token_of("alice", "j3", exp);
    /// assert_eq!(list.len(), 1);
    /// assert!(list.is_revoked(Some("j1"), None, Some("alice"), Some(issued)));
    /// assert!(list.is_revoked(Some("any"), None, Some("alice"), Some(issued)));
    /// assert!(!list.is_revoked(Some("any"), None, Some("bob"), Some(issued)));
    /// ```
    #[must_use]
    pub fn per_subject(self, bound: usize) -> Self {
        self.inner.per_subject.store(bound.max(1), Ordering::Relaxed);
        self
    }

    /// The per-subject bound ([`Revocations::per_subject`]).
    #[must_use]
    pub fn per_subject_bound(&self) -> usize {
        self.inner.per_subject.load(Ordering::Relaxed)
    }

    fn read(&self) -> RwLockReadGuard<'_, Lists> {
        self.inner.lists.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock(&self) -> RwLockWriteGuard<'_, Lists> {
        self.inner.lists.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The number of entries (those that have ended but are not purged yet included).
    #[must_use]
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether the list is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        !self.inner.occupied.load(Ordering::Acquire)
    }

    /// One write, at the system clock's time: a few ended entries go, `change` runs, and the
    /// list is brought back within its cap.
    fn write(&self, change: impl FnOnce(&mut Lists, f64, usize)) {
        let now = SystemClock::now_precise();
        let bound = self.per_subject_bound();
        let mut lists = self.lock();
        lists.purge_ended(now, PURGE_BATCH);
        change(&mut lists, now, bound);
        lists.make_room(now, self.inner.cap);
        self.inner.occupied.store(!lists.is_empty(), Ordering::Release);
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

    /// Merges entries from the shared store that holds the truth. Entries are never dropped by
    /// a load, only when they end or by this list's own bounds: a store that lost data
    /// (flushed, restarted without persistence) cannot bring a revoked token back on an
    /// instance that saw its revocation. Entries the store compacted away stay here until they
    /// end (the cutoff that replaced them, which arrives too, refuses the same tokens). Entries
    /// that have ended by `now` are not added.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn mirror(&self, entries: impl IntoIterator<Item = Entry>, now: f64) {
        // A full load holds up to the cap: merged a chunk per lock, so that readers never wait
        // for more than a chunk (merging is monotone: a reader between chunks sees a list that
        // refuses less than the next one, never less than the previous one).
        let mut entries = entries.into_iter().filter(|e| e.end() > now).peekable();
        while entries.peek().is_some() {
            self.write(|lists, clock, bound| {
                for entry in entries.by_ref().take(MIRROR_CHUNK) {
                    match entry {
                        Entry::Token(id, until, sub) => {
                            lists.add(Kind::Token, &id, until, sub.as_deref(), clock, bound);
                        }
                        Entry::Session(id, until, sub) => {
                            lists.add(Kind::Session, &id, until, sub.as_deref(), clock, bound);
                        }
                        // A cutoff that is not a number (a corrupt store): at now, failing
                        // closed.
                        Entry::Subject(sub, cutoff, until) => {
                            lists.subject(&sub, if cutoff.is_nan() { clock } else { cutoff }, until);
                        }
                        Entry::Global(cutoff, until) => {
                            let cutoff = if cutoff.is_nan() { clock } else { cutoff };
                            let global = lists
                                .global
                                .map_or((cutoff, until), |(c, u)| (c.max(cutoff), u.max(until)));
                            lists.global = Some(global);
                        }
                    }
                }
            });
        }
    }

    /// Refuses the token `jti` until its expiry `exp` (seconds since the epoch; of two ends, the
    /// later wins), attributed to no subject. Prefer [`Revocations::revoke_token_of`]: an
    /// unattributed entry can only be compacted with everyone's.
    pub fn revoke_token(&self, jti: &str, exp: f64) {
        self.write(|lists, now, bound| lists.add(Kind::Token, jti, exp, None, now, bound));
    }

    /// Refuses the token `jti` of subject `sub` until its expiry `exp`; past the per-subject
    /// bound, the subject's entries are compacted into a cutoff (see
    /// [`Revocations`](crate::Revocations)).
    pub fn revoke_token_of(&self, sub: &str, jti: &str, exp: f64) {
        self.write(|lists, now, bound| lists.add(Kind::Token, jti, exp, Some(sub), now, bound));
    }

    /// Refuses every token of session `sid` until `until` (the session's end), attributed to no
    /// subject. Prefer [`Revocations::revoke_session_of`].
    pub fn revoke_session(&self, sid: &str, until: f64) {
        self.write(|lists, now, bound| lists.add(Kind::Session, sid, until, None, now, bound));
    }

    /// Refuses every token of session `sid` of subject `sub` until `until`; past the
    /// per-subject bound, the subject's entries are compacted into a cutoff.
    pub fn revoke_session_of(&self, sub: &str, sid: &str, until: f64) {
        self.write(|lists, now, bound| lists.add(Kind::Session, sid, until, Some(sub), now, bound));
    }

    /// Refuses every token of `sub` issued at or before `cutoff` ("log out everywhere"). A later
    /// cutoff replaces an earlier one; an earlier one never moves it back. The entry stays until
    /// [`Revocations::purge`] finds it older than the longest token lifetime.
    pub fn revoke_subject(&self, sub: &str, cutoff: f64) {
        self.revoke_subject_until(sub, cutoff, f64::INFINITY);
    }

    /// [`Revocations::revoke_subject`], with the entry kept until `until` (then dropped by the
    /// next writes).
    pub(crate) fn revoke_subject_until(&self, sub: &str, cutoff: f64, until: f64) {
        // Not a number: fail closed, as a cutoff at now (and kept without an end).
        self.write(|lists, now, _| {
            lists.subject(
                sub,
                if cutoff.is_nan() { now } else { cutoff },
                if until.is_nan() { f64::INFINITY } else { until },
            );
        });
    }

    /// Refuses every token issued at or before `cutoff`, whoever its subject.
    ///
    /// This cutoff is local to this list (shared stores do not carry it); a mirror's reload
    /// keeps it.
    pub fn revoke_all(&self, cutoff: f64) {
        self.write(|lists, now, _| {
            let cutoff = if cutoff.is_nan() { now } else { cutoff };
            let global = lists.global.map_or((cutoff, f64::INFINITY), |(c, u)| {
                (c.max(cutoff), u.max(f64::INFINITY))
            });
            lists.global = Some(global);
        });
    }

    /// Drops every entry that can no longer match: token and session entries past their end,
    /// and cutoffs older than `now - max_token_lifetime` (every token they could catch has
    /// expired) or past their end. Writes drop ended entries too, a few at a time.
    ///
    /// The horizon applies only to cutoffs kept without an end ([`Revocations::revoke_subject`],
    /// [`Revocations::revoke_all`]): a cutoff that replaced entries (a compaction) ends when the
    /// last of them would have, and never sooner. With a `now` or a lifetime that is not a
    /// finite number, only ended entries are dropped.
    pub fn purge(&self, now: f64, max_token_lifetime: f64) {
        let horizon = now - max_token_lifetime;
        // A NaN horizon would drop every cutoff.
        let horizon_known = horizon.is_finite();
        let gone = |cutoff: f64, until: f64| {
            until <= now || (until == f64::INFINITY && horizon_known && cutoff <= horizon)
        };
        let mut lists = self.lock();
        if now.is_finite() {
            lists.purge_ended(now, usize::MAX);
        }
        let before = lists.subjects.len();
        lists
            .subjects
            .retain(|_, &mut (cutoff, until)| !gone(cutoff, until));
        if lists.global.is_some_and(|(cutoff, until)| gone(cutoff, until)) {
            lists.global = None;
        }
        if lists.subjects.len() != before {
            lists.rebuild_ends();
        }
        self.inner.occupied.store(!lists.is_empty(), Ordering::Release);
    }

    /// Whether session `sid` is listed (by its own entry: cutoffs aside).
    #[must_use]
    pub(crate) fn lists_session(&self, sid: &str) -> bool {
        self.read().sessions.contains_key(sid)
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
        let lists = self.read();
        // The common case, without hashing the identifiers.
        if lists.is_empty() {
            return false;
        }
        jti.is_some_and(|j| lists.tokens.contains_key(j))
            || sid.is_some_and(|s| lists.sessions.contains_key(s))
            || lists
                .cutoff(sub)
                .is_some_and(|cutoff| iat.is_none_or(|issued| issued <= cutoff))
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
        // An entry written after this load is a revocation racing the request: the request was
        // in flight before it.
        if self.needs_ids() && self.is_revoked(ids.jti(), ids.sid(), ids.sub(), ids.iat()) {
            return Err(AuthErrorKind::Revoked);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> f64 {
        SystemClock::now_precise()
    }

    #[test]
    fn cutoffs_combine_to_the_latest_and_split_a_second() {
        let list = Revocations::new(100);
        list.revoke_subject("alice", 1000.5);
        list.revoke_all(900.0);
        // Issued before the cutoff, in the same second: refused; right after it: accepted.
        assert!(list.is_revoked(None, None, Some("alice"), Some(1000.4)));
        assert!(!list.is_revoked(None, None, Some("alice"), Some(1000.6)));
        // An earlier subject cutoff never moves the latest back.
        list.revoke_subject("alice", 10.0);
        assert!(list.is_revoked(None, None, Some("alice"), Some(1000.4)));
        // The global cutoff applies to everyone; a later global wins over an earlier subject one.
        assert!(list.is_revoked(None, None, Some("bob"), Some(899.0)));
        assert!(!list.is_revoked(None, None, Some("bob"), Some(901.0)));
        list.revoke_all(2000.0);
        assert!(list.is_revoked(None, None, Some("alice"), Some(1500.0)));
        // No iat under a cutoff: refused.
        assert!(list.is_revoked(None, None, Some("carol"), None));
    }

    #[test]
    fn writes_drop_ended_entries_and_purge_frees_room() {
        let t = now();
        let list = Revocations::new(2);
        list.revoke_token("ended", t - 1.0);
        list.revoke_session("s", t + 200.0);
        // The ended entry went with the next write: no compaction was needed.
        list.revoke_token("b", t + 300.0);
        assert_eq!(list.len(), 2);
        assert!(list.is_revoked(Some("b"), None, None, None));
        assert!(list.is_revoked(None, Some("s"), None, None));
        assert!(!list.is_revoked(Some("ended"), None, None, None));
        list.purge(t + 250.0, 900.0);
        assert_eq!(list.len(), 1);
        assert!(!list.is_revoked(None, Some("s"), None, None));
    }

    #[test]
    fn at_the_cap_the_largest_subject_is_compacted_then_everyone() {
        let t = now();
        let issued = t - 10.0;
        let list = Revocations::new(4);
        list.revoke_token_of("alice", "a1", t + 100.0);
        list.revoke_token_of("alice", "a2", t + 500.0);
        list.revoke_token_of("bob", "b1", t + 100.0);
        list.revoke_token("anon", t + 100.0);
        assert_eq!(list.len(), 4);
        // A fifth entry: alice (two entries) becomes one cutoff, kept as long as her latest.
        list.revoke_token_of("carol", "c1", t + 100.0);
        assert_eq!(list.len(), 4);
        for (jti, sub) in [
            ("a1", "alice"),
            ("a2", "alice"),
            ("b1", "bob"),
            ("anon", "x"),
            ("c1", "carol"),
        ] {
            assert!(list.is_revoked(Some(jti), None, Some(sub), Some(issued)), "{jti}");
        }
        assert_eq!(list.read().subjects.get("alice").map(|e| e.1), Some(t + 500.0));
        // Now one entry per subject, and one unattributed: compaction frees nothing, so the list
        // becomes one cutoff for everyone, which refuses every token issued so far.
        list.revoke_token("anon2", t + 100.0);
        assert_eq!(list.len(), 1);
        for (jti, sub) in [("a1", "alice"), ("b1", "bob"), ("anon2", "x"), ("c1", "carol")] {
            assert!(list.is_revoked(Some(jti), None, Some(sub), Some(issued)), "{jti}");
        }
        assert!(!list.is_revoked(Some("fresh"), None, Some("dave"), Some(now() + 1.0)));
        // And the list goes on taking writes.
        list.revoke_token_of("dave", "d1", t + 100.0);
        assert!(list.is_revoked(Some("d1"), None, Some("dave"), Some(now() + 1.0)));
    }

    /// A write at 60,000 entries leaves every entry where it was: nothing is copied (the list
    /// used to be copied whole on every write). A structural property, not a clock.
    #[test]
    fn a_write_at_60_000_entries_copies_nothing() {
        let exp = now() + 900.0;
        let list = Revocations::new(100_000);
        for i in 0..20_000 {
            list.revoke_token_of(&format!("user-{i}"), &format!("jti-{i}"), exp);
            list.revoke_session(&format!("sid-{i}"), exp);
            list.revoke_subject(&format!("user-{i}"), 1.0);
        }
        assert_eq!(list.len(), 60_000);
        let place = |id: &str| {
            list.read()
                .tokens
                .get_key_value(id)
                .map(|(k, _)| k.as_ptr() as usize)
        };
        let before: Vec<_> = (0..20_000)
            .step_by(97)
            .map(|i| place(&format!("jti-{i}")))
            .collect();
        for i in 0..100 {
            list.revoke_token_of("alice", &format!("new-{i}"), exp);
        }
        let after: Vec<_> = (0..20_000)
            .step_by(97)
            .map(|i| place(&format!("jti-{i}")))
            .collect();
        assert!(before.iter().all(Option::is_some));
        assert_eq!(before, after);
        assert!(list.is_revoked(Some("new-99"), None, Some("alice"), Some(now())));
    }

    #[test]
    fn stale_ends_do_not_pile_up() {
        let t = now();
        let list = Revocations::new(10);
        for i in 0..10_000 {
            list.revoke_token("same", t + f64::from(i));
        }
        assert_eq!(list.len(), 1);
        assert!(list.read().ends.len() <= 2 * list.len() + 1025);
    }

    #[test]
    fn a_compacted_cutoff_outlives_the_purge_horizon_until_its_entries_would_have_ended() {
        let list = Revocations::new(100).per_subject(1);
        let t = now();
        // Two tokens listed until t + 960: compacted into a cutoff at about t.
        list.revoke_token_of("alice", "j1", t + 960.0);
        list.revoke_token_of("alice", "j2", t + 960.0);
        assert!(list.is_revoked(Some("j1"), None, Some("alice"), Some(t - 1.0)));
        // Past the horizon of a 900 s lifetime, but before the entries' own end: still refused.
        list.purge(t + 930.0, 900.0);
        assert!(list.is_revoked(Some("j1"), None, Some("alice"), Some(t - 1.0)));
        // A cutoff without an end goes by the horizon, as before.
        list.revoke_subject("bob", t);
        list.purge(t + 930.0, 900.0);
        assert!(!list.is_revoked(None, None, Some("bob"), Some(t - 1.0)));
        // Once the compacted entries would have ended, the cutoff goes too.
        list.purge(t + 961.0, 900.0);
        assert!(!list.is_revoked(Some("j1"), None, Some("alice"), Some(t - 1.0)));
    }

    #[test]
    fn times_that_are_not_numbers_fail_closed() {
        let list = Revocations::new(100);
        let t = now();
        list.revoke_subject("alice", f64::NAN);
        assert!(list.is_revoked(None, None, Some("alice"), Some(t - 1.0)));
        list.revoke_token("j1", f64::NAN);
        assert!(list.is_revoked(Some("j1"), None, None, None));
        list.revoke_all(f64::NAN);
        assert!(list.is_revoked(None, None, Some("bob"), Some(t - 1.0)));
        // A purge with a horizon that is not a number drops nothing it should keep.
        list.purge(t, f64::NAN);
        list.purge(f64::NAN, 900.0);
        assert!(list.is_revoked(None, None, Some("alice"), Some(t - 1.0)));
        assert!(list.is_revoked(Some("j1"), None, None, None));
    }
}
