//! The reader against serde_json: whatever it accepts, serde_json accepts with the same claims
//! and the same observation; whatever serde_json refuses, it declines.

use std::collections::{BTreeMap, HashMap};

use proptest::prelude::*;
use serde::Deserialize;

use super::*;
use crate::token::claims::ObservedSeed;
use crate::{Audience, NumericDate, RegisteredClaims};

const ISS: &[&str] = &["https://issuer", "other"];
const AUD: &[&str] = &["api"];

fn boxed(v: &[&str]) -> Vec<Box<str>> {
    v.iter().map(|s| (*s).into()).collect()
}

/// The reader's answer, checked against serde_json and the separate pass.
fn differential<T>(payload: &str, capture_ids: bool) -> Result<bool, TestCaseError>
where
    T: DeserializeOwned + PartialEq + fmt::Debug,
{
    let (iss, aud) = (boxed(ISS), boxed(AUD));
    let slow_claims = serde_json::from_str::<T>(payload);
    let slow_observed = ObservedSeed {
        issuers: &iss,
        audiences: &aud,
        capture_ids,
    }
    .read_ids(payload);
    match deserialize::<T>(payload, &iss, &aud, capture_ids) {
        Ok((claims, observed, ids)) => {
            let slow_claims = slow_claims.map_err(|e| {
                TestCaseError::fail(format!("serde_json refused what the reader took: {e}: {payload}"))
            })?;
            prop_assert_eq!(&claims, &slow_claims, "{}", payload);
            let (slow_observed, slow_ids) = slow_observed
                .map_err(|e| TestCaseError::fail(format!("the separate pass refused: {e}: {payload}")))?;
            prop_assert_eq!(
                format!("{observed:?}"),
                format!("{slow_observed:?}"),
                "{}",
                payload
            );
            prop_assert_eq!(format!("{ids:?}"), format!("{slow_ids:?}"), "{}", payload);
            Ok(true)
        }
        Err(Declined) => Ok(false),
    }
}

/// The reader's answer alone, against the test issuers and audiences.
fn read<T: DeserializeOwned>(payload: &str, capture_ids: bool) -> Result<Read<'_, T>, Declined> {
    deserialize::<T>(payload, &boxed(ISS), &boxed(AUD), capture_ids)
}

#[derive(Debug, PartialEq, Deserialize)]
struct Typical {
    sub: String,
    exp: i64,
    #[serde(default)]
    aud: Option<Audience>,
    #[serde(default)]
    role: Option<String>,
}

#[derive(Debug, PartialEq, Deserialize)]
struct Flattened {
    #[serde(flatten)]
    registered: RegisteredClaims,
    #[serde(default)]
    role: Option<String>,
}

#[derive(Debug, PartialEq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Role {
    Admin,
    User,
}

#[derive(Debug, PartialEq, Deserialize)]
struct Typed {
    #[serde(default)]
    exp: Option<NumericDate>,
    #[serde(default)]
    role: Option<Role>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    nested: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default)]
    small: Option<u8>,
    #[serde(default)]
    flag: Option<bool>,
    #[serde(default)]
    pair: Option<(i32, String)>,
    #[serde(default)]
    unit: Option<()>,
}

#[derive(Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Strict {
    sub: String,
    #[serde(default)]
    exp: Option<u64>,
}

fn all(payload: &str) -> Result<(), TestCaseError> {
    differential::<Typical>(payload, false)?;
    differential::<Typical>(payload, true)?;
    differential::<Flattened>(payload, false)?;
    differential::<Typed>(payload, false)?;
    differential::<Strict>(payload, true)?;
    differential::<serde_json::Value>(payload, true)?;
    differential::<HashMap<String, serde_json::Value>>(payload, false)?;
    differential::<BTreeMap<String, String>>(payload, false)?;
    Ok(())
}

