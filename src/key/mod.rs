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
//! | [`KeyRing`] | rotation of keys you configure: every key has a distinct `kid`; tokens without `kid` are refused unless a default is named |
//! | [`KeySet`] | a JWK Set you hold (from a file, or published by an identity provider): keys without `kid` allowed, unusable keys skipped; a token without `kid` gets the only key of its algorithm (several → refused) |
//! | [`resolver_fn`] | a closure answering at once |
//! | [`Either`](crate::Either) | one of two, chosen at run time |
//! | `JwksResolver` (feature `jwks`) | a remote JWK Set, cached, with [`KeySet`]'s rule |
//! | your own type | anything else, including asynchronous look-ups ([`Resolution::Pending`]) |
//!
//! [`KeyRing`] and [`KeySet`] differ on purpose for tokens without a `kid`: a ring you configure
//! for rotation holds several keys of one algorithm, where guessing would verify against the
//! wrong one, so it wants the default named; identity providers that publish a single key often
//! omit `kid`, so a key set takes the only key of the token's algorithm.

mod binding;
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

#[cfg(feature = "jwks")]
pub(crate) use self::binding::Binding;
pub(crate) use self::hmac::HmacKey;
pub use self::jwk::{Jwk, JwkSet, KeySet, SkippedKey};
pub use self::resolver::{KeyError, KeyErrorKind, KeyQuery, KeyRef, KeyResolver, NeverPending, Resolution};
pub use self::resolver_fn::{resolver_fn, FnResolver};
pub use self::ring::KeyRing;
pub use self::signing::SigningKey;
pub(crate) use self::verifying::check_kid;
pub(crate) use self::verifying::Material;
pub use self::verifying::VerifyingKey;
