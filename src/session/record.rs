//! [`SessionRecord`]: one session as a store keeps it, and the rotation rule ([`Rotation`]).

use std::time::Duration;

use serde_json::{Map, Value};

/// One session, as a store keeps it.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SessionRecord {
    /// The session id (32 hex characters), also the `sid` of its access tokens.
    pub sid: String,
    /// The subject.
    pub sub: String,
    /// The claims the next access token is minted with.
    pub claims: Map<String, Value>,
    /// The current generation; the token of this generation is the only one that rotates.
    pub generation: u64,
    /// When the current generation was issued (seconds since the epoch, fractional).
    pub rotated_at: f64,
    /// When the session was last refreshed or created.
    pub last_used: f64,
    /// The absolute end of the session; rotation never extends it.
    pub expires_at: f64,
    /// Whether the session was revoked (logout, reuse, administrator).
    pub revoked: bool,
}

impl SessionRecord {
    /// A new session of `sub` at generation 0, opened at `now` (seconds since the epoch) and
    /// ending at `expires_at`; for stores and tests ([`Sessions::issue`](super::Sessions::issue) makes the real ones).
    #[must_use]
    pub fn new(
        sid: impl Into<String>,
        sub: impl Into<String>,
        claims: Map<String, Value>,
        now: f64,
        expires_at: f64,
    ) -> Self {
        Self {
            sid: sid.into(),
            sub: sub.into(),
            claims,
            generation: 0,
            rotated_at: now,
            last_used: now,
            expires_at,
            revoked: false,
        }
    }

    /// The rotation rule, for stores that hold records themselves: the one place that decides
    /// between rotating (`generation` is current), converging (the immediate predecessor within
    /// `grace` of the last rotation) and revoking on reuse (anything else). A revoked or expired
    /// session (absolute end, or `idle` without use) is left unchanged. A store runs it
    /// atomically with respect to every other change of the session, and on
    /// [`Rotation::ReuseDetected`] lists the session as revoked in the same step.
    pub fn rotate(&mut self, generation: u64, now: f64, grace: Duration, idle: Duration) -> Rotation {
        if self.revoked {
            return Rotation::Revoked;
        }
        if now >= self.expires_at || now - self.last_used > idle.as_secs_f64() {
            return Rotation::Expired;
        }
        if generation == self.generation {
            self.generation += 1;
            self.rotated_at = now;
            self.last_used = now;
            return Rotation::Rotated(self.clone());
        }
        let predecessor = generation.checked_add(1) == Some(self.generation);
        if predecessor && now - self.rotated_at <= grace.as_secs_f64() {
            return Rotation::Converged(self.clone());
        }
        // An older generation, a generation from the future, or the predecessor too late.
        self.revoked = true;
        Rotation::ReuseDetected
    }
}

/// What a store's atomic rotation found.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Rotation {
    /// The presented generation was current: the session moved to the next one.
    Rotated(SessionRecord),
    /// The presented generation was the current one's immediate predecessor, within the grace
    /// window: the current record, unchanged.
    Converged(SessionRecord),
    /// An older generation (or the predecessor after the grace window): the session is now
    /// revoked.
    ReuseDetected,
    /// The session is over (absolute or idle expiry).
    Expired,
    /// The session was revoked earlier.
    Revoked,
    /// No such session.
    Unknown,
}
