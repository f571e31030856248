//! The compact serialization: size and alphabet checks, segment splitting, canonical
//! base64url into stack buffers.

use std::borrow::Cow;

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

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
    // The cap first (in `shape`); every other refusal here is `Malformed`, in whatever order.
    let compact = shape(token, max_len)?;
    if well_formed(token) {
        Ok(compact)
    } else {
        Err(AuthErrorKind::Malformed)
    }
}

/// Whether `token` is made of base64url and exactly two dots (one vectorized pass): what
/// [`split`] checks beyond [`shape`].
pub(crate) fn well_formed(token: &str) -> bool {
    matches!(scan(token.as_bytes()), Some(Dots { count: 2, .. }))
}

/// Splits a compact JWS after the checks that need no pass over it: length cap, a first and a
/// last dot (found from either end, a word at a time), non-empty header and signature. The
/// alphabet is not checked, nor that no other dot sits in the payload: decoding the segments
/// checks both, and [`well_formed`] tells which refusals they explain.
#[inline]
pub(crate) fn shape(token: &str, max_len: usize) -> Result<Compact<'_>, AuthErrorKind> {
    if token.len() > max_len {
        return Err(AuthErrorKind::TooLarge);
    }
    let (Some(first), Some(last)) = dots(token) else {
        return Err(AuthErrorKind::Malformed);
    };
    // With one dot only, `first + 1 > last` and the payload's range is empty of meaning.
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

/// Where the dots of the usual tokens sit: after a 36-character header (`{"alg":"HS256",
/// "typ":"JWT"}` and the other common headers with a `typ`), and before a 32-byte (HS256),
/// 64-byte (HS512, ES256, EdDSA) or 256-byte (RS256, PS256 with 2048-bit keys) signature.
const USUAL_FIRST_DOT: usize = 36;
const USUAL_SIGNATURE_LENS: [usize; 3] = [43, 86, 342];

/// The first and the last dot of `token`, looked for where the usual tokens have them before
/// searching from either end.
///
/// For a token with at most two dots this is exactly what the searches find: dots at the
/// usual first and last places, in that order, are its two dots; a dot at one usual place only
/// is taken if the search from the other end finds a dot on the right side of it (`rfind`
/// after the first place, `find` before a last place). With more dots, a dot at a usual place
/// may not be the first or the last: then another dot is left in the header or the signature,
/// whose decoding refuses it, and the callers' [`well_formed`] check calls the token
/// malformed, as with the searches.
#[inline]
fn dots(token: &str) -> (Option<usize>, Option<usize>) {
    let bytes = token.as_bytes();
    let at = |i: &usize| bytes.get(*i) == Some(&b'.');
    let first = Some(USUAL_FIRST_DOT).filter(at);
    let last = USUAL_SIGNATURE_LENS
        .iter()
        .filter_map(|len| bytes.len().checked_sub(len + 1))
        .find(at);
    match (first, last) {
        (Some(first), Some(last)) if first < last => (Some(first), Some(last)),
        (Some(first), None) => match token.rfind('.') {
            Some(last) if last > first => (Some(first), Some(last)),
            last => (token.find('.'), last),
        },
        (None, Some(last)) => match token.find('.') {
            Some(first) if first < last => (Some(first), Some(last)),
            first => (first, token.rfind('.')),
        },
        _ => (token.find('.'), token.rfind('.')),
    }
}

/// The dots of a token: how many, and where the first and the last are (when there are two).
#[derive(Debug, PartialEq, Eq)]
struct Dots {
    count: usize,
    first: usize,
    last: usize,
}

