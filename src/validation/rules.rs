//! [`Validation`]: the rules, their defaults and their builder.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::TokenCheck;
use crate::time::{system_now, Clock};
use crate::ConfigError;

/// The default cap on a token's length: 8 KiB.
pub const DEFAULT_MAX_TOKEN_LEN: usize = 8 * 1024;
/// The default clock leeway: 30 seconds.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);

/// The rules a token's header and claims must satisfy, strict by default.
///
/// | rule | default |
/// | --- | --- |
/// | token length | at most 8 KiB ([`max_token_len`](Self::max_token_len)) |
/// | `typ` | absent, `JWT` or `at+jwt` (case-insensitive, optional `application/`) |
/// | `crit`, `b64: false` | refused |
/// | `exp` | required ([`dangerous_allow_missing_exp`](Self::dangerous_allow_missing_exp) to relax) |
/// | `nbf`, `iat` | checked when present; `iat` in the future refused |
/// | leeway | 30 s ([`leeway`](Self::leeway)) |
/// | `iss` | required and matched once an issuer is configured |
/// | `aud` | required and matched once an audience is configured; refused when present and none is configured ([`dangerous_accept_any_audience`](Self::dangerous_accept_any_audience) to relax) |
/// | NumericDate | integer or finite number; a string, boolean or `null` is refused, never "absent" |
/// | duplicate member names | refused at the top level of the header and of the claims |
///
/// ```
/// use std::time::Duration;
/// use tower_jwt_auth::Validation;
///
/// let validation = Validation::new()
///     .issuer("https://auth.example.com")?
///     .audience("orders-api")?
///     .leeway(Duration::from_secs(10));
/// # Ok::<(), tower_jwt_auth::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct Validation {
    pub(super) leeway: u64,
    pub(super) issuers: Arc<[Box<str>]>,
    pub(super) audiences: Arc<[Box<str>]>,
    pub(super) require_exp: bool,
    pub(super) require_sub: bool,
    pub(super) accept_any_audience: bool,
    pub(super) max_age: Option<u64>,
    pub(super) max_token_len: usize,
    pub(super) clock: Option<Arc<dyn Clock>>,
    pub(super) checks: Arc<[Arc<dyn TokenCheck>]>,
    pub(super) profile: Option<Profile>,
}

/// The JWT access-token profile's rules (RFC 9068), when [`Validation::rfc9068`] turned it on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Profile {
    /// `typ: JWT` is accepted too ([`Validation::accept_typ_jwt`]).
    pub(super) accept_typ_jwt: bool,
}

impl Default for Validation {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Validation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Validation")
            .field("leeway", &self.leeway)
            .field("issuers", &self.issuers)
            .field("audiences", &self.audiences)
            .field("require_exp", &self.require_exp)
            .field("require_sub", &self.require_sub)
            .field("accept_any_audience", &self.accept_any_audience)
            .field("max_age", &self.max_age)
            .field("max_token_len", &self.max_token_len)
            .field("clock", &self.clock.as_ref().map(|_| "<custom>"))
            .field("checks", &self.checks.len())
            .field("profile", &self.profile)
            .finish()
    }
}

impl Validation {
    /// The strict defaults (see the table above).
    #[must_use]
    pub fn new() -> Self {
        Self {
            leeway: DEFAULT_LEEWAY.as_secs(),
            issuers: Arc::from([]),
            audiences: Arc::from([]),
            require_exp: true,
            require_sub: false,
            accept_any_audience: false,
            max_age: None,
            max_token_len: DEFAULT_MAX_TOKEN_LEN,
            clock: None,
            checks: Arc::from([]),
            profile: None,
        }
    }

