//! Login rate limits (with the `governor` crate): per client address, and per username once it
//! has failed too often.
//!
//! - Per address: [`PER_ADDRESS_PER_SECOND`] logins a second with bursts of [`PER_ADDRESS_BURST`];
//!   past that, 429 with `Retry-After`. IPv6 addresses count by their /64, what one host
//!   usually holds. The address is the TCP peer's: behind a proxy, key on the address the proxy
//!   reports instead (and only if you trust it).
//! - Per username: [`FAILURES_PER_MINUTE`] failed logins a minute (all at once if need be); once
//!   they are spent, attempts are answered 429 before any password check until the quota refills
//!   (one more failure every six seconds). Unknown usernames are counted alike, so the answer does
//!   not tell which accounts exist; successful logins never count. A username's checks run one at
//!   a time ([`LoginLimits::turn`]), so parallel guesses cannot all pass before the first failure
//!   is counted. The price of any per-username limit: anyone can spend a user's quota, and the user
//!   then waits as long as the attacker keeps guessing (at most one guess every six seconds).
//!
//! Memory stays bounded: an address entry is one small record, a username entry exists only
//! after a failed password check (so at most as many a minute as the password pool can check),
//! and [`LoginLimits::retain_recent`] (run periodically) drops the ones back at full quota.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::{DefaultKeyedRateLimiter, Quota};

/// Sustained logins a second from one address.
pub(crate) const PER_ADDRESS_PER_SECOND: u32 = 20;
/// Logins from one address at once.
pub(crate) const PER_ADDRESS_BURST: u32 = 64;
/// Failed logins of one username a minute before it is slowed.
pub(crate) const FAILURES_PER_MINUTE: u32 = 10;
/// Longer usernames are refused (400) before anything is counted or checked.
pub(crate) const MAX_USERNAME: usize = 256;

/// The login limits; shared by every request.
pub(crate) struct LoginLimits {
    addresses: DefaultKeyedRateLimiter<IpAddr>,
    failures: DefaultKeyedRateLimiter<Box<str>, StateInformationMiddleware>,
    /// Usernames whose failure quota is spent, until when.
    slowed: Mutex<HashMap<Box<str>, Instant>>,
    /// Usernames being checked: one check at a time each.
    checking: Mutex<HashMap<Box<str>, Arc<tokio::sync::Mutex<()>>>>,
}

impl std::fmt::Debug for LoginLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginLimits")
            .field("addresses", &self.addresses.len())
            .field("failures", &self.failures.len())
            .finish_non_exhaustive()
    }
}

/// A refusal: retry after this long (at least a second, as `Retry-After` counts seconds).
#[derive(Debug)]
pub(crate) struct RetryAfter(pub(crate) Duration);

impl RetryAfter {
    /// The `Retry-After` value, in whole seconds, rounded up.
    pub(crate) fn seconds(&self) -> u64 {
        self.0.as_secs() + u64::from(self.0.subsec_nanos() > 0)
    }
}

impl Default for LoginLimits {
    fn default() -> Self {
        let nonzero = |n: u32| NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
        Self {
            addresses: DefaultKeyedRateLimiter::keyed(
                Quota::per_second(nonzero(PER_ADDRESS_PER_SECOND)).allow_burst(nonzero(PER_ADDRESS_BURST)),
            ),
            failures: DefaultKeyedRateLimiter::keyed(Quota::per_minute(nonzero(FAILURES_PER_MINUTE)))
                .with_middleware::<StateInformationMiddleware>(),
            slowed: Mutex::default(),
            checking: Mutex::default(),
        }
    }
}

impl LoginLimits {
    /// Counts one login attempt from `address`.
    pub(crate) fn attempt_from(&self, address: IpAddr) -> Result<(), RetryAfter> {
        let clock = DefaultClock::default();
        self.addresses
            .check_key(&client_key(address))
            .map_err(|not_until| {
                RetryAfter(not_until.wait_time_from(clock.now()).max(Duration::from_secs(1)))
            })
    }

    /// Whether `username` may be checked now.
    pub(crate) fn may_try(&self, username: &str) -> Result<(), RetryAfter> {
        let slowed = self.slowed.lock().unwrap_or_else(PoisonError::into_inner);
        match slowed.get(username) {
            Some(&until) => match until.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => Err(RetryAfter(left.max(Duration::from_secs(1)))),
                _ => Ok(()),
            },
            None => Ok(()),
        }
    }

    /// Waits for `username`'s turn: its checks run one at a time, so that each failure is
    /// counted before the next check is let through ([`LoginLimits::may_try`] comes after).
    pub(crate) async fn turn(&self, username: &str) -> Turn<'_> {
        let lock = Arc::clone(
            self.checking
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(username.into())
                .or_default(),
        );
        let guard = Arc::clone(&lock).lock_owned().await;
        Turn {
            limits: self,
            username: username.into(),
            lock,
            guard: Some(guard),
        }
    }

    /// Counts a failed password check of `username`; the one that spends its quota starts the
    /// slowdown.
    pub(crate) fn failed(&self, username: &str) {
        let clock = DefaultClock::default();
        let wait = match self.failures.check_key(&Box::from(username)) {
            Ok(state) if state.remaining_burst_capacity() == 0 => state.quota().replenish_interval(),
            Ok(_) => return,
            Err(not_until) => not_until.wait_time_from(clock.now()),
        };
        self.slowed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(username.into(), Instant::now() + wait);
    }

    /// Drops what no longer limits anyone: addresses and usernames back at full quota, and
    /// ended slowdowns.
    pub(crate) fn retain_recent(&self) {
        self.addresses.retain_recent();
        self.addresses.shrink_to_fit();
        self.failures.retain_recent();
        self.failures.shrink_to_fit();
        let now = Instant::now();
        let mut slowed = self.slowed.lock().unwrap_or_else(PoisonError::into_inner);
        slowed.retain(|_, until| *until > now);
        slowed.shrink_to_fit();
        drop(slowed);
        // A turn whose waiter hung up can leave an entry no one holds.
        let mut checking = self.checking.lock().unwrap_or_else(PoisonError::into_inner);
        checking.retain(|_, lock| Arc::strong_count(lock) > 1);
        checking.shrink_to_fit();
    }
}

/// A username's turn to be checked; the next waiter's when dropped.
pub(crate) struct Turn<'a> {
    limits: &'a LoginLimits,
    username: Box<str>,
    lock: Arc<tokio::sync::Mutex<()>>,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut checking = self
            .limits
            .checking
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.guard = None;
        // No one else holds or awaits it (the map's and this one's references only): forget it.
        if Arc::strong_count(&self.lock) == 2 {
            checking.remove(&self.username);
        }
    }
}

/// What one client is counted by: its IPv4 address, or its IPv6 /64.
fn client_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}
