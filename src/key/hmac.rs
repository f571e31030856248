//! HMAC keys (RFC 7518 §3.2): keyed once, cloned per use, compared in constant time.

use hmac::{Hmac, KeyInit, Mac};
use sha2::block_api::compress256;
use sha2::{Digest as _, Sha256, Sha384, Sha512};
use subtle::ConstantTimeEq as _;

use crate::token::{decode_into, encoded_len, B64};
use crate::{Algorithm, ConfigError};
use base64::Engine as _;

/// A pre-keyed HMAC state: `ipad`/`opad` blocks are absorbed at construction, so signing and
/// verifying clone the state instead of re-keying.
#[derive(Clone)]
pub(crate) enum HmacKey {
    /// Signing goes through the `hmac` crate, verification through [`Sha256Pads`]: every token
    /// the crate signs and verifies checks one against the other.
    S256(Hmac<Sha256>, Sha256Pads),
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
            Algorithm::HS256 => Self::S256(
                Hmac::new_from_slice(secret).map_err(invalid)?,
                Sha256Pads::new(secret),
            ),
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
        // HS384 and HS512: `verify_slice` compares in constant time.
        // Updated in place: the state (about 200 bytes) is copied once, not moved at each step.
        fn check<M: Mac + Clone>(keyed: &M, input: &[u8], tag: &[u8]) -> bool {
            let mut mac = keyed.clone();
            mac.update(input);
            mac.verify_slice(tag).is_ok()
        }
        match self {
            Self::S256(_, pads) => pads.verify(input, tag),
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
            Self::S256(m, _) => put(&m.clone().chain_update(out.as_bytes()).finalize().into_bytes()),
            Self::S384(m) => put(&m.clone().chain_update(out.as_bytes()).finalize().into_bytes()),
            Self::S512(m) => put(&m.clone().chain_update(out.as_bytes()).finalize().into_bytes()),
        }
        out.push('.');
        B64.encode_string(tag.get(..n).unwrap_or(&tag), out);
    }

    pub(crate) const fn tag_len(&self) -> usize {
        match self {
            Self::S256(..) => 32,
            Self::S384(_) => 48,
            Self::S512(_) => 64,
        }
    }
}

/// SHA-256's initial state (FIPS 180-4 §5.3.3).
const H256: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// HMAC-SHA-256 (RFC 2104) on SHA-256's compression function, for verification: the states
/// after the `ipad` and `opad` blocks are kept, and a tag compresses the input's whole blocks
/// where they lie, then its padded last block and the outer block from the stack. The `hmac`
/// crate buffers every block and moves its state through each step; this copies 64 bytes of
/// state and the input's last partial block, nothing else.
#[derive(Clone)]
pub(crate) struct Sha256Pads {
    inner: [u32; 8],
    outer: [u32; 8],
}

impl Sha256Pads {
    fn new(secret: &[u8]) -> Self {
        // A key longer than the block is hashed first; a shorter one is padded with zeros.
        let mut key = [0u8; 64];
        if secret.len() > key.len() {
            let digest = Sha256::digest(secret);
            key.iter_mut().zip(digest.as_slice()).for_each(|(k, d)| *k = *d);
        } else {
            key.iter_mut().zip(secret).for_each(|(k, s)| *k = *s);
        }
        let after = |pad: u8| {
            let mut block = key;
            block.iter_mut().for_each(|b| *b ^= pad);
            let mut state = H256;
            compress256(&mut state, &[block]);
            state
        };
        Self {
            inner: after(0x36),
            outer: after(0x5c),
        }
    }

    /// Whether `tag` is the HMAC-SHA-256 of `input`, compared in constant time. Any other
    /// length is refused before anything is computed (the length is public).
    fn verify(&self, input: &[u8], tag: &[u8]) -> bool {
        let Ok(tag) = <&[u8; 32]>::try_from(tag) else {
            return false;
        };
        let outer = self.outer_state(input);
        // Thirty-two bytes are eight words, each compared with one of the eight of the state:
        // their differences are ORed, with no branch on the data until the end.
        let mut diff = 0u32;
        for (expected, word) in tag.chunks_exact(4).zip(outer) {
            let Ok(expected) = <[u8; 4]>::try_from(expected) else {
                return false;
            };
            diff |= u32::from_be_bytes(expected) ^ word;
        }
        diff.ct_eq(&0).into()
    }

    /// The HMAC-SHA-256 tag of `input`.
    #[cfg(test)]
    fn tag(&self, input: &[u8]) -> [u8; 32] {
        let mut tag = [0u8; 32];
        let outer = self.outer_state(input);
        tag.chunks_exact_mut(4)
            .zip(outer)
            .for_each(|(t, w)| t.copy_from_slice(&w.to_be_bytes()));
        tag
    }

