//! Errors: [`AuthError`] at request time, [`ConfigError`] at build time.

use std::fmt;

use http::StatusCode;

use crate::Algorithm;

/// A registered claim named by an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Claim {
    /// `exp`, expiration time.
    Exp,
    /// `nbf`, not before.
    Nbf,
    /// `iat`, issued at.
    Iat,
    /// `iss`, issuer.
    Iss,
    /// `aud`, audience.
    Aud,
    /// `sub`, subject.
    Sub,
    /// `jti`, the token's id (read for the checks after validation).
    Jti,
    /// `sid`, the session id (OpenID Connect; read for the checks after validation).
    Sid,
    /// `client_id`, the OAuth 2.0 client the token was issued to (RFC 9068 §2.2; required by
    /// [`Validation::rfc9068`](crate::Validation::rfc9068)).
    ClientId,
}

impl Claim {
    /// The claim's name in a JWT payload.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Exp => "exp",
            Self::Nbf => "nbf",
            Self::Iat => "iat",
            Self::Iss => "iss",
            Self::Aud => "aud",
            Self::Sub => "sub",
            Self::Jti => "jti",
            Self::Sid => "sid",
            Self::ClientId => "client_id",
        }
    }

    /// The claim named `name`: the one table of names, shared by both claims readers.
    ///
    /// Every watched name has three bytes: compared as one array, without a call to `memcmp`.
    #[inline]
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        let name: [u8; 3] = name.as_bytes().try_into().ok()?;
        Some(match &name {
            b"exp" => Self::Exp,
            b"nbf" => Self::Nbf,
            b"iat" => Self::Iat,
            b"iss" => Self::Iss,
            b"aud" => Self::Aud,
            b"sub" => Self::Sub,
            b"jti" => Self::Jti,
            b"sid" => Self::Sid,
            // `client_id` is read only by the RFC 9068 profile's own pass, not by these readers.
            _ => return None,
        })
    }
}

impl fmt::Display for Claim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a request was refused: fine-grained enough to tell "expired" from "tampered with" from
/// "wrong audience".
///
/// The kind decides the HTTP status and the RFC 6750 `error` code (see [`AuthError::status`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthErrorKind {
    /// The request carries no token at all (401, no `error` in the challenge).
    MissingToken,
    /// The request is malformed: two `Authorization` headers, a token in two sources, a broken
    /// `Authorization` value (400 `invalid_request`).
    InvalidRequest,
    /// The token is longer than the configured cap.
    TooLarge,
    /// The token is not a well-formed compact JWS/JWT (segments, base64url, JSON).
    Malformed,
    /// The `alg` header names no algorithm this crate verifies (including `none`).
    UnsupportedAlgorithm,
    /// The `alg` header differs from the one algorithm the selected key is bound to.
    AlgorithmMismatch,
    /// The header carries `crit` (or `b64: false`): extensions this crate does not understand.
    CriticalHeader,
    /// The `typ` header is present and is neither `JWT` nor `at+jwt`.
    InvalidTokenType,
    /// No key matches the token (unknown `kid`, or no `kid` where one is required).
    UnknownKey,
    /// The signature does not verify: the token was forged or altered.
    InvalidSignature,
    /// `exp` has passed (beyond the leeway).
    Expired,
    /// `nbf` is still in the future (beyond the leeway).
    NotYetValid,
    /// `iat` is in the future (beyond the leeway).
    IssuedInFuture,
    /// The token is older than the configured maximum age (from `iat`).
    TooOld,
    /// `iss` is not one of the configured issuers.
    InvalidIssuer,
    /// `iss` names no issuer a multi-issuer resolver trusts (`issuers::Issuers`): chosen
    /// before any key is looked up, and never a reason for a network request.
    UntrustedIssuer,
    /// `aud` contains none of the configured audiences.
    InvalidAudience,
    /// The token carries `aud` but this service has no audience configured (RFC 7519 §4.1.3).
    UnexpectedAudience,
    /// A required claim is absent.
    MissingClaim(Claim),
    /// A registered claim has the wrong JSON type (for example a string `exp`).
    InvalidClaimType(Claim),
    /// The claims do not deserialize into the application's claims type.
    InvalidClaims,
    /// The token is genuine but was revoked (by `jti`, session or subject cutoff).
    Revoked,
    /// The token is valid but lacks the role or scope the route requires (403).
    InsufficientScope,
    /// The key source cannot answer right now (503).
    KeyUnavailable,
    /// The revocation list is older than its configured maximum staleness (its shared store
    /// has been unreachable too long), so revocations cannot be enforced: fail closed (503).
    RevocationsUnavailable,
}

