//! Refresh-token sessions (feature `sessions`): opaque refresh tokens with rotation, reuse
//! detection and a grace window for honest races (OAuth 2.0 Security BCP, RFC 9700 §4.14.2).
//!
//! A refresh token is `rt1_` followed by base64url of a session id (128 random bits), the
//! session's generation and an HMAC-SHA256 tag over both under the server's secret. So:
//!
//! * it is never a JWT and can never pass as an access token;
//! * garbage and forgeries are refused by the tag **before** any store look-up;
//! * the store keeps one record per session (id, subject, the claims for the next access token,
//!   a monotonic generation counter, absolute and idle expiry), never a usable token: the current
//!   token is re-derived from the record and the secret.
//!
//! Every refresh rotates: the session moves to the next generation and the client gets its
//! token. Presenting an older generation is theft or a bug: that session (only that one) is
//! revoked. Inside the grace window (default 10 s, at most 5 minutes, 0 turns it off), the
//! **immediate predecessor** of the current generation is answered with the **current** token,
//! never a new branch, so two tabs refreshing at once, or a retry after a lost response, converge
//! on one generation.
//!
//! Revocations go through the store too: a reused token revokes its session in the same atomic
//! step, and logout and "log out everywhere" write both the session records and the revocation
//! list the layer checks ([`SessionStore::revocations`]).
//!
//! This module holds the session logic and an in-memory store; shared stores (Redis, feature
//! `redis`) plug in through [`SessionStore`], and [`Either`](crate::Either) of two stores is a
//! store chosen at run time.

mod either;
mod layer;
mod memory;
#[cfg(feature = "redis")]
mod redis;
mod token;

use std::fmt;
use std::future::Future;
use std::time::Duration;

use serde_json::{Map, Value};

pub use self::memory::MemoryStore;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use self::redis::{RedisOptions, RedisStore};
pub use self::token::RefreshToken;
use self::token::TokenKey;
use crate::{ConfigError, RevocationError, Revocations};

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
    /// ending at `expires_at`; for stores and tests ([`Sessions::issue`] makes the real ones).
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

/// One rotation, as [`SessionStore::rotate`] receives it: the session and generation a refresh
/// token names, and the settings of the [`Sessions`] that asks.
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
    /// [`Sessions`] passes the time every access token minted until `now` has expired.
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
/// in-memory list the layer checks, up to date: at once for [`MemoryStore`]; for a shared store,
/// at once on the writing instance and within a second on the others.
pub trait SessionStore: Send + Sync {
    /// Stores a new session.
    fn create(&self, record: SessionRecord) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Atomically: checks the session `request.sid`, compares `request.generation` with the
    /// current one, and either moves to the next generation (`now` is the rotation time),
    /// converges within `grace`, or on reuse revokes the session and refuses its access tokens
    /// until `revoke_until`. Expiry: absolute at `expires_at`, idle after `idle` without use.
    /// [`SessionRecord::rotate`] is the rule.
    fn rotate(&self, request: RotateRequest<'_>)
        -> impl Future<Output = Result<Rotation, StoreError>> + Send;

    /// Revokes one session (logout) and refuses its access tokens until `until`; `Ok(false)`
    /// when there was no such session (its access tokens are refused all the same).
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

    /// Refuses the access token `jti` until its expiry `exp`.
    fn revoke_token(&self, jti: &str, exp: f64) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The in-memory revocation list this store keeps current: the layer checks it once wired
    /// with [`JwtAuthLayer::sessions`](crate::JwtAuthLayer::sessions) (or give it to
    /// [`JwtAuthLayer::check`](crate::JwtAuthLayer::check)).
    fn revocations(&self) -> &Revocations;
}

/// A shared store is a store.
impl<S: SessionStore> SessionStore for std::sync::Arc<S> {
    fn create(&self, record: SessionRecord) -> impl Future<Output = Result<(), StoreError>> + Send {
        S::create(self, record)
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

    fn revoke_token(&self, jti: &str, exp: f64) -> impl Future<Output = Result<(), StoreError>> + Send {
        S::revoke_token(self, jti, exp)
    }

    fn revocations(&self) -> &Revocations {
        S::revocations(self)
    }
}

/// Why a refresh was refused: a stable, machine-readable code for an `invalid_grant` answer.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefreshError {
    /// Not a refresh token of this server (garbage, forged, another secret): refused before any
    /// store look-up.
    Malformed,
    /// No such session.
    Unknown,
    /// The session expired (absolute or idle).
    Expired,
    /// The session was revoked.
    Revoked,
    /// An old refresh token was presented again; the session is now revoked.
    Reused,
    /// The store could not answer (503).
    Unavailable(StoreError),
}

impl RefreshError {
    /// A stable code for the cause (`malformed`, `unknown_session`, `expired`, `revoked`,
    /// `reused`, `unavailable`).
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::Unknown => "unknown_session",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
            Self::Reused => "reused",
            Self::Unavailable(_) => "unavailable",
        }
    }
}

