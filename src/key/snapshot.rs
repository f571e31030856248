//! A fetched key set's current snapshot, swapped whole when a new set arrives, and a key held
//! from it (what [`JwksResolver`](crate::JwksResolver) answers on its fast path).

use std::fmt;
use std::ops::Deref;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::select::select;
use super::VerifyingKey;
use crate::Algorithm;

/// The keys of one fetch, and when they were fetched.
pub(crate) struct Snapshot {
    pub(crate) keys: Vec<Arc<VerifyingKey>>,
    pub(crate) fetched_at: Option<(Instant, SystemTime)>,
    pub(crate) expires_at: Option<Instant>,
    /// Set by the background task once the set is older than `max_stale`, so that the fast
    /// path reads a flag instead of the clock.
    pub(crate) too_old: AtomicBool,
}

impl Snapshot {
    /// No keys yet.
    pub(crate) fn empty() -> Self {
        Self {
            keys: Vec::new(),
            fetched_at: None,
            expires_at: None,
            too_old: AtomicBool::new(false),
        }
    }

    pub(crate) fn stale_deadline(&self, max_stale: Duration) -> Option<Instant> {
        self.fetched_at.map(|(at, _)| at + max_stale)
    }

    pub(crate) fn position(&self, alg: Algorithm, kid: Option<&str>) -> Option<usize> {
        select(&self.keys, alg, kid)
    }

    pub(crate) fn find(&self, alg: Algorithm, kid: Option<&str>) -> Option<&Arc<VerifyingKey>> {
        self.position(alg, kid).and_then(|i| self.keys.get(i))
    }
}

/// A key of a snapshot: an `arc-swap` guard, which keeps the snapshot alive without a shared
/// reference-count update on its fast path.
pub(crate) struct CachedKey {
    guard: arc_swap::Guard<Arc<Snapshot>>,
    index: usize,
}

impl CachedKey {
    /// The key at `index` of the guarded snapshot; `None` when there is none there.
    pub(crate) fn new(guard: arc_swap::Guard<Arc<Snapshot>>, index: usize) -> Option<Self> {
        (index < guard.keys.len()).then_some(Self { guard, index })
    }

    fn key(&self) -> &VerifyingKey {
        // `index` was checked against this very snapshot, which never changes: in bounds.
        #[allow(clippy::indexing_slicing)]
        &self.guard.keys[self.index]
    }
}

impl Deref for CachedKey {
    type Target = VerifyingKey;
    fn deref(&self) -> &VerifyingKey {
        self.key()
    }
}

impl Clone for CachedKey {
    fn clone(&self) -> Self {
        Self {
            guard: arc_swap::Guard::from_inner(Arc::clone(&self.guard)),
            index: self.index,
        }
    }
}

impl fmt::Debug for CachedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CachedKey").field(self.key()).finish()
    }
}