    /// The state after the outer hash: the tag, as eight big-endian words.
    fn outer_state(&self, input: &[u8]) -> [u32; 8] {
        let mut state = self.inner;
        let blocks = input.chunks_exact(64);
        let rest = blocks.remainder();
        for block in blocks {
            if let Ok(block) = <&[u8; 64]>::try_from(block) {
                compress256(&mut state, std::slice::from_ref(block));
            }
        }
        // The rest, 0x80, zeros and the message's length in bits (the `ipad` block counts):
        // one block, or two when the length no longer fits after the rest.
        let mut tail = [[0u8; 64]; 2];
        let used = if rest.len() < 56 { 1 } else { 2 };
        let bits = (input.len() as u64).wrapping_add(64).wrapping_mul(8);
        let flat = tail.as_flattened_mut();
        if let Some(start) = flat.get_mut(..rest.len()) {
            start.copy_from_slice(rest);
        }
        if let Some(marker) = flat.get_mut(rest.len()) {
            *marker = 0x80;
        }
        if let Some(length) = flat.get_mut(used * 64 - 8..used * 64) {
            length.copy_from_slice(&bits.to_be_bytes());
        }
        compress256(&mut state, tail.get(..used).unwrap_or(&tail));
        // The outer hash: the inner digest, 0x80, zeros and 96 bytes' length, in one block.
        let mut block = OUTER_TAIL;
        block
            .chunks_exact_mut(4)
            .zip(state)
            .for_each(|(b, w)| b.copy_from_slice(&w.to_be_bytes()));
        let mut outer = self.outer;
        compress256(&mut outer, &[block]);
        outer
    }
}

/// The outer hash's one block after the `opad` block, before the inner digest fills its first
/// 32 bytes: 0x80, zeros, and the length of `opad` block and digest (96 bytes) in bits.
// Evaluated at compile time: an index out of bounds here fails the build, never a request.
#[allow(clippy::indexing_slicing)]
const OUTER_TAIL: [u8; 64] = {
    let mut block = [0u8; 64];
    block[32] = 0x80;
    let bits = (96u64 * 8).to_be_bytes();
    let mut i = 0;
    while i < 8 {
        block[56 + i] = bits[i];
        i += 1;
    }
    block
};

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

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 4231 §4, the HMAC-SHA-256 results of test cases 1 to 7 (case 5 truncated to 128 bits
    /// as the RFC gives it; cases 6 and 7 hash a 131-byte key first): a reference that does not
    /// go through the sha2 release the construction is built on.
    #[test]
    fn sha256_pads_give_the_rfc_4231_results() {
        let key4: Vec<u8> = (1..=25).collect();
        let cases: [(&[u8], &[u8], &str); 7] = [
            (&[0x0b; 20], b"Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
            (b"Jefe", b"what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
            (&[0xaa; 20], &[0xdd; 50], "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
            (&key4, &[0xcd; 50], "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
            (&[0x0c; 20], b"Test With Truncation", "a3b6167473100ee06e0c796c2955552b"),
            (
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First",
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
            (
                &[0xaa; 131],
                b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.",
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
            ),
        ];
        for (i, (key, data, expected)) in cases.into_iter().enumerate() {
            let tag = Sha256Pads::new(key).tag(data);
            let expected = hex(expected);
            assert_eq!(&tag[..expected.len()], &expected[..], "test case {}", i + 1);
        }
    }

    /// The compression-function HMAC against the `hmac` crate: every input length across three
    /// blocks (the padding's one- and two-block cases at 55 and 56 bytes past a block), keys
    /// shorter than, as long as and longer than a block; `verify` takes each tag and refuses it
    /// with any one byte changed.
    #[test]
    fn sha256_pads_agree_with_the_hmac_crate() {
        for key_len in [32usize, 63, 64, 65, 100, 200] {
            let secret: Vec<u8> = (0..key_len).map(|i| (i * 31 + 7) as u8).collect();
            let pads = Sha256Pads::new(&secret);
            let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&secret).unwrap();
            for len in 0..200usize {
                let input: Vec<u8> = (0..len).map(|i| (i * 13 + key_len) as u8).collect();
                let expected = mac.clone().chain_update(&input).finalize().into_bytes();
                assert_eq!(
                    pads.tag(&input).as_slice(),
                    expected.as_slice(),
                    "key {key_len}, input {len}"
                );
                let mut tag = expected.to_vec();
                assert!(pads.verify(&input, &tag));
                for i in 0..tag.len() {
                    tag[i] ^= 0x01 << (i % 8);
                    assert!(!pads.verify(&input, &tag), "key {key_len}, input {len}, byte {i}");
                    tag[i] ^= 0x01 << (i % 8);
                }
            }
        }
    }

    /// A tag of any other length is refused, never compared on a prefix.
    #[test]
    fn sha256_pads_refuse_tags_of_other_lengths() {
        let pads = Sha256Pads::new(&[7u8; 32]);
        let tag = pads.tag(b"a.b");
        for len in [0usize, 1, 4, 16, 31] {
            assert!(!pads.verify(b"a.b", &tag[..len]), "{len} bytes");
        }
        let mut longer = tag.to_vec();
        longer.push(0);
        assert!(!pads.verify(b"a.b", &longer));
        assert!(pads.verify(b"a.b", &tag));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 2048, failure_persistence: None, ..Default::default() })]

        /// The same on arbitrary keys and inputs, and `verify` refuses any other tag.
        #[test]
        fn hs256_verify_agrees_with_the_hmac_crate(
            secret in proptest::collection::vec(proptest::prelude::any::<u8>(), 32..160),
            input in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
            flip in proptest::prelude::any::<(usize, u8)>(),
        ) {
            let key = HmacKey::new(Algorithm::HS256, &secret).unwrap();
            let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&secret).unwrap();
            let mut tag = mac.chain_update(&input).finalize().into_bytes().to_vec();
            proptest::prop_assert!(key.verify(&input, &B64.encode(&tag)));
            if let Some(b) = tag.get_mut(flip.0 % 32) {
                *b ^= flip.1.max(1);
            }
            proptest::prop_assert!(!key.verify(&input, &B64.encode(&tag)));
        }
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
