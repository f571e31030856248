//! The compact serialization: size and alphabet checks, segment splitting, canonical
//! base64url into stack buffers.

use std::borrow::Cow;

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;

use crate::AuthErrorKind;

/// base64url without padding, canonical: `=` is refused and unused trailing bits must be zero.
pub(crate) const B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(false),
);

/// The three segments of a compact JWS, borrowed from the token.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Compact<'t> {
    pub(crate) header: &'t str,
    pub(crate) payload: &'t str,
    pub(crate) signature: &'t str,
    /// `header.payload`, the bytes the signature covers.
    pub(crate) signing_input: &'t [u8],
}

/// Splits a compact JWS after the checks that need no decoding: length cap, alphabet (base64url
/// and dots only: no `=`, `+`, `/`, whitespace or non-ASCII, so JSON serialization is refused
/// too), exactly three segments, non-empty header and signature.
pub(crate) fn split(token: &str, max_len: usize) -> Result<Compact<'_>, AuthErrorKind> {
    if token.len() > max_len {
        return Err(AuthErrorKind::TooLarge);
    }
    // One vectorized pass: the alphabet, and exactly two dots (three segments).
    if scan(token.as_bytes()) != Some(2) {
        return Err(AuthErrorKind::Malformed);
    }
    // Both searches are short: the header and the signature are the small segments.
    let (Some(first), Some(last)) = (token.find('.'), token.rfind('.')) else {
        return Err(AuthErrorKind::Malformed);
    };
    let (Some(header), Some(payload), Some(signature)) = (
        token.get(..first),
        token.get(first + 1..last),
        token.get(last + 1..),
    ) else {
        return Err(AuthErrorKind::Malformed);
    };
    if header.is_empty() || signature.is_empty() {
        return Err(AuthErrorKind::Malformed);
    }
    let signing_input = token
        .as_bytes()
        .get(..header.len() + 1 + payload.len())
        .ok_or(AuthErrorKind::Malformed)?;
    Ok(Compact {
        header,
        payload,
        signature,
        signing_input,
    })
}

/// Counts the dots of `bytes` if every byte is in the base64url alphabet or a dot, else `None`.
/// Written as branch-free reductions over fixed-size chunks so that the compiler vectorizes it.
#[inline]
fn scan(bytes: &[u8]) -> Option<usize> {
    #[inline(always)]
    fn bad(c: u8) -> u8 {
        // Letters: OR-ing 0x20 maps `A-Z` onto `a-z` and nothing else into `a-z`.
        let letter = (c | 0x20).wrapping_sub(b'a') < 26;
        // `-`, `.`, `/`, `0-9` are contiguous (0x2D..=0x39); `/` is not base64url.
        let digit_dash_dot = (c.wrapping_sub(b'-') < 13) & (c != b'/');
        u8::from(!(letter | digit_dash_dot | (c == b'_')))
    }
    #[inline(always)]
    fn chunk_scan(chunk: &[u8; 32]) -> (u8, u8) {
        chunk.iter().fold((0u8, 0u8), |(bad_acc, dots), &c| {
            (bad_acc | bad(c), dots + u8::from(c == b'.'))
        })
    }
    let chunks = bytes.chunks_exact(32);
    // The tail is padded with a valid character so that it takes the vectorized path too.
    let mut tail = [b'A'; 32];
    tail.iter_mut().zip(chunks.remainder()).for_each(|(t, b)| *t = *b);
    let (mut any_bad, dots) = chunk_scan(&tail);
    let mut dots = usize::from(dots);
    for chunk in chunks {
        let Ok(chunk) = <&[u8; 32]>::try_from(chunk) else {
            return None;
        };
        let (b, d) = chunk_scan(chunk);
        any_bad |= b;
        dots += usize::from(d);
    }
    (any_bad == 0).then_some(dots)
}

/// Decodes one base64url segment into `stack` when it fits, else onto the heap.
pub(crate) fn decode<'b>(segment: &str, stack: &'b mut [u8]) -> Result<Cow<'b, [u8]>, AuthErrorKind> {
    // The engine checks the output size against this (conservative) estimate.
    let estimate = segment.len().div_ceil(4) * 3;
    if estimate <= stack.len() {
        let written = B64
            .decode_slice(segment, stack)
            .map_err(|_| AuthErrorKind::Malformed)?;
        let out = stack.get(..written).ok_or(AuthErrorKind::Malformed)?;
        Ok(Cow::Borrowed(out))
    } else {
        B64.decode(segment)
            .map(Cow::Owned)
            .map_err(|_| AuthErrorKind::Malformed)
    }
}