impl fmt::Display for RefreshError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unavailable(e) => e.fmt(f),
            other => write!(f, "refresh token refused: {}", other.code()),
        }
    }
}

impl std::error::Error for RefreshError {}

/// A refreshed (or new) session: the record and the refresh token of its current generation.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Issued {
    /// The refresh token to hand to the client (in an `HttpOnly` cookie).
    pub refresh_token: RefreshToken,
    /// The session.
    pub session: SessionRecord,
}

/// Settings of [`Sessions`].
#[derive(Clone, Debug)]
pub struct SessionOptions {
    absolute: Duration,
    idle: Duration,
    grace: Duration,
    access: Duration,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            absolute: Duration::from_secs(30 * 24 * 3600),
            idle: Duration::from_secs(7 * 24 * 3600),
            grace: Duration::from_secs(10),
            access: Duration::from_secs(15 * 60 + 60),
        }
    }
}

impl SessionOptions {
    /// The absolute lifetime of a session (default 30 days); rotation never extends it.
    #[must_use]
    pub fn absolute_lifetime(mut self, lifetime: Duration) -> Self {
        self.absolute = lifetime;
        self
    }

    /// How long a session may go unused (default 7 days).
    #[must_use]
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        self.idle = idle;
        self
    }

    /// How long the access tokens of a session may live, leeway included (default 16 minutes:
    /// 15 minutes plus a minute of leeway). A revoked session or subject is refused that long,
    /// so that every access token minted before the revocation has expired when the entry goes.
    #[must_use]
    pub fn access_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.access = lifetime;
        self
    }

    /// The grace window for honest races (default 10 s; 0 turns it off).
    ///
    /// # Errors
    /// [`ConfigError::OutOfRange`] above 5 minutes.
    pub fn grace(mut self, grace: Duration) -> Result<Self, ConfigError> {
        if grace > Duration::from_secs(300) {
            return Err(ConfigError::OutOfRange("grace (at most 5 minutes)"));
        }
        self.grace = grace;
        Ok(self)
    }
}

/// Sessions with rotating refresh tokens over a [`SessionStore`].
///
/// ```
/// # tokio_test_block_on(async {
/// use tower_jwt_auth::session::{MemoryStore, SessionOptions, Sessions};
///
/// let sessions = Sessions::new(b"a refresh-token secret of at least 32 bytes", MemoryStore::new(), SessionOptions::default())?;
/// let first = sessions.issue("alice", serde_json::Map::new()).await?;
/// let second = sessions.refresh(first.refresh_token.as_str()).await?;
/// assert_eq!(second.session.generation, first.session.generation + 1);
/// // The old token again, after the grace window, would revoke the session.
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
pub struct Sessions<S> {
    key: TokenKey,
    store: S,
    options: SessionOptions,
}

