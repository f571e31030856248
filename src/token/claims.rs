//! Registered claims (RFC 7519 §4.1): the zero-allocation reader used for validation, and the
//! public [`RegisteredClaims`] type applications can flatten into their own claims.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::json::{drain_seq, MaybeText, SeenKeys, Text};
use crate::Claim;

/// A NumericDate claim as read for validation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Num {
    Absent,
    WrongType,
    Value(f64),
}

/// A string-valued claim checked against a configured set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Match {
    Absent,
    WrongType,
    Matched,
    Unmatched,
}

/// The claim named `name` that the readers watch (the names are [`Claim`]'s); `jti` and `sid`
/// only when the identifiers are captured.
pub(crate) fn watched(name: &str, capture_ids: bool) -> Option<Claim> {
    match Claim::from_name(name)? {
        Claim::Jti | Claim::Sid if !capture_ids => None,
        claim => Some(claim),
    }
}

/// What validation needs from the payload, read in one pass.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Observed {
    pub(crate) exp: Num,
    pub(crate) nbf: Num,
    pub(crate) iat: Num,
    pub(crate) iss: Match,
    pub(crate) aud: Match,
    /// `Matched` means "present and a string".
    pub(crate) sub: Match,
}

impl Observed {
    /// Nothing seen yet.
    pub(crate) const ABSENT: Self = Self {
        exp: Num::Absent,
        nbf: Num::Absent,
        iat: Num::Absent,
        iss: Match::Absent,
        aud: Match::Absent,
        sub: Match::Absent,
    };
}

/// The identifying claims captured for the checks after validation (only when asked for): the
/// string values of `jti`, `sid` and `sub`.
#[derive(Debug, Default)]
pub(crate) struct Ids<'p> {
    pub(crate) jti: Option<Cow<'p, str>>,
    pub(crate) sid: Option<Cow<'p, str>>,
    pub(crate) sub: Option<Cow<'p, str>>,
}

/// Reads the registered claims of a payload object, refusing duplicate members, checking `iss`
/// and `aud` against the configured values as they stream past, and with `capture_ids` keeping
/// the identifiers.
pub(crate) struct ObservedSeed<'c> {
    pub(crate) issuers: &'c [Box<str>],
    pub(crate) audiences: &'c [Box<str>],
    pub(crate) capture_ids: bool,
}

impl ObservedSeed<'_> {
    /// Reads a payload already checked to be UTF-8.
    #[cfg(test)]
    pub(crate) fn read(self, payload: &str) -> Result<Observed, serde_json::Error> {
        self.read_ids(payload).map(|(observed, _)| observed)
    }

    /// Reads a payload already checked to be UTF-8, with the identifiers when asked for.
    pub(crate) fn read_ids(self, payload: &str) -> Result<(Observed, Option<Ids<'_>>), serde_json::Error> {
        let mut de = serde_json::Deserializer::from_str(payload);
        let observed = self.deserialize(&mut de)?;
        de.end()?;
        Ok(observed)
    }
}

impl<'de> DeserializeSeed<'de> for ObservedSeed<'_> {
    type Value = (Observed, Option<Ids<'de>>);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ObservedSeed<'_> {
    type Value = (Observed, Option<Ids<'de>>);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JWT claims object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut seen = SeenKeys::new();
        let mut ids = self.capture_ids.then(Ids::default);
        let mut o = Observed::ABSENT;
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            match watched(&key, ids.is_some()) {
                Some(claim) => map.next_value_seed(Member {
                    claim,
                    observed: &mut o,
                    ids: &mut ids,
                    issuers: self.issuers,
                    audiences: self.audiences,
                })?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            if !seen.insert(key) {
                return Err(de::Error::custom("duplicate claim"));
            }
        }
        Ok((o, ids))
    }
}

/// Observes the value of one watched claim: the one rule for every reader of the payload.
pub(crate) struct Member<'s, 'c, 'de> {
    pub(crate) claim: Claim,
    pub(crate) observed: &'s mut Observed,
    pub(crate) ids: &'s mut Option<Ids<'de>>,
    pub(crate) issuers: &'c [Box<str>],
    pub(crate) audiences: &'c [Box<str>],
}