/// The dots of `bytes` if every byte is in the base64url alphabet or a dot, else `None`.
/// Written as branch-free reductions over fixed-size chunks so that the compiler vectorizes it;
/// only the chunks that hold dots are searched for them.
#[inline]
fn scan(bytes: &[u8]) -> Option<Dots> {
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
    let mut dots = Dots {
        count: 0,
        first: 0,
        last: 0,
    };
    // Only the positions of a token's two dots matter: a chunk holds one or both of them.
    let mut record = |chunk: &[u8], offset: usize, count: u8| {
        let count = usize::from(count);
        if count == 0 || dots.count + count > 2 {
            dots.count += count;
            return;
        }
        if dots.count == 0 {
            dots.first = offset + chunk.iter().position(|c| *c == b'.').unwrap_or(0);
        }
        dots.last = offset + chunk.iter().rposition(|c| *c == b'.').unwrap_or(0);
        dots.count += count;
    };
    let chunks = bytes.chunks_exact(32);
    let remainder = chunks.remainder();
    let mut any_bad = 0;
    let mut offset = 0;
    for chunk in chunks {
        let Ok(chunk) = <&[u8; 32]>::try_from(chunk) else {
            return None;
        };
        let (b, d) = chunk_scan(chunk);
        any_bad |= b;
        record(chunk, offset, d);
        offset += 32;
    }
    // The tail is padded with a valid character so that it takes the vectorized path too.
    let mut tail = [b'A'; 32];
    if let Some(start) = tail.get_mut(..remainder.len()) {
        start.copy_from_slice(remainder);
    }
    let (b, d) = chunk_scan(&tail);
    any_bad |= b;
    record(remainder, offset, d);
    (any_bad == 0).then_some(dots)
}

/// Decodes one base64url segment into `stack` when it fits, else onto the heap.
pub(crate) fn decode<'b>(segment: &str, stack: &'b mut [u8]) -> Result<Cow<'b, [u8]>, AuthErrorKind> {
    let len = exact_len(segment.len()).ok_or(AuthErrorKind::Malformed)?;
    if let Some(out) = stack.get_mut(..len) {
        decode_into(segment.as_bytes(), out).ok_or(AuthErrorKind::Malformed)?;
        Ok(Cow::Borrowed(out))
    } else {
        let mut out = vec![0; len];
        decode_into(segment.as_bytes(), &mut out).ok_or(AuthErrorKind::Malformed)?;
        Ok(Cow::Owned(out))
    }
}

/// A byte outside the alphabet, in [`SEXTETS`]: above the 24 bits a quad decodes to.
const INVALID: u32 = 1 << 31;

/// base64url's sextets by byte, placed for each of a quad's four positions (the first at bits
/// 18-23, the last at 0-5), or [`INVALID`]: a quad decodes with four look-ups and three ORs.
// Evaluated at compile time: an index out of bounds here fails the build, never a request.
#[allow(clippy::indexing_slicing)]
static SEXTETS: [[u32; 256]; 4] = {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut tables = [[INVALID; 256]; 4];
    let mut i = 0;
    while i < 64 {
        let c = ALPHABET[i] as usize;
        tables[0][c] = (i as u32) << 18;
        tables[1][c] = (i as u32) << 12;
        tables[2][c] = (i as u32) << 6;
        tables[3][c] = i as u32;
        i += 1;
    }
    tables
};

/// The entry of `table` for `byte` (every byte has one: the bound is never checked at run time).
#[inline(always)]
fn at(table: &[u32; 256], byte: u8) -> u32 {
    table.get(usize::from(byte)).copied().unwrap_or(INVALID)
}

/// The decoded length of `len` characters of canonical unpadded base64, or `None` when no
/// such encoding has that length.
const fn exact_len(len: usize) -> Option<usize> {
    match len % 4 {
        0 => Some(len / 4 * 3),
        2 => Some(len / 4 * 3 + 1),
        3 => Some(len / 4 * 3 + 2),
        _ => None,
    }
}