impl<S> fmt::Debug for Sessions<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sessions")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<S: SessionStore> Sessions<S> {
    /// Sessions whose refresh tokens are authenticated with `secret` (at least 32 bytes).
    ///
    /// # Errors
    /// [`ConfigError::KeyTooShort`] for a shorter secret.
    pub fn new(secret: impl AsRef<[u8]>, store: S, options: SessionOptions) -> Result<Self, ConfigError> {
        Ok(Self {
            key: TokenKey::new(secret.as_ref())?,
            store,
            options,
        })
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Opens a session for `sub`, whose access tokens will carry `claims`.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot answer.
    pub async fn issue(&self, sub: &str, claims: Map<String, Value>) -> Result<Issued, StoreError> {
        let now = now();
        let record = SessionRecord::new(
            token::random_sid(),
            sub,
            claims,
            now,
            now + self.options.absolute.as_secs_f64(),
        );
        self.store.create(record.clone()).await?;
        Ok(Issued {
            refresh_token: self.key.token(&record.sid, record.generation),
            session: record,
        })
    }

    /// Rotates the session of `refresh_token`.
    ///
    /// # Errors
    /// A [`RefreshError`] naming the cause; `Reused` means the session was just revoked.
    pub async fn refresh(&self, refresh_token: &str) -> Result<Issued, RefreshError> {
        let (sid, generation) = self.key.open(refresh_token).ok_or(RefreshError::Malformed)?;
        let request = RotateRequest {
            sid: &sid,
            generation,
            now: now(),
            grace: self.options.grace,
            idle: self.options.idle,
            revoke_until: self.access_horizon(),
        };
        let rotation = self
            .store
            .rotate(request)
            .await
            .map_err(RefreshError::Unavailable)?;
        let session = match rotation {
            Rotation::Rotated(record) | Rotation::Converged(record) => record,
            Rotation::ReuseDetected => return Err(RefreshError::Reused),
            Rotation::Expired => return Err(RefreshError::Expired),
            Rotation::Revoked => return Err(RefreshError::Revoked),
            Rotation::Unknown => return Err(RefreshError::Unknown),
        };
        Ok(Issued {
            refresh_token: self.key.token(&session.sid, session.generation),
            session,
        })
    }

    /// Ends a session (logout): its refresh token stops working and its access tokens are
    /// refused. `Ok(false)` when the store had no such session.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot answer or the revocation list is full.
    pub async fn revoke(&self, sid: &str) -> Result<bool, StoreError> {
        self.store.revoke(sid, self.access_horizon()).await
    }

    /// Refuses one access token (by its `jti`) until its expiry `exp` plus a minute (verifiers
    /// accept a token a little past `exp`: their leeway), as at logout.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot answer or the revocation list is full.
    pub async fn revoke_token(&self, jti: &str, exp: f64) -> Result<(), StoreError> {
        self.store.revoke_token(jti, exp + LEEWAY).await
    }

    /// Ends every session of `sub` and refuses every token of it issued until now ("log out
    /// everywhere"); a token issued afterwards, even in the same second, is accepted (issue
    /// `iat` with sub-second precision). Returns how many sessions were revoked.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot answer or the revocation list is full.
    pub async fn revoke_subject(&self, sub: &str) -> Result<usize, StoreError> {
        let now = now();
        self.store
            .revoke_subject(sub, now, now + self.options.access.as_secs_f64())
            .await
    }

    /// The revocation list the store keeps current, for
    /// [`JwtAuthLayer::sessions`](crate::JwtAuthLayer::sessions) (or [`JwtAuthLayer::check`](crate::JwtAuthLayer::check)).
    #[must_use]
    pub fn revocations(&self) -> &Revocations {
        self.store.revocations()
    }

    /// When every access token minted until now has expired.
    fn access_horizon(&self) -> f64 {
        now() + self.options.access.as_secs_f64()
    }

    /// The session id of a refresh token this server issued, without a store look-up.
    #[must_use]
    pub fn session_id(&self, refresh_token: &str) -> Option<String> {
        self.key.open(refresh_token).map(|(sid, _)| sid)
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

/// How long past `exp` a revoked token stays listed: more than any sane verifier leeway.
const LEEWAY: f64 = 60.0;

pub(crate) fn now() -> f64 {
    crate::SystemClock::now_precise()
}
