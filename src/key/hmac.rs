//! HMAC keys (RFC 7518 §3.2): keyed once, cloned per use, compared in constant time.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Sha256, Sha384, Sha512};

use crate::token::{decode_into, encoded_len, B64};
use crate::{Algorithm, ConfigError};
use base64::Engine as _;

/// A pre-keyed HMAC state: `ipad`/`opad` blocks are absorbed at construction, so signing and
/// verifying clone the state instead of re-keying.
#[derive(Clone)]
pub(crate) enum HmacKey {
    S256(Hmac<Sha256>),
    S384(Hmac<Sha384>),
    S512(Hmac<Sha512>),
}

/// The largest HMAC output, in bytes.
pub(crate) const MAX_TAG: usize = 64;

impl HmacKey {
    pub(crate) fn new(alg: Algorithm, secret: &[u8]) -> Result<Self, ConfigError> {
        let Some(min) = min_secret_len(alg) else {
            return Err(ConfigError::WrongKeyType { algorithm: alg });
        };
        if secret.len() < min {
            return Err(ConfigError::KeyTooShort {
                algorithm: alg,
                min_bytes: min,
                actual: secret.len(),
            });
        }
        // HMAC accepts keys of any length, so these cannot fail; map defensively anyway.
        let invalid = |_| ConfigError::KeyTooShort {
            algorithm: alg,
            min_bytes: min,
            actual: secret.len(),
        };
        Ok(match alg {
            Algorithm::HS256 => Self::S256(Hmac::new_from_slice(secret).map_err(invalid)?),
            Algorithm::HS384 => Self::S384(Hmac::new_from_slice(secret).map_err(invalid)?),
            Algorithm::HS512 => Self::S512(Hmac::new_from_slice(secret).map_err(invalid)?),
            _ => return Err(ConfigError::WrongKeyType { algorithm: alg }),
        })
    }

    /// Verifies a base64url signature over `input` in constant time. The signature's length is
    /// checked before decoding (it is public), then decoded into a stack buffer.
    pub(crate) fn verify(&self, input: &[u8], signature_b64: &str) -> bool {
        let tag_len = self.tag_len();
        if signature_b64.len() != encoded_len(tag_len) {
            return false;
        }
        let mut buf = [0u8; MAX_TAG];
        let Some(tag) = buf.get_mut(..tag_len) else {
            return false;
        };
        if decode_into(signature_b64.as_bytes(), tag).is_none() {
            return false;
        }
        let tag = &*tag;
        // `verify_slice` compares in constant time (subtle).
        // Updated in place: the state (about 200 bytes) is copied once, not moved at each step.
        fn check<M: Mac + Clone>(keyed: &M, input: &[u8], tag: &[u8]) -> bool {
            let mut mac = keyed.clone();
            mac.update(input);
            mac.verify_slice(tag).is_ok()
        }
        match self {
            Self::S256(m) => check(m, input, tag),
            Self::S384(m) => check(m, input, tag),
            Self::S512(m) => check(m, input, tag),
        }
    }

    /// Signs the bytes already in `out` (the signing input), then appends `.` and the base64url
    /// signature.
    pub(crate) fn sign_in_place_after_dot(&self, out: &mut String) {
        let mut tag = [0u8; MAX_TAG];
        let n = self.tag_len();
        let mut put = |bytes: &[u8]| tag.iter_mut().zip(bytes).for_each(|(d, s)| *d = *s);
        match self {
            Self::S256(m) => put(&m.clone().chain_update(out.as_bytes()).finalize().into_bytes()),
            Self::S384(m) => put(&m.clone().chain_update(out.as_bytes()).finalize().into_bytes()),
            Self::S512(m) => put(&m.clone().chain_update(out.as_bytes()).finalize().into_bytes()),
        }
        out.push('.');
        B64.encode_string(tag.get(..n).unwrap_or(&tag), out);
    }

    pub(crate) const fn tag_len(&self) -> usize {
        match self {
            Self::S256(_) => 32,
            Self::S384(_) => 48,
            Self::S512(_) => 64,
        }
    }
}

/// RFC 7518 §3.2: a key of the same size as the hash output or larger MUST be used. `None` for
/// algorithms that are not HMAC.
pub(crate) const fn min_secret_len(alg: Algorithm) -> Option<usize> {
    match alg {
        Algorithm::HS256 => Some(32),
        Algorithm::HS384 => Some(48),
        Algorithm::HS512 => Some(64),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_secrets_are_a_config_error_not_a_panic() {
        for (alg, min) in [
            (Algorithm::HS256, 32),
            (Algorithm::HS384, 48),
            (Algorithm::HS512, 64),
        ] {
            let err = HmacKey::new(alg, &vec![1u8; min - 1]).err().unwrap();
            assert_eq!(
                err,
                ConfigError::KeyTooShort {
                    algorithm: alg,
                    min_bytes: min,
                    actual: min - 1
                }
            );
            assert!(HmacKey::new(alg, &[]).is_err());
            assert!(HmacKey::new(alg, &vec![1u8; min]).is_ok());
            assert!(HmacKey::new(alg, &[1u8; 200]).is_ok());
        }
        assert_eq!(
            HmacKey::new(Algorithm::RS256, &[1u8; 64]).err(),
            Some(ConfigError::WrongKeyType {
                algorithm: Algorithm::RS256
            })
        );
    }

    #[test]
    fn sign_and_verify_agree_for_every_size() {
        for alg in &[Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            let key = HmacKey::new(*alg, &[7u8; 64]).unwrap();
            let mut sig = String::from("a.b");
            key.sign_in_place_after_dot(&mut sig);
            let sig = sig.split_off(4);
            assert_eq!(sig.len(), encoded_len(key.tag_len()));
            assert!(key.verify(b"a.b", &sig));
            assert!(!key.verify(b"a.c", &sig));
            assert!(!key.verify(b"a.b", &sig[1..]));
        }
    }
}