fn value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("1700000000".to_owned()),
        Just("-5".to_owned()),
        Just("-0".to_owned()),
        Just("0".to_owned()),
        Just("007".to_owned()),
        Just("1.5e9".to_owned()),
        Just("1E2".to_owned()),
        Just("-9223372036854775808".to_owned()),
        Just("-9223372036854775809".to_owned()),
        Just("18446744073709551615".to_owned()),
        Just("18446744073709551616".to_owned()),
        Just("255".to_owned()),
        Just("256".to_owned()),
        Just("true".to_owned()),
        Just("false".to_owned()),
        Just("null".to_owned()),
        Just("nul".to_owned()),
        Just("\"api\"".to_owned()),
        Just("\"admin\"".to_owned()),
        Just("\"https://issuer\"".to_owned()),
        Just("\"https:\\/\\/issuer\"".to_owned()),
        Just("\"\\u0061pi\"".to_owned()),
        Just("\"\\ud83d\\ude00\"".to_owned()),
        Just("\"\\ud83d\"".to_owned()),
        Just("\"\\ude00x\"".to_owned()),
        Just("\"\\x\"".to_owned()),
        Just("\"a\u{1}b\"".to_owned()),
        Just("\"tab\\tnew\\nline\\\\\\\"\"".to_owned()),
        Just("\"é漢\"".to_owned()),
        Just("\"unterminated".to_owned()),
        "[a-z \\\\\"]{0,12}".prop_map(|s| format!("\"{s}\"")),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            proptest::collection::vec(inner.clone(), 1..3).prop_map(|v| format!("[{},]", v.join(","))),
            proptest::collection::vec((key(), inner), 0..3).prop_map(|v| {
                let members: Vec<String> = v.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                format!("{{{}}}", members.join(","))
            }),
        ]
    })
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("exp".to_owned()),
        Just("nbf".to_owned()),
        Just("iat".to_owned()),
        Just("iss".to_owned()),
        Just("aud".to_owned()),
        Just("sub".to_owned()),
        Just("jti".to_owned()),
        Just("sid".to_owned()),
        Just("client_id".to_owned()),
        Just("role".to_owned()),
        Just("roles".to_owned()),
        Just("nested".to_owned()),
        Just("small".to_owned()),
        Just("flag".to_owned()),
        Just("pair".to_owned()),
        Just("unit".to_owned()),
        Just("\\u0065xp".to_owned()),
        Just("su\\u0062".to_owned()),
        "[a-z]{1,4}",
    ]
}

fn whitespace() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just(" ".to_owned()),
        Just("\n\t\r ".to_owned()),
        Just("\u{b}".to_owned()),
        Just("\u{a0}".to_owned()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn whatever_the_reader_accepts_serde_json_reads_the_same(
        members in proptest::collection::vec((key(), value()), 0..8),
        ws in whitespace(),
        trailing in prop_oneof![Just(""), Just(" "), Just(","), Just("}"), Just(" x")],
    ) {
        let body: Vec<String> = members.iter().map(|(k, v)| format!("{ws}\"{k}\"{ws}:{ws}{v}{ws}")).collect();
        all(&format!("{ws}{{{}}}{trailing}", body.join(",")))?;
    }

    #[test]
    fn arbitrary_text_never_reads_differently(payload in "[{}\\[\\]\",:a-z0-9.eE+\\- \\\\]{0,40}") {
        all(&payload)?;
    }
}

#[test]
fn the_typical_payload_is_read_here() {
    let payload = r#"{"sub":"user-1","name":"A","role":"admin","iat":1700000000,"exp":4102444800,"iss":"https://issuer","aud":"api"}"#;
    assert!(differential::<Typical>(payload, false).unwrap());
    assert!(differential::<serde_json::Value>(payload, true).unwrap());
    let escaped = r#"{"sub":"us\u0065r","exp":5,"iss":"https:\/\/issuer","aud":["x","api"]}"#;
    assert!(differential::<Typical>(escaped, true).unwrap());
    assert!(differential::<Typed>(
        r#"{"role":"user","roles":["a"],"pair":[1,"b"],"unit":null,"small":255}"#,
        false
    )
    .unwrap());
}

