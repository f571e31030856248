//! The claims reader: a JSON deserializer for the payload that hands `T` its values and observes
//! the registered claims in the same pass, without serde_json's general machinery.
//!
//! It reads a strict subset of what serde_json reads, and gives `T` the very visitor calls
//! serde_json would (`visit_borrowed_str` for strings without escapes, `visit_str` for the
//! others, `visit_u64` for non-negative integers, `visit_i64` for negative ones). Whatever is
//! outside that subset it **declines** rather than guess: floats, integers beyond 64 bits, `-0`,
//! byte buffers, 128-bit integers, enums written as objects, `RawValue`, nesting deeper than
//! [`MAX_DEPTH`], and every error, `T`'s own included (an error `T` catches still declines the
//! whole payload, and so does a seed that leaves a member name or value unread, which serde_json
//! would refuse). A declined payload is read again by
//! serde_json ([`super::tap`]), whose answer is then the answer: this reader only ever speeds
//! up a payload that serde_json accepts, and never decides a refusal.
//!
//! The top-level object is read here, not by `T`: every member name passes the duplicate check,
//! and the value of every registered claim is observed (by [`Member`], the rule the separate
//! pass uses too) before `T` reads it, whatever `T` does with it.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::claims::{watched, Ids, Member, Observed};
use crate::word::{bytes_below, bytes_equal};

/// Deeper nesting is declined (serde_json's own limit is 128).
const MAX_DEPTH: u32 = 64;

/// Payloads with more members are declined (and read by serde_json).
const MAX_MEMBERS: usize = 32;

/// The newtype name serde_json gives `RawValue` (serde_json's `raw.rs`, `TOKEN`).
const RAW_VALUE: &str = "$serde_json::private::RawValue";

/// The reader declined the payload: read it with serde_json instead.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Declined;

impl fmt::Display for Declined {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("declined by the claims reader")
    }
}

impl std::error::Error for Declined {}

impl de::Error for Declined {
    fn custom<M: fmt::Display>(_: M) -> Self {
        declined()
    }
}

thread_local! {
    /// Set by every [`Declined`] made during a read: a `T` that catches an error and goes on
    /// (`deserialize_with` falling back to a default, say) must not turn a declined payload
    /// into an accepted one, since the reader may have moved past a value that serde_json
    /// would have read differently.
    static DECLINED: Cell<bool> = const { Cell::new(false) };
}

/// A [`Declined`], remembered for the whole read.
#[cold]
fn declined() -> Declined {
    DECLINED.with(|d| d.set(true));
    Declined
}

/// What a complete read gives: the claims, the registered claims observed, and the identifiers
/// when they were asked for.
pub(crate) type Read<'p, T> = (T, Observed, Option<Ids<'p>>);

/// Reads `payload` (already checked to be UTF-8) into `T`, observing the registered claims, or
/// declines.
pub(crate) fn deserialize<'p, T: DeserializeOwned>(
    payload: &'p str,
    issuers: &[Box<str>],
    audiences: &[Box<str>],
    capture_ids: bool,
) -> Result<Read<'p, T>, Declined> {
    let mut reader = Reader {
        text: payload,
        pos: 0,
        depth: 0,
    };
    let mut top = Top {
        reader: &mut reader,
        observed: Observed::ABSENT,
        ids: capture_ids.then(Ids::default),
        names: Names {
            bloom: 0,
            seen: [None; MAX_MEMBERS],
            len: 0,
        },
        issuers,
        audiences,
        current: None,
        first: true,
    };
    // A read inside a read (a `T` that verifies a token while it deserializes) keeps the outer
    // read's flag.
    let outer = DECLINED.with(|d| d.replace(false));
    let claims = T::deserialize(&mut top);
    let (observed, ids) = (top.observed, top.ids);
    let trailing = reader.peek().is_some();
    if DECLINED.with(|d| d.replace(outer)) || trailing {
        return Err(Declined);
    }
    Ok((claims?, observed, ids))
}

/// A position in the payload.
#[derive(Clone, Copy)]
struct Reader<'de> {
    text: &'de str,
    pos: usize,
    depth: u32,
}

/// An integer as serde_json hands it over.
#[derive(Clone, Copy)]
enum Integer {
    U64(u64),
    I64(i64),
}