impl AuthErrorKind {
    /// Every kind, for building tables.
    pub(crate) const ALL: &'static [Self] = &[
        Self::MissingToken,
        Self::InvalidRequest,
        Self::TooLarge,
        Self::Malformed,
        Self::UnsupportedAlgorithm,
        Self::AlgorithmMismatch,
        Self::CriticalHeader,
        Self::InvalidTokenType,
        Self::UnknownKey,
        Self::InvalidSignature,
        Self::Expired,
        Self::NotYetValid,
        Self::IssuedInFuture,
        Self::TooOld,
        Self::InvalidIssuer,
        Self::UntrustedIssuer,
        Self::InvalidAudience,
        Self::UnexpectedAudience,
        Self::MissingClaim(Claim::Exp),
        Self::MissingClaim(Claim::Nbf),
        Self::MissingClaim(Claim::Iat),
        Self::MissingClaim(Claim::Iss),
        Self::MissingClaim(Claim::Aud),
        Self::MissingClaim(Claim::Sub),
        Self::MissingClaim(Claim::Jti),
        Self::MissingClaim(Claim::Sid),
        Self::MissingClaim(Claim::ClientId),
        Self::InvalidClaimType(Claim::Exp),
        Self::InvalidClaimType(Claim::Nbf),
        Self::InvalidClaimType(Claim::Iat),
        Self::InvalidClaimType(Claim::Iss),
        Self::InvalidClaimType(Claim::Aud),
        Self::InvalidClaimType(Claim::Sub),
        Self::InvalidClaimType(Claim::Jti),
        Self::InvalidClaimType(Claim::Sid),
        Self::InvalidClaimType(Claim::ClientId),
        Self::InvalidClaims,
        Self::Revoked,
        Self::InsufficientScope,
        Self::KeyUnavailable,
        Self::RevocationsUnavailable,
    ];

    /// A short, fixed, lower-case phrase describing the refusal; safe inside an RFC 6750
    /// `error_description` (no quotes or backslashes) and never containing token material.
    #[must_use]
    pub const fn description(self) -> &'static str {
        match self {
            Self::MissingToken => "no token",
            Self::InvalidRequest => "malformed authorization request",
            Self::TooLarge => "token too large",
            Self::Malformed => "malformed token",
            Self::UnsupportedAlgorithm => "unsupported algorithm",
            Self::AlgorithmMismatch => "algorithm not allowed for this key",
            Self::CriticalHeader => "unsupported critical header",
            Self::InvalidTokenType => "invalid token type",
            Self::UnknownKey => "unknown signing key",
            Self::InvalidSignature => "invalid signature",
            Self::Expired => "token expired",
            Self::NotYetValid => "token not yet valid",
            Self::IssuedInFuture => "token issued in the future",
            Self::TooOld => "token too old",
            Self::InvalidIssuer => "invalid issuer",
            Self::UntrustedIssuer => "untrusted issuer",
            Self::InvalidAudience => "invalid audience",
            Self::UnexpectedAudience => "unexpected audience",
            Self::MissingClaim(Claim::Exp) => "missing exp claim",
            Self::MissingClaim(Claim::Nbf) => "missing nbf claim",
            Self::MissingClaim(Claim::Iat) => "missing iat claim",
            Self::MissingClaim(Claim::Iss) => "missing iss claim",
            Self::MissingClaim(Claim::Aud) => "missing aud claim",
            Self::MissingClaim(Claim::Sub) => "missing sub claim",
            Self::MissingClaim(Claim::Jti) => "missing jti claim",
            Self::MissingClaim(Claim::Sid) => "missing sid claim",
            Self::MissingClaim(Claim::ClientId) => "missing client_id claim",
            Self::InvalidClaimType(Claim::Exp) => "invalid exp claim",
            Self::InvalidClaimType(Claim::Nbf) => "invalid nbf claim",
            Self::InvalidClaimType(Claim::Iat) => "invalid iat claim",
            Self::InvalidClaimType(Claim::Iss) => "invalid iss claim",
            Self::InvalidClaimType(Claim::Aud) => "invalid aud claim",
            Self::InvalidClaimType(Claim::Sub) => "invalid sub claim",
            Self::InvalidClaimType(Claim::Jti) => "invalid jti claim",
            Self::InvalidClaimType(Claim::Sid) => "invalid sid claim",
            Self::InvalidClaimType(Claim::ClientId) => "invalid client_id claim",
            Self::InvalidClaims => "invalid claims",
            Self::Revoked => "token revoked",
            Self::InsufficientScope => "insufficient scope",
            Self::KeyUnavailable => "key source unavailable",
            Self::RevocationsUnavailable => "revocation list unavailable",
        }
    }

    /// The HTTP status this refusal maps to: 400, 401, 403 or 503.
    #[must_use]
    pub const fn status(self) -> StatusCode {
        match self {
            Self::InvalidRequest => StatusCode::BAD_REQUEST,
            Self::InsufficientScope => StatusCode::FORBIDDEN,
            Self::KeyUnavailable | Self::RevocationsUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    /// The gRPC status code a gRPC client receives for this refusal (`grpc-status`): 16
    /// `UNAUTHENTICATED` where HTTP answers 401, 7 `PERMISSION_DENIED` for 403, 3
    /// `INVALID_ARGUMENT` for 400, 14 `UNAVAILABLE` for 503.
    ///
    /// ```
    /// use tower_jwt_auth::AuthErrorKind;
    ///
    /// assert_eq!(AuthErrorKind::Expired.grpc_status(), 16);
    /// assert_eq!(AuthErrorKind::InsufficientScope.grpc_status(), 7);
    /// ```
    #[must_use]
    pub const fn grpc_status(self) -> i32 {
        match self {
            Self::InvalidRequest => 3,
            Self::InsufficientScope => 7,
            Self::KeyUnavailable | Self::RevocationsUnavailable => 14,
            _ => 16,
        }
    }

    /// The RFC 6750 §3.1 `error` code, if the challenge carries one.
    #[must_use]
    pub const fn error_code(self) -> Option<&'static str> {
        match self {
            Self::MissingToken | Self::KeyUnavailable | Self::RevocationsUnavailable => None,
            Self::InvalidRequest => Some("invalid_request"),
            Self::InsufficientScope => Some("insufficient_scope"),
            _ => Some("invalid_token"),
        }
    }
}

