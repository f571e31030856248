//! [`SessionStore`]: where sessions and revocations are kept, and what it is asked
//! ([`RotateRequest`]) and answers ([`StoreError`]).

use std::fmt;
use std::future::Future;
use std::time::Duration;

use super::{Rotation, SessionRecord};
#[allow(deprecated)]
use crate::RevocationError;
use crate::Revocations;

/// One rotation, as [`SessionStore::rotate`] receives it: the session and generation a refresh
/// token names, and the settings of the [`Sessions`](super::Sessions) that asks.
///
/// A store that wraps another passes it on unchanged; a store or a test that rotates directly
/// builds it field by field:
///
/// ```
/// use std::time::Duration;
/// use tower_jwt_auth::session::RotateRequest;
///
/// let now = 1_800_000_000.0;
/// let request = RotateRequest {
///     sid: "00112233445566778899aabbccddeeff",
///     generation: 0,
///     now,
///     grace: Duration::from_secs(10),
///     idle: Duration::from_secs(7 * 24 * 3600),
///     revoke_until: now + 960.0,
/// };
/// ```
#[derive(Clone, Copy, Debug)]
pub struct RotateRequest<'a> {
    /// The session id the refresh token names.
    pub sid: &'a str,
    /// The generation the refresh token names.
    pub generation: u64,
    /// When the refresh happens (seconds since the epoch, fractional): the rotation time, and
    /// the time expiry and the grace window are judged at.
    pub now: f64,
    /// The grace window: how long after the last rotation its immediate predecessor is still
    /// answered with the current record ([`Rotation::Converged`]); zero turns it off.
    pub grace: Duration,
    /// How long a session may go unused before it expires.
    pub idle: Duration,
    /// On reuse, the session's access tokens are refused until then (seconds since the epoch);
    /// [`Sessions`](super::Sessions) passes the time every access token minted until `now` has expired.
    pub revoke_until: f64,
}

/// Why a store could not answer.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreError {
    /// The store is unreachable or failed; answer 503, never a silent success.
    Unavailable(String),
    /// The revocation list holds as many entries as its cap allows; the revocation was not
    /// listed, or only in part (sessions it names are revoked all the same).
    ///
    /// The stores of this crate no longer answer it: their lists compact entries into cutoffs
    /// rather than refuse one (see [`Revocations`](crate::Revocations)). Kept for stores
    /// of others and for code that matches it.
    Full {
        /// The cap.
        cap: usize,
    },
    /// The call was refused before reaching the store (a time that is not finite).
    Invalid(&'static str),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unavailable(e) => write!(f, "session store unavailable: {e}"),
            Self::Full { cap } => write!(f, "the revocation list is full ({cap} entries)"),
            Self::Invalid(what) => write!(f, "invalid store call: {what}"),
        }
    }
}

impl std::error::Error for StoreError {}

#[allow(deprecated)]
impl From<RevocationError> for StoreError {
    fn from(e: RevocationError) -> Self {
        match e {
            RevocationError::Full { cap } => Self::Full { cap },
        }
    }
}

/// Keeps sessions and revocations. Every method is atomic with respect to the others on the
/// same session, so no refresh can slip past a concurrent revocation.
///
/// Revocations are written through the store, which keeps [`SessionStore::revocations`], the
/// in-memory list the layer checks, up to date: at once for [`MemoryStore`](super::MemoryStore); for a shared store,
/// at once on the writing instance and within a second on the others.
pub trait SessionStore: Send + Sync {
    /// Stores a new session. A store caps the sessions of one subject: when this one is past
    /// the cap, the subject's oldest session is revoked (removed) and its access tokens are
    /// refused until `revoke_until` (the time every access token minted until now has expired),
    /// attributed to the subject.
    fn create(
        &self,
        record: SessionRecord,
        revoke_until: f64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Atomically: checks the session `request.sid`, compares `request.generation` with the
    /// current one, and either moves to the next generation (`now` is the rotation time),
    /// converges within `grace`, or on reuse revokes the session and refuses its access tokens
    /// until `revoke_until`. Expiry: absolute at `expires_at`, idle after `idle` without use.
    /// [`SessionRecord::rotate`] is the rule.
    fn rotate(&self, request: RotateRequest<'_>)
        -> impl Future<Output = Result<Rotation, StoreError>> + Send;

    /// Revokes one session (logout) and refuses its access tokens until `until` (an entry
    /// attributed to the session's subject); `Ok(false)` when there was no such session (its
    /// access tokens are refused all the same, by an entry attributed to no one).
    fn revoke(&self, sid: &str, until: f64) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Revokes every session of `sub` and refuses its tokens issued at or before `cutoff`
    /// ("log out everywhere"), an entry kept until `until`; returns how many sessions were
    /// revoked.
    fn revoke_subject(
        &self,
        sub: &str,
        cutoff: f64,
        until: f64,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;

    /// Refuses the access token `jti` until its expiry `exp`, attributed to its subject `sub`
    /// (the token's `sub` claim) when given: past the per-subject bound, the subject's entries
    /// are compacted into a cutoff ([`Revocations::revoke_token_of`]).
    fn revoke_token(
        &self,
        sub: Option<&str>,
        jti: &str,
        exp: f64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The in-memory revocation list this store keeps current: the layer checks it once wired
    /// with [`JwtAuthLayer::sessions`](crate::JwtAuthLayer::sessions) (or give it to
    /// [`JwtAuthLayer::check`](crate::JwtAuthLayer::check)).
    fn revocations(&self) -> &Revocations;
}

/// A shared store is a store.
impl<S: SessionStore> SessionStore for std::sync::Arc<S> {
    fn create(
        &self,
        record: SessionRecord,
        revoke_until: f64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        S::create(self, record, revoke_until)
    }

    fn rotate(
        &self,
        request: RotateRequest<'_>,
    ) -> impl Future<Output = Result<Rotation, StoreError>> + Send {
        S::rotate(self, request)
    }

    fn revoke(&self, sid: &str, until: f64) -> impl Future<Output = Result<bool, StoreError>> + Send {
        S::revoke(self, sid, until)
    }

    fn revoke_subject(
        &self,
        sub: &str,
        cutoff: f64,
        until: f64,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send {
        S::revoke_subject(self, sub, cutoff, until)
    }

    fn revoke_token(
        &self,
        sub: Option<&str>,
        jti: &str,
        exp: f64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        S::revoke_token(self, sub, jti, exp)
    }

    fn revocations(&self) -> &Revocations {
        S::revocations(self)
    }
}

/// Times must be finite: a shared store would store part of a change, then fail.
pub(crate) fn finite(times: &[f64]) -> Result<(), StoreError> {
    if times.iter().all(|t| t.is_finite()) {
        Ok(())
    } else {
        Err(StoreError::Invalid("a time that is not a finite number"))
    }
}

/// Seconds since the epoch, to the microsecond: the sessions' clock.
pub(crate) fn now() -> f64 {
    crate::SystemClock::now_precise()
}
