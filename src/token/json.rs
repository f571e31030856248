//! Small serde helpers for reading JSON objects without allocating: borrowed strings and a
//! duplicate-key detector.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, SeqAccess, Visitor};

/// A JSON string, borrowed from the input unless it contained escapes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Text<'de>(pub(crate) Cow<'de, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// A value that is either a string or something else (consumed and reported as such): lets the
/// claim checks tell "wrong type" from "absent" instead of failing the whole parse.
#[derive(Debug)]
pub(crate) enum MaybeText<'de> {
    Text(Cow<'de, str>),
    WrongType,
}

impl<'de> Deserialize<'de> for MaybeText<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MaybeText<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(MaybeText::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(MaybeText::Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(MaybeText::Text(Cow::Owned(v)))
            }
            wrong_type_for_everything_else!();
        }
        d.deserialize_any(V)
    }
}

/// Implements every non-string `visit_*` method as "wrong type", consuming nested values.
macro_rules! wrong_type_for_everything_else {
    () => {
        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(Self::Value::WrongType)
        }
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(Self::Value::WrongType)
        }
        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(Self::Value::WrongType)
        }
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(Self::Value::WrongType)
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(Self::Value::WrongType)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
            Ok(Self::Value::WrongType)
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map
                .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                .is_some()
            {}
            Ok(Self::Value::WrongType)
        }
    };
}
pub(crate) use wrong_type_for_everything_else;

/// Consumes the rest of a sequence.
pub(crate) fn drain_seq<'de, A: SeqAccess<'de>>(seq: &mut A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

/// How many keys are compared pairwise before switching to a hash set, so that an object with
/// thousands of keys costs linear time, not quadratic.
const INLINE_KEYS: usize = 16;

/// Detects duplicate member names in one JSON object.
#[derive(Debug)]
pub(crate) struct SeenKeys<'de> {
    /// Length and first seven bytes of each inline key: equal fingerprints of keys up to seven
    /// bytes mean equal keys, so the usual claim names compare as one integer.
    fingerprints: [u64; INLINE_KEYS],
    inline: [Cow<'de, str>; INLINE_KEYS],
    len: usize,
    spill: Option<HashSet<Cow<'de, str>>>,
}

fn fingerprint(key: &str) -> u64 {
    let bytes = key.as_bytes();
    let mut fp = (bytes.len().min(255) as u64) << 56;
    for (i, b) in bytes.iter().take(7).enumerate() {
        fp |= u64::from(*b) << (i * 8);
    }
    fp
}

impl<'de> SeenKeys<'de> {
    pub(crate) fn new() -> Self {
        Self {
            fingerprints: [0; INLINE_KEYS],
            inline: std::array::from_fn(|_| Cow::Borrowed("")),
            len: 0,
            spill: None,
        }
    }

    /// How many distinct keys were recorded.
    pub(crate) fn len(&self) -> usize {
        self.spill.as_ref().map_or(self.len, HashSet::len)
    }

    /// Records `key`; returns `false` if it was seen before.
    pub(crate) fn insert(&mut self, key: Cow<'de, str>) -> bool {
        if let Some(set) = &mut self.spill {
            return set.insert(key);
        }
        let fp = fingerprint(&key);
        let short = key.len() <= 7;
        let seen = self.fingerprints.iter().zip(&self.inline).take(self.len);
        for (other_fp, other) in seen {
            if *other_fp == fp && (short || *other == key) {
                return false;
            }
        }
        match (self.fingerprints.get_mut(self.len), self.inline.get_mut(self.len)) {
            (Some(fp_slot), Some(slot)) => {
                *fp_slot = fp;
                *slot = key;
                self.len += 1;
            }
            _ => {
                let mut set: HashSet<Cow<'de, str>> = self.inline.iter_mut().map(std::mem::take).collect();
                set.insert(key);
                self.spill = Some(set);
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_found_inline_and_after_spilling() {
        let mut seen = SeenKeys::new();
        let names: Vec<String> = (0..100).map(|i| format!("k{i}")).collect();
        for n in &names {
            assert!(seen.insert(Cow::Borrowed(n)));
        }
        for n in &names {
            assert!(!seen.insert(Cow::Borrowed(n)), "{n}");
        }
        let mut similar = SeenKeys::new();
        for k in [
            "exp", "exq", "expiry1", "expiry2", "expiry12", "expiry13", "", "e",
        ] {
            assert!(similar.insert(Cow::Borrowed(k)), "{k}");
        }
        assert!(!similar.insert(Cow::Borrowed("expiry13")));
        assert!(!similar.insert(Cow::Borrowed("")));
        let mut few = SeenKeys::new();
        assert!(few.insert(Cow::Borrowed("exp")));
        assert!(!few.insert(Cow::Owned("exp".to_owned())));
    }
}