/// A request-time refusal: the token, or the request carrying it, was not accepted.
///
/// Cheap to build and to copy (no allocation); its `Display` is a terse, fixed phrase that never
/// echoes the token. The middleware attaches it to the response extensions of every rejection, so
/// an outer trace or metrics layer can tell why a request was refused.
///
/// ```
/// use tower_jwt_auth::{AuthError, AuthErrorKind};
/// use http::StatusCode;
///
/// let err = AuthError::new(AuthErrorKind::Expired);
/// assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
/// assert_eq!(err.to_string(), "token expired");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AuthError {
    kind: AuthErrorKind,
}

impl AuthError {
    /// An error of the given kind.
    #[must_use]
    pub const fn new(kind: AuthErrorKind) -> Self {
        Self { kind }
    }

    /// What went wrong.
    #[must_use]
    pub const fn kind(&self) -> AuthErrorKind {
        self.kind
    }

    /// The HTTP status for this refusal (see [`AuthErrorKind::status`]).
    #[must_use]
    pub const fn status(&self) -> StatusCode {
        self.kind.status()
    }

    /// The fixed phrase sent as `error_description` (see [`AuthErrorKind::description`]).
    #[must_use]
    pub const fn description(&self) -> &'static str {
        self.kind.description()
    }
}

impl From<AuthErrorKind> for AuthError {
    fn from(kind: AuthErrorKind) -> Self {
        Self::new(kind)
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.description())
    }
}

impl std::error::Error for AuthError {}