/// Decodes canonical unpadded base64url (the same as [`B64`] accepts: no `=`, unused trailing
/// bits zero) into `out`, exactly [`exact_len`] bytes long; `None` if it is not.
///
/// Each quad of characters is four table look-ups ORed into three bytes; a byte outside the
/// alphabet sets [`INVALID`], and one test of the accumulated bits at the end refuses it.
pub(crate) fn decode_into(input: &[u8], out: &mut [u8]) -> Option<()> {
    if exact_len(input.len()) != Some(out.len()) {
        return None;
    }
    let [t0, t1, t2, t3] = &SEXTETS;
    let quad = |q: &[u8; 4]| {
        let [a, b, c, d] = *q;
        at(t0, a) | at(t1, b) | at(t2, c) | at(t3, d)
    };
    let mut seen = 0u32;
    let mut read = 0;
    let mut written = 0;
    // Thirty-two characters at a time into four big-endian words, each stored whole over the
    // last two bytes of the one before: one bound check for 24 bytes, while 26 bytes of room
    // remain.
    while let (Some(chars), Some(bytes)) = (input.get(read..read + 32), out.get_mut(written..written + 26)) {
        let mut words = [0u64; 4];
        for (word, chars) in words.iter_mut().zip(chars.chunks_exact(8)) {
            let (first, second) = chars.split_first_chunk::<4>()?;
            let second = <&[u8; 4]>::try_from(second).ok()?;
            let (hi, lo) = (quad(first), quad(second));
            seen |= hi | lo;
            *word = (u64::from(hi) << 40) | (u64::from(lo) << 16);
        }
        for (at, word) in (0..).step_by(6).zip(words) {
            bytes.get_mut(at..at + 8)?.copy_from_slice(&word.to_be_bytes());
        }
        read += 32;
        written += 24;
    }
    // Then eight at a time into one word, while eight bytes of room remain.
    while let (Some(chars), Some(bytes)) = (input.get(read..read + 8), out.get_mut(written..written + 8)) {
        let (first, second) = chars.split_first_chunk::<4>()?;
        let second = <&[u8; 4]>::try_from(second).ok()?;
        let (hi, lo) = (quad(first), quad(second));
        seen |= hi | lo;
        let word = (u64::from(hi) << 40) | (u64::from(lo) << 16);
        bytes.copy_from_slice(&word.to_be_bytes());
        read += 8;
        written += 6;
    }
    let (Some(input), Some(out)) = (input.get(read..), out.get_mut(written..)) else {
        return None;
    };
    let quads = input.chunks_exact(4);
    let rest = quads.remainder();
    let mut out_quads = out.chunks_exact_mut(3);
    for (chars, bytes) in quads.zip(&mut out_quads) {
        let chars = <&[u8; 4]>::try_from(chars).ok()?;
        let word = quad(chars);
        seen |= word;
        let [_, x, y, z] = word.to_be_bytes();
        bytes.copy_from_slice(&[x, y, z]);
    }
    match (rest, out_quads.into_remainder()) {
        ([], []) => {}
        (&[a, b], [x]) => {
            let word = at(t0, a) | at(t1, b);
            seen |= word;
            // Canonical: the unused bits are zero.
            if word & 0xFFFF != 0 {
                return None;
            }
            let [_, hi, _, _] = word.to_be_bytes();
            *x = hi;
        }
        (&[a, b, c], [x, y]) => {
            let word = at(t0, a) | at(t1, b) | at(t2, c);
            seen |= word;
            if word & 0xFF != 0 {
                return None;
            }
            let [_, hi, lo, _] = word.to_be_bytes();
            *x = hi;
            *y = lo;
        }
        _ => return None,
    }
    (seen & INVALID == 0).then_some(())
}

