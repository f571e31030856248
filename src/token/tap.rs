//! One-pass claims through serde_json: deserialize the application's `T` while observing the
//! registered claims and member names as serde_json hands them to `T`'s visitors. The payloads
//! the claims reader ([`super::reader`]) declines are read here.
//!
//! The observation is an optimization of the separate pass in [`super::claims::ObservedSeed`]:
//! whenever it cannot be sure it saw everything (a key that did not arrive as a string, a
//! registered claim whose value was not visited), it reports itself incomplete and the caller
//! runs the separate pass. Duplicate member names abort `T`'s deserialization.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::claims::{watched, Ids, Match, Num, Observed};
use super::json::SeenKeys;
use crate::Claim;

/// A complete observation: the registered claims, and the identifiers when they were asked for.
pub(crate) type Seen<'p> = (Observed, Option<Ids<'p>>);

/// Deserializes `T` from `payload` (already checked to be UTF-8), observing the registered
/// claims, and with `capture_ids` the string values of `jti`, `sid` and `sub`. `Ok((t, None))`
/// means `T` is fine but the observation is incomplete.
pub(crate) fn deserialize<'p, T: de::DeserializeOwned>(
    payload: &'p str,
    issuers: &[Box<str>],
    audiences: &[Box<str>],
    capture_ids: bool,
) -> Result<(T, Option<Seen<'p>>), serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(payload);
    let mut state = State {
        issuers,
        audiences,
        observed: Observed::ABSENT,
        seen: SeenKeys::new(),
        current: None,
        top_map: false,
        incomplete: false,
        ids: capture_ids.then(Ids::default),
    };
    let value = T::deserialize(Tap {
        inner: &mut de,
        state: &mut state,
        role: Role::Top,
    })?;
    de.end()?;
    if !state.top_map {
        return Err(de::Error::custom("claims must be a JSON object"));
    }
    let observed = (!state.incomplete).then_some((state.observed, state.ids));
    Ok((value, observed))
}

struct State<'de, 'c> {
    issuers: &'c [Box<str>],
    audiences: &'c [Box<str>],
    observed: Observed,
    seen: SeenKeys<'de>,
    /// The registered claim whose value comes next, if any.
    current: Option<Claim>,
    top_map: bool,
    incomplete: bool,
    ids: Option<Ids<'de>>,
}

impl<'de> State<'de, '_> {
    /// Keeps the string value of `jti`, `sid` or `sub` when identifiers are captured.
    fn capture(&mut self, claim: Claim, value: impl FnOnce() -> Cow<'de, str>) {
        if let Some(ids) = &mut self.ids {
            match claim {
                Claim::Jti => ids.jti = Some(value()),
                Claim::Sid => ids.sid = Some(value()),
                Claim::Sub => ids.sub = Some(value()),
                _ => {}
            }
        }
    }

    fn observe_num(&mut self, claim: Claim, value: Num) {
        match claim {
            Claim::Exp => self.observed.exp = value,
            Claim::Nbf => self.observed.nbf = value,
            Claim::Iat => self.observed.iat = value,
            _ => self.observe_wrong_type(claim),
        }
    }

    fn observe_str(&mut self, claim: Claim, value: &str) {
        let found = |set: &[Box<str>]| {
            if set.iter().any(|s| **s == *value) {
                Match::Matched
            } else {
                Match::Unmatched
            }
        };
        match claim {
            Claim::Iss => self.observed.iss = found(self.issuers),
            Claim::Aud => self.observed.aud = found(self.audiences),
            Claim::Sub => self.observed.sub = Match::Matched,
            Claim::Jti | Claim::Sid | Claim::ClientId => {}
            _ => self.observe_num(claim, Num::WrongType),
        }
    }

    fn observe_wrong_type(&mut self, claim: Claim) {
        match claim {
            Claim::Exp => self.observed.exp = Num::WrongType,
            Claim::Nbf => self.observed.nbf = Num::WrongType,
            Claim::Iat => self.observed.iat = Num::WrongType,
            Claim::Iss => self.observed.iss = Match::WrongType,
            Claim::Aud => self.observed.aud = Match::WrongType,
            Claim::Sub => self.observed.sub = Match::WrongType,
            // Identifiers of another type identify nothing.
            Claim::Jti | Claim::Sid | Claim::ClientId => {}
        }
    }

    fn is_observed(&self, claim: Claim) -> bool {
        match claim {
            Claim::Exp => self.observed.exp != Num::Absent,
            Claim::Nbf => self.observed.nbf != Num::Absent,
            Claim::Iat => self.observed.iat != Num::Absent,
            Claim::Iss => self.observed.iss != Match::Absent,
            Claim::Aud => self.observed.aud != Match::Absent,
            Claim::Sub => self.observed.sub != Match::Absent,
            Claim::Jti | Claim::Sid | Claim::ClientId => true,
        }
    }
}