/// The exact decoded length of an unpadded base64 string of `len` characters, or `None` when no
/// canonical encoding has that length.
#[cfg(test)]
const fn decoded_len(len: usize) -> Option<usize> {
    match len % 4 {
        0 => Some(len / 4 * 3),
        2 => Some(len / 4 * 3 + 1),
        3 => Some(len / 4 * 3 + 2),
        _ => None,
    }
}

/// The length of the unpadded base64 encoding of `n` bytes.
pub(crate) const fn encoded_len(n: usize) -> usize {
    (n * 4).div_ceil(3)
}

#[cfg(test)]
mod tests {
    use super::*;

    const JWT_IO: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

    #[test]
    fn a_well_formed_token_splits_into_three_segments() {
        let c = split(JWT_IO, 8192).unwrap();
        assert_eq!(c.header, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9");
        assert_eq!(c.signature, "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c");
        assert_eq!(c.signing_input.len(), JWT_IO.len() - c.signature.len() - 1);
    }

    #[test]
    fn a_token_over_the_cap_is_refused_before_anything_else() {
        assert_eq!(split(JWT_IO, 10).unwrap_err(), AuthErrorKind::TooLarge);
        let garbage = "=".repeat(20_000);
        assert_eq!(split(&garbage, 8192).unwrap_err(), AuthErrorKind::TooLarge);
    }

    #[test]
    fn characters_outside_base64url_are_refused() {
        for bad in [
            "a=.b.c",
            "a+.b.c",
            "a/.b.c",
            "a .b.c",
            "a.b.c\n",
            "a.b.é",
            "a\t.b.c",
            "{\"payload\":\"a\"}",
        ] {
            assert_eq!(split(bad, 8192).unwrap_err(), AuthErrorKind::Malformed, "{bad:?}");
        }
    }

    #[test]
    fn the_alphabet_check_accepts_exactly_base64url_and_dots() {
        for b in 0..=255u8 {
            let expected = b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.';
            for len in [1, 31, 32, 33, 70] {
                let mut bytes = vec![b'A'; len];
                bytes[len / 2] = b;
                assert_eq!(scan(&bytes).is_some(), expected, "byte {b:#x} in {len}");
            }
        }
        assert_eq!(scan(b"a.b.c"), Some(2));
        assert_eq!(scan(&[b'.'; 100]), Some(100));
    }

    #[test]
    fn wrong_segment_counts_are_refused() {
        for bad in [
            "abc",
            "a.b",
            "a.b.c.d",
            "a.b.c.d.e",
            ".b.c",
            "a.b.",
            "..",
            "a..c.",
            "",
        ] {
            assert_eq!(split(bad, 8192).unwrap_err(), AuthErrorKind::Malformed, "{bad:?}");
        }
        assert!(
            split("a..c", 8192).is_ok(),
            "an empty payload is a valid JWS shape"
        );
    }

    #[test]
    fn non_canonical_base64_is_refused() {
        let mut buf = [0u8; 16];
        assert_eq!(decode("QQ", &mut buf).unwrap().as_ref(), b"A");
        // "QR" decodes to 'A' too, with non-zero unused bits.
        assert_eq!(decode("QR", &mut buf).unwrap_err(), AuthErrorKind::Malformed);
        assert_eq!(decode("QQ==", &mut buf).unwrap_err(), AuthErrorKind::Malformed);
        assert_eq!(decode("Q", &mut buf).unwrap_err(), AuthErrorKind::Malformed);
    }

    #[test]
    fn large_segments_decode_on_the_heap() {
        let data = vec![7u8; 100];
        let encoded = B64.encode(&data);
        let mut small = [0u8; 8];
        assert_eq!(decode(&encoded, &mut small).unwrap().as_ref(), &data[..]);
    }

    #[test]
    fn length_helpers_agree_with_the_engine() {
        for n in 0..200 {
            let e = B64.encode(vec![0u8; n]);
            assert_eq!(encoded_len(n), e.len());
            assert_eq!(decoded_len(e.len()), Some(n));
        }
        assert_eq!(decoded_len(5), None);
    }
}