impl<'de> DeserializeSeed<'de> for Member<'_, '_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let o = self.observed;
        match self.claim {
            Claim::Exp => o.exp = NumValue::deserialize(d)?.0,
            Claim::Nbf => o.nbf = NumValue::deserialize(d)?.0,
            Claim::Iat => o.iat = NumValue::deserialize(d)?.0,
            Claim::Iss => {
                o.iss = match MaybeText::deserialize(d)? {
                    MaybeText::Text(iss) if contains(self.issuers, &iss) => Match::Matched,
                    MaybeText::Text(_) => Match::Unmatched,
                    MaybeText::WrongType => Match::WrongType,
                }
            }
            Claim::Aud => o.aud = AudSeed(self.audiences).deserialize(d)?,
            Claim::Sub => {
                o.sub = match MaybeText::deserialize(d)? {
                    MaybeText::Text(sub) => {
                        if let Some(ids) = self.ids {
                            ids.sub = Some(sub);
                        }
                        Match::Matched
                    }
                    MaybeText::WrongType => Match::WrongType,
                }
            }
            id @ (Claim::Jti | Claim::Sid) => {
                if let (MaybeText::Text(value), Some(ids)) = (MaybeText::deserialize(d)?, self.ids) {
                    if id == Claim::Jti {
                        ids.jti = Some(value);
                    } else {
                        ids.sid = Some(value);
                    }
                }
            }
            // Never watched (see `Claim::from_name`).
            Claim::ClientId => {
                IgnoredAny::deserialize(d)?;
            }
        }
        Ok(())
    }
}

fn contains(set: &[Box<str>], value: &str) -> bool {
    set.iter().any(|s| **s == *value)
}

/// A NumericDate: an integer or a finite number of seconds. Strings, booleans, `null`, arrays
/// and objects are a wrong type, never "absent".
struct NumValue(Num);

impl<'de> Deserialize<'de> for NumValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NumVisitor).map(NumValue)
    }
}

struct NumVisitor;

