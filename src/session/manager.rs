//! [`Sessions`]: issuing, rotating and revoking refresh-token sessions over a store.

use std::fmt;
use std::time::Duration;

use serde_json::{Map, Value};

use super::token::{self, RefreshToken, TokenKey};
use super::{now, RotateRequest, Rotation, SessionRecord, SessionStore, StoreError};
use crate::{ConfigError, Revocations};

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

    /// Opens a session for `sub`, whose access tokens will carry `claims`. Past the store's
    /// cap of sessions per subject, the subject's oldest session is revoked.
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
        self.store.create(record.clone(), self.access_horizon()).await?;
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
    /// [`StoreError`] when the store cannot answer.
    pub async fn revoke(&self, sid: &str) -> Result<bool, StoreError> {
        self.store.revoke(sid, self.access_horizon()).await
    }

    /// Refuses one access token (by its `jti`) until its expiry `exp` plus a minute (verifiers
    /// accept a token a little past `exp`: their leeway), as at logout. The entry is attributed
    /// to `sub`, the token's subject, so that one subject's logouts are bounded (past the
    /// per-subject bound they become one cutoff for the subject; see
    /// [`Revocations`](crate::Revocations)); `None` only for a token without `sub`.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot answer.
    pub async fn revoke_token(&self, sub: Option<&str>, jti: &str, exp: f64) -> Result<(), StoreError> {
        self.store.revoke_token(sub, jti, exp + LEEWAY).await
    }

    /// Ends every session of `sub` and refuses every token of it issued until now ("log out
    /// everywhere"); a token issued afterwards, even in the same second, is accepted (issue
    /// `iat` with sub-second precision). Returns how many sessions were revoked.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot answer.
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

/// How long past `exp` a revoked token stays listed: more than any sane verifier leeway.
const LEEWAY: f64 = 60.0;
