//! Sessions wired into the middleware in one call: [`JwtAuthLayer::sessions`].

use super::{SessionStore, Sessions};
use crate::JwtAuthLayer;

impl<T, K: Clone, R> JwtAuthLayer<T, K, R> {
    /// Refuses the access tokens that `sessions` revoked (logout, "log out everywhere", reuse
    /// of a refresh token, an admin's revocation): the store's revocation list becomes a
    /// [`check`](Self::check) of this layer, which no later
    /// [`validation`](Self::validation) drops.
    ///
    /// ```
    /// use tower_jwt_auth::session::{MemoryStore, SessionOptions, Sessions};
    /// use tower_jwt_auth::{JwtAuthLayer, Validation};
    ///
    /// #[derive(Clone, serde::Deserialize)]
    /// struct MyClaims { sub: String }
    ///
    /// // Two secrets: one authenticates refresh tokens, the other signs access tokens.
    /// let (refresh_secret, access_secret) = ([6u8; 32], [7u8; 32]);
    /// let sessions = Sessions::new(refresh_secret, MemoryStore::default(), SessionOptions::default())?;
    /// let auth = JwtAuthLayer::<MyClaims>::hs256(access_secret)?
    ///     .sessions(&sessions)
    ///     .validation(Validation::new().audience("my-api")?); // revocation still checked
    /// # let _ = auth;
    /// # Ok::<(), tower_jwt_auth::ConfigError>(())
    /// ```
    pub fn sessions<S: SessionStore>(self, sessions: &Sessions<S>) -> Self {
        self.check(sessions.revocations().clone())
    }
}
