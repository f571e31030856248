//! [`FetchError`]: why fetching a key set (or a discovery document) failed.

use std::fmt;

/// Why a fetch failed. The resolver keeps using its last good set.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FetchError {
    /// Connecting or sending failed (refused, reset, TLS...).
    Connect(String),
    /// No complete answer within the timeout.
    Timeout,
    /// The answer was not `200 OK` (redirects are not followed).
    Status(u16),
    /// The answer was not JSON.
    NotJson,
    /// The body was larger than allowed.
    TooLarge,
    /// The body was cut short or unreadable.
    Body(String),
    /// The JSON was not a JWK Set (or a discovery document), or held too many keys.
    Invalid(String),
    /// The set held no usable key.
    NoUsableKey,
    /// The discovery document named another issuer, or a `jwks_uri` that is not HTTPS.
    Discovery(String),
    /// The fetch could not run to its end: there was no Tokio runtime to run it on, or its
    /// runtime shut down first.
    Aborted,
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connect(e) => write!(f, "connection failed: {e}"),
            Self::Timeout => f.write_str("timed out"),
            Self::Status(code) => write!(f, "answered HTTP {code}"),
            Self::NotJson => f.write_str("answered something other than JSON"),
            Self::TooLarge => f.write_str("answered a body over the size limit"),
            Self::Body(e) => write!(f, "body unreadable: {e}"),
            Self::Invalid(e) => write!(f, "invalid document: {e}"),
            Self::NoUsableKey => f.write_str("the key set holds no usable key"),
            Self::Discovery(e) => write!(f, "discovery failed: {e}"),
            Self::Aborted => f.write_str("stopped before it finished (no Tokio runtime)"),
        }
    }
}

impl std::error::Error for FetchError {}
