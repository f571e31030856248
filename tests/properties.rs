//! Property tests: signing round-trips, tamper resistance, and no panics on arbitrary input.
//!
//! Tokens with arbitrary headers are signed here with the `hmac` and `sha2` crates (already
//! dependencies of this crate), so that they get past the signature check and reach the header
//! and claim rules.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use hmac::{Hmac, Mac};
use hmac012 as hmac;
use proptest::prelude::*;
use proptest::sample::Index;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Sha256, Sha384, Sha512};
use sha2_010 as sha2;
use tower_jwt_auth::validation::Verification;
use tower_jwt_auth::{
    dangerous, Algorithm, AuthError, AuthErrorKind, KeyRing, SigningKey, Validation, VerifyingKey,
};

use support::{b64, validation as pinned, NOW};

const CASES: u32 = 384;

/// A few hundred cases per property; failures are not persisted to regression files.
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: CASES,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

const B64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn min_secret_len(alg: Algorithm) -> usize {
    match alg {
        Algorithm::HS384 => 48,
        Algorithm::HS512 => 64,
        _ => 32,
    }
}

/// The HMAC algorithms (this suite signs with shared secrets).
const HMAC_ALGS: [Algorithm; 3] = [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512];

/// An algorithm and a secret of an acceptable length for it.
fn alg_and_secret() -> impl Strategy<Value = (Algorithm, Vec<u8>)> {
    prop::sample::select(HMAC_ALGS.to_vec()).prop_flat_map(|alg| {
        let min = min_secret_len(alg);
        (Just(alg), prop::collection::vec(any::<u8>(), min..min + 64))
    })
}

/// A `kid`: any 1 to 16 characters, including quotes, backslashes and control characters.
fn kid() -> impl Strategy<Value = String> {
    "(?s).{1,16}"
}

