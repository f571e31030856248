//! The one clock of the crate: [`Clock`], [`SystemClock`], and the crate's reading of the
//! system time.

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