    /// The JWT profile for OAuth 2.0 access tokens (RFC 9068), on top of the strict defaults:
    ///
    /// | rule | |
    /// | --- | --- |
    /// | `typ` | required: `at+jwt` or `application/at+jwt` (case-insensitive); `JWT` only with [`accept_typ_jwt`](Self::accept_typ_jwt) |
    /// | `iss`, `exp`, `aud`, `sub`, `client_id`, `iat`, `jti` | required (§2.2); `sub`, `client_id` and `jti` strings (`exp` unless [`dangerous_allow_missing_exp`](Self::dangerous_allow_missing_exp) says otherwise) |
    /// | `iss`, `aud` | matched against the configured issuers and audiences (configure them: with no audience, a token's `aud` is refused as for any validation) |
    /// | `scope` | read as RFC 9068 §2.2.3 says by [`Scopes`](crate::Scopes) (space-separated), shared with [`RequireClaimsLayer::scopes`](crate::RequireClaimsLayer::scopes) |
    ///
    /// A missing claim is refused with [`AuthErrorKind::MissingClaim`](crate::AuthErrorKind::MissingClaim)
    /// naming it ("missing client_id claim"); a token without `typ: at+jwt` with
    /// [`AuthErrorKind::InvalidTokenType`](crate::AuthErrorKind::InvalidTokenType).
    ///
    /// ```
    /// use tower_jwt_auth::{AuthErrorKind, Claim, NumericDate, SigningKey, Validation};
    ///
    /// let signing = SigningKey::hs256([9u8; 32])?.with_typ("at+jwt")?;
    /// let validation = Validation::rfc9068()
    ///     .issuer("https://auth.example.com")?
    ///     .audience("https://api.example.com")?;
    /// let mut claims = serde_json::json!({
    ///     "iss": "https://auth.example.com", "aud": "https://api.example.com",
    ///     "sub": "alice", "client_id": "web", "jti": "7f1c", "scope": "orders:read",
    ///     "iat": NumericDate::now().as_secs(), "exp": NumericDate::now().as_secs() + 300,
    /// });
    /// let token = signing.sign(&claims)?;
    /// assert!(validation.verify::<serde_json::Value>(&token, &signing.verifying_key()).is_ok());
    ///
    /// claims.as_object_mut().unwrap().remove("client_id");
    /// let token = signing.sign(&claims)?;
    /// let err = validation.verify::<serde_json::Value>(&token, &signing.verifying_key()).unwrap_err();
    /// assert_eq!(err.kind(), AuthErrorKind::MissingClaim(Claim::ClientId));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn rfc9068() -> Self {
        let mut validation = Self::new();
        validation.require_sub = true;
        validation.profile = Some(Profile {
            accept_typ_jwt: false,
        });
        validation
    }

    /// With [`rfc9068`](Self::rfc9068): also accepts `typ: JWT` (`application/jwt`), which some
    /// identity providers send on access tokens; every other rule of the profile stays. Without
    /// the profile it changes nothing (`JWT` is accepted anyway).
    pub fn accept_typ_jwt(mut self) -> Self {
        if let Some(profile) = &mut self.profile {
            profile.accept_typ_jwt = true;
        }
        self
    }

    /// Accepts tokens from `issuer` (call again for several). Once one is set, `iss` is required.
    ///
    /// # Errors
    /// [`ConfigError::EmptyValue`] for an empty issuer.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Result<Self, ConfigError> {
        self.issuers = push(&self.issuers, issuer.into(), "issuer")?;
        Ok(self)
    }

    /// Accepts tokens for `audience` (call again for several). Once one is set, `aud` is
    /// required and must contain one of them.
    ///
    /// # Errors
    /// [`ConfigError::EmptyValue`] for an empty audience.
    pub fn audience(mut self, audience: impl Into<String>) -> Result<Self, ConfigError> {
        self.audiences = push(&self.audiences, audience.into(), "audience")?;
        Ok(self)
    }

    /// Clock skew tolerated on `exp`, `nbf` and `iat`. Default 30 s.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway.as_secs();
        self
    }

    /// Requires a string `sub` claim. Default: not required.
    pub fn require_sub(mut self) -> Self {
        self.require_sub = true;
        self
    }

    /// Refuses tokens issued longer than `max_age` ago (from `iat`, which becomes required).
    /// Default: no maximum age.
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age.as_secs());
        self
    }

    /// The longest token accepted, in bytes; longer ones are refused before any decoding.
    /// Default 8 KiB.
    pub fn max_token_len(mut self, bytes: usize) -> Self {
        self.max_token_len = bytes;
        self
    }

    /// Uses `clock` instead of the system clock.
    ///
    /// ```
    /// use tower_jwt_auth::Validation;
    /// let pinned = Validation::new().clock(|| 1_700_000_000);
    /// # let _ = pinned;
    /// ```
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Adds `check`, run after the signature and the registered claims pass (see
    /// [`TokenCheck`]); checks run in the order added, the first refusal wins.
    ///
    /// A revocation list is a check: `Validation::new().check(store.revocations().clone())`
    /// (feature `sessions`). An empty list costs three relaxed flag loads per token, about
    /// 3 ns (no lock, no allocation, no identifiers read); a list
    /// that a shared store reports out of date refuses with 503
    /// ([`AuthErrorKind::RevocationsUnavailable`](crate::AuthErrorKind::RevocationsUnavailable)).
    pub fn check(mut self, check: impl TokenCheck) -> Self {
        self.checks = self.with_check(Arc::new(check));
        self
    }

    /// The checks plus one more, for [`check`](Self::check) and the layer's pinned checks.
    pub(crate) fn with_check(&self, check: Arc<dyn TokenCheck>) -> Arc<[Arc<dyn TokenCheck>]> {
        let mut all: Vec<Arc<dyn TokenCheck>> = self.checks.to_vec();
        all.push(check);
        all.into()
    }

    /// Adds checks already shared (the layer's pinned checks), skipping those already here.
    pub(crate) fn with_checks(mut self, checks: &[Arc<dyn TokenCheck>]) -> Self {
        for check in checks {
            if !self.checks.iter().any(|c| Arc::ptr_eq(c, check)) {
                self.checks = self.with_check(Arc::clone(check));
            }
        }
        self
    }

    /// **Weakens security**: accepts tokens without `exp`, which then never expire. A present
    /// `exp` is still checked.
    pub fn dangerous_allow_missing_exp(mut self) -> Self {
        self.require_exp = false;
        self
    }

    /// **Weakens security**: when no audience is configured, accepts tokens that carry an `aud`
    /// (RFC 7519 §4.1.3 says to refuse them: they were meant for another service).
    pub fn dangerous_accept_any_audience(mut self) -> Self {
        self.accept_any_audience = true;
        self
    }

    /// The configured cap on token length.
    #[must_use]
    pub fn get_max_token_len(&self) -> usize {
        self.max_token_len
    }

    /// The configured issuers.
    pub fn issuers(&self) -> impl Iterator<Item = &str> {
        self.issuers.iter().map(|s| &**s)
    }

    /// The configured audiences.
    pub fn audiences(&self) -> impl Iterator<Item = &str> {
        self.audiences.iter().map(|s| &**s)
    }

    /// The current time according to the configured clock.
    #[must_use]
    pub fn now(&self) -> u64 {
        match &self.clock {
            Some(clock) => clock.now(),
            None => system_now(),
        }
    }
}

fn push(list: &[Box<str>], value: String, what: &'static str) -> Result<Arc<[Box<str>]>, ConfigError> {
    if value.is_empty() {
        return Err(ConfigError::EmptyValue(what));
    }
    let mut all: Vec<Box<str>> = list.to_vec();
    all.push(value.into_boxed_str());
    Ok(all.into())
}