impl<'de> Reader<'de> {
    /// The next byte after JSON whitespace, not consumed.
    #[inline]
    fn peek(&mut self) -> Option<u8> {
        let bytes = self.text.as_bytes();
        // Compact JSON (what tokens hold) has no whitespace: one test for a byte above the
        // space, which no whitespace is.
        if let Some(&b) = bytes.get(self.pos) {
            if b > b' ' {
                return Some(b);
            }
        }
        while let Some(&b) = bytes.get(self.pos) {
            if !matches!(b, b' ' | b'\n' | b'\t' | b'\r') {
                return Some(b);
            }
            self.pos += 1;
        }
        None
    }

    /// Consumes `b` after whitespace, or declines.
    #[inline]
    fn expect(&mut self, b: u8) -> Result<(), Declined> {
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            Err(declined())
        }
    }

    /// Consumes the literal `word` (its first byte already peeked).
    fn literal(&mut self, word: &[u8]) -> Result<(), Declined> {
        let end = self.pos + word.len();
        if self.text.as_bytes().get(self.pos..end) == Some(word) {
            self.pos = end;
            Ok(())
        } else {
            Err(declined())
        }
    }

    fn enter(&mut self) -> Result<(), Declined> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(declined());
        }
        Ok(())
    }

    /// A string, its opening quote already consumed: borrowed unless it has escapes.
    #[inline(always)]
    fn string(&mut self) -> Result<Cow<'de, str>, Declined> {
        let bytes = self.text.as_bytes();
        let start = self.pos;
        let end = special(bytes, start);
        if bytes.get(end) == Some(&b'"') {
            self.pos = end + 1;
            // Both ends sit next to ASCII bytes, so on character boundaries.
            return self.text.get(start..end).map(Cow::Borrowed).ok_or_else(declined);
        }
        self.unusual_string(start, end)
    }

    /// The rest of [`string`](Self::string) after a byte that is not its closing quote: an
    /// escape (the string is copied), a control character or the end of the payload.
    #[cold]
    #[inline(never)]
    fn unusual_string(&mut self, start: usize, end: usize) -> Result<Cow<'de, str>, Declined> {
        if self.text.as_bytes().get(end) != Some(&b'\\') {
            return Err(declined());
        }
        let mut owned = String::from(self.text.get(start..end).ok_or_else(declined)?);
        self.pos = end;
        self.escaped(&mut owned)?;
        Ok(Cow::Owned(owned))
    }

    /// The rest of a string from an escape on, appended to `out`.
    fn escaped(&mut self, out: &mut String) -> Result<(), Declined> {
        let bytes = self.text.as_bytes();
        loop {
            match bytes.get(self.pos) {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    let escape = bytes.get(self.pos + 1).copied().ok_or_else(declined)?;
                    self.pos += 2;
                    let c = match escape {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return Err(declined()),
                    };
                    out.push(c);
                }
                Some(_) => {
                    let end = special(bytes, self.pos);
                    out.push_str(self.text.get(self.pos..end).ok_or_else(declined)?);
                    if end == self.pos || bytes.get(end).is_none() {
                        // A control character, or the end of the payload.
                        return Err(declined());
                    }
                    self.pos = end;
                }
                None => return Err(declined()),
            }
        }
    }

    /// `\uXXXX` after the `u`: a scalar value, or a surrogate pair; lone surrogates decline.
    fn unicode_escape(&mut self) -> Result<char, Declined> {
        let high = self.hex4()?;
        let code = match high {
            0xD800..=0xDBFF => {
                if self.text.as_bytes().get(self.pos..self.pos + 2) != Some(b"\\u") {
                    return Err(declined());
                }
                self.pos += 2;
                let low = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&low) {
                    return Err(declined());
                }
                0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(declined()),
            code => code,
        };
        char::from_u32(code).ok_or_else(declined)
    }

    fn hex4(&mut self) -> Result<u32, Declined> {
        let digits = self.text.get(self.pos..self.pos + 4).ok_or_else(declined)?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(declined());
        }
        self.pos += 4;
        u32::from_str_radix(digits, 16).map_err(|_| declined())
    }

    /// An integer (its first byte already peeked); floats, `-0` and integers beyond 64 bits
    /// decline.
    fn integer(&mut self) -> Result<Integer, Declined> {
        let bytes = self.text.as_bytes();
        let negative = bytes.get(self.pos) == Some(&b'-');
        if negative {
            self.pos += 1;
        }
        let mut value: u64 = match bytes.get(self.pos) {
            Some(b'0') => {
                self.pos += 1;
                0
            }
            Some(b'1'..=b'9') => {
                let start = self.pos;
                let mut value: u64 = 0;
                // Eight digits at a time while they last (up to 16: no overflow).
                while self.pos - start < 16 {
                    let Some(eight) = bytes.get(self.pos..self.pos + 8).and_then(eight_digits) else {
                        break;
                    };
                    value = value * 100_000_000 + eight;
                    self.pos += 8;
                }
                while let Some(&d @ b'0'..=b'9') = bytes.get(self.pos) {
                    // 19 digits never overflow; longer runs are checked.
                    value = if self.pos - start < 19 {
                        value * 10 + u64::from(d - b'0')
                    } else {
                        value
                            .checked_mul(10)
                            .and_then(|v| v.checked_add(u64::from(d - b'0')))
                            .ok_or_else(declined)?
                    };
                    self.pos += 1;
                }
                value
            }
            _ => return Err(declined()),
        };
        if matches!(bytes.get(self.pos), Some(b'.' | b'e' | b'E' | b'0'..=b'9')) {
            return Err(declined());
        }
        if !negative {
            return Ok(Integer::U64(value));
        }
        // serde_json reads `-0` as a float, and larger magnitudes than i64's as floats.
        if value == 0 || value > 1 << 63 {
            return Err(declined());
        }
        value -= 1;
        // `value` ≤ i64::MAX now, so -value - 1 ≥ i64::MIN.
        let value = i64::try_from(value).map_err(|_| declined())?;
        Ok(Integer::I64(-value - 1))
    }

    /// A number of any JSON form, checked and skipped.
    fn skip_number(&mut self) -> Result<(), Declined> {
        let bytes = self.text.as_bytes();
        let digits = |pos: &mut usize| {
            let start = *pos;
            while bytes.get(*pos).is_some_and(u8::is_ascii_digit) {
                *pos += 1;
            }
            *pos > start
        };
        let mut pos = self.pos;
        if bytes.get(pos) == Some(&b'-') {
            pos += 1;
        }
        match bytes.get(pos) {
            Some(b'0') => pos += 1,
            Some(b'1'..=b'9') => {
                digits(&mut pos);
            }
            _ => return Err(declined()),
        }
        if bytes.get(pos) == Some(&b'.') {
            pos += 1;
            if !digits(&mut pos) {
                return Err(declined());
            }
        }
        if matches!(bytes.get(pos), Some(b'e' | b'E')) {
            pos += 1;
            if matches!(bytes.get(pos), Some(b'+' | b'-')) {
                pos += 1;
            }
            if !digits(&mut pos) {
                return Err(declined());
            }
        }
        if bytes.get(pos).is_some_and(u8::is_ascii_digit) {
            return Err(declined());
        }
        self.pos = pos;
        Ok(())
    }

    /// Checks and skips one value.
    fn skip(&mut self) -> Result<(), Declined> {
        match self.peek().ok_or_else(declined)? {
            b'"' => {
                self.pos += 1;
                self.string().map(drop)
            }
            b'{' => {
                self.pos += 1;
                self.enter()?;
                if self.peek() != Some(b'}') {
                    loop {
                        self.expect(b'"')?;
                        self.string()?;
                        self.expect(b':')?;
                        self.skip()?;
                        if self.peek() != Some(b',') {
                            break;
                        }
                        self.pos += 1;
                    }
                }
                self.depth -= 1;
                self.expect(b'}')
            }
            b'[' => {
                self.pos += 1;
                self.enter()?;
                if self.peek() != Some(b']') {
                    loop {
                        self.skip()?;
                        if self.peek() != Some(b',') {
                            break;
                        }
                        self.pos += 1;
                    }
                }
                self.depth -= 1;
                self.expect(b']')
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.skip_number(),
        }
    }

    fn visit_string<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value, Declined> {
        match self.string()? {
            Cow::Borrowed(s) => visitor.visit_borrowed_str(s),
            Cow::Owned(s) => visitor.visit_str(&s),
        }
    }

    fn visit_integer<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value, Declined> {
        match self.integer()? {
            Integer::U64(v) => visitor.visit_u64(v),
            Integer::I64(v) => visitor.visit_i64(v),
        }
    }

    fn visit_object<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value, Declined> {
        self.enter()?;
        let value = visitor.visit_map(Members {
            reader: self,
            first: true,
        })?;
        self.depth -= 1;
        self.expect(b'}')?;
        Ok(value)
    }

    fn visit_array<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value, Declined> {
        self.enter()?;
        let value = visitor.visit_seq(Elements {
            reader: self,
            first: true,
        })?;
        self.depth -= 1;
        self.expect(b']')?;
        Ok(value)
    }
}

