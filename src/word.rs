//! Byte tests eight bytes at a time, for the scans over tokens and payloads.

/// `byte` in every byte of a word.
pub(crate) const fn splat(byte: u8) -> u64 {
    0x0101_0101_0101_0101 * byte as u64
}

/// The high bit of every byte of a word.
pub(crate) const HIGH: u64 = splat(0x80);

/// Flags the bytes of `word` below `n` (at most 0x80) with their high bits: the lowest such
/// byte is always flagged, and no byte is when none is below `n`. Bytes above the lowest one
/// may be flagged wrongly (the subtraction's borrow runs upwards from it), so the result
/// answers "any?" and "the lowest?" exactly, and nothing else.
pub(crate) const fn bytes_below(word: u64, n: u8) -> u64 {
    word.wrapping_sub(splat(n)) & !word & HIGH
}

/// Flags the bytes of `word` equal to `byte`, as exactly as [`bytes_below`] does.
pub(crate) const fn bytes_equal(word: u64, byte: u8) -> u64 {
    bytes_below(word ^ splat(byte), 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lowest_flag_and_any_flag_are_exact() {
        let words = [
            *b"abcdefgh",
            *b"a\"b\\c\x1fd ",
            *b" !!!!!!!",
            *b"\x00\x01\x01\x01\x01\x01\x01\x01",
            *b"!!!!!!!!",
            *b"\x80\xff\x7f\x20\x21\x1f\x00\x09",
            *b"\t\x08\x08\x08\x08\x08\x08\x08",
        ];
        for bytes in words {
            let word = u64::from_le_bytes(bytes);
            for n in 0..=0x80u8 {
                let flags = bytes_below(word, n);
                let lowest = bytes.iter().position(|&b| b < n);
                assert_eq!(flags != 0, lowest.is_some(), "{bytes:?} below {n}");
                if let Some(at) = lowest {
                    assert_eq!(flags.trailing_zeros() / 8, at as u32, "{bytes:?} below {n}");
                }
            }
            for byte in 0..=255u8 {
                let flags = bytes_equal(word, byte);
                let lowest = bytes.iter().position(|&b| b == byte);
                assert_eq!(flags != 0, lowest.is_some(), "{bytes:?} equal to {byte}");
                if let Some(at) = lowest {
                    assert_eq!(flags.trailing_zeros() / 8, at as u32, "{bytes:?} equal to {byte}");
                }
            }
        }
    }
}
