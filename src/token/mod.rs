//! Compact JWS parsing: size and alphabet checks, segment splitting, canonical base64url, the
//! JOSE header, and the registered claims: the claims reader ([`reader`]), and serde_json
//! ([`tap`], [`claims`]) for what it declines.
//!
//! Everything here works on borrowed input and stack buffers. A token is refused before any
//! decoding when its length is wrong; its alphabet and its three segments are checked by
//! decoding each segment, and by one scan ([`well_formed`]) once something failed, to name the
//! refusal (a malformed token is refused as malformed, whatever else is wrong with it), or
//! before a key resolver that is not local is asked.

pub(crate) mod claims;
mod compact;
pub(crate) mod header;
mod json;
pub(crate) mod reader;
pub(crate) mod tap;

pub(crate) use self::compact::{decode, decode_into, encoded_len, shape, split, well_formed, Compact, B64};
pub(crate) use self::json::{MaybeText, Text};