/// The value of eight ASCII digits, or `None` when one of the bytes is not a digit.
#[inline]
fn eight_digits(bytes: &[u8]) -> Option<u64> {
    let word = u64::from_le_bytes(<[u8; 8]>::try_from(bytes).ok()?);
    // Every byte 0x30..=0x39: the high nibble is 3, and adding 6 keeps it 3.
    const NIBBLES: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    const THREES: u64 = 0x3030_3030_3030_3030;
    if word & NIBBLES != THREES || (word.wrapping_add(0x0606_0606_0606_0606) & NIBBLES) != THREES {
        return None;
    }
    let v = word - THREES;
    let v = (v.wrapping_mul(10) + (v >> 8)) & 0x00FF_00FF_00FF_00FF;
    let v = (v.wrapping_mul(100) + (v >> 16)) & 0x0000_FFFF_0000_FFFF;
    Some((v.wrapping_mul(10_000) + (v >> 32)) & 0xFFFF_FFFF)
}

/// The index of the first `"`, `\` or control character at or after `from`, or the length.
/// Eight bytes at a time: each test flags the lowest matching byte of a word exactly.
#[inline]
fn special(bytes: &[u8], from: usize) -> usize {
    let mut i = from;
    while let Some(word) = bytes.get(i..i + 8).and_then(|w| <[u8; 8]>::try_from(w).ok()) {
        let x = u64::from_le_bytes(word);
        let found = bytes_equal(x, b'"') | bytes_equal(x, b'\\') | bytes_below(x, 0x20);
        if found != 0 {
            return i + (found.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&b) = bytes.get(i) {
        if b == b'"' || b == b'\\' || b < 0x20 {
            return i;
        }
        i += 1;
    }
    i
}

/// Implements the listed `deserialize_*` methods as declining.
macro_rules! decline {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, $(_: $ty,)* _: V) -> Result<V::Value, Declined> {
                Err(declined())
            }
        )*
    };
}