/// A configuration mistake found while building a key, a validation or a layer.
///
/// Returned by constructors instead of panicking; never produced by a request.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// An HMAC secret is shorter than the hash output (RFC 7518 §3.2).
    KeyTooShort {
        /// The algorithm the key was meant for.
        algorithm: Algorithm,
        /// The minimum length in bytes.
        min_bytes: usize,
        /// The length that was given.
        actual: usize,
    },
    /// The algorithm does not fit the kind of key (an HMAC secret for RS256, an RSA key for ES256,
    /// a P-256 key for ES384...).
    WrongKeyType {
        /// The algorithm that was asked for.
        algorithm: Algorithm,
    },
    /// A key is unusable: malformed, too small, of an unsupported type, or not meant for
    /// signatures. The string names the reason.
    InvalidKey(&'static str),
    /// The public-key algorithms need the `aws-lc` feature.
    FeatureDisabled(&'static str),
    /// An issuer or audience value is empty.
    EmptyValue(&'static str),
    /// A `kid` is empty or longer than 256 bytes.
    InvalidKeyId,
    /// Two keys of a key ring share a `kid`.
    DuplicateKeyId,
    /// A key ring key has no `kid`.
    MissingKeyId,
    /// The default key of a key ring names a `kid` the ring does not hold.
    UnknownDefaultKey,
    /// A realm, header name or cookie name contains characters that cannot be sent.
    InvalidHeaderValue(&'static str),
    /// A numeric setting is out of its documented range.
    OutOfRange(&'static str),
    /// A key set or issuer URL cannot be parsed, or is not HTTPS (plain HTTP is allowed on
    /// loopback only). The string names the reason. Returned by the `jwks` feature's
    /// `JwksResolver` constructors.
    InvalidUrl(&'static str),
    /// The TLS client for key set fetches could not be set up. The string names the reason.
    /// Returned by the `jwks` feature's `JwksResolver` constructors.
    Tls(&'static str),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::KeyTooShort {
                algorithm,
                min_bytes,
                actual,
            } => write!(
                f,
                "{algorithm} secret must be at least {min_bytes} bytes (RFC 7518 section 3.2), got {actual}"
            ),
            Self::WrongKeyType { algorithm } => write!(f, "{algorithm} does not fit this kind of key"),
            Self::InvalidKey(why) => write!(f, "unusable key: {why}"),
            Self::FeatureDisabled(feature) => write!(f, "this needs the `{feature}` feature"),
            Self::EmptyValue(what) => write!(f, "{what} must not be empty"),
            Self::InvalidKeyId => f.write_str("a kid must be 1 to 256 bytes"),
            Self::DuplicateKeyId => f.write_str("two keys share a kid"),
            Self::MissingKeyId => f.write_str("every key of a key ring needs a kid"),
            Self::UnknownDefaultKey => f.write_str("the default kid is not in the key ring"),
            Self::InvalidHeaderValue(what) => {
                write!(f, "{what} contains characters not allowed in an HTTP header")
            }
            Self::OutOfRange(what) => write!(f, "{what} is out of range"),
            Self::InvalidUrl(why) => write!(f, "invalid URL: {why}"),
            Self::Tls(why) => write!(f, "TLS setup failed: {why}"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// An error from signing a token.
#[derive(Debug)]
#[non_exhaustive]
pub enum SignError {
    /// The claims could not be serialized to JSON.
    Serialize(serde_json::Error),
    /// The claims did not serialize to a JSON object.
    NotAnObject,
    /// The cryptographic backend failed to sign.
    Backend,
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Serialize(_) => f.write_str("claims could not be serialized to JSON"),
            Self::NotAnObject => f.write_str("claims must serialize to a JSON object"),
            Self::Backend => f.write_str("the cryptographic backend failed to sign"),
        }
    }
}

impl std::error::Error for SignError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Serialize(e) => Some(e),
            Self::NotAnObject | Self::Backend => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_description_is_safe_inside_a_quoted_string() {
        let kinds = AuthErrorKind::ALL.iter().copied();
        for kind in kinds {
            let d = kind.description();
            assert!(!d.is_empty());
            assert!(
                d.bytes()
                    .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\'),
                "{d}"
            );
        }
    }

    #[test]
    fn statuses_follow_rfc_6750() {
        assert_eq!(AuthErrorKind::MissingToken.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(AuthErrorKind::MissingToken.error_code(), None);
        assert_eq!(AuthErrorKind::InvalidRequest.status(), StatusCode::BAD_REQUEST);
        assert_eq!(AuthErrorKind::Expired.error_code(), Some("invalid_token"));
        assert_eq!(AuthErrorKind::InsufficientScope.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            AuthErrorKind::KeyUnavailable.status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(AuthErrorKind::KeyUnavailable.error_code(), None);
    }

    #[test]
    fn grpc_statuses_follow_the_http_statuses() {
        for kind in AuthErrorKind::ALL {
            let expected = match kind.status().as_u16() {
                400 => 3,
                401 => 16,
                403 => 7,
                503 => 14,
                other => panic!("{kind:?}: HTTP {other} has no gRPC status"),
            };
            assert_eq!(kind.grpc_status(), expected, "{kind:?}");
        }
    }

    #[test]
    fn url_and_tls_failures_have_their_own_messages() {
        assert_eq!(
            ConfigError::InvalidUrl("must be HTTPS (plain HTTP only on loopback)").to_string(),
            "invalid URL: must be HTTPS (plain HTTP only on loopback)"
        );
        assert_eq!(
            ConfigError::Tls("the TLS provider supports no safe protocol version").to_string(),
            "TLS setup failed: the TLS provider supports no safe protocol version"
        );
    }
}