/// What a [`Tap`] is wrapping.
#[derive(Clone, Copy, Debug)]
enum Role {
    /// The payload itself: its map is tapped.
    Top,
    /// A member name.
    Key,
    /// The value of a registered claim.
    Value(Claim),
    /// An element of an `aud` array.
    AudElement,
}

/// The newtype name serde_json gives `RawValue` (serde_json's `raw.rs`, `TOKEN`).
const RAW_VALUE: &str = "$serde_json::private::RawValue";

/// A deserializer that forwards to `inner`, wrapping the visitor so that it observes.
struct Tap<'s, 'de, 'c, D> {
    inner: D,
    state: &'s mut State<'de, 'c>,
    role: Role,
}

/// A visitor that observes, then forwards to `inner`.
struct Watch<'s, 'de, 'c, V> {
    inner: V,
    state: &'s mut State<'de, 'c>,
    role: Role,
}

macro_rules! forward_deserialize {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
                let watch = Watch { inner: visitor, state: self.state, role: self.role };
                self.inner.$method($($arg,)* watch)
            }
        )*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Tap<'_, 'de, '_, D> {
    type Error = D::Error;

    forward_deserialize! {
        deserialize_any();
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
        deserialize_seq();
        deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_map();
        deserialize_struct(name: &'static str, fields: &'static [&'static str]);
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
        deserialize_identifier();
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        // serde_json's `RawValue` (feature `raw_value`, which any crate in a build can turn on)
        // takes its value as raw text, through a private map the observation cannot follow: let
        // the separate pass observe that payload.
        if name == RAW_VALUE {
            self.state.incomplete = true;
        }
        let watch = Watch {
            inner: visitor,
            state: self.state,
            role: self.role,
        };
        self.inner.deserialize_newtype_struct(name, watch)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        match self.role {
            // The payload and registered claims `T` ignores must still be observed: visit them.
            Role::Top | Role::Value(_) | Role::AudElement => self.deserialize_any(visitor),
            Role::Key => {
                let watch = Watch {
                    inner: visitor,
                    state: self.state,
                    role: self.role,
                };
                self.inner.deserialize_ignored_any(watch)
            }
        }
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

impl<'de, V: Visitor<'de>> Watch<'_, 'de, '_, V> {
    fn scalar(&mut self, observe: impl FnOnce(&mut State<'de, '_>, Claim)) {
        match self.role {
            Role::Value(claim) => observe(self.state, claim),
            Role::AudElement => self.state.observed.aud = Match::WrongType,
            Role::Key => self.state.incomplete = true,
            Role::Top => {}
        }
    }

    fn number(&mut self, value: Num) {
        self.scalar(|state, claim| state.observe_num(claim, value));
    }

    fn other(&mut self) {
        self.scalar(|state, claim| state.observe_wrong_type(claim));
    }

    fn string(&mut self, value: &str) -> Result<(), String> {
        match self.role {
            Role::Value(claim) => self.state.observe_str(claim, value),
            Role::AudElement => {
                if self.state.observed.aud == Match::Unmatched
                    && self.state.audiences.iter().any(|a| **a == *value)
                {
                    self.state.observed.aud = Match::Matched;
                }
            }
            Role::Key | Role::Top => {}
        }
        Ok(())
    }

    /// Records a member name (only for `Role::Key`; `name` is built only then).
    fn key(&mut self, name: impl FnOnce() -> Cow<'de, str>) -> Result<(), &'static str> {
        if let Role::Key = self.role {
            let key = name();
            self.state.current = watched(&key, self.state.ids.is_some());
            if !self.state.seen.insert(key) {
                return Err("duplicate claim");
            }
        }
        Ok(())
    }

    /// Captures an identifier's value (only for `jti`, `sid`, `sub` when asked for).
    fn capture(&mut self, value: impl FnOnce() -> Cow<'de, str>) {
        if let (Role::Value(claim), Some(_)) = (self.role, &self.state.ids) {
            self.state.capture(claim, value);
        }
    }
}

macro_rules! forward_visit_number {
    ($($method:ident($ty:ty) => $num:expr;)*) => {
        $(
            fn $method<E: de::Error>(mut self, v: $ty) -> Result<Self::Value, E> {
                #[allow(clippy::redundant_closure_call)]
                self.number(($num)(v));
                self.inner.$method(v)
            }
        )*
    };
}

fn finite(v: f64) -> Num {
    if v.is_finite() {
        Num::Value(v)
    } else {
        Num::WrongType
    }
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Watch<'_, 'de, '_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }

    forward_visit_number! {
        visit_i8(i8) => |v| Num::Value(f64::from(v));
        visit_i16(i16) => |v| Num::Value(f64::from(v));
        visit_i32(i32) => |v| Num::Value(f64::from(v));
        visit_i64(i64) => |v| Num::Value(v as f64);
        visit_i128(i128) => |v| Num::Value(v as f64);
        visit_u8(u8) => |v| Num::Value(f64::from(v));
        visit_u16(u16) => |v| Num::Value(f64::from(v));
        visit_u32(u32) => |v| Num::Value(f64::from(v));
        visit_u64(u64) => |v| Num::Value(v as f64);
        visit_u128(u128) => |v| Num::Value(v as f64);
        visit_f32(f32) => |v| finite(f64::from(v));
        visit_f64(f64) => finite;
    }

    fn visit_bool<E: de::Error>(mut self, v: bool) -> Result<Self::Value, E> {
        self.other();
        self.inner.visit_bool(v)
    }

    fn visit_char<E: de::Error>(self, v: char) -> Result<Self::Value, E> {
        // serde_json never produces a char; treat it as unobserved.
        self.state.incomplete = true;
        self.inner.visit_char(v)
    }

    fn visit_str<E: de::Error>(mut self, v: &str) -> Result<Self::Value, E> {
        self.key(|| Cow::Owned(v.to_owned())).map_err(E::custom)?;
        self.string(v).map_err(E::custom)?;
        self.capture(|| Cow::Owned(v.to_owned()));
        self.inner.visit_str(v)
    }

    fn visit_borrowed_str<E: de::Error>(mut self, v: &'de str) -> Result<Self::Value, E> {
        self.key(|| Cow::Borrowed(v)).map_err(E::custom)?;
        self.string(v).map_err(E::custom)?;
        self.capture(|| Cow::Borrowed(v));
        self.inner.visit_borrowed_str(v)
    }

    fn visit_string<E: de::Error>(mut self, v: String) -> Result<Self::Value, E> {
        self.key(|| Cow::Owned(v.clone())).map_err(E::custom)?;
        self.string(&v).map_err(E::custom)?;
        self.capture(|| Cow::Owned(v.clone()));
        self.inner.visit_string(v)
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
        self.state.incomplete = true;
        self.inner.visit_bytes(v)
    }

    fn visit_borrowed_bytes<E: de::Error>(self, v: &'de [u8]) -> Result<Self::Value, E> {
        self.state.incomplete = true;
        self.inner.visit_borrowed_bytes(v)
    }

    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Self::Value, E> {
        self.state.incomplete = true;
        self.inner.visit_byte_buf(v)
    }

    fn visit_none<E: de::Error>(mut self) -> Result<Self::Value, E> {
        self.other();
        self.inner.visit_none()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        self.inner.visit_some(Tap {
            inner: deserializer,
            state: self.state,
            role: self.role,
        })
    }

    fn visit_unit<E: de::Error>(mut self) -> Result<Self::Value, E> {
        self.other();
        self.inner.visit_unit()
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        self.inner.visit_newtype_struct(Tap {
            inner: deserializer,
            state: self.state,
            role: self.role,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, seq: A) -> Result<Self::Value, A::Error> {
        match self.role {
            Role::Value(Claim::Aud) => {
                self.state.observed.aud = Match::Unmatched;
                self.inner.visit_seq(AudSeq {
                    inner: seq,
                    state: self.state,
                })
            }
            _ => {
                self.other();
                self.inner.visit_seq(seq)
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(mut self, map: A) -> Result<Self::Value, A::Error> {
        match self.role {
            Role::Top => {
                self.state.top_map = true;
                self.inner.visit_map(TapMap {
                    inner: map,
                    state: self.state,
                })
            }
            _ => {
                self.other();
                self.inner.visit_map(map)
            }
        }
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
        self.state.incomplete = true;
        self.inner.visit_enum(data)
    }
}

/// The top-level object: taps every key, and the values of registered claims.
struct TapMap<'s, 'de, 'c, A> {
    inner: A,
    state: &'s mut State<'de, 'c>,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for TapMap<'_, 'de, '_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, A::Error> {
        self.state.current = None;
        let before = self.state.seen.len();
        let key = self.inner.next_key_seed(TapSeed {
            inner: seed,
            state: &mut *self.state,
            role: Role::Key,
        })?;
        if key.is_some() && self.state.seen.len() == before {
            // The key reached `T` without passing through a string visit.
            self.state.incomplete = true;
        }
        Ok(key)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        match self.state.current.take() {
            Some(claim) => {
                let value = self.inner.next_value_seed(TapSeed {
                    inner: seed,
                    state: &mut *self.state,
                    role: Role::Value(claim),
                })?;
                if !self.state.is_observed(claim) {
                    self.state.incomplete = true;
                }
                Ok(value)
            }
            None => self.inner.next_value_seed(seed),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

/// The elements of an `aud` array.
struct AudSeq<'s, 'de, 'c, A> {
    inner: A,
    state: &'s mut State<'de, 'c>,
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for AudSeq<'_, 'de, '_, A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, A::Error> {
        self.inner.next_element_seed(TapSeed {
            inner: seed,
            state: &mut *self.state,
            role: Role::AudElement,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

struct TapSeed<'s, 'de, 'c, S> {
    inner: S,
    state: &'s mut State<'de, 'c>,
    role: Role,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for TapSeed<'_, 'de, '_, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        self.inner.deserialize(Tap {
            inner: deserializer,
            state: self.state,
            role: self.role,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;
    use serde::Deserialize;

    use super::*;
    use crate::token::claims::ObservedSeed;
    use crate::{NumericDate, RegisteredClaims};

    const ISS: &[&str] = &["https://issuer", "other"];
    const AUD: &[&str] = &["api"];

    fn boxed(v: &[&str]) -> Vec<Box<str>> {
        v.iter().map(|s| (*s).into()).collect()
    }

    /// The tap's observation, when complete, must equal the separate pass's.
    fn agrees<T: de::DeserializeOwned>(payload: &str) -> Result<(), TestCaseError> {
        let (iss, aud) = (boxed(ISS), boxed(AUD));
        let slow = ObservedSeed {
            issuers: &iss,
            audiences: &aud,
            capture_ids: false,
        }
        .read(payload);
        match deserialize::<T>(payload, &iss, &aud, false) {
            Ok((_, Some((fast, _)))) => {
                let slow = slow.map_err(|e| TestCaseError::fail(format!("slow failed: {e} on {payload}")))?;
                prop_assert_eq!(format!("{fast:?}"), format!("{slow:?}"), "{}", payload);
            }
            Ok((_, None)) => {}
            // `T` refused it: the caller then relies on the slow pass alone.
            Err(_) => {}
        }
        Ok(())
    }

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Typical {
        sub: String,
        exp: i64,
        #[serde(default)]
        aud: Option<crate::Audience>,
        role: String,
    }

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Flattened {
        #[serde(flatten)]
        registered: RegisteredClaims,
        #[serde(default)]
        role: Option<String>,
    }

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct OnlyRole {
        #[serde(default)]
        role: Option<String>,
    }

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Dates {
        #[serde(default)]
        exp: Option<NumericDate>,
        #[serde(default)]
        nbf: Option<f64>,
        #[serde(default)]
        iat: Option<serde_json::Value>,
    }

    fn check_all(payload: &str) -> Result<(), TestCaseError> {
        agrees::<Typical>(payload)?;
        agrees::<Flattened>(payload)?;
        agrees::<OnlyRole>(payload)?;
        agrees::<Dates>(payload)?;
        agrees::<serde_json::Value>(payload)?;
        agrees::<HashMap<String, serde_json::Value>>(payload)?;
        agrees::<serde::de::IgnoredAny>(payload)?;
        Ok(())
    }

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("1700000000".to_owned()),
            Just("-5".to_owned()),
            Just("1.5e9".to_owned()),
            Just("18446744073709551615".to_owned()),
            Just("true".to_owned()),
            Just("null".to_owned()),
            Just("\"api\"".to_owned()),
            Just("\"https://issuer\"".to_owned()),
            Just("\"\\u0061pi\"".to_owned()),
            Just("[\"x\",\"api\"]".to_owned()),
            Just("[\"x\",1]".to_owned()),
            Just("[]".to_owned()),
            Just("{\"a\":[1,{\"b\":null}]}".to_owned()),
            "[a-z]{0,5}".prop_map(|s| format!("\"{s}\"")),
        ]
    }

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("exp".to_owned()),
            Just("nbf".to_owned()),
            Just("iat".to_owned()),
            Just("iss".to_owned()),
            Just("aud".to_owned()),
            Just("sub".to_owned()),
            Just("role".to_owned()),
            Just("\\u0065xp".to_owned()),
            "[a-z]{1,4}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn the_one_pass_observation_agrees_with_the_separate_pass(
            members in proptest::collection::vec((key(), value()), 0..8)
        ) {
            let body: Vec<String> = members.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
            check_all(&format!("{{{}}}", body.join(",")))?;
        }
    }

    #[test]
    fn duplicates_and_non_objects_abort_the_one_pass() {
        let (iss, aud) = (boxed(ISS), boxed(AUD));
        for payload in [
            r#"{"exp":1,"exp":2}"#,
            r#"{"exp":1,"\u0065xp":2}"#,
            "[1]",
            "1",
            r#"{"a":1,"a":2}"#,
        ] {
            assert!(
                deserialize::<serde_json::Value>(payload, &iss, &aud, false).is_err(),
                "{payload}"
            );
        }
    }

    #[test]
    fn a_type_that_ignores_everything_is_still_observed() {
        let (iss, aud) = (boxed(ISS), boxed(AUD));
        let (_, observed) =
            deserialize::<serde::de::IgnoredAny>(r#"{"exp":5,"x":[1]}"#, &iss, &aud, false).unwrap();
        assert_eq!(observed.expect("complete").0.exp, Num::Value(5.0));
    }

    #[test]
    fn identifiers_are_captured_only_when_asked_for() {
        let (iss, aud) = (boxed(ISS), boxed(AUD));
        let payload = r#"{"sub":"a\u0062","exp":10,"jti":"j1","sid":"s1","role":"r"}"#;
        let (_, observed) = deserialize::<Typical>(payload, &iss, &aud, true).unwrap();
        let ids = observed.expect("complete").1.expect("captured");
        assert_eq!(ids.jti.as_deref(), Some("j1"));
        assert_eq!(ids.sid.as_deref(), Some("s1"));
        assert_eq!(ids.sub.as_deref(), Some("ab"));
        let (_, observed) = deserialize::<Typical>(payload, &iss, &aud, false).unwrap();
        assert!(observed.expect("complete").1.is_none());
        // A duplicate jti is still refused when it is watched.
        assert!(deserialize::<serde_json::Value>(r#"{"jti":"a","jti":"b"}"#, &iss, &aud, true).is_err());
    }

    #[test]
    fn typical_claims_are_observed_in_one_pass() {
        let (iss, aud) = (boxed(ISS), boxed(AUD));
        let payload = r#"{"sub":"a","exp":10,"iss":"other","aud":["x","api"],"role":"r"}"#;
        let (_, observed) = deserialize::<Typical>(payload, &iss, &aud, false).unwrap();
        let (o, _) = observed.expect("complete");
        assert_eq!(o.exp, Num::Value(10.0));
        assert_eq!(o.iss, Match::Matched);
        assert_eq!(o.aud, Match::Matched);
        assert_eq!(o.sub, Match::Matched);
    }
}
