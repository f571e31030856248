//! Reading tokens **without verifying them**.
//!
//! Nothing returned here can be trusted: anyone can write any header and claims. Use it to log,
//! debug or route (for example to pick an issuer's configuration before verifying), never to
//! authorize.
//!
//! ```
//! use tower_jwt_auth::dangerous;
//!
//! let token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
//! let header = dangerous::decode_header_unverified(token)?;
//! assert_eq!(header["alg"], "HS256");
//! let claims: serde_json::Value = dangerous::decode_claims_unverified(token)?;
//! assert_eq!(claims["name"], "John Doe");
//! # Ok::<(), tower_jwt_auth::AuthError>(())
//! ```

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::token;
use crate::{AuthError, AuthErrorKind};

/// The length cap applied here: generous, since these functions serve debugging.
pub const MAX_UNVERIFIED_LEN: usize = 64 * 1024;

/// Decodes the JOSE header of a compact token, unverified.
///
/// # Errors
/// [`AuthErrorKind::TooLarge`] or [`AuthErrorKind::Malformed`].
pub fn decode_header_unverified(token: &str) -> Result<Map<String, Value>, AuthError> {
    let compact = token::split(token, MAX_UNVERIFIED_LEN)?;
    let bytes = token::decode(compact.header, &mut [])?;
    serde_json::from_slice(&bytes).map_err(|_| AuthError::new(AuthErrorKind::Malformed))
}

/// Decodes the claims of a compact token into `T`, unverified.
///
/// # Errors
/// [`AuthErrorKind::TooLarge`], [`AuthErrorKind::Malformed`] or
/// [`AuthErrorKind::InvalidClaims`].
pub fn decode_claims_unverified<T: DeserializeOwned>(token: &str) -> Result<T, AuthError> {
    let compact = token::split(token, MAX_UNVERIFIED_LEN)?;
    let bytes = token::decode(compact.payload, &mut [])?;
    serde_json::from_slice(&bytes).map_err(|_| AuthError::new(AuthErrorKind::InvalidClaims))
}
