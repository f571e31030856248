//! Compact JWS parsing: size and alphabet checks, segment splitting, canonical base64url, the
//! JOSE header, and the registered claims: the claims reader ([`reader`]), and serde_json
//! ([`tap`], [`claims`]) for what it declines.
//!
//! Everything here works on borrowed input and stack buffers; a token is refused before any
//! decoding when its length, alphabet or segment count is wrong.

pub(crate) mod claims;
mod compact;
pub(crate) mod header;
mod json;
pub(crate) mod reader;
pub(crate) mod tap;

pub(crate) use self::compact::{decode, decode_into, encoded_len, split, Compact, B64};
pub(crate) use self::json::{MaybeText, Text};