fn keys(alg: Algorithm, secret: &[u8], kid: Option<&str>) -> (SigningKey, VerifyingKey) {
    let mut signing = SigningKey::hmac(alg, secret).expect("long enough");
    let mut verifying = VerifyingKey::hmac(alg, secret).expect("long enough");
    if let Some(kid) = kid {
        signing = signing.with_kid(kid).expect("a valid kid");
        verifying = verifying.with_kid(kid).expect("a valid kid");
    }
    (signing, verifying)
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum Extra {
    Text(String),
    Number(i64),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct AppClaims {
    sub: String,
    role: String,
    exp: u64,
    #[serde(flatten)]
    extra: BTreeMap<String, Extra>,
}

/// Claim names the validator reads, or that `AppClaims` names: never used as extra members.
const RESERVED: &[&str] = &["sub", "role", "exp", "nbf", "iat", "iss", "aud"];

fn app_claims() -> impl Strategy<Value = AppClaims> {
    let extra_value = prop_oneof![
        "(?s).{0,24}".prop_map(Extra::Text),
        any::<i64>().prop_map(Extra::Number),
    ];
    (
        "(?s).{0,24}",
        "(?s).{0,24}",
        NOW + 1..NOW + 10 * 365 * 86_400,
        prop::collection::btree_map("(?s).{0,12}", extra_value, 0..6),
    )
        .prop_map(|(sub, role, exp, mut extra)| {
            extra.retain(|k, _| !RESERVED.contains(&k.as_str()));
            AppClaims {
                sub,
                role,
                exp,
                extra,
            }
        })
}

proptest! {
    #![proptest_config(config())]

    /// (a) What a key signs, its verifying key (and an independently built one) verifies back to
    /// the same claims, at both layers and through the unverified decoder.
    #[test]
    fn signed_claims_verify_back_to_themselves(
        (alg, secret) in alg_and_secret(),
        kid in prop::option::of(kid()),
        claims in app_claims(),
    ) {
        let (signing, verifying) = keys(alg, &secret, kid.as_deref());
        let token = signing.sign(&claims).expect("claims serialize to an object");
        let validation = pinned();
        prop_assert_eq!(validation.verify::<AppClaims>(&token, &signing.verifying_key()), Ok(claims.clone()));
        prop_assert_eq!(validation.verify::<AppClaims>(&token, &verifying), Ok(claims.clone()));
        prop_assert_eq!(
            validation.verify_jws(&token, &verifying),
            Ok(serde_json::to_vec(&claims).expect("serializable"))
        );
        prop_assert_eq!(dangerous::decode_claims_unverified::<AppClaims>(&token), Ok(claims));
        let header = dangerous::decode_header_unverified(&token).expect("a header");
        prop_assert_eq!(header.get("alg").and_then(Value::as_str), Some(alg.as_str()));
        prop_assert_eq!(header.get("kid").and_then(Value::as_str), kid.as_deref());
    }

    /// (a) The same claims are refused by a key of another algorithm or another secret.
    #[test]
    fn signed_claims_are_refused_by_any_other_key(
        (alg, secret) in alg_and_secret(),
        claims in app_claims(),
        flip in any::<Index>(),
    ) {
        let (signing, _) = keys(alg, &secret, None);
        let token = signing.sign(&claims).expect("claims serialize to an object");
        let mut other_secret = secret.clone();
        let i = flip.index(other_secret.len());
        other_secret[i] ^= 1;
        let other = VerifyingKey::hmac(alg, &other_secret).expect("long enough");
        let err = pinned().verify::<AppClaims>(&token, &other).unwrap_err();
        prop_assert_eq!(err.kind(), AuthErrorKind::InvalidSignature);
        // The algorithm is bound to the key: the same secret under another HS algorithm (when
        // long enough for it) is refused before any signature is computed.
        for &other_alg in HMAC_ALGS.iter().filter(|&&a| a != alg) {
            let other = if secret.len() >= min_secret_len(other_alg) {
                VerifyingKey::hmac(other_alg, &secret)
            } else {
                VerifyingKey::hmac(other_alg, [0x5a; 64])
            }
            .expect("long enough");
            let err = pinned().verify_jws(&token, &other).unwrap_err();
            prop_assert_eq!(err.kind(), AuthErrorKind::AlgorithmMismatch);
        }
    }
}

/// One way of altering one byte of a token.
#[derive(Clone, Copy, Debug)]
enum Tamper {
    /// Flip bit `bit` of the byte.
    FlipBit(u8),
    /// Replace the character with the `n`-th other base64url character.
    OtherBase64(usize),
    /// Replace the byte with the `n`-th other byte value (possibly making invalid UTF-8).
    OtherByte(u8),
}

fn tamper() -> impl Strategy<Value = Tamper> {
    prop_oneof![
        (0u8..8).prop_map(Tamper::FlipBit),
        (0usize..63).prop_map(Tamper::OtherBase64),
        (0u8..255).prop_map(Tamper::OtherByte),
    ]
}

/// The token with byte `at` altered; never equal to the token.
fn tampered(token: &str, at: usize, how: Tamper) -> String {
    let mut bytes = token.as_bytes().to_vec();
    let old = bytes[at];
    bytes[at] = match how {
        Tamper::FlipBit(bit) => old ^ (1 << bit),
        Tamper::OtherBase64(n) => B64URL
            .iter()
            .copied()
            .filter(|&c| c != old)
            .nth(n % 63)
            .unwrap_or(b'A'),
        Tamper::OtherByte(n) => old.wrapping_add(1 + n),
    };
    assert_ne!(bytes[at], old);
    // A byte of 0x80 or above alone is not UTF-8 and cannot reach the `&str` API at all; check
    // the closest string that can (with U+FFFD in its place).
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn assert_refused(token: &str, key: &VerifyingKey, what: &str) {
    let validation = pinned();
    let jwt = validation.verify::<Value>(token, key);
    assert!(jwt.is_err(), "{what}: {token:?} was accepted: {jwt:?}");
    let jws = validation.verify_jws(token, key);
    assert!(
        jws.is_err(),
        "{what}: {token:?} was accepted at the JWS layer: {jws:?}"
    );
}

fn sample_token(alg: Algorithm, kid: Option<&str>) -> (String, VerifyingKey) {
    let secret: Vec<u8> = (0..min_secret_len(alg)).map(|i| (i * 7 + 3) as u8).collect();
    let (signing, verifying) = keys(alg, &secret, kid);
    let claims = serde_json::json!({"sub": "alice", "role": "admin", "exp": NOW + 900, "n": 12_345});
    let token = signing.sign(&claims).expect("an object");
    assert!(pinned().verify::<Value>(&token, &verifying).is_ok());
    (token, verifying)
}

/// (b) Exhaustively: every bit flip and every replacement by another base64url character or a
/// dot is refused, at every position of an HS256 token, and at every position of the signature
/// and around the dots of HS384 and HS512 tokens (the rest is covered by the property below). A
/// change in the last character of a segment may only touch its unused bits; that non-canonical
/// encoding must be refused too.
#[test]
fn every_single_bit_flip_or_character_change_of_a_valid_token_is_refused() {
    for (alg, kid) in [
        (Algorithm::HS256, Some("k1")),
        (Algorithm::HS384, None),
        (Algorithm::HS512, Some("key-2024")),
    ] {
        let (token, key) = sample_token(alg, kid);
        let signature_start = token.rfind('.').expect("three segments");
        let near_a_dot = |at: usize| {
            token.as_bytes()[at.saturating_sub(1)..=(at + 1).min(token.len() - 1)].contains(&b'.')
        };
        let positions =
            (0..token.len()).filter(|&at| alg == Algorithm::HS256 || at >= signature_start || near_a_dot(at));
        for at in positions {
            for bit in 0..8 {
                assert_refused(&tampered(&token, at, Tamper::FlipBit(bit)), &key, "bit flip");
            }
            for n in 0..63 {
                assert_refused(&tampered(&token, at, Tamper::OtherBase64(n)), &key, "base64url");
            }
            let mut dotted = token.clone().into_bytes();
            if dotted[at] != b'.' {
                dotted[at] = b'.';
                assert_refused(&String::from_utf8(dotted).expect("ASCII"), &key, "dot");
            }
        }
    }
}

proptest! {
    #![proptest_config(config())]

    /// (b) Any single-byte change (bit flip, other base64url character, any other byte) of a
    /// freshly signed token is refused.
    #[test]
    fn any_single_byte_change_of_a_signed_token_is_refused(
        (alg, secret) in alg_and_secret(),
        kid in prop::option::of("[a-z0-9-]{1,12}"),
        claims in app_claims(),
        at in any::<Index>(),
        how in tamper(),
    ) {
        let (signing, verifying) = keys(alg, &secret, kid.as_deref());
        let token = signing.sign(&claims).expect("an object");
        let altered = tampered(&token, at.index(token.len()), how);
        let validation = pinned();
        prop_assert!(validation.verify::<Value>(&altered, &verifying).is_err(), "{:?}", altered);
        prop_assert!(validation.verify_jws(&altered, &verifying).is_err(), "{:?}", altered);
    }
}

/// Every entry point, on one input: must not panic. Returns whether any verification accepted it.
fn exercise(token: &str) -> bool {
    let keys = [
        VerifyingKey::hs256([1u8; 32]).expect("long enough"),
        VerifyingKey::hs384([2u8; 48])
            .expect("long enough")
            .with_kid("k")
            .expect("kid"),
        VerifyingKey::hs512([3u8; 64]).expect("long enough"),
    ];
    let ring = KeyRing::new(keys.iter().map(|k| k.clone().with_kid("k").expect("kid")).take(1))
        .expect("one key")
        .with_default_kid("k")
        .expect("present");
    let validations = [
        pinned(),
        Validation::new(),
        pinned().max_token_len(64),
        lenient(),
        demanding(),
    ];
    let mut accepted = false;
    for validation in &validations {
        for key in &keys {
            accepted |= validation.verify::<Value>(token, key).is_ok();
            accepted |= validation.verify::<Typed>(token, key).is_ok();
            accepted |= validation.verify_jws(token, key).is_ok();
        }
        match validation.verify_with::<Value, _>(token, &ring) {
            Verification::Done(result) => accepted |= result.is_ok(),
            Verification::Pending(never) => match never {},
        }
    }
    let _ = dangerous::decode_header_unverified(token);
    let _ = dangerous::decode_claims_unverified::<Value>(token);
    let _ = dangerous::decode_claims_unverified::<Typed>(token);
    accepted
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Typed {
    sub: String,
    exp: f64,
    aud: Option<Vec<String>>,
}

fn lenient() -> Validation {
    pinned()
        .dangerous_allow_missing_exp()
        .dangerous_accept_any_audience()
        .leeway(Duration::from_secs(u64::from(u32::MAX)))
}

fn demanding() -> Validation {
    pinned()
        .issuer("https://issuer.example")
        .and_then(|v| v.audience("api"))
        .expect("non-empty")
        .require_sub()
        .max_age(Duration::from_secs(3600))
        .leeway(Duration::ZERO)
}

proptest! {
    #![proptest_config(config())]

    /// (c) Arbitrary bytes (as the closest string), arbitrary strings, and strings of the token
    /// alphabet never panic and never verify.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        prop_assert!(!exercise(&String::from_utf8_lossy(&bytes)));
    }

    #[test]
    fn arbitrary_strings_never_panic(s in "(?s).{0,300}") {
        prop_assert!(!exercise(&s));
    }

    #[test]
    fn strings_of_the_token_alphabet_never_panic(s in "[A-Za-z0-9_.-]{0,400}") {
        prop_assert!(!exercise(&s));
    }

    #[test]
    fn three_segments_of_base64url_never_panic(
        s in "[A-Za-z0-9_-]{0,80}\\.[A-Za-z0-9_-]{0,80}\\.[A-Za-z0-9_-]{0,100}",
    ) {
        prop_assert!(!exercise(&s));
    }

    /// (c) Segments that decode to arbitrary bytes reach the JSON parsers.
    #[test]
    fn segments_of_arbitrary_decoded_bytes_never_panic(
        header in prop::collection::vec(any::<u8>(), 0..120),
        payload in prop::collection::vec(any::<u8>(), 0..200),
        signature in prop::collection::vec(any::<u8>(), 0..80),
    ) {
        let token = format!("{}.{}.{}", b64(&header), b64(&payload), b64(&signature));
        prop_assert!(!exercise(&token));
    }

    /// (c) Headers that are JSON-ish text (a valid prefix and random tails) never panic.
    #[test]
    fn almost_json_headers_never_panic(
        tail in "(?s).{0,40}",
        payload in "(?s).{0,80}",
    ) {
        let header = format!("{{\"alg\":\"HS256\"{tail}");
        let token = format!("{}.{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()), b64([0; 32]));
        prop_assert!(!exercise(&token));
    }
}

/// Arbitrary JSON: null, booleans, integers of both signs, finite floats, strings (any
/// characters), and nested arrays and objects.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "(?s).{0,16}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("(?s).{0,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Values a registered claim might hold: plausible times around `NOW` (integers and floats), the
/// configured issuer and audience, arrays of them, and anything else.
fn claim_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        (-100_000i64..100_000).prop_map(|d| Value::from(NOW as i64 + d)),
        (-100_000.0f64..100_000.0).prop_map(|d| Value::from(NOW as f64 + d)),
        prop::sample::select(vec![
            Value::from("https://issuer.example"),
            Value::from("api"),
            serde_json::json!(["api", "other"]),
            serde_json::json!(["other", 1, null]),
            serde_json::json!([]),
            Value::from(u64::MAX),
            Value::from(i64::MIN),
            Value::from(1e300),
            Value::from(-0.0),
            Value::from("1700000000"),
        ]),
        json_value(),
    ]
}

/// A JSON object as text, from members that may repeat a name (which must be refused).
fn object_text(members: &[(String, Value)]) -> String {
    let body: Vec<String> = members
        .iter()
        .map(|(k, v)| format!("{}:{}", Value::from(k.as_str()), v))
        .collect();
    format!("{{{}}}", body.join(","))
}

fn has_duplicate_names(members: &[(String, Value)]) -> bool {
    let mut names: Vec<&str> = members.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    names.windows(2).any(|w| w[0] == w[1])
}

/// An optional member: present with a plausible value most of the time, sometimes with any
/// value, sometimes absent.
fn member(name: &'static str, plausible: BoxedStrategy<Value>) -> BoxedStrategy<Option<(String, Value)>> {
    prop::option::weighted(
        0.7,
        prop_oneof![5 => plausible, 1 => claim_value()].prop_map(move |v| (name.to_owned(), v)),
    )
    .boxed()
}

fn strings(values: &[&'static str]) -> BoxedStrategy<Value> {
    prop::sample::select(values.to_vec())
        .prop_map(Value::from)
        .boxed()
}

/// Members with random names (which may repeat a registered one: a duplicate).
fn extra_members(registered: &'static [&'static str]) -> impl Strategy<Value = Vec<(String, Value)>> {
    let name = prop_oneof![
        1 => prop::sample::select(registered).prop_map(str::to_owned),
        6 => "(?s).{0,10}",
    ];
    prop::collection::vec((name, json_value()), 0..3)
}

/// Assembles optional members and extras in a random order.
fn assemble(
    fixed: Vec<BoxedStrategy<Option<(String, Value)>>>,
    extras: impl Strategy<Value = Vec<(String, Value)>>,
) -> impl Strategy<Value = Vec<(String, Value)>> {
    (fixed, extras)
        .prop_map(|(fixed, extras)| fixed.into_iter().flatten().chain(extras).collect::<Vec<_>>())
        .prop_shuffle()
}

/// A JOSE header for a key of `alg` named `k`: `alg` is mostly the key's, `typ` mostly accepted,
/// `kid` mostly right, `crit` and `b64` rare; plus random members.
fn header_members(alg: Algorithm) -> impl Strategy<Value = Vec<(String, Value)>> {
    const NAMES: &[&str] = &["alg", "typ", "kid", "crit", "b64", "jku", "x5u", "jwk"];
    let alg_value = prop_oneof![
        8 => Just(Value::from(alg.as_str())),
        1 => strings(&["HS256", "HS384", "HS512", "none", "RS256", "hs256", "HS256 ", ""]),
        1 => json_value(),
    ]
    .prop_map(|v| Some(("alg".to_owned(), v)))
    .boxed();
    let fixed = vec![
        alg_value,
        member(
            "typ",
            strings(&["JWT", "at+jwt", "application/JWT", "jwt", "JOSE", "application/"]),
        ),
        member("kid", strings(&["k", "k", "other", ""])),
        prop::option::weighted(0.05, member("crit", strings(&["exp"])))
            .prop_map(Option::flatten)
            .boxed(),
        prop::option::weighted(0.1, member("b64", Just(Value::Bool(true)).boxed()))
            .prop_map(Option::flatten)
            .boxed(),
    ];
    assemble(fixed, extra_members(NAMES))
}

/// JWT claims: each registered claim mostly present and plausible (times around `NOW`, the
/// configured issuer and audience), sometimes of any type; plus random members.
fn claim_members() -> impl Strategy<Value = Vec<(String, Value)>> {
    const NAMES: &[&str] = &["exp", "nbf", "iat", "iss", "aud", "sub"];
    let around = |from: i64, to: i64| {
        prop_oneof![
            3 => (from..to).prop_map(|d| Value::from(NOW as i64 + d)),
            1 => (from as f64..to as f64).prop_map(|d| Value::from(NOW as f64 + d)),
        ]
        .boxed()
    };
    let fixed = vec![
        member("exp", around(-100, 100_000)),
        member("nbf", around(-100_000, 100)),
        member("iat", around(-5_000, 100)),
        member(
            "iss",
            strings(&["https://issuer.example", "https://issuer.example", "other"]),
        ),
        member(
            "aud",
            prop_oneof![
                strings(&["api", "other"]),
                Just(serde_json::json!(["other", "api"])),
                Just(serde_json::json!(["other"])),
            ]
            .boxed(),
        ),
        member("sub", "(?s).{0,12}".prop_map(Value::from).boxed()),
    ];
    assemble(fixed, extra_members(NAMES))
}

/// Signs `header.payload` (both given as JSON text) with HMAC, whatever the header says.
fn sign_raw(alg: Algorithm, secret: &[u8], header: &str, payload: &str) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    let tag = match alg {
        Algorithm::HS384 => hmac_tag::<Hmac<Sha384>>(secret, input.as_bytes()),
        Algorithm::HS512 => hmac_tag::<Hmac<Sha512>>(secret, input.as_bytes()),
        _ => hmac_tag::<Hmac<Sha256>>(secret, input.as_bytes()),
    };
    format!("{input}.{}", b64(&tag))
}

fn hmac_tag<M: Mac + hmac::digest::KeyInit>(secret: &[u8], input: &[u8]) -> Vec<u8> {
    let mut mac = <M as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(input);
    mac.finalize().into_bytes().to_vec()
}

const SECRET: [u8; 64] = [0x42; 64];

fn verify_all(token: &str, alg: Algorithm) -> Vec<(&'static str, Result<Value, AuthError>)> {
    let key = VerifyingKey::hmac(alg, SECRET).expect("long enough");
    let named = key.clone().with_kid("k").expect("kid");
    [
        ("pinned", pinned()),
        ("lenient", lenient()),
        ("demanding", demanding()),
    ]
    .into_iter()
    .flat_map(|(name, v)| {
        [
            (name, v.verify::<Value>(token, &key)),
            (name, v.verify::<Value>(token, &named)),
        ]
    })
    .collect()
}

proptest! {
    #![proptest_config(config())]

    /// (d) Correctly signed tokens with random header members and random claims (arbitrary JSON
    /// values, registered claims of every type) never panic; whatever is accepted is exactly the
    /// payload; duplicate member names are always refused.
    #[test]
    fn signed_tokens_with_random_headers_and_claims_never_panic(
        (alg, header) in prop::sample::select(HMAC_ALGS.to_vec())
            .prop_flat_map(|alg| (Just(alg), header_members(alg))),
        claims in claim_members(),
    ) {
        let header_text = object_text(&header);
        let payload_text = object_text(&claims);
        let token = sign_raw(alg, &SECRET, &header_text, &payload_text);
        let expected: Value = serde_json::from_str(&payload_text).expect("valid JSON");
        let duplicates = has_duplicate_names(&header) || has_duplicate_names(&claims);
        for (name, result) in verify_all(&token, alg) {
            match result {
                Ok(value) => {
                    prop_assert!(!duplicates, "{}: duplicate members accepted: {}", name, token);
                    prop_assert_eq!(&value, &expected, "{}", name);
                }
                Err(e) => {
                    prop_assert!(!matches!(e.kind(), AuthErrorKind::InvalidSignature), "{}", name);
                }
            }
        }
        let key = VerifyingKey::hmac(alg, SECRET).expect("long enough");
        match pinned().verify_jws(&token, &key) {
            Ok(payload) => {
                prop_assert!(!has_duplicate_names(&header), "duplicate header members accepted");
                prop_assert_eq!(payload, payload_text.as_bytes());
            }
            Err(e) => prop_assert!(!matches!(e.kind(), AuthErrorKind::InvalidSignature)),
        }
        let _ = dangerous::decode_header_unverified(&token);
        let _ = dangerous::decode_claims_unverified::<Value>(&token);
    }

    /// (d) A plain header over any JSON value as the payload (objects or not) never panics; the
    /// JWS layer returns the payload octets whatever they are.
    #[test]
    fn any_json_payload_under_a_plain_header_never_panics(
        alg in prop::sample::select(HMAC_ALGS.to_vec()),
        payload in json_value(),
    ) {
        let header = format!("{{\"alg\":\"{alg}\",\"typ\":\"JWT\"}}");
        let payload_text = payload.to_string();
        // The same parser reads both sides, so floats compare exactly.
        let expected: Value = serde_json::from_str(&payload_text).expect("valid JSON");
        let token = sign_raw(alg, &SECRET, &header, &payload_text);
        let key = VerifyingKey::hmac(alg, SECRET).expect("long enough");
        prop_assert_eq!(
            pinned().max_token_len(1 << 20).verify_jws(&token, &key),
            Ok(payload_text.into_bytes())
        );
        for (name, result) in verify_all(&token, alg) {
            if let Ok(value) = result {
                prop_assert_eq!(&value, &expected, "{}", name);
            }
        }
    }

    /// (d) Arbitrary JSON values as claims, with a future `exp` and no other registered claim,
    /// round-trip through `SigningKey::sign` and `verify`.
    #[test]
    fn arbitrary_json_claims_round_trip(
        (alg, secret) in alg_and_secret(),
        members in prop::collection::btree_map("(?s).{0,12}", json_value(), 0..8),
        exp in NOW + 1..NOW + 1_000_000,
    ) {
        let mut claims: Map<String, Value> = members
            .into_iter()
            .filter(|(k, _)| !RESERVED.contains(&k.as_str()))
            .collect();
        claims.insert("exp".to_owned(), Value::from(exp));
        let (signing, verifying) = keys(alg, &secret, None);
        let token = signing.sign(&claims).expect("an object");
        let text = serde_json::to_vec(&claims).expect("serializable");
        // The same parser reads both sides, so floats compare exactly.
        let expected: Value = serde_json::from_slice(&text).expect("valid JSON");
        if token.len() <= tower_jwt_auth::validation::DEFAULT_MAX_TOKEN_LEN {
            prop_assert_eq!(pinned().verify::<Value>(&token, &verifying), Ok(expected));
        } else {
            let err = pinned().verify::<Value>(&token, &verifying).unwrap_err();
            prop_assert_eq!(err.kind(), AuthErrorKind::TooLarge);
        }
        prop_assert_eq!(
            pinned().max_token_len(1 << 20).verify_jws(&token, &verifying),
            Ok(text)
        );
    }
}

/// Deep nesting and huge inputs, which random generation rarely reaches.
#[test]
fn deeply_nested_and_oversized_inputs_never_panic() {
    let key = VerifyingKey::hs256(SECRET).expect("long enough");
    for depth in [100, 127, 128, 129, 200, 1000, 5000] {
        let nested = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
        let payload = format!("{{\"exp\":{},\"deep\":{nested}}}", NOW + 60);
        let token = sign_raw(Algorithm::HS256, &SECRET, r#"{"alg":"HS256"}"#, &payload);
        let relaxed = pinned().max_token_len(1 << 20);
        let _ = relaxed.verify::<Value>(&token, &key);
        let _ = relaxed.verify_jws(&token, &key);
        let _ = dangerous::decode_claims_unverified::<Value>(&token);
        let header = format!("{{\"alg\":\"HS256\",\"x\":{nested}}}");
        let token = sign_raw(Algorithm::HS256, &SECRET, &header, &payload);
        let _ = relaxed.verify::<Value>(&token, &key);
        let _ = dangerous::decode_header_unverified(&token);
    }
    for len in [8 * 1024, 8 * 1024 + 1, 64 * 1024, 64 * 1024 + 1, 1 << 20] {
        for filler in ["A", ".", "=", "\u{e9}"] {
            assert!(!exercise(&filler.repeat(len)));
        }
        let token = format!(
            "{}.{}.{}",
            "e".repeat(len / 3),
            "e".repeat(len / 3),
            "e".repeat(len / 3)
        );
        assert!(!exercise(&token));
    }
}

#[test]
fn duplicate_member_names_are_refused_even_when_spelt_with_escapes() {
    let key = VerifyingKey::hs256(SECRET).expect("long enough");
    let exp = NOW + 60;
    let good = sign_raw(
        Algorithm::HS256,
        &SECRET,
        r#"{"alg":"HS256"}"#,
        &format!(r#"{{"exp":{exp}}}"#),
    );
    assert!(pinned().verify::<Value>(&good, &key).is_ok());
    let cases = [
        (
            r#"{"alg":"HS256","alg":"HS256"}"#.to_owned(),
            format!(r#"{{"exp":{exp}}}"#),
        ),
        (
            r#"{"alg":"HS256","\u0061lg":"HS256"}"#.to_owned(),
            format!(r#"{{"exp":{exp}}}"#),
        ),
        (
            r#"{"alg":"HS256","kid":"a","kid":"b"}"#.to_owned(),
            format!(r#"{{"exp":{exp}}}"#),
        ),
        (
            r#"{"alg":"HS256"}"#.to_owned(),
            format!(r#"{{"exp":{exp},"exp":{exp}}}"#),
        ),
        (
            r#"{"alg":"HS256"}"#.to_owned(),
            format!(r#"{{"exp":{exp},"\u0065xp":1}}"#),
        ),
        (
            r#"{"alg":"HS256"}"#.to_owned(),
            format!(r#"{{"exp":{exp},"x":1,"x":2}}"#),
        ),
    ];
    for (header, payload) in cases {
        let token = sign_raw(Algorithm::HS256, &SECRET, &header, &payload);
        let err = pinned().verify::<Value>(&token, &key).unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::Malformed, "{header} {payload}");
    }
}

/// Decoded headers of up to 512 bytes and payloads of up to 1 KiB are decoded on the stack, larger
/// ones on the heap: every size around those limits verifies the same way.
#[test]
fn headers_and_payloads_of_every_size_around_the_stack_buffers_verify() {
    let key = VerifyingKey::hs256(SECRET).expect("long enough");
    let small_payload = format!(r#"{{"exp":{}}}"#, NOW + 60);
    for len in 480..=560 {
        let fixed = r#"{"alg":"HS256","typ":"JWT","pad":""}"#.len();
        let header = format!(
            r#"{{"alg":"HS256","typ":"JWT","pad":"{}"}}"#,
            "h".repeat(len - fixed)
        );
        assert_eq!(header.len(), len);
        let token = sign_raw(Algorithm::HS256, &SECRET, &header, &small_payload);
        let claims = pinned().verify::<Value>(&token, &key);
        assert_eq!(
            claims,
            Ok(serde_json::json!({"exp": NOW + 60})),
            "header of {len} bytes"
        );
        let decoded = dangerous::decode_header_unverified(&token).expect("a header");
        assert_eq!(
            decoded.get("pad").and_then(Value::as_str).map(str::len),
            Some(len - fixed)
        );
    }
    for len in 990..=1060 {
        let fixed = format!(r#"{{"exp":{},"pad":""}}"#, NOW + 60).len();
        let payload = format!(r#"{{"exp":{},"pad":"{}"}}"#, NOW + 60, "p".repeat(len - fixed));
        assert_eq!(payload.len(), len);
        let token = sign_raw(Algorithm::HS256, &SECRET, r#"{"alg":"HS256"}"#, &payload);
        let claims = pinned().verify::<Value>(&token, &key).expect("valid");
        assert_eq!(
            claims["pad"].as_str().map(str::len),
            Some(len - fixed),
            "payload of {len} bytes"
        );
        assert_eq!(
            pinned().verify_jws(&token, &key),
            Ok(payload.into_bytes()),
            "payload of {len} bytes"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    /// Key material from outside (JWK Sets, JWKs) never panics the parsers, whatever the bytes.
    #[test]
    fn arbitrary_key_documents_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = tower_jwt_auth::KeySet::from_json(&bytes);
        if let Ok(jwk) = serde_json::from_slice::<tower_jwt_auth::Jwk>(&bytes) {
            let _ = VerifyingKey::from_jwk(&jwk);
        }
    }

    /// Arbitrary JWK members (wrong lengths, bad base64, odd curves) are errors, not panics.
    #[test]
    fn arbitrary_jwk_members_never_panic(
        kty in prop::sample::select(vec!["RSA", "EC", "OKP", "oct", "x"]),
        crv in prop::sample::select(vec!["P-256", "P-384", "P-521", "Ed25519", "X25519", ""]),
        alg in prop::option::of(prop::sample::select(vec!["HS256", "RS256", "PS512", "ES256", "ES512", "EdDSA", "none"])),
        a in "[A-Za-z0-9_-]{0,400}",
        b in "[A-Za-z0-9_-]{0,120}",
    ) {
        let jwk: tower_jwt_auth::Jwk = serde_json::from_value(serde_json::json!({
            "kty": kty, "crv": crv, "alg": alg, "n": a, "e": b, "x": a, "y": b, "k": a,
        })).expect("a JWK");
        let _ = VerifyingKey::from_jwk(&jwk);
    }
}

#[cfg(feature = "aws-lc")]
proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    /// PEM and DER input (public keys, certificates, PKCS#8) never panics the readers.
    #[test]
    fn arbitrary_pem_and_der_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = VerifyingKey::from_public_key(&bytes);
        let _ = tower_jwt_auth::SigningKey::from_pkcs8(&bytes);
        let pem = format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &bytes));
        let _ = VerifyingKey::from_public_key(pem.as_bytes());
    }

    /// A valid SubjectPublicKeyInfo with one byte changed or cut short is refused or still a
    /// key, never a panic.
    #[test]
    fn mangled_spki_never_panics(index in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<prop::sample::Index>()) {
        let der = include_bytes!("keys/p256.pub.der").to_vec();
        let mut changed = der.clone();
        let i = index.index(changed.len());
        changed[i] = byte;
        let _ = VerifyingKey::from_public_key(&changed);
        let _ = VerifyingKey::from_public_key(&der[..cut.index(der.len())]);
        let cert = include_bytes!("keys/p256.crt.der");
        let _ = VerifyingKey::from_public_key(&cert[..cut.index(cert.len())]);
    }
}
