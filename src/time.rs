//! The one clock of the crate: [`Clock`], [`SystemClock`], the crate's reading of the
//! system time, and [`Due`], a time-ordered item for queues of deadlines.

use std::time::{SystemTime, UNIX_EPOCH};

/// A source of the current time, in seconds since the Unix epoch. Inject one to pin time in
/// tests; closures `Fn() -> u64` are clocks.
pub trait Clock: Send + Sync {
    /// Seconds since the Unix epoch.
    fn now(&self) -> u64;
}

impl<F: Fn() -> u64 + Send + Sync> Clock for F {
    fn now(&self) -> u64 {
        self()
    }
}

/// The system clock (the default).
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct SystemClock;

impl SystemClock {
    /// Seconds since the Unix epoch with their fraction, as precise as an `f64` holds them
    /// (about a quarter of a microsecond in this era; 0 before the epoch): for an `iat` of
    /// sub-second precision, so that a revocation cutoff splits a second, and for session times.
    /// Never rounded down to a coarser unit: a cutoff read from it catches every token issued
    /// before it.
    ///
    /// ```
    /// use tower_jwt_auth::{Clock, SystemClock};
    /// let precise = SystemClock::now_precise();
    /// assert!((precise - SystemClock::default().now() as f64).abs() < 2.0);
    /// ```
    #[must_use]
    pub fn now_precise() -> f64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    }
}

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        system_now()
    }
}

/// Whole seconds since the Unix epoch (0 before it).
pub(crate) fn system_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Something due at a time (seconds since the epoch): ordered by the time (a total order, so a
/// queue of deadlines never panics on a NaN), then by the item. In a
/// `BinaryHeap<Reverse<Due<T>>>` the earliest comes first.
#[derive(Debug)]
#[cfg_attr(not(feature = "sessions"), allow(dead_code))]
pub(crate) struct Due<T>(pub(crate) f64, pub(crate) T);

impl<T: Ord> PartialEq for Due<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl<T: Ord> Eq for Due<T> {}

impl<T: Ord> PartialOrd for Due<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<T: Ord> Ord for Due<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0).then_with(|| self.1.cmp(&other.1))
    }
}
