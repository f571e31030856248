//! [`TokenCheck`]: a rule of your own, run after the signature and the registered claims pass.

use crate::AuthErrorKind;

/// The identifying claims of a verified token, as a [`TokenCheck`] sees them: borrowed from the
/// payload, read in the same pass as the registered claims (never a second parse).
///
/// A claim of another type than a string (or, for `iat`, a number) is absent here: it
/// identifies nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TokenIds<'a> {
    jti: Option<&'a str>,
    sid: Option<&'a str>,
    sub: Option<&'a str>,
    iat: Option<f64>,
}

impl<'a> TokenIds<'a> {
    /// Identifiers, for testing checks.
    #[must_use]
    pub const fn new(
        jti: Option<&'a str>,
        sid: Option<&'a str>,
        sub: Option<&'a str>,
        iat: Option<f64>,
    ) -> Self {
        Self { jti, sid, sub, iat }
    }

    /// `jti`, the token's id.
    #[must_use]
    pub const fn jti(&self) -> Option<&'a str> {
        self.jti
    }

    /// `sid`, the session the token belongs to (OpenID Connect).
    #[must_use]
    pub const fn sid(&self) -> Option<&'a str> {
        self.sid
    }

    /// `sub`, its subject.
    #[must_use]
    pub const fn sub(&self) -> Option<&'a str> {
        self.sub
    }

    /// `iat`, when it was issued (seconds since the epoch, with any fraction it carried).
    #[must_use]
    pub const fn iat(&self) -> Option<f64> {
        self.iat
    }
}

/// A rule a token must also satisfy, checked after its signature and its registered claims
/// (so a forged or expired token is still told so): a revocation list
/// ([`Revocations`](crate::Revocations), feature `sessions`), a deny-list of your own.
///
/// Add checks with [`Validation::check`](crate::Validation::check), or with
/// [`JwtAuthLayer::check`](crate::JwtAuthLayer::check) so that no later
/// [`validation`](crate::JwtAuthLayer::validation) can drop them. Closures
/// `Fn(&TokenIds<'_>) -> Result<(), AuthErrorKind>` are checks.
///
/// ```
/// use tower_jwt_auth::{AuthErrorKind, SigningKey, TokenIds, Validation};
///
/// let banned = |ids: &TokenIds<'_>| match ids.sub() {
///     Some("mallory") => Err(AuthErrorKind::Revoked),
///     _ => Ok(()),
/// };
/// let validation = Validation::new().check(banned);
///
/// let signing = SigningKey::hs256([4u8; 32])?;
/// let exp = tower_jwt_auth::NumericDate::now().as_secs() + 60;
/// let token = signing.sign(&serde_json::json!({"sub": "mallory", "exp": exp}))?;
/// let err = validation.verify::<serde_json::Value>(&token, &signing.verifying_key()).unwrap_err();
/// assert_eq!(err.kind(), AuthErrorKind::Revoked);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait TokenCheck: Send + Sync + 'static {
    /// Whether [`check`](Self::check) reads the identifiers this time. When no check does, the
    /// claims reader does not collect them (an empty revocation list answers `false`). Default:
    /// `true`.
    fn needs_ids(&self) -> bool {
        true
    }

    /// Accepts the token, or refuses it with the kind the middleware answers with (401 for
    /// [`AuthErrorKind::Revoked`], 503 for
    /// [`AuthErrorKind::RevocationsUnavailable`], ...). `ids` is empty when
    /// [`needs_ids`](Self::needs_ids) said `false` and no other check asked for them.
    ///
    /// # Errors
    /// The refusal.
    fn check(&self, ids: &TokenIds<'_>) -> Result<(), AuthErrorKind>;
}

impl<F> TokenCheck for F
where
    F: Fn(&TokenIds<'_>) -> Result<(), AuthErrorKind> + Send + Sync + 'static,
{
    fn check(&self, ids: &TokenIds<'_>) -> Result<(), AuthErrorKind> {
        self(ids)
    }
}