impl<'de> Visitor<'de> for NumVisitor {
    type Value = Num;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a NumericDate")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Num, E> {
        Ok(Num::Value(v as f64))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Num, E> {
        Ok(Num::Value(v as f64))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Num, E> {
        Ok(if v.is_finite() {
            Num::Value(v)
        } else {
            Num::WrongType
        })
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Num, E> {
        Ok(Num::WrongType)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Num, E> {
        Ok(Num::WrongType)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Num, E> {
        Ok(Num::WrongType)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Num, A::Error> {
        drain_seq(&mut seq)?;
        Ok(Num::WrongType)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Num, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Num::WrongType)
    }
}

/// `aud`: a string or an array of strings (RFC 7519 §4.1.3), matched against the configured set.
struct AudSeed<'c>(&'c [Box<str>]);

impl<'de> DeserializeSeed<'de> for AudSeed<'_> {
    type Value = Match;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Match, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for AudSeed<'_> {
    type Value = Match;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or an array of strings")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Match, E> {
        Ok(if contains(self.0, v) {
            Match::Matched
        } else {
            Match::Unmatched
        })
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Match, A::Error> {
        let mut result = Match::Unmatched;
        while let Some(item) = seq.next_element::<MaybeText<'de>>()? {
            match item {
                MaybeText::Text(aud) if result == Match::Unmatched && contains(self.0, &aud) => {
                    result = Match::Matched;
                }
                MaybeText::Text(_) => {}
                MaybeText::WrongType => {
                    drain_seq(&mut seq)?;
                    return Ok(Match::WrongType);
                }
            }
        }
        Ok(result)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Match, E> {
        Ok(Match::WrongType)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Match, E> {
        Ok(Match::WrongType)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Match, E> {
        Ok(Match::WrongType)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Match, E> {
        Ok(Match::WrongType)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Match, E> {
        Ok(Match::WrongType)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Match, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Match::WrongType)
    }
}

/// A NumericDate (RFC 7519 §2): seconds since the Unix epoch.
///
/// Deserializes from an integer or a finite float (rounded down); serializes as an integer.
///
/// ```
/// use tower_jwt_auth::NumericDate;
///
/// let d: NumericDate = serde_json::from_str("1700000000.9").unwrap();
/// assert_eq!(d.as_secs(), 1_700_000_000);
/// assert_eq!(serde_json::to_string(&d).unwrap(), "1700000000");
/// assert!(serde_json::from_str::<NumericDate>("\"1700000000\"").is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NumericDate(i64);

impl NumericDate {
    /// A date from seconds since the Unix epoch.
    #[must_use]
    pub const fn from_secs(secs: i64) -> Self {
        Self(secs)
    }

    /// Seconds since the Unix epoch.
    #[must_use]
    pub const fn as_secs(self) -> i64 {
        self.0
    }

    /// The current time, from the system clock.
    #[must_use]
    pub fn now() -> Self {
        Self(i64::try_from(crate::time::system_now()).unwrap_or(i64::MAX))
    }
}

impl Serialize for NumericDate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(self.0)
    }
}

impl<'de> Deserialize<'de> for NumericDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = NumericDate;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a NumericDate (a number of seconds)")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<NumericDate, E> {
                Ok(NumericDate(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<NumericDate, E> {
                Ok(NumericDate(i64::try_from(v).unwrap_or(i64::MAX)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<NumericDate, E> {
                if v.is_finite() {
                    // `as` saturates at the i64 bounds.
                    Ok(NumericDate(v.floor() as i64))
                } else {
                    Err(E::custom("non-finite NumericDate"))
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// The `aud` claim: one audience or several (RFC 7519 §4.1.3).
///
/// Type `aud` with this in your claims, never as `String`: identity providers send arrays
/// (`"aud": ["api", "other"]`), and a `String` field would refuse such a token as "invalid
/// claims" although its audience is right. The layer has already checked that one of the
/// values is a configured audience ([`Validation::audience`](crate::Validation::audience)); most
/// claims types need not read `aud` at all.
///
/// ```
/// use tower_jwt_auth::Audience;
///
/// #[derive(serde::Deserialize)]
/// struct MyClaims { sub: String, aud: Option<Audience> }
///
/// let c: MyClaims = serde_json::from_str(r#"{"sub":"a","aud":["billing","orders"]}"#)?;
/// assert!(c.aud.is_some_and(|aud| aud.contains("orders")));
/// let c: MyClaims = serde_json::from_str(r#"{"sub":"a","aud":"orders"}"#)?;
/// assert_eq!(c.aud, Some(Audience::One("orders".into())));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Audience {
    /// A single string.
    One(String),
    /// An array of strings.
    Many(Vec<String>),
}

impl Audience {
    /// Whether `aud` names `audience`.
    #[must_use]
    pub fn contains(&self, audience: &str) -> bool {
        match self {
            Self::One(a) => a == audience,
            Self::Many(all) => all.iter().any(|a| a == audience),
        }
    }
}

impl Serialize for Audience {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::One(a) => s.serialize_str(a),
            Self::Many(all) => all.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Audience {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Audience;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Audience, E> {
                Ok(Audience::One(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Audience, E> {
                Ok(Audience::One(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Audience, A::Error> {
                let mut all = Vec::new();
                while let Some(a) = seq.next_element::<String>()? {
                    all.push(a);
                }
                Ok(Audience::Many(all))
            }
        }
        d.deserialize_any(V)
    }
}

/// The registered claims of RFC 7519 §4.1, plus OAuth's `scope` (RFC 9068 §2.2.3).
///
/// Use it alone, or flatten it into an application's claims type:
///
/// ```
/// use serde::Deserialize;
/// use tower_jwt_auth::RegisteredClaims;
///
/// #[derive(Clone, Debug, Deserialize)]
/// struct MyClaims {
///     #[serde(flatten)]
///     registered: RegisteredClaims,
///     role: String,
/// }
///
/// let c: MyClaims = serde_json::from_str(r#"{"sub":"alice","exp":1700000000,"role":"admin"}"#).unwrap();
/// assert_eq!(c.registered.sub.as_deref(), Some("alice"));
/// assert_eq!(c.role, "admin");
/// ```
///
/// (Flattening makes serde buffer the payload; a plain struct with the fields it needs is
/// faster.)
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RegisteredClaims {
    /// Issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Audience.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
    /// Expiration time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<NumericDate>,
    /// Not before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<NumericDate>,
    /// Issued at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<NumericDate>,
    /// JWT ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// OAuth scopes (RFC 9068 `scope`, space-delimited; an array is read too), the same type
    /// the scope guard [`RequireClaimsLayer::scopes`](crate::RequireClaimsLayer::scopes) reads.
    #[serde(default, skip_serializing_if = "Scopes::is_empty")]
    pub scope: Scopes,
}

impl RegisteredClaims {
    /// Empty claims; set the fields you need.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

/// OAuth scopes: from a space-delimited string (RFC 6749 §3.3, RFC 9068 `scope`) or an array of
/// strings (the `scp` claim of some providers). A missing claim is no scopes (`#[serde(default)]`).
///
/// ```
/// use tower_jwt_auth::Scopes;
///
/// let s: Scopes = serde_json::from_str(r#""orders:read orders:write""#).unwrap();
/// assert!(s.contains("orders:write"));
/// let a: Scopes = serde_json::from_str(r#"["orders:read"]"#).unwrap();
/// assert!(a.contains("orders:read") && !a.contains("orders:write"));
/// let none: Scopes = serde_json::from_str("null").unwrap();
/// assert!(none.is_empty());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scopes(Vec<String>);

impl Scopes {
    /// Whether `scope` was granted.
    #[must_use]
    pub fn contains(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s == scope)
    }

    /// The granted scopes.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// Whether no scope was granted.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<S: Into<String>> FromIterator<S> for Scopes {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        Self(iter.into_iter().map(Into::into).collect())
    }
}

impl Serialize for Scopes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.join(" "))
    }
}

impl<'de> Deserialize<'de> for Scopes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scopes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a space-delimited string or an array of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scopes, E> {
                Ok(v.split(' ').filter(|s| !s.is_empty()).collect())
            }
            // `"scope": null` grants nothing (as an absent claim does).
            fn visit_unit<E: de::Error>(self) -> Result<Scopes, E> {
                Ok(Scopes::default())
            }
            fn visit_none<E: de::Error>(self) -> Result<Scopes, E> {
                Ok(Scopes::default())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scopes, A::Error> {
                let mut all = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    all.push(s);
                }
                Ok(Scopes(all))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str, iss: &[&str], aud: &[&str]) -> Result<Observed, serde_json::Error> {
        let issuers: Vec<Box<str>> = iss.iter().map(|s| (*s).into()).collect();
        let audiences: Vec<Box<str>> = aud.iter().map(|s| (*s).into()).collect();
        ObservedSeed {
            issuers: &issuers,
            audiences: &audiences,
            capture_ids: false,
        }
        .read(json)
    }

    #[test]
    fn numeric_dates_accept_integers_and_floats_only() {
        let o = read(r#"{"exp":10,"nbf":1.5,"iat":-3}"#, &[], &[]).unwrap();
        assert_eq!(o.exp, Num::Value(10.0));
        assert_eq!(o.nbf, Num::Value(1.5));
        assert_eq!(o.iat, Num::Value(-3.0));
        for bad in [r#""10""#, "true", "null", "[10]", r#"{"a":1}"#] {
            let o = read(&format!(r#"{{"exp":{bad}}}"#), &[], &[]).unwrap();
            assert_eq!(o.exp, Num::WrongType, "{bad}");
        }
    }

    #[test]
    fn audiences_match_as_string_or_array() {
        assert_eq!(
            read(r#"{"aud":"api"}"#, &[], &["api"]).unwrap().aud,
            Match::Matched
        );
        assert_eq!(
            read(r#"{"aud":["x","api"]}"#, &[], &["api"]).unwrap().aud,
            Match::Matched
        );
        assert_eq!(
            read(r#"{"aud":["x"]}"#, &[], &["api"]).unwrap().aud,
            Match::Unmatched
        );
        assert_eq!(
            read(r#"{"aud":[]}"#, &[], &["api"]).unwrap().aud,
            Match::Unmatched
        );
        assert_eq!(
            read(r#"{"aud":["api",1]}"#, &[], &["api"]).unwrap().aud,
            Match::WrongType
        );
        assert_eq!(read(r#"{"aud":7}"#, &[], &["api"]).unwrap().aud, Match::WrongType);
        assert_eq!(read(r#"{}"#, &[], &["api"]).unwrap().aud, Match::Absent);
    }

    #[test]
    fn duplicate_claims_are_refused() {
        assert!(read(r#"{"exp":1,"exp":2}"#, &[], &[]).is_err());
        assert!(read(r#"{"role":"user","role":"admin"}"#, &[], &[]).is_err());
    }

    #[test]
    fn the_payload_must_be_a_json_object() {
        for bad in ["[]", "1", r#""x""#, "null", "{} {}", "", "{"] {
            assert!(read(bad, &[], &[]).is_err(), "{bad}");
        }
    }

    #[test]
    fn registered_claims_round_trip() {
        let c = RegisteredClaims {
            sub: Some("alice".into()),
            aud: Some(Audience::Many(vec!["a".into(), "b".into()])),
            exp: Some(NumericDate::from_secs(5)),
            ..RegisteredClaims::new()
        };
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(json, r#"{"sub":"alice","aud":["a","b"],"exp":5}"#);
        assert_eq!(serde_json::from_str::<RegisteredClaims>(&json).unwrap(), c);
    }
}
