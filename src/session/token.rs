//! The refresh-token format: `rt1_` + base64url(session id (16 bytes) ‖ generation (8 bytes,
//! big-endian) ‖ HMAC-SHA256 tag (32 bytes) over both).

use std::fmt;

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::token::B64;
use crate::ConfigError;

const PREFIX: &str = "rt1_";
const SID_LEN: usize = 16;
const BODY_LEN: usize = SID_LEN + 8;
const TAG_LEN: usize = 32;
const RAW_LEN: usize = BODY_LEN + TAG_LEN;

/// An opaque refresh token. Its `Debug` output is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken(String);

impl RefreshToken {
    /// The token, to send to the client.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshToken(<redacted>)")
    }
}

/// The server's key for refresh tokens, keyed once.
#[derive(Clone)]
pub(crate) struct TokenKey(Hmac<Sha256>);

impl TokenKey {
    pub(crate) fn new(secret: &[u8]) -> Result<Self, ConfigError> {
        if secret.len() < 32 {
            return Err(ConfigError::KeyTooShort {
                algorithm: crate::Algorithm::HS256,
                min_bytes: 32,
                actual: secret.len(),
            });
        }
        Hmac::new_from_slice(secret)
            .map(Self)
            .map_err(|_| ConfigError::InvalidKey("refresh-token secret"))
    }

    fn tag(&self, body: &[u8]) -> [u8; TAG_LEN] {
        self.0.clone().chain_update(body).finalize().into_bytes().into()
    }

    /// The token of `generation` of session `sid` (32 hex characters).
    pub(crate) fn token(&self, sid: &str, generation: u64) -> RefreshToken {
        let mut raw = [0u8; RAW_LEN];
        let sid_bytes = hex_decode(sid).unwrap_or([0; SID_LEN]);
        let (body, tag) = raw.split_at_mut(BODY_LEN);
        let (sid_part, gen_part) = body.split_at_mut(SID_LEN);
        sid_part.copy_from_slice(&sid_bytes);
        gen_part.copy_from_slice(&generation.to_be_bytes());
        tag.copy_from_slice(&self.tag(body));
        let mut out = String::with_capacity(PREFIX.len() + 76);
        out.push_str(PREFIX);
        B64.encode_string(raw, &mut out);
        RefreshToken(out)
    }

    /// Checks the tag (in constant time) and returns the session id and generation; `None` for
    /// anything this key did not issue.
    pub(crate) fn open(&self, token: &str) -> Option<(String, u64)> {
        let encoded = token.strip_prefix(PREFIX)?;
        if encoded.len() != crate::token::encoded_len(RAW_LEN) {
            return None;
        }
        let mut raw = [0u8; RAW_LEN + 2];
        let n = B64.decode_slice(encoded, &mut raw).ok()?;
        let raw = raw.get(..n)?;
        let (body, tag) = raw.split_at_checked(BODY_LEN)?;
        self.0.clone().chain_update(body).verify_slice(tag).ok()?;
        let (sid, generation) = body.split_at_checked(SID_LEN)?;
        let generation = u64::from_be_bytes(generation.try_into().ok()?);
        Some((hex_encode(sid), generation))
    }
}

pub(crate) fn random_sid() -> String {
    let mut sid = [0u8; SID_LEN];
    // The OS generator does not fail on supported platforms; a failure would leave zeros, so
    // refuse to go on rather than issue guessable sessions.
    #[allow(clippy::expect_used)]
    getrandom::getrandom(&mut sid).expect("the operating system's random generator failed");
    hex_encode(&sid)
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hex_decode(hex: &str) -> Option<[u8; SID_LEN]> {
    let mut out = [0u8; SID_LEN];
    if hex.len() != SID_LEN * 2 {
        return None;
    }
    for (slot, pair) in out.iter_mut().zip(hex.as_bytes().chunks(2)) {
        let text = std::str::from_utf8(pair).ok()?;
        *slot = u8::from_str_radix(text, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_open_to_their_session_and_generation() {
        let key = TokenKey::new(&[7u8; 32]).unwrap();
        let sid = random_sid();
        let token = key.token(&sid, 41);
        assert!(token.as_str().starts_with("rt1_"));
        assert_eq!(key.open(token.as_str()), Some((sid, 41)));
        assert!(!format!("{token:?}").contains(&token.as_str()[4..]));
        // Another key, a changed character, garbage: refused without any look-up.
        let other = TokenKey::new(&[8u8; 32]).unwrap();
        assert_eq!(other.open(token.as_str()), None);
        let mut bytes = token.as_str().as_bytes().to_vec();
        let last = bytes.len() - 5;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(key.open(std::str::from_utf8(&bytes).unwrap()), None);
        for garbage in ["", "rt1_", "rt1_abc", "eyJhbGciOiJIUzI1NiJ9.e30.x", "rt2_AAAA"] {
            assert_eq!(key.open(garbage), None, "{garbage}");
        }
        assert!(TokenKey::new(&[1u8; 31]).is_err());
    }
}