#[test]
fn what_is_outside_the_subset_is_declined() {
    for payload in [
        r#"{"exp":1.5}"#,
        r#"{"exp":-0}"#,
        r#"{"exp":18446744073709551616}"#,
        r#"{"a":1,"a":2}"#,
        r#"{"exp":1,"\u0065xp":2}"#,
        r#"{"sub":"\ud800"}"#,
        "{\"sub\":\"a\u{0}\"}",
        r#"{"a":[1,]}"#,
        r#"{"a":1,}"#,
        r#"{"a":1} x"#,
        "[1]",
        "1",
        "",
    ] {
        assert_eq!(
            read::<serde_json::Value>(payload, true).err(),
            Some(Declined),
            "{payload}"
        );
    }
    let deep = format!("{{\"a\":{}{}}}", "[".repeat(70), "]".repeat(70));
    assert_eq!(read::<serde_json::Value>(&deep, false).err(), Some(Declined));
    // A float is fine where it is skipped.
    assert!(differential::<Strict>(r#"{"sub":"a","exp":5}"#, false).unwrap());
    assert!(differential::<Typical>(r#"{"sub":"a","exp":5,"x":[1.5e3,{"y":-0.25}]}"#, false).unwrap());
}

#[test]
fn raw_values_are_left_to_serde_json() {
    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Raw {
        extra: Box<serde_json::value::RawValue>,
    }
    assert!(read::<Raw>(r#"{"extra":{"a":1}}"#, false).is_err());
}

/// A `deserialize_with` that falls back to the default on any error, as many claims types do.
fn or_default<'de, D: serde::Deserializer<'de>, V: Deserialize<'de> + Default>(d: D) -> Result<V, D::Error> {
    Ok(V::deserialize(d).unwrap_or_default())
}

#[derive(Debug, PartialEq, Deserialize)]
struct Forgiving {
    #[serde(default, deserialize_with = "or_default")]
    score: f64,
    #[serde(default, deserialize_with = "or_default")]
    nbf: i128,
    #[serde(default, deserialize_with = "or_default")]
    sub: Option<Role>,
}

#[test]
fn an_error_that_t_swallows_still_declines_the_payload() {
    for payload in [
        r#"{"score":-0}"#,
        r#"{"score":-9223372036854775809}"#,
        r#"{"nbf":5}"#,
        r#"{"sub":5}"#,
    ] {
        assert_eq!(
            read::<Forgiving>(payload, false).err(),
            Some(Declined),
            "{payload}"
        );
        // serde_json then decides, whatever it decides.
        differential::<Forgiving>(payload, false).unwrap();
    }
    // What T does not swallow is still read here.
    assert!(differential::<Forgiving>(r#"{"score":5,"sub":"admin"}"#, false).unwrap());
}

#[test]
fn a_visitor_that_ignores_value_errors_cannot_hide_a_registered_claim() {
    struct Careless;
    impl<'de> Deserialize<'de> for Careless {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Careless;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a map")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Careless, A::Error> {
                    while let Some(_key) = map.next_key::<String>()? {
                        let _ = map.next_value::<serde_json::Value>();
                    }
                    Ok(Careless)
                }
            }
            d.deserialize_map(V)
        }
    }
    assert!(read::<Careless>(r#"{"exp":-0}"#, false).is_err());
    assert!(read::<Careless>(r#"{"exp":1.5}"#, false).is_err());
    let (_, observed, _) = read::<Careless>(r#"{"exp":5}"#, false).unwrap();
    assert_eq!(observed.exp, crate::token::claims::Num::Value(5.0));
}

#[test]
fn a_seed_that_does_not_read_its_name_or_value_is_declined() {
    /// Deserializes from anything without reading it.
    #[derive(Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    struct Unread;
    impl<'de> Deserialize<'de> for Unread {
        fn deserialize<D: serde::Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
            Ok(Self)
        }
    }
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct UnreadSub {
        sub: Unread,
    }
    assert!(read::<BTreeMap<Unread, u8>>(r#"{"a":1}"#, false).is_err());
    assert!(read::<UnreadSub>(r#"{"sub":"a"}"#, false).is_err());
    assert!(serde_json::from_str::<UnreadSub>(r#"{"sub":"a"}"#).is_err());
}
