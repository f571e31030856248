//! The signature algorithms a key can be bound to.

use std::fmt;
use std::str::FromStr;

/// A JWS signature algorithm (RFC 7518 §3.1) that this crate can verify.
///
/// There is deliberately no `none` variant: an unsecured JWS never verifies, whatever its spelling.
/// Every [`VerifyingKey`](crate::VerifyingKey) is bound to exactly one algorithm, and the `alg` of a
/// token is only ever compared against it, never used to choose how to verify.
///
/// ```
/// use tower_jwt_auth::Algorithm;
///
/// assert_eq!("HS256".parse::<Algorithm>(), Ok(Algorithm::HS256));
/// assert!("none".parse::<Algorithm>().is_err());
/// assert!("hs256".parse::<Algorithm>().is_err()); // `alg` values are case-sensitive
/// assert_eq!(Algorithm::HS512.to_string(), "HS512");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC using SHA-256.
    HS256,
    /// HMAC using SHA-384.
    HS384,
    /// HMAC using SHA-512.
    HS512,
    /// RSASSA-PKCS1-v1_5 using SHA-256 (feature `aws-lc`).
    RS256,
    /// RSASSA-PKCS1-v1_5 using SHA-384 (feature `aws-lc`).
    RS384,
    /// RSASSA-PKCS1-v1_5 using SHA-512 (feature `aws-lc`).
    RS512,
    /// RSASSA-PSS using SHA-256 and MGF1 with SHA-256 (feature `aws-lc`).
    PS256,
    /// RSASSA-PSS using SHA-384 and MGF1 with SHA-384 (feature `aws-lc`).
    PS384,
    /// RSASSA-PSS using SHA-512 and MGF1 with SHA-512 (feature `aws-lc`).
    PS512,
    /// ECDSA using P-256 and SHA-256 (feature `aws-lc`).
    ES256,
    /// ECDSA using P-384 and SHA-384 (feature `aws-lc`).
    ES384,
    /// ECDSA using P-521 and SHA-512 (feature `aws-lc`).
    ES512,
    /// EdDSA with Ed25519 (RFC 8037; feature `aws-lc`).
    EdDSA,
}

impl Algorithm {
    /// Every algorithm this crate knows. The public-key ones verify only with the `aws-lc`
    /// feature (without it no key of theirs can be built).
    pub const ALL: &'static [Self] = &[
        Self::HS256,
        Self::HS384,
        Self::HS512,
        Self::RS256,
        Self::RS384,
        Self::RS512,
        Self::PS256,
        Self::PS384,
        Self::PS512,
        Self::ES256,
        Self::ES384,
        Self::ES512,
        Self::EdDSA,
    ];

    /// The registered `alg` name, as it appears in a JOSE header.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::HS256 => "HS256",
            Self::HS384 => "HS384",
            Self::HS512 => "HS512",
            Self::RS256 => "RS256",
            Self::RS384 => "RS384",
            Self::RS512 => "RS512",
            Self::PS256 => "PS256",
            Self::PS384 => "PS384",
            Self::PS512 => "PS512",
            Self::ES256 => "ES256",
            Self::ES384 => "ES384",
            Self::ES512 => "ES512",
            Self::EdDSA => "EdDSA",
        }
    }

    /// Whether this is a symmetric (HMAC) algorithm.
    #[must_use]
    pub const fn is_hmac(self) -> bool {
        matches!(self, Self::HS256 | Self::HS384 | Self::HS512)
    }

    /// Whether this build can verify the algorithm (the public-key ones need `aws-lc`).
    #[must_use]
    pub const fn is_supported(self) -> bool {
        self.is_hmac() || cfg!(feature = "aws-lc")
    }

    /// Looks up an `alg` header value this build supports; exact, case-sensitive match
    /// (RFC 7515 §4.1.1).
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|alg| alg.as_str() == name && alg.is_supported())
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error returned when parsing an unknown or unsupported algorithm name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnknownAlgorithm;

impl fmt::Display for UnknownAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unknown or unsupported JWS algorithm")
    }
}

impl std::error::Error for UnknownAlgorithm {}

impl FromStr for Algorithm {
    type Err = UnknownAlgorithm;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|alg| alg.as_str() == s)
            .ok_or(UnknownAlgorithm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_in_any_spelling_is_not_an_algorithm() {
        for name in ["none", "None", "NONE", "nOnE", ""] {
            assert_eq!(name.parse::<Algorithm>(), Err(UnknownAlgorithm), "{name}");
        }
    }

    #[test]
    fn names_round_trip() {
        for alg in Algorithm::ALL {
            assert_eq!(alg.as_str().parse::<Algorithm>(), Ok(*alg));
        }
    }
}
