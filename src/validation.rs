//! What a token must satisfy besides its signature: [`Validation`], and the verification entry
//! points built on it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::key::{KeyResolver, Resolution, VerifyingKey};
use crate::time::{system_now, Clock};
use crate::token::claims::{Match, Num, Observed, ObservedSeed};
use crate::token::header::Header;
use crate::token::{self, tap, Compact};
use crate::{Algorithm, AuthError, AuthErrorKind, Claim, ConfigError, KeyQuery};

/// The default cap on a token's length: 8 KiB.
pub const DEFAULT_MAX_TOKEN_LEN: usize = 8 * 1024;
/// The default clock leeway: 30 seconds.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);

/// Decoded headers up to this size stay on the stack.
const HEADER_STACK: usize = 512;
/// Decoded payloads up to this size stay on the stack.
const PAYLOAD_STACK: usize = 1024;

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
    leeway: u64,
    issuers: Arc<[Box<str>]>,
    audiences: Arc<[Box<str>]>,
    require_exp: bool,
    require_sub: bool,
    accept_any_audience: bool,
    max_age: Option<u64>,
    max_token_len: usize,
    clock: Option<Arc<dyn Clock>>,
    #[cfg(feature = "sessions")]
    revocations: Option<crate::Revocations>,
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
            .field("revocation", &self.revocation_len())
            .finish()
    }
}