/// The length of the unpadded base64 encoding of `n` bytes.
pub(crate) const fn encoded_len(n: usize) -> usize {
    (n * 4).div_ceil(3)
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

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
        assert_eq!(
            scan(b"a.b.c"),
            Some(Dots {
                count: 2,
                first: 1,
                last: 3
            })
        );
        assert_eq!(scan(&[b'.'; 100]).map(|d| d.count), Some(100));
        for len in [2, 31, 32, 33, 64, 65, 100] {
            for first in 0..len {
                for last in first + 1..len {
                    let mut bytes = vec![b'A'; len];
                    bytes[first] = b'.';
                    bytes[last] = b'.';
                    assert_eq!(
                        scan(&bytes),
                        Some(Dots {
                            count: 2,
                            first,
                            last
                        })
                    );
                }
            }
        }
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
    fn the_usual_places_give_the_dots_a_search_would_or_leave_one_to_decoding() {
        // Dots at and around the usual places, alone, in pairs and in threes; at 80, 123 and
        // 379 the first place is also a last place (len - 44, len - 87, len - 343).
        for len in [40, 60, 80, 88, 100, 123, 130, 343, 379, 400] {
            let mut places: Vec<usize> = [0, 1, 20, 35, 36, 37, 38, len / 2]
                .into_iter()
                .chain([1, 42, 43, 44, 45, 85, 86, 87, 88, 342, 343, 344].map(|back| len - back.min(len)))
                .filter(|&i| i < len)
                .collect();
            places.sort_unstable();
            places.dedup();
            let mut sets: Vec<Vec<usize>> = vec![vec![]];
            for (i, &a) in places.iter().enumerate() {
                sets.push(vec![a]);
                for (j, &b) in places.iter().enumerate().skip(i + 1) {
                    sets.push(vec![a, b]);
                    for &c in places.iter().skip(j + 1) {
                        sets.push(vec![a, b, c]);
                    }
                }
            }
            for set in sets {
                let mut bytes = vec![b'A'; len];
                for &i in &set {
                    bytes[i] = b'.';
                }
                let token = String::from_utf8(bytes).unwrap();
                let searched = (token.find('.'), token.rfind('.'));
                let found = dots(&token);
                if set.len() < 3 {
                    assert_eq!(found, searched, "{set:?} in {len}");
                } else if found != searched {
                    // Another dot is left in the header or the signature, which decoding refuses.
                    let (first, last) = (found.0.unwrap(), found.1.unwrap());
                    assert!(
                        token[..first].contains('.') || token[last + 1..].contains('.'),
                        "{set:?} in {len}: {found:?}"
                    );
                }
            }
        }
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

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 4096, failure_persistence: None, ..Default::default() })]

        /// The decoder against the base64 crate's canonical engine, on valid and invalid text.
        #[test]
        fn the_decoder_agrees_with_the_engine(
            text in "[A-Za-z0-9_\\-]{0,70}",
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..70),
            flip in proptest::prelude::any::<(usize, u8)>(),
        ) {
            let encoded = B64.encode(&bytes);
            let mut mutated = encoded.clone().into_bytes();
            if let Some(b) = mutated.get_mut(flip.0 % (encoded.len() + 1)) {
                *b = flip.1;
            }
            for candidate in [text.as_bytes(), encoded.as_bytes(), &mutated] {
                let expected = B64.decode(candidate).ok();
                let mut buf = [0u8; 64];
                let ours = std::str::from_utf8(candidate).ok().and_then(|s| decode(s, &mut buf).ok()).map(|c| c.into_owned());
                let expected = expected.filter(|_| std::str::from_utf8(candidate).is_ok());
                proptest::prop_assert_eq!(&ours, &expected, "{:?}", String::from_utf8_lossy(candidate));
            }
            proptest::prop_assert_eq!(decode(&encoded, &mut [0u8; 64]).ok().map(|c| c.into_owned()), Some(bytes));
        }
    }

    #[test]
    fn every_length_and_every_byte_decodes_as_the_engine_does() {
        // Up to 96 characters: the decoder's 32-character loop twice, then every tail.
        for len in 0..72usize {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let encoded = B64.encode(&data);
            assert_eq!(decode(&encoded, &mut [0u8; 96]).unwrap().as_ref(), &data[..]);
            for pos in 0..encoded.len() {
                for b in 0..=127u8 {
                    let mut bad = encoded.clone().into_bytes();
                    bad[pos] = b;
                    let bad = String::from_utf8(bad).unwrap();
                    assert_eq!(
                        decode(&bad, &mut [0u8; 96]).ok().map(|c| c.into_owned()),
                        B64.decode(&bad).ok(),
                        "{bad}"
                    );
                }
            }
        }
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
            assert_eq!(exact_len(e.len()), Some(n));
        }
        assert_eq!(exact_len(5), None);
    }
}