/// Implements the listed `deserialize_*` methods as `$to`, the one that reads their kind.
macro_rules! forward_to {
    ($to:ident: $($method:ident),*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Declined> {
                self.$to(visitor)
            }
        )*
    };
}

impl<'de> Deserializer<'de> for &mut Reader<'de> {
    type Error = Declined;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Declined> {
        match self.peek().ok_or_else(declined)? {
            b'"' => {
                self.pos += 1;
                self.visit_string(visitor)
            }
            b'{' => {
                self.pos += 1;
                self.visit_object(visitor)
            }
            b'[' => {
                self.pos += 1;
                self.visit_array(visitor)
            }
            b't' => {
                self.literal(b"true")?;
                visitor.visit_bool(true)
            }
            b'f' => {
                self.literal(b"false")?;
                visitor.visit_bool(false)
            }
            b'n' => {
                self.literal(b"null")?;
                visitor.visit_unit()
            }
            b'-' | b'0'..=b'9' => self.visit_integer(visitor),
            _ => Err(declined()),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Declined> {
        match self.peek() {
            Some(b't' | b'f') => self.deserialize_any(visitor),
            _ => Err(declined()),
        }
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Declined> {
        match self.peek() {
            Some(b'-' | b'0'..=b'9') => self.visit_integer(visitor),
            _ => Err(declined()),
        }
    }
    // serde_json reads every number the same way, whatever the hint.
    forward_to!(deserialize_u64:
        deserialize_i8, deserialize_i16, deserialize_i32, deserialize_i64,
        deserialize_u8, deserialize_u16, deserialize_u32, deserialize_f32, deserialize_f64);

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Declined> {
        self.expect(b'"')?;
        self.visit_string(visitor)
    }
    forward_to!(deserialize_str: deserialize_string, deserialize_char, deserialize_identifier);

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Declined> {
        if self.peek() == Some(b'n') {
            self.literal(b"null")?;
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Declined> {
        match self.peek() {
            Some(b'n') => self.deserialize_any(visitor),
            _ => Err(declined()),
        }
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Declined> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Declined> {
        if name == RAW_VALUE {
            return Err(declined());
        }
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Declined> {
        self.expect(b'[')?;
        self.visit_array(visitor)
    }
    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, Declined> {
        self.deserialize_seq(visitor)
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, Declined> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Declined> {
        self.expect(b'{')?;
        self.visit_object(visitor)
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Declined> {
        // serde_json also reads a struct from an array; declined here.
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Declined> {
        // A unit variant written as a string; the object form is declined.
        self.expect(b'"')?;
        let variant = self.string()?;
        visitor.visit_enum(UnitVariant(variant))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Declined> {
        self.skip()?;
        visitor.visit_unit()
    }

    decline! {
        deserialize_i128();
        deserialize_u128();
        deserialize_bytes();
        deserialize_byte_buf();
    }
}

/// The members of a nested object.
struct Members<'r, 'de> {
    reader: &'r mut Reader<'de>,
    first: bool,
}

/// Moves to the next member name of an object: `false` at its end (the `}` left for the caller).
fn next_member(reader: &mut Reader<'_>, first: &mut bool) -> Result<bool, Declined> {
    match reader.peek() {
        Some(b'}') => return Ok(false),
        Some(b',') if !*first => reader.pos += 1,
        Some(b'"') if *first => {}
        _ => return Err(declined()),
    }
    *first = false;
    reader.expect(b'"')?;
    Ok(true)
}

impl<'de> MapAccess<'de> for Members<'_, 'de> {
    type Error = Declined;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Declined> {
        if !next_member(self.reader, &mut self.first)? {
            return Ok(None);
        }
        let name = self.reader.string()?;
        Scalar::give(Value::Name(name), seed).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Declined> {
        self.reader.expect(b':')?;
        seed.deserialize(&mut *self.reader)
    }
}

/// The elements of an array.
struct Elements<'r, 'de> {
    reader: &'r mut Reader<'de>,
    first: bool,
}

impl<'de> SeqAccess<'de> for Elements<'_, 'de> {
    type Error = Declined;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Declined> {
        match self.reader.peek() {
            Some(b']') => return Ok(None),
            Some(b',') if !self.first => {
                self.reader.pos += 1;
                // `[1,]` is not JSON.
                if self.reader.peek() == Some(b']') {
                    return Err(declined());
                }
            }
            Some(_) if self.first => {}
            _ => return Err(declined()),
        }
        self.first = false;
        seed.deserialize(&mut *self.reader).map(Some)
    }
}

/// A unit variant read from a string.
struct UnitVariant<'de>(Cow<'de, str>);

impl<'de> de::EnumAccess<'de> for UnitVariant<'de> {
    type Error = Declined;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), Declined> {
        let value = Scalar::give(Value::Name(self.0), seed)?;
        Ok((value, UnitVariant(Cow::Borrowed(""))))
    }
}

impl<'de> de::VariantAccess<'de> for UnitVariant<'de> {
    type Error = Declined;

    fn unit_variant(self) -> Result<(), Declined> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, _: T) -> Result<T::Value, Declined> {
        Err(declined())
    }

    fn tuple_variant<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value, Declined> {
        Err(declined())
    }

    fn struct_variant<V: Visitor<'de>>(self, _: &'static [&'static str], _: V) -> Result<V::Value, Declined> {
        Err(declined())
    }
}

/// The member names of the payload's object, for the duplicate check: a 64-bit filter over
/// length, first two bytes and last byte, and a comparison with the earlier names only when it
/// matches.
struct Names<'de> {
    bloom: u64,
    /// `None` is all zeros: the array starts as one `memset`.
    seen: [Option<&'de str>; MAX_MEMBERS],
    len: usize,
}

impl<'de> Names<'de> {
    /// Records `name`; declines a duplicate or one member too many.
    #[inline]
    fn insert(&mut self, name: &'de str) -> Result<(), Declined> {
        let bytes = name.as_bytes();
        let byte = |i: usize| bytes.get(i).copied().unwrap_or(0);
        // The first two bytes, the last and the length's low byte, spread by a Fibonacci hash.
        // The names of a typical access token (`sub`, `name`, `role`, `iat`, `exp`, `iss`,
        // `aud`) all get bits of their own, so the comparisons below do not run for them
        // (with the length and end bytes alone, `sub` and `aud`, `iat` and `exp` shared one).
        let len = bytes.len().to_le_bytes().first().copied().unwrap_or(0);
        let key = u32::from_le_bytes([byte(0), byte(1), byte(bytes.len().wrapping_sub(1)), len]);
        let bit = 1u64 << (key.wrapping_mul(0x9E37_79B1) >> 26);
        if self.bloom & bit != 0 && self.seen.iter().take(self.len).any(|seen| *seen == Some(name)) {
            return Err(declined());
        }
        self.bloom |= bit;
        *self.seen.get_mut(self.len).ok_or_else(declined)? = Some(name);
        self.len += 1;
        Ok(())
    }
}

/// The payload's object: every member name is checked for duplicates, and the value of every
/// registered claim observed before `T` reads it.
struct Top<'r, 'c, 'de> {
    reader: &'r mut Reader<'de>,
    observed: Observed,
    ids: Option<Ids<'de>>,
    names: Names<'de>,
    issuers: &'c [Box<str>],
    audiences: &'c [Box<str>],
    /// The registered claim whose value comes next.
    current: Option<crate::Claim>,
    first: bool,
}

impl<'de> Top<'_, '_, 'de> {
    fn visit<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value, Declined> {
        self.reader.expect(b'{')?;
        self.reader.enter()?;
        let value = visitor.visit_map(&mut *self)?;
        self.reader.expect(b'}')?;
        Ok(value)
    }
}

impl<'de> Deserializer<'de> for &mut Top<'_, '_, 'de> {
    type Error = Declined;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Declined> {
        self.visit(visitor)
    }
    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Declined> {
        self.visit(visitor)
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Declined> {
        self.visit(visitor)
    }

    // Claims that are not read as an object are left to serde_json (and the separate pass).
    decline! {
        deserialize_bool();
        deserialize_i8();
        deserialize_i16();
        deserialize_i32();
        deserialize_i64();
        deserialize_i128();
        deserialize_u8();
        deserialize_u16();
        deserialize_u32();
        deserialize_u64();
        deserialize_u128();
        deserialize_f32();
        deserialize_f64();
        deserialize_char();
        deserialize_str();
        deserialize_string();
        deserialize_bytes();
        deserialize_byte_buf();
        deserialize_option();
        deserialize_unit();
        deserialize_unit_struct(name: &'static str);
        deserialize_newtype_struct(name: &'static str);
        deserialize_seq();
        deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
        deserialize_identifier();
        deserialize_ignored_any();
    }
}

impl<'de> MapAccess<'de> for &mut Top<'_, '_, 'de> {
    type Error = Declined;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Declined> {
        if !next_member(self.reader, &mut self.first)? {
            return Ok(None);
        }
        // Member names with escapes (rare) are left to serde_json.
        let Cow::Borrowed(name) = self.reader.string()? else {
            return Err(declined());
        };
        self.current = watched(name, self.ids.is_some());
        self.names.insert(name)?;
        let name = Cow::Borrowed(name);
        Scalar::give(Value::Name(name), seed).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Declined> {
        self.reader.expect(b':')?;
        if let Some(claim) = self.current.take() {
            // A string or an integer is read once, observed, then handed to `T` as read.
            let scalar = match self.reader.peek() {
                Some(b'"') => {
                    self.reader.pos += 1;
                    Some(Value::Str(self.reader.string()?))
                }
                Some(b'-' | b'0'..=b'9') => Some(Value::Int(self.reader.integer()?)),
                _ => None,
            };
            if let Some(scalar) = scalar {
                Scalar::give(
                    scalar.clone(),
                    Member {
                        claim,
                        observed: &mut self.observed,
                        ids: &mut self.ids,
                        issuers: self.issuers,
                        audiences: self.audiences,
                    },
                )?;
                return Scalar::give(scalar, seed);
            }
            // Anything else is observed from a copy of the position, then read by `T` from the
            // position itself.
            let mut probe = *self.reader;
            Member {
                claim,
                observed: &mut self.observed,
                ids: &mut self.ids,
                issuers: self.issuers,
                audiences: self.audiences,
            }
            .deserialize(&mut probe)?;
        }
        seed.deserialize(&mut *self.reader)
    }
}

/// What the reader has already read and hands to a seed as serde_json would: a string or an
/// integer, the value of a registered claim (given to the observation and to `T`), or a member
/// name or variant (given to `T`'s key seed).
#[derive(Clone)]
enum Value<'de> {
    Str(Cow<'de, str>),
    Int(Integer),
    Name(Cow<'de, str>),
}

/// A [`Value`] as a deserializer, noting whether it was read (serde_json fails on a name or
/// value that its seed leaves unread; the reader has read it already). A name reads as
/// serde_json's member names do, but for the numbers and booleans serde_json parses out of
/// them, which are declined.
struct Scalar<'t, 'de> {
    value: Value<'de>,
    read: &'t Cell<bool>,
}

impl<'de> Scalar<'_, 'de> {
    /// Hands `value` to `seed`; declines a seed that does not read it.
    fn give<S: DeserializeSeed<'de>>(value: Value<'de>, seed: S) -> Result<S::Value, Declined> {
        let read = Cell::new(false);
        let out = seed.deserialize(Scalar { value, read: &read })?;
        if read.get() {
            Ok(out)
        } else {
            Err(declined())
        }
    }
}

impl<'de> Deserializer<'de> for Scalar<'_, 'de> {
    type Error = Declined;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Declined> {
        self.read.set(true);
        match self.value {
            Value::Str(Cow::Borrowed(s)) | Value::Name(Cow::Borrowed(s)) => visitor.visit_borrowed_str(s),
            Value::Str(Cow::Owned(s)) | Value::Name(Cow::Owned(s)) => visitor.visit_str(&s),
            Value::Int(Integer::U64(v)) => visitor.visit_u64(v),
            Value::Int(Integer::I64(v)) => visitor.visit_i64(v),
        }
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Declined> {
        match self.value {
            Value::Int(_) => self.deserialize_any(visitor),
            Value::Str(_) | Value::Name(_) => Err(declined()),
        }
    }
    // serde_json reads every number the same way, whatever the hint.
    forward_to!(deserialize_u64:
        deserialize_i8, deserialize_i16, deserialize_i32, deserialize_i64,
        deserialize_u8, deserialize_u16, deserialize_u32, deserialize_f32, deserialize_f64);

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Declined> {
        match self.value {
            Value::Str(_) | Value::Name(_) => self.deserialize_any(visitor),
            Value::Int(_) => Err(declined()),
        }
    }
    forward_to!(deserialize_str: deserialize_string, deserialize_char, deserialize_identifier);

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Declined> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Declined> {
        if name == RAW_VALUE {
            return Err(declined());
        }
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Declined> {
        match self.value {
            Value::Str(variant) | Value::Name(variant) => {
                self.read.set(true);
                visitor.visit_enum(UnitVariant(variant))
            }
            Value::Int(_) => Err(declined()),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Declined> {
        // serde_json visits a member name it ignores as a string, a value as nothing.
        if let Value::Name(_) = self.value {
            return self.deserialize_any(visitor);
        }
        self.read.set(true);
        visitor.visit_unit()
    }

    // Not a string or an integer, for serde_json too (numbers and booleans in member names
    // are parsed there): an error there, declined here.
    decline! {
        deserialize_bool();
        deserialize_i128();
        deserialize_u128();
        deserialize_bytes();
        deserialize_byte_buf();
        deserialize_unit();
        deserialize_unit_struct(name: &'static str);
        deserialize_seq();
        deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_map();
        deserialize_struct(name: &'static str, fields: &'static [&'static str]);
    }
}

#[cfg(test)]
mod tests;
