//! Keys and key resolution.
//!
//! A [`VerifyingKey`] is bound to exactly one [`Algorithm`](crate::Algorithm); a token whose `alg` differs is
//! refused, whatever it claims. A [`KeyResolver`] picks the key for a token from its `kid` and
//! `alg`: synchronously when it can (a static key, a [`KeyRing`], a cache hit), asynchronously
//! when it must wait (a remote key set).
//!
//! | resolver | when |
//! | --- | --- |
//! | [`VerifyingKey`] | one key; a token's `kid` must be absent or equal to the key's `kid`, if it has one |
//! | [`KeyRing`] | rotation: keys chosen by `kid`; tokens without `kid` are refused unless a default is named |
//! | [`resolver_fn`] | a closure answering at once |
//! | your own type | anything else, including asynchronous look-ups ([`Resolution::Pending`]) |

#[cfg(feature = "aws-lc")]
pub(crate) mod der;
mod hmac;
pub(crate) mod jwk;
#[cfg(feature = "aws-lc")]
pub(crate) mod public;
mod resolver;
mod resolver_fn;
mod ring;
mod select;
mod signing;
#[cfg(feature = "jwks")]
pub(crate) mod snapshot;
mod verifying;

pub(crate) use self::hmac::HmacKey;
pub use self::jwk::{Jwk, JwkSet, KeySet, SkippedKey};
pub use self::resolver::{KeyError, KeyErrorKind, KeyQuery, KeyRef, KeyResolver, NeverPending, Resolution};
pub use self::resolver_fn::{resolver_fn, FnResolver};
pub use self::ring::KeyRing;
pub use self::signing::SigningKey;
pub(crate) use self::verifying::check_kid;
pub(crate) use self::verifying::Material;
pub use self::verifying::VerifyingKey;