/// The outcome of [`Validation::verify_with`]: done, or waiting for the resolver.
#[derive(Debug)]
pub enum Verification<T, F> {
    /// Verified, or refused.
    Done(Result<T, AuthError>),
    /// The resolver must wait for `F`; then call [`Validation::verify_with_key`] with its key.
    Pending(F),
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
            #[cfg(feature = "sessions")]
            revocations: None,
        }
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

    /// Refuses tokens on `list` ([`AuthErrorKind::Revoked`]), after the signature and claims
    /// pass. An empty list costs two relaxed atomic loads (its contents and its staleness flag;
    /// a list that a shared store reports out of date refuses with 503,
    /// [`AuthErrorKind::RevocationsUnavailable`]).
    #[cfg(feature = "sessions")]
    #[cfg_attr(docsrs, doc(cfg(feature = "sessions")))]
    pub fn revocations(mut self, list: crate::Revocations) -> Self {
        self.revocations = Some(list);
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

    fn revocation_len(&self) -> Option<usize> {
        #[cfg(feature = "sessions")]
        if let Some(list) = &self.revocations {
            return Some(list.len());
        }
        None
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

    /// Verifies a JWT with one key and decodes its claims into `T`.
    ///
    /// The key is used as a [`KeyResolver`]: a token `kid` must match the key's, when both have
    /// one.
    ///
    /// # Errors
    /// An [`AuthError`] saying exactly why the token was refused.
    pub fn verify<T: DeserializeOwned>(&self, token: &str, key: &VerifyingKey) -> Result<T, AuthError> {
        match self.verify_with(token, key) {
            Verification::Done(result) => result,
            Verification::Pending(never) => match never {},
        }
    }

    /// Verifies a JWT, asking `resolver` for the key. Returns [`Verification::Pending`] when the
    /// resolver must wait; the caller then awaits the future and calls
    /// [`verify_with_key`](Self::verify_with_key).
    pub fn verify_with<T: DeserializeOwned, K: KeyResolver + ?Sized>(
        &self,
        token: &str,
        resolver: &K,
    ) -> Verification<T, K::Future> {
        let mut header_buf = [0u8; HEADER_STACK];
        let (compact, header, alg) = match self.parse_jwt(token, &mut header_buf) {
            Ok(parsed) => parsed,
            Err(kind) => return Verification::Done(Err(AuthError::new(kind))),
        };
        let query = KeyQuery::new(alg, header.kid.as_deref());
        match resolver.resolve(&query) {
            Resolution::Ready(Ok(key)) => {
                Verification::Done(self.finish(&compact, alg, &key).map_err(AuthError::new))
            }
            Resolution::Ready(Err(e)) => Verification::Done(Err(e.into())),
            Resolution::Pending(future) => Verification::Pending(future),
        }
    }

    /// Verifies a JWT with a key that a resolver has already chosen for it (the slow path of
    /// [`verify_with`](Self::verify_with)). The key's algorithm must equal the token's `alg`.
    ///
    /// # Errors
    /// An [`AuthError`] saying exactly why the token was refused.
    pub fn verify_with_key<T: DeserializeOwned>(
        &self,
        token: &str,
        key: &VerifyingKey,
    ) -> Result<T, AuthError> {
        let mut header_buf = [0u8; HEADER_STACK];
        let (compact, _, alg) = self.parse_jwt(token, &mut header_buf)?;
        self.finish(&compact, alg, key).map_err(AuthError::new)
    }

    /// Verifies a compact JWS (the signature layer only: no `typ` rule, no claims) and returns
    /// its payload bytes. For payloads that are not JWT claims, such as test vectors.
    ///
    /// # Errors
    /// An [`AuthError`] saying why the JWS was refused.
    pub fn verify_jws(&self, token: &str, key: &VerifyingKey) -> Result<Vec<u8>, AuthError> {
        let mut header_buf = [0u8; HEADER_STACK];
        let (compact, header, alg) = self.parse_jws(token, &mut header_buf)?;
        let key = match key.resolve(&KeyQuery::new(alg, header.kid.as_deref())) {
            Resolution::Ready(key) => key?,
            Resolution::Pending(never) => match never {},
        };
        self.check_signature(&compact, alg, &key)?;
        let mut payload_buf = [0u8; PAYLOAD_STACK];
        Ok(token::decode(compact.payload, &mut payload_buf)?.into_owned())
    }

    fn parse_jws<'t, 'b>(
        &self,
        token: &'t str,
        header_buf: &'b mut [u8],
    ) -> Result<(Compact<'t>, Header<'b>, Algorithm), AuthErrorKind> {
        let compact = token::split(token, self.max_token_len)?;
        if let Some(header) = Header::common(compact.header) {
            let alg = header.check_jws()?;
            return Ok((compact, header, alg));
        }
        let header_bytes = token::decode(compact.header, header_buf)?;
        let header = match header_bytes {
            std::borrow::Cow::Borrowed(bytes) => Header::parse(bytes)?,
            // Oversized headers (rare) are decoded on the heap; keep what we need by value.
            std::borrow::Cow::Owned(bytes) => Header::parse(&bytes).map(Header::into_owned)?,
        };
        let alg = header.check_jws()?;
        Ok((compact, header, alg))
    }

    fn parse_jwt<'t, 'b>(
        &self,
        token: &'t str,
        header_buf: &'b mut [u8],
    ) -> Result<(Compact<'t>, Header<'b>, Algorithm), AuthErrorKind> {
        let parsed = self.parse_jws(token, header_buf)?;
        parsed.1.check_jwt_type()?;
        Ok(parsed)
    }

    fn check_signature(
        &self,
        compact: &Compact<'_>,
        alg: Algorithm,
        key: &VerifyingKey,
    ) -> Result<(), AuthErrorKind> {
        // The allow-list is the key's one algorithm; the token's `alg` never widens it.
        if key.algorithm() != alg {
            return Err(AuthErrorKind::AlgorithmMismatch);
        }
        if !key.verify_signature(compact.signing_input, compact.signature) {
            return Err(AuthErrorKind::InvalidSignature);
        }
        Ok(())
    }

    fn finish<T: DeserializeOwned>(
        &self,
        compact: &Compact<'_>,
        alg: Algorithm,
        key: &VerifyingKey,
    ) -> Result<T, AuthErrorKind> {
        self.check_signature(compact, alg, key)?;
        let mut payload_buf = [0u8; PAYLOAD_STACK];
        let payload = token::decode(compact.payload, &mut payload_buf)?;
        // Checked once here, so that members skipped by both passes are UTF-8 too (RFC 7519
        // §7.2), and so that serde_json does not check the strings it reads again.
        let payload = std::str::from_utf8(&payload).map_err(|_| AuthErrorKind::Malformed)?;
        // A key bound to an issuer narrows the accepted issuers to that one, whatever this
        // validation lists; a validation that lists others accepts nothing from that key.
        let issuers: &[Box<str>] = match key.issuer_list() {
            None => &self.issuers,
            Some(bound)
                if self.issuers.is_empty() || self.issuers.iter().any(|i| Some(&**i) == key.issuer()) =>
            {
                bound
            }
            Some(_) => return Err(AuthErrorKind::InvalidIssuer),
        };
        // One pass: `T` is deserialized while the registered claims are observed on the way.
        let capture_ids = self.revocations_in_force();
        match tap::deserialize::<T>(payload, issuers, &self.audiences, capture_ids) {
            Ok((claims, Some((observed, ids)))) => {
                self.check_claims(&observed, issuers)?;
                self.check_current()?;
                if let Some(ids) = ids {
                    self.check_revoked_ids(&ids, observed.iat)?;
                }
                Ok(claims)
            }
            // `T` read the payload in a way the observation could not follow, or failed: the
            // separate pass decides (and tells a claim error from a mismatch with `T`).
            Ok((claims, None)) => {
                self.check_claims(&self.observe(payload, issuers)?, issuers)?;
                self.check_current()?;
                self.check_revoked(payload)?;
                Ok(claims)
            }
            Err(_) => {
                self.check_claims(&self.observe(payload, issuers)?, issuers)?;
                Err(AuthErrorKind::InvalidClaims)
            }
        }
    }

    /// Whether a non-empty revocation list applies (then identifiers are captured).
    #[allow(clippy::unused_self)]
    fn revocations_in_force(&self) -> bool {
        #[cfg(feature = "sessions")]
        if let Some(list) = &self.revocations {
            return !list.is_empty();
        }
        false
    }

    /// A revocation list known to be out of date fails closed (after the signature and the
    /// claims: a forged or expired token is still told so).
    #[allow(clippy::unused_self)]
    fn check_current(&self) -> Result<(), AuthErrorKind> {
        #[cfg(feature = "sessions")]
        if self
            .revocations
            .as_ref()
            .is_some_and(crate::Revocations::is_stale)
        {
            return Err(AuthErrorKind::RevocationsUnavailable);
        }
        Ok(())
    }

    #[allow(clippy::unused_self)]
    fn check_revoked_ids(&self, _ids: &tap::Ids<'_>, _iat: Num) -> Result<(), AuthErrorKind> {
        #[cfg(feature = "sessions")]
        if let Some(list) = &self.revocations {
            let iat = match _iat {
                Num::Value(iat) => Some(iat),
                _ => None,
            };
            if list.is_revoked(_ids.jti.as_deref(), _ids.sid.as_deref(), _ids.sub.as_deref(), iat) {
                return Err(AuthErrorKind::Revoked);
            }
        }
        Ok(())
    }

    #[allow(clippy::unused_self)]
    fn check_revoked(&self, _payload: &str) -> Result<(), AuthErrorKind> {
        #[cfg(feature = "sessions")]
        if let Some(list) = &self.revocations {
            return list.check(_payload);
        }
        Ok(())
    }

    fn observe(&self, payload: &str, issuers: &[Box<str>]) -> Result<Observed, AuthErrorKind> {
        ObservedSeed {
            issuers,
            audiences: &self.audiences,
        }
        .read(payload)
        .map_err(|_| AuthErrorKind::Malformed)
    }

    fn check_claims(&self, o: &Observed, issuers: &[Box<str>]) -> Result<(), AuthErrorKind> {
        use AuthErrorKind as K;
        // Seconds as f64: exact for any realistic time, and sums never overflow or panic.
        let now = self.now() as f64;
        let leeway = self.leeway as f64;
        match o.exp {
            Num::Absent if self.require_exp => return Err(K::MissingClaim(Claim::Exp)),
            Num::WrongType => return Err(K::InvalidClaimType(Claim::Exp)),
            Num::Value(exp) if now >= exp + leeway => return Err(K::Expired),
            _ => {}
        }
        match o.nbf {
            Num::WrongType => return Err(K::InvalidClaimType(Claim::Nbf)),
            Num::Value(nbf) if nbf > now + leeway => return Err(K::NotYetValid),
            _ => {}
        }
        match (o.iat, self.max_age) {
            (Num::WrongType, _) => return Err(K::InvalidClaimType(Claim::Iat)),
            (Num::Value(iat), _) if iat > now + leeway => return Err(K::IssuedInFuture),
            (Num::Value(iat), Some(max_age)) if now - iat > max_age as f64 + leeway => return Err(K::TooOld),
            (Num::Absent, Some(_)) => return Err(K::MissingClaim(Claim::Iat)),
            _ => {}
        }
        match (o.iss, issuers.is_empty()) {
            (Match::WrongType, _) => return Err(K::InvalidClaimType(Claim::Iss)),
            (Match::Absent, false) => return Err(K::MissingClaim(Claim::Iss)),
            (Match::Unmatched, false) => return Err(K::InvalidIssuer),
            _ => {}
        }
        match (o.aud, self.audiences.is_empty()) {
            (Match::WrongType, _) => return Err(K::InvalidClaimType(Claim::Aud)),
            (Match::Absent, false) => return Err(K::MissingClaim(Claim::Aud)),
            (Match::Unmatched, false) => return Err(K::InvalidAudience),
            (Match::Matched | Match::Unmatched, true) if !self.accept_any_audience => {
                return Err(K::UnexpectedAudience)
            }
            _ => {}
        }
        match o.sub {
            Match::WrongType => Err(K::InvalidClaimType(Claim::Sub)),
            Match::Absent if self.require_sub => Err(K::MissingClaim(Claim::Sub)),
            _ => Ok(()),
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
