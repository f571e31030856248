//! Refresh-token sessions (feature `sessions`): opaque refresh tokens with rotation, reuse
//! detection and a grace window for honest races (OAuth 2.0 Security BCP, RFC 9700 §4.14.2).
//!
//! A refresh token is `rt1_` followed by base64url of a session id (128 random bits), the
//! session's generation and an HMAC-SHA256 tag over both under the server's secret. So:
//!
//! * it is never a JWT and can never pass as an access token;
//! * garbage and forgeries are refused by the tag **before** any store look-up;
//! * the store keeps one record per session (id, subject, the claims for the next access token,
//!   a monotonic generation counter, absolute and idle expiry), never a usable token: the current
//!   token is re-derived from the record and the secret.
//!
//! Every refresh rotates: the session moves to the next generation and the client gets its
//! token. Presenting an older generation is theft or a bug: that session (only that one) is
//! revoked. Inside the grace window (default 10 s, at most 5 minutes, 0 turns it off), the
//! **immediate predecessor** of the current generation is answered with the **current** token,
//! never a new branch, so two tabs refreshing at once, or a retry after a lost response, converge
//! on one generation.
//!
//! Revocations go through the store too: a reused token revokes its session in the same atomic
//! step, and logout and "log out everywhere" write both the session records and the revocation
//! list the layer checks ([`SessionStore::revocations`]).
//!
//! This module holds the session logic and an in-memory store; shared stores (Redis, feature
//! `redis`) plug in through [`SessionStore`], and [`Either`](crate::Either) of two stores is a
//! store chosen at run time.

mod either;
mod layer;
mod manager;
mod memory;
mod record;
#[cfg(feature = "redis")]
mod redis;
mod store;
mod token;

pub use self::manager::{Issued, RefreshError, SessionOptions, Sessions};
pub use self::memory::MemoryStore;
pub use self::record::{Rotation, SessionRecord};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use self::redis::{RedisOptions, RedisStore};
pub(crate) use self::store::{finite, now};
pub use self::store::{RotateRequest, SessionStore, StoreError};
pub use self::token::RefreshToken;
