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
}

impl Algorithm {
    /// Every algorithm this build supports.
    pub const ALL: &'static [Self] = &[Self::HS256, Self::HS384, Self::HS512];

    /// The registered `alg` name, as it appears in a JOSE header.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::HS256 => "HS256",
            Self::HS384 => "HS384",
            Self::HS512 => "HS512",
        }
    }

    /// Whether this is a symmetric (HMAC) algorithm.
    #[must_use]
    pub const fn is_hmac(self) -> bool {
        matches!(self, Self::HS256 | Self::HS384 | Self::HS512)
    }

    /// Looks up an `alg` header value; exact, case-sensitive match (RFC 7515 §4.1.1).
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        match name {
            "HS256" => Some(Self::HS256),
            "HS384" => Some(Self::HS384),
            "HS512" => Some(Self::HS512),
            _ => None,
        }
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
        Self::from_name(s).ok_or(UnknownAlgorithm)
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
