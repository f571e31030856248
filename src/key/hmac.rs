//! HMAC keys (RFC 7518 §3.2): keyed once, cloned per use, compared in constant time.

use sha2::block_api::{compress256, compress512};
use sha2::{Digest as _, Sha256, Sha384, Sha512};
use subtle::ConstantTimeEq as _;

use crate::token::{decode_into, encoded_len, B64};
use crate::{Algorithm, ConfigError};
use base64::Engine as _;

/// A pre-keyed HMAC state: `ipad`/`opad` blocks are absorbed at construction, so signing and
/// verifying copy the two states instead of re-keying.
#[derive(Clone)]
pub(crate) enum HmacKey {
    S256(Sha256Pads),
    S384(Sha384Pads),
    S512(Sha512Pads),
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
        Ok(match alg {
            Algorithm::HS256 => Self::S256(Sha256Pads::new(secret)),
            Algorithm::HS384 => Self::S384(Sha384Pads::new(secret)),
            Algorithm::HS512 => Self::S512(Sha512Pads::new(secret)),
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
        match self {
            Self::S256(pads) => pads.verify(input, tag),
            Self::S384(pads) => pads.verify(input, tag),
            Self::S512(pads) => pads.verify(input, tag),
        }
    }

    /// Signs the bytes already in `out` (the signing input), then appends `.` and the base64url
    /// signature.
    pub(crate) fn sign_in_place_after_dot(&self, out: &mut String) {
        let mut tag = [0u8; MAX_TAG];
        let n = self.tag_len();
        let mut put = |bytes: &[u8]| tag.iter_mut().zip(bytes).for_each(|(d, s)| *d = *s);
        match self {
            Self::S256(pads) => put(&pads.tag(out.as_bytes())),
            Self::S384(pads) => put(&pads.tag(out.as_bytes())),
            Self::S512(pads) => put(&pads.tag(out.as_bytes())),
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

/// HMAC (RFC 2104) on a SHA-2 compression function: the states after the `ipad` and `opad`
/// blocks are kept, and a tag compresses the input's whole blocks where they lie, then its
/// padded last block and the outer block from the stack. The `hmac` crate
/// buffers every block and moves its state through each step; this copies the state (32 or 64
/// bytes) and the input's last partial block, nothing else.
///
/// `$word` is the hash's word, `$block` its block in bytes, `$length` the type of the
/// message length at the end of the padding, `$tag` the output in bytes (its first words of
/// the state); `$iv` is the initial state (FIPS 180-4 §5.3), `$hash` hashes a key longer than
/// a block.
macro_rules! compression_hmac {
    (
        $(#[$doc:meta])*
        $name:ident {
            word: $word:ty,
            block: $block:literal,
            length: $length:ty,
            tag: $tag:literal,
            compress: $compress:path,
            iv: $iv:expr,
            hash: $hash:ty $(,)?
        }
    ) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub(crate) struct $name {
            inner: [$word; 8],
            outer: [$word; 8],
        }

        impl $name {
            /// The outer hash's one block after the `opad` block, before the inner digest
            /// fills its first bytes: 0x80, zeros, and the length of `opad` block and digest
            /// in bits.
            // Evaluated at compile time: an index out of bounds here fails the build, never a
            // request.
            #[allow(clippy::indexing_slicing)]
            const OUTER_TAIL: [u8; $block] = {
                let mut block = [0u8; $block];
                block[$tag] = 0x80;
                let bits = ((($block + $tag) as $length) * 8).to_be_bytes();
                let mut i = 0;
                while i < bits.len() {
                    block[$block - bits.len() + i] = bits[i];
                    i += 1;
                }
                block
            };

            fn new(secret: &[u8]) -> Self {
                // A key longer than the block is hashed first; a shorter one is padded with
                // zeros.
                let mut key = [0u8; $block];
                if secret.len() > key.len() {
                    let digest = <$hash>::digest(secret);
                    key.iter_mut().zip(digest.as_slice()).for_each(|(k, d)| *k = *d);
                } else {
                    key.iter_mut().zip(secret).for_each(|(k, s)| *k = *s);
                }
                let after = |pad: u8| {
                    let mut block = key;
                    block.iter_mut().for_each(|b| *b ^= pad);
                    let mut state = $iv;
                    $compress(&mut state, &[block]);
                    state
                };
                Self {
                    inner: after(0x36),
                    outer: after(0x5c),
                }
            }

            /// The word's size in bytes.
            const WORD: usize = std::mem::size_of::<$word>();
            /// The size of the message length at the end of the padding.
            const LENGTH: usize = std::mem::size_of::<$length>();

            /// Whether `tag` is the HMAC of `input`, compared in constant time. Any other
            /// length is refused before anything is computed (the length is public).
            fn verify(&self, input: &[u8], tag: &[u8]) -> bool {
                let Ok(tag) = <&[u8; $tag]>::try_from(tag) else {
                    return false;
                };
                let Some(outer) = self.outer_state(input) else {
                    return false;
                };
                // The tag's bytes are whole words, each compared with one of the state's
                // first: their differences are ORed, with no branch on the data until the end.
                let mut diff: $word = 0;
                for (expected, word) in tag.chunks_exact(Self::WORD).zip(outer) {
                    let Ok(expected) = <[u8; Self::WORD]>::try_from(expected) else {
                        return false;
                    };
                    diff |= <$word>::from_be_bytes(expected) ^ word;
                }
                diff.ct_eq(&0).into()
            }

            /// The tag of `input` (all zeros if a block could not be laid out, which
            /// `outer_state` never answers).
            fn tag(&self, input: &[u8]) -> [u8; $tag] {
                let mut tag = [0u8; $tag];
                let outer = self.outer_state(input).unwrap_or([0; 8]);
                tag.chunks_exact_mut(Self::WORD)
                    .zip(outer)
                    .for_each(|(t, w)| t.copy_from_slice(&w.to_be_bytes()));
                tag
            }

            /// The state after the outer hash (the tag is its first words, big-endian), or
            /// `None` if a block could not be laid out (never: the sizes are fixed, and this
            /// fails closed rather than hash less than the input).
            fn outer_state(&self, input: &[u8]) -> Option<[$word; 8]> {
                let mut state = self.inner;
                let blocks = input.chunks_exact($block);
                let rest = blocks.remainder();
                for block in blocks {
                    let block = <&[u8; $block]>::try_from(block).ok()?;
                    $compress(&mut state, std::slice::from_ref(block));
                }
                // The rest, 0x80, zeros and the message's length in bits (the `ipad` block
                // counts): one block, or two when the length no longer fits after the rest.
                let mut tail = [[0u8; $block]; 2];
                let used = if rest.len() < $block - Self::LENGTH { 1 } else { 2 };
                let bits = (input.len() as $length).wrapping_add($block).wrapping_mul(8);
                let flat = tail.as_flattened_mut();
                flat.get_mut(..rest.len())?.copy_from_slice(rest);
                *flat.get_mut(rest.len())? = 0x80;
                flat.get_mut(used * $block - Self::LENGTH..used * $block)?
                    .copy_from_slice(&bits.to_be_bytes());
                $compress(&mut state, tail.get(..used)?);
                // The outer hash: the inner digest, 0x80, zeros and the length, in one block.
                let mut block = Self::OUTER_TAIL;
                block
                    .chunks_exact_mut(Self::WORD)
                    .zip(state)
                    .take($tag / Self::WORD)
                    .for_each(|(b, w)| b.copy_from_slice(&w.to_be_bytes()));
                let mut outer = self.outer;
                $compress(&mut outer, &[block]);
                Some(outer)
            }
        }

        // The tag is whole words of the state, and the outer block holds the digest, the
        // marker and the length: checked when the crate is built, so that no comparison can
        // cover fewer bytes than the tag and no part of a block is left unwritten.
        const _: () = assert!(
            $tag % $name::WORD == 0 && $tag / $name::WORD <= 8 && $tag + 1 + $name::LENGTH <= $block
        );
    };
}

compression_hmac! {
    /// HMAC-SHA-256 on SHA-256's compression function.
    Sha256Pads {
        word: u32,
        block: 64,
        length: u64,
        tag: 32,
        compress: compress256,
        iv: H256,
        hash: Sha256,
    }
}

compression_hmac! {
    /// HMAC-SHA-384 on SHA-512's compression function (SHA-384 is SHA-512 from another initial
    /// state, its output the first six words).
    Sha384Pads {
        word: u64,
        block: 128,
        length: u128,
        tag: 48,
        compress: compress512,
        iv: H384,
        hash: Sha384,
    }
}

compression_hmac! {
    /// HMAC-SHA-512 on SHA-512's compression function.
    Sha512Pads {
        word: u64,
        block: 128,
        length: u128,
        tag: 64,
        compress: compress512,
        iv: H512,
        hash: Sha512,
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

/// SHA-384's initial state (FIPS 180-4 §5.3.4).
const H384: [u64; 8] = [
    0xcbbb_9d5d_c105_9ed8,
    0x629a_292a_367c_d507,
    0x9159_015a_3070_dd17,
    0x152f_ecd8_f70e_5939,
    0x6733_2667_ffc0_0b31,
    0x8eb4_4a87_6858_1511,
    0xdb0c_2e0d_64f9_8fa7,
    0x47b5_481d_befa_4fa4,
];

/// SHA-512's initial state (FIPS 180-4 §5.3.5).
const H512: [u64; 8] = [
    0x6a09_e667_f3bc_c908,
    0xbb67_ae85_84ca_a73b,
    0x3c6e_f372_fe94_f82b,
    0xa54f_f53a_5f1d_36f1,
    0x510e_527f_ade6_82d1,
    0x9b05_688c_2b3e_6c1f,
    0x1f83_d9ab_fb41_bd6b,
    0x5be0_cd19_137e_2179,
];

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
    use hmac::{Hmac, KeyInit, Mac};

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

    /// RFC 4231 §4's keys and data for test cases 1 to 7 (cases 6 and 7 hash a 131-byte key
    /// first).
    fn rfc_4231_cases() -> [(Vec<u8>, &'static [u8]); 7] {
        [
            (vec![0x0b; 20], b"Hi There"),
            (b"Jefe".to_vec(), b"what do ya want for nothing?"),
            (vec![0xaa; 20], &[0xdd; 50]),
            ((1..=25).collect(), &[0xcd; 50]),
            (vec![0x0c; 20], b"Test With Truncation"),
            (vec![0xaa; 131], b"Test Using Larger Than Block-Size Key - Hash Key First"),
            (
                vec![0xaa; 131],
                b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.",
            ),
        ]
    }

    /// The tests of one width of the compression-function HMAC:
    /// - RFC 4231's results (case 5 truncated to 128 bits as the RFC gives it), the whole ones
    ///   verified too: a reference that does not go through the sha2 release the construction
    ///   is built on;
    /// - the tags of hmac 0.12 on sha2 0.10 (the previous releases, so not the same code
    ///   either) for every input length across three blocks (the padding's one- and two-block
    ///   cases on either side of the length field), keys shorter than, as long as and longer
    ///   than a block; `verify` takes each and refuses it with any one byte changed;
    /// - a tag of any other length refused, never compared on a prefix;
    /// - arbitrary keys and inputs through `HmacKey::verify`, and any changed tag refused.
    macro_rules! pads_tests {
        ($module:ident, $pads:ty, $hash:ty, $previous:ty, $alg:expr, block: $block:literal, tag: $tag:literal, rfc_4231: $results:expr) => {
            mod $module {
                use super::*;

                #[test]
                fn give_the_rfc_4231_results() {
                    let results: [&str; 7] = $results;
                    for (i, ((key, data), expected)) in rfc_4231_cases().into_iter().zip(results).enumerate() {
                        let pads = <$pads>::new(&key);
                        let tag = pads.tag(data);
                        let expected = hex(expected);
                        assert_eq!(&tag[..expected.len()], &expected[..], "test case {}", i + 1);
                        if expected.len() == $tag {
                            assert!(pads.verify(data, &expected), "test case {}", i + 1);
                        }
                    }
                }

                #[test]
                fn agree_with_the_hmac_crate() {
                    for key_len in [$tag, $block - 1, $block, $block + 1, $block + 36, 2 * $block + 72] {
                        let secret: Vec<u8> = (0..key_len).map(|i| (i * 31 + 7) as u8).collect();
                        let pads = <$pads>::new(&secret);
                        let mac = <hmac012::Hmac<$previous> as hmac012::Mac>::new_from_slice(&secret).unwrap();
                        for len in 0..3 * $block + 8 {
                            let input: Vec<u8> = (0..len).map(|i| (i * 13 + key_len) as u8).collect();
                            let expected = hmac012::Mac::finalize(hmac012::Mac::chain_update(mac.clone(), &input)).into_bytes();
                            assert_eq!(pads.tag(&input).as_slice(), expected.as_slice(), "key {key_len}, input {len}");
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

                #[test]
                fn refuse_tags_of_other_lengths() {
                    let pads = <$pads>::new(&[7u8; $tag]);
                    let tag = pads.tag(b"a.b");
                    // Shorter, and the other widths' tags (the start of this one, or it with zeros after).
                    for len in [0usize, 1, 4, 8, 16, $tag - 1, 32, 48] {
                        if len < $tag {
                            assert!(!pads.verify(b"a.b", &tag[..len]), "{len} bytes");
                        }
                    }
                    for len in [48usize, 64, $tag + 8] {
                        if len > $tag {
                            let mut longer = tag.to_vec();
                            longer.resize(len, 0);
                            assert!(!pads.verify(b"a.b", &longer), "{len} bytes");
                        }
                    }
                    let mut longer = tag.to_vec();
                    longer.push(0);
                    assert!(!pads.verify(b"a.b", &longer));
                    assert!(pads.verify(b"a.b", &tag));
                }

                proptest::proptest! {
                    #![proptest_config(proptest::prelude::ProptestConfig { cases: 1024, failure_persistence: None, ..Default::default() })]

                    #[test]
                    fn verify_agrees_with_the_hmac_crate(
                        secret in proptest::collection::vec(proptest::prelude::any::<u8>(), $tag..3 * $block),
                        input in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
                        flip in proptest::prelude::any::<(usize, u8)>(),
                    ) {
                        let key = HmacKey::new($alg, &secret).unwrap();
                        let mac = <Hmac<$hash> as KeyInit>::new_from_slice(&secret).unwrap();
                        let mut tag = mac.chain_update(&input).finalize().into_bytes().to_vec();
                        proptest::prop_assert!(key.verify(&input, &B64.encode(&tag)));
                        if let Some(b) = tag.get_mut(flip.0 % $tag) {
                            *b ^= flip.1.max(1);
                        }
                        proptest::prop_assert!(!key.verify(&input, &B64.encode(&tag)));
                    }
                }
            }
        };
    }

    pads_tests!(sha256_pads, Sha256Pads, Sha256, sha2_010::Sha256, Algorithm::HS256, block: 64, tag: 32, rfc_4231: [
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
        "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
        "a3b6167473100ee06e0c796c2955552b",
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
    ]);

    pads_tests!(sha384_pads, Sha384Pads, Sha384, sha2_010::Sha384, Algorithm::HS384, block: 128, tag: 48, rfc_4231: [
        "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6",
        "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649",
        "88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b2a5ab39dc13814b94e3ab6e101a34f27",
        "3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e6801dd23c4a7d679ccf8a386c674cffb",
        "3abf34c3503b2a23a46efc619baef897",
        "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952",
        "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5a678cc31e799176d3860e6110c46523e",
    ]);

    pads_tests!(sha512_pads, Sha512Pads, Sha512, sha2_010::Sha512, Algorithm::HS512, block: 128, tag: 64, rfc_4231: [
        "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
        "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
        "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb",
        "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3dba91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd",
        "415fad6271580a531d4179bc891d87a6",
        "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598",
        "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58",
    ]);

    /// A signature of another width's length (well-formed base64url, 43, 64 or 86 characters)
    /// is refused by every key before it is decoded.
    #[test]
    fn signatures_of_another_width_are_refused() {
        let algs = [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512];
        let keys: Vec<HmacKey> = algs
            .iter()
            .map(|alg| HmacKey::new(*alg, &[9u8; 64]).unwrap())
            .collect();
        for signer in &keys {
            let mut signed = String::from("a.b");
            signer.sign_in_place_after_dot(&mut signed);
            let signature = signed.split_off(4);
            for verifier in &keys {
                let same = signer.tag_len() == verifier.tag_len();
                assert_eq!(verifier.verify(b"a.b", &signature), same);
                // The verifier's own length, made of the other's signature cut or padded.
                let mut fitted = signature.clone();
                fitted.truncate(encoded_len(verifier.tag_len()));
                while fitted.len() < encoded_len(verifier.tag_len()) {
                    fitted.push('A');
                }
                if !same {
                    assert!(!verifier.verify(b"a.b", &fitted));
                }
            }
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
