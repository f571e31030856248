//! The rules of the verification core, one test per rule.
//!
//! Tokens are built either with [`SigningKey`] (claims serde can express) or by hand: any header
//! and payload bytes, base64url-encoded and signed with HMAC from the `hmac` and `sha2` crates,
//! independently of the crate's own signing code. Time is pinned at [`NOW`].

mod support;

use std::fmt::Debug;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use hmac012 as hmac;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Sha256, Sha384, Sha512};
use sha2_010 as sha2;
use tower_jwt_auth::key::{KeyError, KeyQuery, Resolution};
use tower_jwt_auth::validation::Verification;
use tower_jwt_auth::{
    dangerous, Algorithm, AuthError, AuthErrorKind as K, Claim, ConfigError, KeyResolver, KeyRing, SignError,
    SigningKey, Validation, VerifyingKey,
};

use support::{b64, signer as signing, validation, ATTACKER, LATER, NOW, SECRET};

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/// The header `SigningKey` writes for HS256 without a `kid`.
const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// What applications decode tokens into.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Claims {
    sub: String,
    role: String,
    exp: u64,
}

fn alice() -> Claims {
    Claims {
        sub: "alice".into(),
        role: "user".into(),
        exp: LATER,
    }
}

/// The payload of a good token, as JSON text.
fn good_payload() -> String {
    format!(r#"{{"sub":"alice","role":"user","exp":{LATER}}}"#)
}

fn key() -> VerifyingKey {
    VerifyingKey::hs256(SECRET).unwrap()
}

fn hmac256(secret: &[u8], input: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    mac.update(input);
    mac.finalize().into_bytes().to_vec()
}

fn hmac384(secret: &[u8], input: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha384>::new_from_slice(secret).unwrap();
    mac.update(input);
    mac.finalize().into_bytes().to_vec()
}

fn hmac512(secret: &[u8], input: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha512>::new_from_slice(secret).unwrap();
    mac.update(input);
    mac.finalize().into_bytes().to_vec()
}

/// `h.p.sig`, where `sig` is the HS256 MAC of the literal `h.p` under `secret`: the segments are
/// used exactly as given, canonical or not.
fn sign_segments_with(secret: &[u8], header_b64: &str, payload_b64: &str) -> String {
    let input = format!("{header_b64}.{payload_b64}");
    let sig = b64(hmac256(secret, input.as_bytes()));
    format!("{input}.{sig}")
}

fn sign_segments(header_b64: &str, payload_b64: &str) -> String {
    sign_segments_with(SECRET, header_b64, payload_b64)
}

/// A token with an arbitrary header and payload (any bytes), correctly signed with [`SECRET`].
fn forge_bytes(header: &[u8], payload: &[u8]) -> String {
    sign_segments(&b64(header), &b64(payload))
}

fn forge(header: &str, payload: &str) -> String {
    forge_bytes(header.as_bytes(), payload.as_bytes())
}

/// A correctly signed token with this header and a good payload.
fn with_header(header: &str) -> String {
    forge(header, &good_payload())
}

/// A correctly signed token with the default header and this payload.
fn with_payload(payload: &str) -> String {
    forge(HEADER, payload)
}

/// Success or the refusal's kind, for terse assertions.
fn verdict_with(v: &Validation, token: &str) -> Result<(), K> {
    v.verify::<Value>(token, &key()).map(drop).map_err(|e| e.kind())
}

fn verdict(token: &str) -> Result<(), K> {
    verdict_with(&validation(), token)
}

/// Verifies a token whose payload is `payload` under `v`.
fn claims_verdict(v: &Validation, payload: &str) -> Result<(), K> {
    verdict_with(v, &with_payload(payload))
}

fn ring_verdict<R: KeyResolver<Future = tower_jwt_auth::key::NeverPending>>(
    resolver: &R,
    token: &str,
) -> Result<(), K> {
    match validation().verify_with::<Value, _>(token, resolver) {
        Verification::Done(result) => result.map(drop).map_err(|e| e.kind()),
        Verification::Pending(never) => match never {},
    }
}

#[track_caller]
fn kind_of<T: Debug>(result: Result<T, AuthError>) -> K {
    result.expect_err("expected a refusal").kind()
}

/// The three segments of a compact token.
fn parts(token: &str) -> (String, String, String) {
    let v: Vec<&str> = token.split('.').collect();
    assert_eq!(v.len(), 3, "{token}");
    (v[0].to_owned(), v[1].to_owned(), v[2].to_owned())
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The same segment with non-zero unused trailing bits: it decodes to the same bytes with a
/// lenient decoder, but it is not the canonical encoding.
fn with_nonzero_trailing_bits(segment: &str) -> String {
    assert!(matches!(segment.len() % 4, 2 | 3), "segment has no unused bits");
    let mut bytes = segment.as_bytes().to_vec();
    let last = bytes.last_mut().unwrap();
    let index = ALPHABET.iter().position(|c| c == last).unwrap();
    *last = ALPHABET[index ^ 1];
    let altered = String::from_utf8(bytes).unwrap();
    let lenient = GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::RequireNone)
            .with_decode_allow_trailing_bits(true),
    );
    assert_eq!(
        lenient.decode(&altered).unwrap(),
        lenient.decode(segment).unwrap(),
        "the altered segment must carry the same bytes"
    );
    altered
}

/// Pads JSON text with trailing whitespace until its length is not a multiple of 3, so that its
/// base64url encoding has unused bits.
fn not_multiple_of_3(json: &str) -> String {
    let mut s = json.to_owned();
    while s.len() % 3 == 0 {
        s.push(' ');
    }
    s
}

// ---------------------------------------------------------------------------------------------
// The helpers themselves
// ---------------------------------------------------------------------------------------------

#[test]
fn hand_made_tokens_are_byte_for_byte_what_signing_key_produces() {
    let by_key = signing().sign(&alice()).unwrap();
    let by_hand = forge(HEADER, &good_payload());
    assert_eq!(by_hand, by_key);
    assert_eq!(verdict(&by_hand), Ok(()));
}

// ---------------------------------------------------------------------------------------------
// Size cap
// ---------------------------------------------------------------------------------------------

/// Signs a good token padded with a `pad` claim of `pad` bytes.
fn padded_token(pad: usize) -> String {
    signing()
        .sign(&json!({"sub": "alice", "role": "user", "exp": LATER, "pad": "x".repeat(pad)}))
        .unwrap()
}

#[test]
fn a_token_over_8_kib_is_refused_as_too_large() {
    let mut pad = 5_800;
    let mut last_fitting = None;
    let too_long = loop {
        let token = padded_token(pad);
        if token.len() > 8 * 1024 {
            break token;
        }
        last_fitting = Some(token);
        pad += 1;
    };
    let fitting = last_fitting.expect("start the search below the cap");
    assert!(fitting.len() <= 8192 && fitting.len() > 8100, "{}", fitting.len());
    assert_eq!(
        verdict(&fitting),
        Ok(()),
        "a validly signed token under the cap verifies"
    );
    assert_eq!(verdict(&too_long), Err(K::TooLarge));
    assert_eq!(tower_jwt_auth::validation::DEFAULT_MAX_TOKEN_LEN, 8192);
}

#[test]
fn a_custom_max_token_len_is_an_inclusive_cap() {
    let token = padded_token(100);
    let exactly = validation().max_token_len(token.len());
    assert_eq!(exactly.get_max_token_len(), token.len());
    assert_eq!(verdict_with(&exactly, &token), Ok(()));
    let one_less = validation().max_token_len(token.len() - 1);
    assert_eq!(verdict_with(&one_less, &token), Err(K::TooLarge));
    let small = validation().max_token_len(64);
    assert_eq!(
        verdict_with(&small, &signing().sign(&alice()).unwrap()),
        Err(K::TooLarge)
    );
}

#[test]
fn ten_kilobytes_of_garbage_with_two_dots_is_too_large_before_anything_else() {
    let garbage = format!("{}.{}.{}", "{".repeat(4000), "=".repeat(3000), " ".repeat(3000));
    assert!(garbage.len() > 10_000);
    assert_eq!(verdict(&garbage), Err(K::TooLarge));
    let base64_garbage = format!("{}.{}.{}", "A".repeat(4000), "B".repeat(3000), "C".repeat(3000));
    assert_eq!(verdict(&base64_garbage), Err(K::TooLarge));
}

// ---------------------------------------------------------------------------------------------
// Alphabet and shape
// ---------------------------------------------------------------------------------------------

#[test]
fn characters_outside_base64url_anywhere_are_malformed() {
    let token = signing().sign(&alice()).unwrap();
    let first_dot = token.find('.').unwrap();
    let last_dot = token.rfind('.').unwrap();
    let positions = [
        0,
        first_dot / 2,
        first_dot + 1,
        (first_dot + last_dot) / 2,
        last_dot + 5,
        token.len(),
    ];
    for bad in [
        "=", "+", "/", " ", "\t", "\n", "\r", "é", "\u{0}", "%", "!", "\u{feff}",
    ] {
        for &at in &positions {
            let mut t = token.clone();
            t.insert_str(at, bad);
            assert_eq!(verdict(&t), Err(K::Malformed), "{bad:?} at {at}");
        }
    }
}

#[test]
fn a_token_with_surrounding_whitespace_is_malformed() {
    let token = signing().sign(&alice()).unwrap();
    for t in [
        format!(" {token}"),
        format!("{token} "),
        format!("{token}\n"),
        format!("Bearer {token}"),
    ] {
        assert_eq!(verdict(&t), Err(K::Malformed), "{t:?}");
    }
}

#[test]
fn padded_base64_segments_are_malformed() {
    let (h, p, s) = parts(&signing().sign(&alice()).unwrap());
    for t in [
        format!("{h}.{p}.{s}="),
        format!("{h}==.{p}.{s}"),
        format!("{h}.{p}=.{s}"),
    ] {
        assert_eq!(verdict(&t), Err(K::Malformed), "{t}");
    }
    // Every segment padded, and the signature computed over the padded input.
    let header = URL_SAFE.encode(not_multiple_of_3(HEADER));
    let payload = URL_SAFE.encode(not_multiple_of_3(&good_payload()));
    assert!(header.ends_with('=') && payload.ends_with('='));
    let input = format!("{header}.{payload}");
    let sig = URL_SAFE.encode(hmac256(SECRET, input.as_bytes()));
    assert_eq!(verdict(&format!("{input}.{sig}")), Err(K::Malformed));
}

#[test]
fn the_json_serialization_is_malformed() {
    let (h, p, s) = parts(&signing().sign(&alice()).unwrap());
    let flattened = format!(r#"{{"payload":"{p}","protected":"{h}","signature":"{s}"}}"#);
    assert_eq!(verdict(&flattened), Err(K::Malformed));
    let general = format!(r#"{{"payload":"{p}","signatures":[{{"protected":"{h}","signature":"{s}"}}]}}"#);
    assert_eq!(verdict(&general), Err(K::Malformed));
}

#[test]
fn two_four_and_five_segments_are_malformed() {
    let (h, p, s) = parts(&signing().sign(&alice()).unwrap());
    for t in [
        h.clone(),
        format!("{h}.{p}"),
        format!("{h}.{p}.{s}.{s}"),
        format!("{h}.{p}.{s}.{p}.{s}"),
        format!("{h}.{p}.{s}."),
        format!("{h}.{p}.{s}.."),
        String::new(),
        ".".into(),
        "..".into(),
        "...".into(),
    ] {
        assert_eq!(verdict(&t), Err(K::Malformed), "{t:?}");
    }
}

/// Malformed tokens that fail other checks too, each with a resolver that is asked only for
/// well-formed tokens and one that may be asked first ([`KeyResolver::resolves_locally`]):
/// the refusal is "malformed" whatever else is wrong, and whichever resolver is used.
#[test]
fn a_malformed_token_is_malformed_whatever_else_fails() {
    let token = signing().sign(&alice()).unwrap();
    let (h, p, s) = parts(&token);
    let none = b64(r#"{"alg":"none"}"#);
    let odd_typ = b64(r#"{"alg":"HS256","typ":"refresh+jwt"}"#);
    let other_kid = signing().with_kid("other").unwrap().sign(&alice()).unwrap();
    let (kh, kp, ks) = parts(&other_kid);
    let mut cases = vec![
        // The header refused (an unsupported algorithm), and `=` in the payload.
        format!("{none}.{p}=.{s}"),
        // The header refused (a `typ` that is not an access token's, read from a header that
        // is decoded, not matched), and a dot too many.
        format!("{odd_typ}.{p}.{p}.{s}"),
        // The key refused (a `kid` no key of the ring has), and `=` in the payload.
        format!("{kh}.{kp}=.{ks}"),
        // The signature refused, holding `+`.
        format!("{h}.{p}.{}+", &s[1..]),
        // The signature refused, and whitespace after it.
        format!("{kh}.{kp}.{} ", &ks[1..]),
        // A dot in the common header's place and one inside it: the header refused.
        format!("{}.{}.{p}.{s}", &h[..10], &h[11..]),
        // A dot in an HS256 signature's place and one inside the signature.
        format!("{h}.{p}.{}.{}", &s[..20], &s[21..]),
    ];
    // Those two put dots where the usual tokens have them.
    assert_eq!((h.len(), s.len()), (36, 43));
    // Correctly signed over the malformed input: only decoding the payload refuses these.
    for bad in [".", "=", "+", "/", " ", "\t", "é", "%"] {
        let mid = p.len() / 2;
        cases.push(sign_segments(&h, &format!("{}{bad}{}", &p[..mid], &p[mid..])));
    }
    let asked = AtomicUsize::new(0);
    let fetching = tower_jwt_auth::resolver_fn(|_| {
        asked.fetch_add(1, Ordering::Relaxed);
        Ok(Arc::new(key()))
    });
    let ring = KeyRing::new([key().with_kid("main").unwrap()]).unwrap();
    assert!(!fetching.resolves_locally() && ring.resolves_locally() && key().resolves_locally());
    for t in &cases {
        assert_eq!(verdict(t), Err(K::Malformed), "{t}");
        assert_eq!(ring_verdict(&ring, t), Err(K::Malformed), "{t}");
        assert_eq!(ring_verdict(&fetching, t), Err(K::Malformed), "{t}");
        assert_eq!(ring_verdict(&LocalButDown, t), Err(K::Malformed), "{t}");
        assert_eq!(
            kind_of(validation().verify_with_key::<Value>(t, &key())),
            K::Malformed,
            "{t}"
        );
        assert_eq!(kind_of(validation().verify_jws(t, &key())), K::Malformed, "{t}");
        // A resolver that calls itself local and still waits: answered at once, unwaited.
        match validation().verify_with::<Value, _>(t, &LocalButSlow) {
            Verification::Done(result) => assert_eq!(kind_of(result), K::Malformed, "{t}"),
            Verification::Pending(_) => panic!("waited for the key of a malformed token: {t}"),
        }
    }
    assert_eq!(asked.load(Ordering::Relaxed), 0, "asked for a malformed token");
    // The same checks still tell the well-formed tokens' refusals apart.
    assert_eq!(ring_verdict(&ring, &other_kid), Err(K::UnknownKey));
    assert_eq!(ring_verdict(&LocalButDown, &token), Err(K::KeyUnavailable));
    assert!(matches!(
        validation().verify_with::<Value, _>(&token, &LocalButSlow),
        Verification::Pending(_)
    ));
    let forged = format!("{h}.{p}.{}A", &s[1..]);
    assert_eq!(verdict(&forged), Err(K::InvalidSignature));
    assert_eq!(ring_verdict(&fetching, &forged), Err(K::InvalidSignature));
    assert_eq!(asked.load(Ordering::Relaxed), 1);
}

/// A resolver that reads only memory and finds its key source down.
struct LocalButDown;

impl KeyResolver for LocalButDown {
    type Future = tower_jwt_auth::key::NeverPending;
    fn resolve(&self, _: &KeyQuery<'_>) -> Resolution<'_, Self::Future> {
        Resolution::Ready(Err(KeyError::unavailable()))
    }
    fn resolves_locally(&self) -> bool {
        true
    }
}

/// A resolver that says it is local and waits all the same (against the trait's advice).
struct LocalButSlow;

impl KeyResolver for LocalButSlow {
    type Future = std::future::Ready<Result<Arc<VerifyingKey>, KeyError>>;
    fn resolve(&self, _: &KeyQuery<'_>) -> Resolution<'_, Self::Future> {
        Resolution::Pending(std::future::ready(Ok(Arc::new(key()))))
    }
    fn resolves_locally(&self) -> bool {
        true
    }
}

#[test]
fn arc_and_either_tell_whether_their_resolver_is_local() {
    fn down(_: &KeyQuery<'_>) -> Result<Arc<VerifyingKey>, KeyError> {
        Err(KeyError::unavailable())
    }
    type Fetching = tower_jwt_auth::key::FnResolver<fn(&KeyQuery<'_>) -> Result<Arc<VerifyingKey>, KeyError>>;
    let fetching: Fetching = tower_jwt_auth::resolver_fn(down);
    assert!(Arc::new(key()).resolves_locally());
    assert!(!Arc::new(fetching).resolves_locally());
    let left = tower_jwt_auth::Either::<VerifyingKey, Fetching>::Left(key());
    assert!(left.resolves_locally());
    let right = tower_jwt_auth::Either::<VerifyingKey, Fetching>::Right(fetching);
    assert!(!right.resolves_locally());
}

#[test]
fn an_empty_header_or_signature_is_malformed() {
    let (h, p, s) = parts(&signing().sign(&alice()).unwrap());
    assert_eq!(verdict(&format!(".{p}.{s}")), Err(K::Malformed));
    assert_eq!(verdict(&format!("{h}.{p}.")), Err(K::Malformed));
    assert_eq!(verdict(&format!("..{s}")), Err(K::Malformed));
}

#[test]
fn an_empty_payload_is_malformed_even_when_correctly_signed() {
    let token = sign_segments(&b64(HEADER), "");
    assert_eq!(verdict(&token), Err(K::Malformed));
}

#[test]
fn non_canonical_base64_in_the_header_is_malformed() {
    let header = b64(not_multiple_of_3(HEADER));
    let payload = b64(good_payload());
    assert_eq!(
        verdict(&sign_segments(&header, &payload)),
        Ok(()),
        "the canonical form verifies"
    );
    let token = sign_segments(&with_nonzero_trailing_bits(&header), &payload);
    assert_eq!(verdict(&token), Err(K::Malformed));
}

#[test]
fn non_canonical_base64_in_the_payload_is_malformed() {
    let header = b64(HEADER);
    let payload = b64(not_multiple_of_3(&good_payload()));
    assert_eq!(
        verdict(&sign_segments(&header, &payload)),
        Ok(()),
        "the canonical form verifies"
    );
    let token = sign_segments(&header, &with_nonzero_trailing_bits(&payload));
    assert_eq!(verdict(&token), Err(K::Malformed));
}

#[test]
fn non_canonical_base64_in_the_signature_is_an_invalid_signature() {
    let (h, p, s) = parts(&signing().sign(&alice()).unwrap());
    assert_eq!(s.len() % 4, 3, "a 32-byte tag has two unused bits");
    let token = format!("{h}.{p}.{}", with_nonzero_trailing_bits(&s));
    assert_eq!(verdict(&token), Err(K::InvalidSignature));
}

#[test]
fn a_segment_of_impossible_base64_length_is_malformed() {
    // 4n + 1 characters is no base64 encoding of anything.
    let header = b64(HEADER);
    assert_eq!(header.len() % 4, 0);
    let token = sign_segments(&format!("{header}A"), &b64(good_payload()));
    assert_eq!(verdict(&token), Err(K::Malformed));
    let mut payload = b64(good_payload());
    while payload.len() % 4 != 1 {
        payload.push('A');
    }
    assert_eq!(verdict(&sign_segments(&header, &payload)), Err(K::Malformed));
}

// ---------------------------------------------------------------------------------------------
// Header
// ---------------------------------------------------------------------------------------------

#[test]
fn a_header_that_is_not_an_object_is_malformed() {
    for header in [r#"["HS256"]"#, r#""HS256""#, "256", "null", "true", "", " "] {
        assert_eq!(verdict(&with_header(header)), Err(K::Malformed), "{header}");
    }
}

#[test]
fn a_header_that_is_not_json_is_malformed() {
    for header in [
        "alg=HS256",
        "{alg:HS256}",
        "{'alg':'HS256'}",
        r#"{"alg":"HS256""#,
        r#"{"alg":"HS256",}"#,
    ] {
        assert_eq!(verdict(&with_header(header)), Err(K::Malformed), "{header}");
    }
}

#[test]
fn trailing_data_after_the_header_object_is_malformed() {
    for header in [
        r#"{"alg":"HS256"} x"#,
        r#"{"alg":"HS256"}{}"#,
        r#"{"alg":"HS256"},"#,
        r#"{"alg":"HS256"}0"#,
    ] {
        assert_eq!(verdict(&with_header(header)), Err(K::Malformed), "{header}");
    }
}

#[test]
fn a_header_without_alg_or_with_a_non_string_alg_is_malformed() {
    for header in [
        "{}",
        r#"{"typ":"JWT"}"#,
        r#"{"ALG":"HS256"}"#,
        r#"{"alg":256}"#,
        r#"{"alg":null}"#,
        r#"{"alg":true}"#,
        r#"{"alg":["HS256"]}"#,
        r#"{"alg":{"name":"HS256"}}"#,
    ] {
        assert_eq!(verdict(&with_header(header)), Err(K::Malformed), "{header}");
    }
}

#[test]
fn alg_none_in_any_spelling_is_an_unsupported_algorithm() {
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#);
        // Correctly MACed, and with an arbitrary non-empty signature.
        assert_eq!(
            verdict(&with_header(&header)),
            Err(K::UnsupportedAlgorithm),
            "{alg}"
        );
        let (h, p, _) = parts(&with_header(&header));
        assert_eq!(
            verdict(&format!("{h}.{p}.AAAA")),
            Err(K::UnsupportedAlgorithm),
            "{alg}"
        );
    }
}

#[test]
fn an_unsecured_token_with_an_empty_signature_is_refused_as_malformed() {
    let token = format!("{}.{}.", b64(r#"{"alg":"none"}"#), b64(good_payload()));
    assert_eq!(verdict(&token), Err(K::Malformed));
}

#[test]
#[cfg(feature = "aws-lc")]
fn public_key_algorithms_on_an_hmac_key_are_a_mismatch() {
    for alg in ["RS256", "ES256", "PS256", "EdDSA", "ES512", "PS512"] {
        let header = format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#);
        assert_eq!(
            verdict(&with_header(&header)),
            Err(K::AlgorithmMismatch),
            "{alg:?}"
        );
    }
}

#[test]
fn unknown_algorithms_are_unsupported() {
    // Public-key algorithms are known with the `aws-lc` feature: then an HS256 key refuses them
    // as a mismatch (tested below).
    let public_key_algs: &[&str] = if cfg!(feature = "aws-lc") {
        &[]
    } else {
        &["RS256", "ES256", "PS256", "EdDSA"]
    };
    for alg in ["HS1", "hs256", "HS256 ", "", "HS", "RS1", "ES521"]
        .into_iter()
        .chain(public_key_algs.iter().copied())
    {
        let header = format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#);
        assert_eq!(
            verdict(&with_header(&header)),
            Err(K::UnsupportedAlgorithm),
            "{alg:?}"
        );
    }
}

#[test]
fn an_hs384_token_on_an_hs256_key_is_an_algorithm_mismatch() {
    let hs384 = SigningKey::hs384([7u8; 48]).unwrap();
    let token = hs384.sign(&alice()).unwrap();
    assert_eq!(verdict(&token), Err(K::AlgorithmMismatch));
    let hs512 = SigningKey::hs512([7u8; 64]).unwrap();
    assert_eq!(verdict(&hs512.sign(&alice()).unwrap()), Err(K::AlgorithmMismatch));
}

#[test]
fn a_token_whose_alg_differs_from_the_key_is_never_verified_with_the_tokens_alg() {
    // Each header lies about the algorithm, but carries a MAC that is valid under the key's
    // secret with the algorithm the header names: refused before any MAC is computed.
    let payload = b64(good_payload());
    let h384 = b64(r#"{"alg":"HS384","typ":"JWT"}"#);
    let input = format!("{h384}.{payload}");
    let token = format!("{input}.{}", b64(hmac384(SECRET, input.as_bytes())));
    assert_eq!(verdict(&token), Err(K::AlgorithmMismatch));
    let h512 = b64(r#"{"alg":"HS512","typ":"JWT"}"#);
    let input = format!("{h512}.{payload}");
    let token = format!("{input}.{}", b64(hmac512(SECRET, input.as_bytes())));
    assert_eq!(verdict(&token), Err(K::AlgorithmMismatch));
    // And with a MAC that is valid for the key's own algorithm.
    let token = forge(r#"{"alg":"HS384","typ":"JWT"}"#, &good_payload());
    assert_eq!(verdict(&token), Err(K::AlgorithmMismatch));
    // The other way round: an HS256 token on an HS384 key.
    let key384 = VerifyingKey::hs384([7u8; 48]).unwrap();
    let err = validation().verify::<Value>(&signing().sign(&alice()).unwrap(), &key384);
    assert_eq!(kind_of(err), K::AlgorithmMismatch);
}

#[test]
fn verify_with_key_still_binds_the_algorithm_to_the_key() {
    let token = SigningKey::hs384([7u8; 48]).unwrap().sign(&alice()).unwrap();
    assert_eq!(
        kind_of(validation().verify_with_key::<Value>(&token, &key())),
        K::AlgorithmMismatch
    );
    let good = signing().sign(&alice()).unwrap();
    assert_eq!(
        validation().verify_with_key::<Claims>(&good, &key()).unwrap(),
        alice()
    );
}

#[test]
fn a_crit_header_is_critical_even_when_empty() {
    for crit in [r#"["exp"]"#, "[]", r#"["b64"]"#, "null", r#""exp""#] {
        let header = format!(r#"{{"alg":"HS256","typ":"JWT","crit":{crit}}}"#);
        assert_eq!(verdict(&with_header(&header)), Err(K::CriticalHeader), "{crit}");
    }
}

#[test]
fn b64_false_is_a_critical_header() {
    for b64_value in ["false", r#""false""#, "0", "null"] {
        let header = format!(r#"{{"alg":"HS256","typ":"JWT","b64":{b64_value}}}"#);
        assert_eq!(
            verdict(&with_header(&header)),
            Err(K::CriticalHeader),
            "{b64_value}"
        );
    }
    let header = r#"{"alg":"HS256","crit":["b64"],"b64":false}"#;
    assert_eq!(verdict(&with_header(header)), Err(K::CriticalHeader));
}

#[test]
fn b64_true_is_the_default_meaning_and_is_accepted() {
    assert_eq!(
        verdict(&with_header(r#"{"alg":"HS256","typ":"JWT","b64":true}"#)),
        Ok(())
    );
}

#[test]
fn typ_jwt_and_at_jwt_are_accepted_in_any_case_with_an_optional_application_prefix() {
    for typ in [
        "JWT",
        "jwt",
        "Jwt",
        "application/jwt",
        "APPLICATION/JWT",
        "at+jwt",
        "AT+JWT",
        "application/at+jwt",
    ] {
        let header = format!(r#"{{"alg":"HS256","typ":"{typ}"}}"#);
        assert_eq!(verdict(&with_header(&header)), Ok(()), "{typ}");
    }
}

#[test]
fn a_header_without_typ_is_accepted() {
    assert_eq!(verdict(&with_header(r#"{"alg":"HS256"}"#)), Ok(()));
}

#[test]
fn other_token_types_are_an_invalid_token_type() {
    for typ in [
        "JOSE",
        "JOSE+JSON",
        "refresh+jwt",
        "application/refresh+jwt",
        "dpop+jwt",
        "id_token+jwt",
        "application/json",
        "application/",
        "",
        "JWT ",
        " JWT",
        "application/jwt/jwt",
    ] {
        let header = format!(r#"{{"alg":"HS256","typ":"{typ}"}}"#);
        assert_eq!(
            verdict(&with_header(&header)),
            Err(K::InvalidTokenType),
            "{typ:?}"
        );
    }
}

#[test]
fn a_non_string_typ_or_kid_is_malformed() {
    for header in [
        r#"{"alg":"HS256","typ":1}"#,
        r#"{"alg":"HS256","typ":null}"#,
        r#"{"alg":"HS256","typ":["JWT"]}"#,
        r#"{"alg":"HS256","kid":5}"#,
        r#"{"alg":"HS256","kid":null}"#,
        r#"{"alg":"HS256","kid":{"id":"a"}}"#,
    ] {
        assert_eq!(verdict(&with_header(header)), Err(K::Malformed), "{header}");
    }
}

#[test]
fn a_duplicate_header_member_is_malformed() {
    for header in [
        r#"{"alg":"HS256","alg":"HS256"}"#,
        r#"{"alg":"HS256","alg":"none"}"#,
        r#"{"alg":"HS256","\u0061lg":"HS256"}"#,
        r#"{"alg":"HS256","typ":"JWT","typ":"JWT"}"#,
        r#"{"alg":"HS256","kid":"a","kid":"b"}"#,
        r#"{"alg":"HS256","x":1,"x":1}"#,
        r#"{"alg":"HS256","crit":[],"crit":[]}"#,
    ] {
        assert_eq!(verdict(&with_header(header)), Err(K::Malformed), "{header}");
    }
}

#[test]
fn jku_x5u_jwk_and_x5c_are_ignored_and_the_configured_key_is_used() {
    let jwk = format!(r#"{{"kty":"oct","k":"{}"}}"#, b64(ATTACKER));
    for member in [
        r#""jku":"https://attacker.example/jwks.json""#.to_owned(),
        r#""x5u":"https://attacker.example/cert.pem""#.to_owned(),
        format!(r#""jwk":{jwk}"#),
        r#""x5c":["MIIBszCCAVmgAwIBAgIU"]"#.to_owned(),
        r#""x5t":"abc","x5t#S256":"def""#.to_owned(),
    ] {
        let header = format!(r#"{{"alg":"HS256","typ":"JWT",{member}}}"#);
        assert_eq!(verdict(&with_header(&header)), Ok(()), "{member}");
    }
}

#[test]
fn a_token_signed_with_the_key_it_embeds_is_an_invalid_signature() {
    let jwk = format!(r#"{{"kty":"oct","k":"{}"}}"#, b64(ATTACKER));
    for member in [
        format!(r#""jwk":{jwk}"#),
        r#""jku":"https://attacker.example/jwks.json""#.to_owned(),
        r#""x5u":"https://attacker.example/key""#.to_owned(),
        r#""x5c":["MIIBszCCAVmgAwIBAgIU"]"#.to_owned(),
    ] {
        let header = format!(r#"{{"alg":"HS256","typ":"JWT",{member}}}"#);
        let token = sign_segments_with(ATTACKER, &b64(&header), &b64(good_payload()));
        assert_eq!(verdict(&token), Err(K::InvalidSignature), "{member}");
    }
}

#[test]
fn a_header_too_large_for_the_stack_buffer_is_still_verified() {
    // Decoded headers of up to 512 bytes stay on the stack; walk across that boundary.
    for extra in 440..=600 {
        let header = format!(r#"{{"alg":"HS256","typ":"JWT","x5u":"{}"}}"#, "u".repeat(extra));
        assert_eq!(
            verdict(&with_header(&header)),
            Ok(()),
            "header of {} bytes",
            header.len()
        );
        let jose = with_header(&header.replace("\"JWT\"", "\"JOSE\""));
        assert_eq!(
            verdict(&jose),
            Err(K::InvalidTokenType),
            "header of {} bytes",
            header.len()
        );
    }
}

#[test]
fn a_large_header_keeps_its_kid_for_key_selection() {
    let a = SigningKey::hs256([1u8; 32]).unwrap().with_kid("a").unwrap();
    let b = SigningKey::hs256([2u8; 32]).unwrap().with_kid("b").unwrap();
    let ring = KeyRing::new([a.verifying_key(), b.verifying_key()]).unwrap();
    let header = format!(r#"{{"alg":"HS256","kid":"b","pad":"{}"}}"#, "p".repeat(1000));
    let token = sign_segments_with(&[2u8; 32], &b64(&header), &b64(good_payload()));
    assert_eq!(ring_verdict(&ring, &token), Ok(()));
    let wrong = sign_segments_with(&[1u8; 32], &b64(&header), &b64(good_payload()));
    assert_eq!(ring_verdict(&ring, &wrong), Err(K::InvalidSignature));
}

#[test]
fn deeply_nested_json_in_the_header_never_overflows_the_stack() {
    let v = validation().max_token_len(1 << 20);
    for depth in [200, 5_000, 100_000] {
        let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        // An ignored member is skipped without recursion: the token verifies.
        let ignored = format!(r#"{{"alg":"HS256","x":{nested}}}"#);
        assert_eq!(
            verdict_with(&v, &with_header(&ignored)),
            Ok(()),
            "ignored {depth}"
        );
        let crit = format!(r#"{{"alg":"HS256","crit":{nested}}}"#);
        assert_eq!(
            verdict_with(&v, &with_header(&crit)),
            Err(K::CriticalHeader),
            "crit {depth}"
        );
        // `b64` is read as a JSON value, which stops at serde_json's recursion limit.
        let b64_member = format!(r#"{{"alg":"HS256","b64":{nested}}}"#);
        assert_eq!(
            verdict_with(&v, &with_header(&b64_member)),
            Err(K::Malformed),
            "b64 {depth}"
        );
        let alg = format!(r#"{{"alg":{nested}}}"#);
        assert_eq!(
            verdict_with(&v, &with_header(&alg)),
            Err(K::Malformed),
            "alg {depth}"
        );
    }
}

#[test]
fn invalid_utf8_in_the_alg_member_is_malformed() {
    let token = forge_bytes(b"{\"alg\":\"HS256\xff\"}", good_payload().as_bytes());
    assert_eq!(verdict(&token), Err(K::Malformed));
}

#[test]
fn invalid_utf8_in_an_ignored_header_member_is_malformed() {
    // RFC 7515 section 4: the header is UTF-8 JSON; a header that is not is not a JOSE header.
    let token = forge_bytes(
        b"{\"alg\":\"HS256\",\"typ\":\"JWT\",\"x\":\"\xff\xfe\"}",
        good_payload().as_bytes(),
    );
    assert_eq!(verdict(&token), Err(K::Malformed));
}

// ---------------------------------------------------------------------------------------------
// kid and key selection
// ---------------------------------------------------------------------------------------------

#[test]
fn a_static_key_with_a_kid_refuses_a_token_with_another_kid_as_unknown_key() {
    let key_a = signing().with_kid("a").unwrap();
    let key_b = signing().with_kid("b").unwrap();
    let token_b = key_b.sign(&alice()).unwrap();
    let err = validation().verify::<Claims>(&token_b, &key_a.verifying_key());
    assert_eq!(kind_of(err), K::UnknownKey);
    let token_a = key_a.sign(&alice()).unwrap();
    assert_eq!(
        validation()
            .verify::<Claims>(&token_a, &key_a.verifying_key())
            .unwrap(),
        alice()
    );
}

#[test]
fn a_static_key_with_a_kid_accepts_a_token_without_kid() {
    let named = signing().with_kid("a").unwrap().verifying_key();
    let token = signing().sign(&alice()).unwrap();
    assert_eq!(validation().verify::<Claims>(&token, &named).unwrap(), alice());
}

#[test]
fn a_static_key_without_a_kid_accepts_any_kid() {
    let token = signing().with_kid("whatever").unwrap().sign(&alice()).unwrap();
    assert_eq!(validation().verify::<Claims>(&token, &key()).unwrap(), alice());
}

fn two_key_ring() -> (SigningKey, SigningKey, KeyRing) {
    let a = SigningKey::hs256([1u8; 32]).unwrap().with_kid("a").unwrap();
    let b = SigningKey::hs256([2u8; 32]).unwrap().with_kid("b").unwrap();
    let ring = KeyRing::new([a.verifying_key(), b.verifying_key()]).unwrap();
    (a, b, ring)
}

#[test]
fn a_key_ring_selects_the_key_by_kid() {
    let (a, b, ring) = two_key_ring();
    assert_eq!(ring_verdict(&ring, &a.sign(&alice()).unwrap()), Ok(()));
    assert_eq!(ring_verdict(&ring, &b.sign(&alice()).unwrap()), Ok(()));
    // Key b's secret under kid "a": verified with key a, so the signature does not match.
    let impostor = SigningKey::hs256([2u8; 32]).unwrap().with_kid("a").unwrap();
    assert_eq!(
        ring_verdict(&ring, &impostor.sign(&alice()).unwrap()),
        Err(K::InvalidSignature)
    );
}

#[test]
fn a_key_ring_refuses_an_unknown_kid() {
    let (_, _, ring) = two_key_ring();
    let c = SigningKey::hs256([1u8; 32]).unwrap().with_kid("c").unwrap();
    assert_eq!(
        ring_verdict(&ring, &c.sign(&alice()).unwrap()),
        Err(K::UnknownKey)
    );
    let case = SigningKey::hs256([1u8; 32]).unwrap().with_kid("A").unwrap();
    assert_eq!(
        ring_verdict(&ring, &case.sign(&alice()).unwrap()),
        Err(K::UnknownKey)
    );
}

#[test]
fn a_key_ring_refuses_a_token_without_kid_unless_a_default_is_named() {
    let (_, _, ring) = two_key_ring();
    let anonymous_b = SigningKey::hs256([2u8; 32]).unwrap();
    let token = anonymous_b.sign(&alice()).unwrap();
    assert_eq!(ring_verdict(&ring, &token), Err(K::UnknownKey));
    let with_default = ring.clone().with_default_kid("b").unwrap();
    assert_eq!(ring_verdict(&with_default, &token), Ok(()));
    let wrong_default = ring.with_default_kid("a").unwrap();
    assert_eq!(ring_verdict(&wrong_default, &token), Err(K::InvalidSignature));
}

#[test]
fn key_ring_configuration_mistakes_are_config_errors() {
    assert_eq!(KeyRing::new([key()]).unwrap_err(), ConfigError::MissingKeyId);
    let a = || key().with_kid("a").unwrap();
    assert_eq!(KeyRing::new([a(), a()]).unwrap_err(), ConfigError::DuplicateKeyId);
    assert_eq!(
        KeyRing::new([a()]).unwrap().with_default_kid("z").unwrap_err(),
        ConfigError::UnknownDefaultKey
    );
    assert_eq!(key().with_kid("").unwrap_err(), ConfigError::InvalidKeyId);
    assert_eq!(
        key().with_kid("k".repeat(257)).unwrap_err(),
        ConfigError::InvalidKeyId
    );
}

// ---------------------------------------------------------------------------------------------
// Signature
// ---------------------------------------------------------------------------------------------

#[test]
fn a_tampered_payload_is_an_invalid_signature() {
    let (h, _, s) = parts(&signing().sign(&alice()).unwrap());
    let admin = b64(format!(r#"{{"sub":"alice","role":"admin","exp":{LATER}}}"#));
    assert_eq!(verdict(&format!("{h}.{admin}.{s}")), Err(K::InvalidSignature));
}

#[test]
fn a_tampered_header_is_an_invalid_signature() {
    let (_, p, s) = parts(&signing().sign(&alice()).unwrap());
    for header in [
        r#"{"alg":"HS256","typ":"at+jwt"}"#,
        r#"{"alg":"HS256"}"#,
        r#"{"alg":"HS256","typ":"JWT","kid":"x"}"#,
    ] {
        assert_eq!(
            verdict(&format!("{}.{p}.{s}", b64(header))),
            Err(K::InvalidSignature),
            "{header}"
        );
    }
}

#[test]
fn a_tampered_signature_is_an_invalid_signature() {
    let (h, p, s) = parts(&signing().sign(&alice()).unwrap());
    for at in [0, 10, 21, 41] {
        let mut bytes = s.clone().into_bytes();
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        let t = format!("{h}.{p}.{}", String::from_utf8(bytes).unwrap());
        assert_eq!(verdict(&t), Err(K::InvalidSignature), "at {at}");
    }
    let zeros = b64([0u8; 32]);
    assert_eq!(verdict(&format!("{h}.{p}.{zeros}")), Err(K::InvalidSignature));
}

#[test]
fn a_signature_of_the_wrong_length_is_an_invalid_signature() {
    let token = signing().sign(&alice()).unwrap();
    let (h, p, s) = parts(&token);
    let input = format!("{h}.{p}");
    let hs512_tag = b64(hmac512(SECRET, input.as_bytes()));
    let truncated_tag = b64(&hmac256(SECRET, input.as_bytes())[..16]);
    for sig in [
        s[..42].to_owned(),
        s[..40].to_owned(),
        format!("{s}A"),
        format!("{s}AAAA"),
        format!("{s}{s}"),
        "A".into(),
        hs512_tag,
        truncated_tag,
    ] {
        assert_eq!(
            verdict(&format!("{input}.{sig}")),
            Err(K::InvalidSignature),
            "{sig}"
        );
    }
}

#[test]
fn a_token_signed_with_a_different_secret_is_an_invalid_signature() {
    let token = SigningKey::hs256(ATTACKER).unwrap().sign(&alice()).unwrap();
    assert_eq!(verdict(&token), Err(K::InvalidSignature));
    let longer = SigningKey::hs256([SECRET.as_slice(), b"!"].concat()).unwrap();
    assert_eq!(verdict(&longer.sign(&alice()).unwrap()), Err(K::InvalidSignature));
}

#[test]
fn the_signature_is_checked_before_the_claims() {
    let expired = r#"{"sub":"alice","role":"user","exp":1}"#;
    let token = sign_segments_with(ATTACKER, &b64(HEADER), &b64(expired));
    assert_eq!(verdict(&token), Err(K::InvalidSignature));
    let not_an_object = sign_segments_with(ATTACKER, &b64(HEADER), &b64("[1,2]"));
    assert_eq!(verdict(&not_an_object), Err(K::InvalidSignature));
}

// ---------------------------------------------------------------------------------------------
// exp
// ---------------------------------------------------------------------------------------------

#[test]
fn a_missing_exp_is_refused_as_a_missing_claim() {
    assert_eq!(
        claims_verdict(&validation(), r#"{"sub":"alice"}"#),
        Err(K::MissingClaim(Claim::Exp))
    );
    assert_eq!(
        claims_verdict(&validation(), "{}"),
        Err(K::MissingClaim(Claim::Exp))
    );
}

#[test]
fn dangerous_allow_missing_exp_accepts_no_exp_but_still_checks_a_present_one() {
    let v = validation().dangerous_allow_missing_exp();
    assert_eq!(claims_verdict(&v, r#"{"sub":"alice"}"#), Ok(()));
    assert_eq!(
        claims_verdict(&v, &format!(r#"{{"exp":{}}}"#, NOW - 3600)),
        Err(K::Expired)
    );
    assert_eq!(
        claims_verdict(&v, r#"{"exp":"soon"}"#),
        Err(K::InvalidClaimType(Claim::Exp))
    );
    assert_eq!(
        claims_verdict(&v, r#"{"exp":null}"#),
        Err(K::InvalidClaimType(Claim::Exp))
    );
}

#[test]
fn an_exp_further_in_the_past_than_the_leeway_is_expired() {
    let v = validation();
    for exp in [NOW - 31, NOW - 3600, 1, 0] {
        assert_eq!(
            claims_verdict(&v, &format!(r#"{{"exp":{exp}}}"#)),
            Err(K::Expired),
            "{exp}"
        );
    }
    let old = signing()
        .sign(&Claims {
            exp: NOW - 3600,
            ..alice()
        })
        .unwrap();
    assert_eq!(kind_of(v.verify::<Claims>(&old, &key())), K::Expired);
}

#[test]
fn an_exp_that_passed_within_the_leeway_is_accepted() {
    for exp in [NOW - 29, NOW - 1, NOW, NOW + 1] {
        assert_eq!(
            claims_verdict(&validation(), &format!(r#"{{"exp":{exp}}}"#)),
            Ok(()),
            "{exp}"
        );
    }
}

#[test]
fn a_token_exactly_at_exp_plus_leeway_is_expired() {
    assert_eq!(
        tower_jwt_auth::validation::DEFAULT_LEEWAY,
        Duration::from_secs(30)
    );
    let at_boundary = format!(r#"{{"exp":{}}}"#, NOW - 30);
    assert_eq!(claims_verdict(&validation(), &at_boundary), Err(K::Expired));
    let one_before = format!(r#"{{"exp":{}}}"#, NOW - 29);
    assert_eq!(claims_verdict(&validation(), &one_before), Ok(()));
    let no_leeway = validation().leeway(Duration::ZERO);
    assert_eq!(
        claims_verdict(&no_leeway, &format!(r#"{{"exp":{NOW}}}"#)),
        Err(K::Expired)
    );
    assert_eq!(
        claims_verdict(&no_leeway, &format!(r#"{{"exp":{}}}"#, NOW + 1)),
        Ok(())
    );
}

#[test]
fn a_custom_leeway_moves_the_expiry_boundary() {
    let v = validation().leeway(Duration::from_secs(120));
    assert_eq!(claims_verdict(&v, &format!(r#"{{"exp":{}}}"#, NOW - 119)), Ok(()));
    assert_eq!(
        claims_verdict(&v, &format!(r#"{{"exp":{}}}"#, NOW - 120)),
        Err(K::Expired)
    );
    let v = validation().leeway(Duration::from_secs(5));
    assert_eq!(claims_verdict(&v, &format!(r#"{{"exp":{}}}"#, NOW - 4)), Ok(()));
    assert_eq!(
        claims_verdict(&v, &format!(r#"{{"exp":{}}}"#, NOW - 6)),
        Err(K::Expired)
    );
}

#[test]
fn a_fractional_exp_is_accepted_as_a_number_of_seconds() {
    assert_eq!(claims_verdict(&validation(), r#"{"exp":1700000000.5}"#), Ok(()));
    let strict = validation().leeway(Duration::ZERO);
    assert_eq!(claims_verdict(&strict, r#"{"exp":1700000000.5}"#), Ok(()));
    assert_eq!(
        claims_verdict(&strict, r#"{"exp":1699999999.5}"#),
        Err(K::Expired)
    );
    assert_eq!(claims_verdict(&strict, r#"{"exp":1.7000006e9}"#), Ok(()));
    assert_eq!(claims_verdict(&strict, r#"{"exp":17e8}"#), Err(K::Expired));
}

#[test]
fn a_string_exp_is_refused_as_the_wrong_type_never_as_absent() {
    for exp in [
        format!(r#""{LATER}""#),
        r#""""#.to_owned(),
        "true".into(),
        "false".into(),
        "null".into(),
        format!("[{LATER}]"),
        "[]".into(),
        format!(r#"{{"at":{LATER}}}"#),
        "{}".into(),
    ] {
        let payload = format!(r#"{{"sub":"alice","exp":{exp}}}"#);
        assert_eq!(
            claims_verdict(&validation(), &payload),
            Err(K::InvalidClaimType(Claim::Exp)),
            "{exp}"
        );
        let lax = validation().dangerous_allow_missing_exp();
        assert_eq!(
            claims_verdict(&lax, &payload),
            Err(K::InvalidClaimType(Claim::Exp)),
            "{exp}"
        );
    }
}

#[test]
fn huge_exp_values_never_panic_and_give_sane_results() {
    let v = validation();
    let far_future = [
        "1e300",
        "1.7976931348623157e308",
        "18446744073709551615",
        "18446744073709551616",
        "9223372036854775807",
        "99999999999999999999999999999",
    ];
    for exp in far_future {
        assert_eq!(
            claims_verdict(&v, &format!(r#"{{"exp":{exp}}}"#)),
            Ok(()),
            "{exp}"
        );
    }
    let far_past = [
        "-1e300",
        "-1.7976931348623157e308",
        "-9223372036854775808",
        "-18446744073709551616",
        "-1",
        "-0",
        "0",
        "5e-324",
    ];
    for exp in far_past {
        assert_eq!(
            claims_verdict(&v, &format!(r#"{{"exp":{exp}}}"#)),
            Err(K::Expired),
            "{exp}"
        );
    }
    // Beyond f64: serde_json cannot read the number at all, so the claims set is not JSON it
    // can parse. Refused as malformed, without a panic.
    for exp in ["1e400", "-1e400"] {
        assert_eq!(
            claims_verdict(&v, &format!(r#"{{"exp":{exp}}}"#)),
            Err(K::Malformed),
            "{exp}"
        );
    }
    // Nor with a leeway as large as it gets.
    let wide = validation().leeway(Duration::from_secs(u64::MAX));
    assert_eq!(claims_verdict(&wide, r#"{"exp":-1e300}"#), Err(K::Expired));
    assert_eq!(claims_verdict(&wide, r#"{"exp":0}"#), Ok(()));
}

// ---------------------------------------------------------------------------------------------
// nbf
// ---------------------------------------------------------------------------------------------

#[test]
fn an_nbf_in_the_future_beyond_the_leeway_is_not_yet_valid() {
    for nbf in [NOW + 31, NOW + 3600] {
        let payload = format!(r#"{{"exp":{LATER},"nbf":{nbf}}}"#);
        assert_eq!(
            claims_verdict(&validation(), &payload),
            Err(K::NotYetValid),
            "{nbf}"
        );
    }
    assert_eq!(
        claims_verdict(&validation(), &format!(r#"{{"exp":{LATER},"nbf":1e300}}"#)),
        Err(K::NotYetValid)
    );
    let strict = validation().leeway(Duration::ZERO);
    let payload = format!(r#"{{"exp":{LATER},"nbf":{}}}"#, NOW + 1);
    assert_eq!(claims_verdict(&strict, &payload), Err(K::NotYetValid));
}

#[test]
fn an_nbf_within_the_leeway_or_past_is_accepted() {
    for nbf in [NOW + 30, NOW + 1, NOW, NOW - 1, 0] {
        let payload = format!(r#"{{"exp":{LATER},"nbf":{nbf}}}"#);
        assert_eq!(claims_verdict(&validation(), &payload), Ok(()), "{nbf}");
    }
    assert_eq!(
        claims_verdict(&validation(), &format!(r#"{{"exp":{LATER},"nbf":-1e300}}"#)),
        Ok(())
    );
    assert_eq!(
        claims_verdict(&validation(), &format!(r#"{{"exp":{LATER},"nbf":1700000030.0}}"#)),
        Ok(())
    );
}

#[test]
fn a_non_numeric_nbf_is_the_wrong_type() {
    for nbf in [r#""0""#, "true", "null", "[0]", "{}"] {
        let payload = format!(r#"{{"exp":{LATER},"nbf":{nbf}}}"#);
        assert_eq!(
            claims_verdict(&validation(), &payload),
            Err(K::InvalidClaimType(Claim::Nbf)),
            "{nbf}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// iat
// ---------------------------------------------------------------------------------------------

#[test]
fn an_iat_in_the_future_beyond_the_leeway_is_issued_in_the_future() {
    let payload = format!(r#"{{"exp":{LATER},"iat":{}}}"#, NOW + 31);
    assert_eq!(claims_verdict(&validation(), &payload), Err(K::IssuedInFuture));
    let payload = format!(r#"{{"exp":{LATER},"iat":{}}}"#, NOW + 30);
    assert_eq!(claims_verdict(&validation(), &payload), Ok(()));
    let payload = format!(r#"{{"exp":{LATER},"iat":{NOW}}}"#);
    assert_eq!(claims_verdict(&validation(), &payload), Ok(()));
}

#[test]
fn max_age_refuses_a_token_issued_too_long_ago_as_too_old() {
    let v = validation()
        .max_age(Duration::from_secs(3600))
        .leeway(Duration::ZERO);
    let payload = |iat: u64| format!(r#"{{"exp":{LATER},"iat":{iat}}}"#);
    assert_eq!(claims_verdict(&v, &payload(NOW - 3601)), Err(K::TooOld));
    assert_eq!(claims_verdict(&v, &payload(NOW - 3600)), Ok(()));
    assert_eq!(claims_verdict(&v, &payload(NOW - 10)), Ok(()));
    let default_leeway = validation().max_age(Duration::from_secs(3600));
    assert_eq!(
        claims_verdict(&default_leeway, &payload(NOW - 7200)),
        Err(K::TooOld)
    );
    assert_eq!(claims_verdict(&default_leeway, &payload(0)), Err(K::TooOld));
    assert_eq!(
        claims_verdict(&default_leeway, r#"{"exp":1e300,"iat":-1e300}"#),
        Err(K::TooOld)
    );
}

#[test]
fn max_age_makes_iat_required() {
    let v = validation().max_age(Duration::from_secs(3600));
    assert_eq!(
        claims_verdict(&v, &format!(r#"{{"exp":{LATER}}}"#)),
        Err(K::MissingClaim(Claim::Iat))
    );
    assert_eq!(
        claims_verdict(&validation(), &format!(r#"{{"exp":{LATER}}}"#)),
        Ok(()),
        "optional otherwise"
    );
}

#[test]
fn a_non_numeric_iat_is_the_wrong_type() {
    for iat in [r#""0""#, "true", "null", "[0]", "{}"] {
        let payload = format!(r#"{{"exp":{LATER},"iat":{iat}}}"#);
        assert_eq!(
            claims_verdict(&validation(), &payload),
            Err(K::InvalidClaimType(Claim::Iat)),
            "{iat}"
        );
        let with_max_age = validation().max_age(Duration::from_secs(60));
        assert_eq!(
            claims_verdict(&with_max_age, &payload),
            Err(K::InvalidClaimType(Claim::Iat)),
            "{iat}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// iss
// ---------------------------------------------------------------------------------------------

const ISSUER: &str = "https://auth.example.com";

fn with_issuer() -> Validation {
    validation().issuer(ISSUER).unwrap()
}

#[test]
fn a_configured_issuer_makes_iss_required() {
    assert_eq!(
        claims_verdict(&with_issuer(), &good_payload()),
        Err(K::MissingClaim(Claim::Iss))
    );
    let payload = format!(r#"{{"exp":{LATER},"iss":"{ISSUER}"}}"#);
    assert_eq!(claims_verdict(&with_issuer(), &payload), Ok(()));
}

#[test]
fn a_different_issuer_is_an_invalid_issuer() {
    for iss in [
        "https://evil.example.com",
        "https://AUTH.example.com",
        "https://auth.example.com/",
        "https://auth.example",
        "",
    ] {
        let payload = format!(r#"{{"exp":{LATER},"iss":"{iss}"}}"#);
        assert_eq!(
            claims_verdict(&with_issuer(), &payload),
            Err(K::InvalidIssuer),
            "{iss:?}"
        );
    }
}

#[test]
fn a_non_string_iss_is_the_wrong_type() {
    for iss in ["1", "null", "true", &format!(r#"["{ISSUER}"]"#), "{}"] {
        let payload = format!(r#"{{"exp":{LATER},"iss":{iss}}}"#);
        assert_eq!(
            claims_verdict(&with_issuer(), &payload),
            Err(K::InvalidClaimType(Claim::Iss)),
            "{iss}"
        );
        assert_eq!(
            claims_verdict(&validation(), &payload),
            Err(K::InvalidClaimType(Claim::Iss)),
            "{iss}"
        );
    }
}

#[test]
fn any_one_of_several_configured_issuers_is_accepted() {
    let v = validation()
        .issuer("https://one.example")
        .unwrap()
        .issuer("https://two.example")
        .unwrap();
    assert_eq!(
        v.issuers().collect::<Vec<_>>(),
        ["https://one.example", "https://two.example"]
    );
    for iss in ["https://one.example", "https://two.example"] {
        assert_eq!(
            claims_verdict(&v, &format!(r#"{{"exp":{LATER},"iss":"{iss}"}}"#)),
            Ok(()),
            "{iss}"
        );
    }
    let payload = format!(r#"{{"exp":{LATER},"iss":"https://three.example"}}"#);
    assert_eq!(claims_verdict(&v, &payload), Err(K::InvalidIssuer));
}

#[test]
fn any_string_iss_is_accepted_when_no_issuer_is_configured() {
    let payload = format!(r#"{{"exp":{LATER},"iss":"https://anyone.example"}}"#);
    assert_eq!(claims_verdict(&validation(), &payload), Ok(()));
}

#[test]
fn an_escaped_iss_is_compared_after_unescaping() {
    let payload = format!(r#"{{"exp":{LATER},"iss":"https:\/\/auth.example.com"}}"#);
    assert_eq!(claims_verdict(&with_issuer(), &payload), Ok(()));
}

// ---------------------------------------------------------------------------------------------
// aud
// ---------------------------------------------------------------------------------------------

fn with_audience() -> Validation {
    validation().audience("orders-api").unwrap()
}

fn aud_payload(aud: &str) -> String {
    format!(r#"{{"exp":{LATER},"aud":{aud}}}"#)
}

#[test]
fn a_configured_audience_makes_aud_required() {
    assert_eq!(
        claims_verdict(&with_audience(), &good_payload()),
        Err(K::MissingClaim(Claim::Aud))
    );
}

#[test]
fn a_string_aud_equal_to_the_configured_audience_is_accepted() {
    assert_eq!(
        claims_verdict(&with_audience(), &aud_payload(r#""orders-api""#)),
        Ok(())
    );
}

#[test]
fn an_aud_array_containing_the_configured_audience_is_accepted() {
    for aud in [
        r#"["orders-api"]"#,
        r#"["billing","orders-api"]"#,
        r#"["orders-api","billing","x"]"#,
    ] {
        assert_eq!(
            claims_verdict(&with_audience(), &aud_payload(aud)),
            Ok(()),
            "{aud}"
        );
    }
}

#[test]
fn an_aud_without_the_configured_audience_is_an_invalid_audience() {
    for aud in [
        r#""billing""#,
        r#""ORDERS-API""#,
        r#""orders-api ""#,
        r#"["billing"]"#,
        "[]",
        r#""""#,
    ] {
        assert_eq!(
            claims_verdict(&with_audience(), &aud_payload(aud)),
            Err(K::InvalidAudience),
            "{aud}"
        );
    }
}

#[test]
fn a_non_string_aud_or_aud_element_is_the_wrong_type() {
    for aud in [
        r#"["orders-api",1]"#,
        r#"[1,"orders-api"]"#,
        r#"["orders-api",null]"#,
        r#"[["orders-api"]]"#,
        "7",
        "null",
        "true",
        r#"{"aud":"orders-api"}"#,
    ] {
        assert_eq!(
            claims_verdict(&with_audience(), &aud_payload(aud)),
            Err(K::InvalidClaimType(Claim::Aud)),
            "{aud}"
        );
    }
}

#[test]
fn an_aud_is_unexpected_when_no_audience_is_configured() {
    for aud in [r#""orders-api""#, r#"["orders-api"]"#, "[]"] {
        assert_eq!(
            claims_verdict(&validation(), &aud_payload(aud)),
            Err(K::UnexpectedAudience),
            "{aud}"
        );
    }
}

#[test]
fn dangerous_accept_any_audience_accepts_an_aud_when_none_is_configured() {
    let v = validation().dangerous_accept_any_audience();
    for aud in [r#""orders-api""#, r#"["a","b"]"#] {
        assert_eq!(claims_verdict(&v, &aud_payload(aud)), Ok(()), "{aud}");
    }
    assert_eq!(
        claims_verdict(&v, &aud_payload("7")),
        Err(K::InvalidClaimType(Claim::Aud))
    );
}

#[test]
fn any_one_of_several_configured_audiences_is_accepted() {
    let v = validation().audience("a").unwrap().audience("b").unwrap();
    assert_eq!(v.audiences().collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(claims_verdict(&v, &aud_payload(r#""b""#)), Ok(()));
    assert_eq!(claims_verdict(&v, &aud_payload(r#"["x","a"]"#)), Ok(()));
    assert_eq!(
        claims_verdict(&v, &aud_payload(r#"["x","y"]"#)),
        Err(K::InvalidAudience)
    );
}

// ---------------------------------------------------------------------------------------------
// sub
// ---------------------------------------------------------------------------------------------

#[test]
fn require_sub_refuses_a_token_without_sub() {
    let v = validation().require_sub();
    assert_eq!(
        claims_verdict(&v, &format!(r#"{{"exp":{LATER}}}"#)),
        Err(K::MissingClaim(Claim::Sub))
    );
    assert_eq!(claims_verdict(&v, &good_payload()), Ok(()));
    assert_eq!(
        claims_verdict(&validation(), &format!(r#"{{"exp":{LATER}}}"#)),
        Ok(()),
        "optional otherwise"
    );
}

#[test]
fn a_non_string_sub_is_the_wrong_type() {
    for sub in ["1", "null", "true", r#"["alice"]"#, "{}"] {
        let payload = format!(r#"{{"exp":{LATER},"sub":{sub}}}"#);
        let required = validation().require_sub();
        assert_eq!(
            claims_verdict(&required, &payload),
            Err(K::InvalidClaimType(Claim::Sub)),
            "{sub}"
        );
        assert_eq!(
            claims_verdict(&validation(), &payload),
            Err(K::InvalidClaimType(Claim::Sub)),
            "{sub}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Payload
// ---------------------------------------------------------------------------------------------

#[test]
fn a_payload_that_is_not_an_object_is_malformed() {
    for payload in [
        "[]",
        r#"[{"exp":1800000000}]"#,
        r#""exp""#,
        "1700000600",
        "null",
        "true",
        " ",
    ] {
        assert_eq!(
            claims_verdict(&validation(), payload),
            Err(K::Malformed),
            "{payload}"
        );
    }
}

#[test]
fn a_payload_that_is_not_json_is_malformed() {
    for payload in [
        "exp=1700000600",
        "{exp:1700000600}",
        r#"{"exp":1700000600"#,
        r#"{"exp":1700000600,}"#,
        r#"{"exp":01700000600}"#,
    ] {
        assert_eq!(
            claims_verdict(&validation(), payload),
            Err(K::Malformed),
            "{payload}"
        );
    }
}

#[test]
fn trailing_data_after_the_payload_object_is_malformed() {
    let good = good_payload();
    for payload in [
        format!("{good} x"),
        format!("{good}{{}}"),
        format!("{good},"),
        format!("{good}\u{0}"),
        format!("{good}]"),
    ] {
        assert_eq!(
            claims_verdict(&validation(), &payload),
            Err(K::Malformed),
            "{payload:?}"
        );
    }
}

#[test]
fn a_payload_that_is_not_utf8_is_malformed() {
    let token = forge_bytes(HEADER.as_bytes(), b"\xff\xfe{\"exp\":1700000600}");
    assert_eq!(verdict(&token), Err(K::Malformed));
    let key_not_utf8 = forge_bytes(HEADER.as_bytes(), b"{\"\xff\":1,\"exp\":1700000600}");
    assert_eq!(verdict(&key_not_utf8), Err(K::Malformed));
}

#[test]
fn invalid_utf8_in_a_registered_claim_is_malformed() {
    let payload = b"{\"sub\":\"al\xffice\",\"role\":\"user\",\"exp\":1700000600}";
    let token = forge_bytes(HEADER.as_bytes(), payload);
    assert_eq!(
        kind_of(validation().verify::<Claims>(&token, &key())),
        K::Malformed
    );
}

#[test]
fn invalid_utf8_in_a_claim_the_application_ignores_is_malformed() {
    // RFC 7519 section 7.2: the claims set must be UTF-8 JSON, wherever the bad byte sits.
    let payload = b"{\"sub\":\"alice\",\"role\":\"user\",\"exp\":1700000600,\"note\":\"\xff\xfe\"}";
    let token = forge_bytes(HEADER.as_bytes(), payload);
    assert_eq!(
        kind_of(validation().verify::<Claims>(&token, &key())),
        K::Malformed
    );
}

#[test]
fn a_duplicate_claim_is_malformed() {
    for payload in [
        format!(r#"{{"exp":{LATER},"exp":{LATER}}}"#),
        format!(r#"{{"exp":{LATER},"exp":1}}"#),
        format!(r#"{{"exp":1,"exp":{LATER}}}"#),
        format!(r#"{{"exp":{LATER},"\u0065xp":1}}"#),
        format!(r#"{{"exp":{LATER},"sub":"alice","\u0073ub":"admin"}}"#),
        format!(r#"{{"exp":{LATER},"role":"user","role":"admin"}}"#),
        format!(r#"{{"exp":{LATER},"r\u006fle":"user","role":"admin"}}"#),
        format!(r#"{{"exp":{LATER},"aud":"a","aud":"b"}}"#),
    ] {
        assert_eq!(
            claims_verdict(&validation(), &payload),
            Err(K::Malformed),
            "{payload}"
        );
    }
}

#[test]
fn a_duplicate_among_many_claims_is_malformed() {
    // Past the first sixteen members, duplicates are tracked differently: still refused.
    let mut members: Vec<String> = (0..40).map(|i| format!(r#""c{i}":{i}"#)).collect();
    members.push(format!(r#""exp":{LATER}"#));
    let unique = format!("{{{}}}", members.join(","));
    assert_eq!(claims_verdict(&validation(), &unique), Ok(()));
    members.push(r#""c3":3"#.to_owned());
    let duplicated = format!("{{{}}}", members.join(","));
    assert_eq!(claims_verdict(&validation(), &duplicated), Err(K::Malformed));
}

#[test]
fn claims_that_do_not_fit_the_application_type_are_invalid_claims() {
    let token = with_payload(&format!(r#"{{"sub":"alice","exp":{LATER}}}"#));
    assert_eq!(
        kind_of(validation().verify::<Claims>(&token, &key())),
        K::InvalidClaims
    );
    let token = with_payload(&format!(r#"{{"sub":"alice","role":7,"exp":{LATER}}}"#));
    assert_eq!(
        kind_of(validation().verify::<Claims>(&token, &key())),
        K::InvalidClaims
    );
    let token = with_payload(&format!(r#"{{"sub":"alice","role":"user","exp":{LATER}.5}}"#));
    assert_eq!(
        kind_of(validation().verify::<Claims>(&token, &key())),
        K::InvalidClaims
    );
}

#[test]
fn registered_claims_are_checked_before_the_application_type() {
    let token = with_payload(r#"{"sub":"alice","exp":1}"#);
    assert_eq!(kind_of(validation().verify::<Claims>(&token, &key())), K::Expired);
}

#[test]
fn claims_are_decoded_into_the_application_type() {
    let token = signing().sign(&alice()).unwrap();
    assert_eq!(validation().verify::<Claims>(&token, &key()).unwrap(), alice());
    let registered: tower_jwt_auth::RegisteredClaims = validation().verify(&token, &key()).unwrap();
    assert_eq!(registered.sub.as_deref(), Some("alice"));
    assert_eq!(
        registered.exp,
        Some(tower_jwt_auth::NumericDate::from_secs(LATER as i64))
    );
}

#[test]
fn a_large_payload_is_decoded_on_the_heap_and_verifies() {
    let mut claims = serde_json::Map::new();
    claims.insert("sub".into(), json!("alice"));
    claims.insert("role".into(), json!("user"));
    claims.insert("exp".into(), json!(LATER));
    for i in 0..100 {
        claims.insert(format!("claim_{i:03}"), json!("v".repeat(40)));
    }
    let payload_len = serde_json::to_vec(&claims).unwrap().len();
    assert!(payload_len > 5_000, "{payload_len}");
    let token = signing().sign(&claims).unwrap();
    assert_eq!(validation().verify::<Claims>(&token, &key()).unwrap(), alice());
    let (h, _, s) = parts(&token);
    claims.insert("role".into(), json!("admin"));
    let tampered = format!("{h}.{}.{s}", b64(serde_json::to_vec(&claims).unwrap()));
    assert_eq!(verdict(&tampered), Err(K::InvalidSignature));
}

#[test]
fn payloads_on_either_side_of_the_stack_buffer_verify() {
    // Decoded payloads of up to 1 KiB stay on the stack; walk across that boundary.
    for pad in 940..=1_080 {
        let payload = format!(r#"{{"exp":{LATER},"pad":"{}"}}"#, "p".repeat(pad));
        assert_eq!(
            claims_verdict(&validation(), &payload),
            Ok(()),
            "payload of {} bytes",
            payload.len()
        );
        let expired = format!(r#"{{"exp":1,"pad":"{}"}}"#, "p".repeat(pad));
        assert_eq!(
            claims_verdict(&validation(), &expired),
            Err(K::Expired),
            "payload of {} bytes",
            expired.len()
        );
    }
}

#[test]
fn deeply_nested_json_in_the_payload_never_overflows_the_stack() {
    let v = validation().max_token_len(1 << 20);
    let with_aud = validation()
        .max_token_len(1 << 20)
        .audience("orders-api")
        .unwrap();
    for depth in [200, 5_000, 100_000] {
        let arrays = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let objects = format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth));
        for nested in [&arrays, &objects] {
            // In a claim the crate ignores, the application's type decides: a struct that does
            // not name it verifies; a `serde_json::Value` hits serde_json's recursion limit.
            let token = with_payload(&format!(
                r#"{{"sub":"alice","role":"user","exp":{LATER},"x":{nested}}}"#
            ));
            assert_eq!(v.verify::<Claims>(&token, &key()).unwrap(), alice(), "{depth}");
            assert_eq!(
                kind_of(v.verify::<Value>(&token, &key())),
                K::InvalidClaims,
                "{depth}"
            );
            let in_exp = format!(r#"{{"exp":{nested}}}"#);
            assert_eq!(
                claims_verdict(&v, &in_exp),
                Err(K::InvalidClaimType(Claim::Exp)),
                "exp {depth}"
            );
            let in_nbf = format!(r#"{{"exp":{LATER},"nbf":{nested}}}"#);
            assert_eq!(
                claims_verdict(&v, &in_nbf),
                Err(K::InvalidClaimType(Claim::Nbf)),
                "nbf {depth}"
            );
            let in_sub = format!(r#"{{"exp":{LATER},"sub":{nested}}}"#);
            assert_eq!(
                claims_verdict(&v, &in_sub),
                Err(K::InvalidClaimType(Claim::Sub)),
                "sub {depth}"
            );
            let in_aud = format!(r#"{{"exp":{LATER},"aud":{nested}}}"#);
            assert_eq!(
                claims_verdict(&with_aud, &in_aud),
                Err(K::InvalidClaimType(Claim::Aud)),
                "aud {depth}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

#[test]
fn an_auth_error_never_shows_the_token_or_any_part_of_it() {
    let subject = "alice-the-very-distinctive-subject";
    let body = |exp: u64, extra: &str| format!(r#"{{"sub":"{subject}","exp":{exp}{extra}}}"#);
    let cases = [
        (with_payload(&body(1, "")), K::Expired),
        (
            format!("{}x", with_payload(&body(LATER, ""))),
            K::InvalidSignature,
        ),
        (format!("{}!", with_payload(&body(LATER, ""))), K::Malformed),
        (
            with_payload(&body(LATER, r#","aud":"elsewhere""#)),
            K::UnexpectedAudience,
        ),
        (with_payload(&body(LATER, r#","exp2":1,"exp2":2"#)), K::Malformed),
        (
            forge(r#"{"alg":"HS256","typ":"refresh+jwt"}"#, &body(LATER, "")),
            K::InvalidTokenType,
        ),
        (
            forge(r#"{"alg":"RS256"}"#, &body(LATER, "")),
            if cfg!(feature = "aws-lc") {
                K::AlgorithmMismatch
            } else {
                K::UnsupportedAlgorithm
            },
        ),
        (
            with_payload(&format!(r#"{{"sub":1,"exp":{LATER}}}"#)),
            K::InvalidClaimType(Claim::Sub),
        ),
    ];
    for (token, expected) in cases {
        let err = validation().verify::<Value>(&token, &key()).unwrap_err();
        assert_eq!(err.kind(), expected);
        for shown in [err.to_string(), format!("{err:?}"), err.description().to_owned()] {
            assert!(!shown.contains(subject), "{shown}");
            for segment in token.split('.').filter(|s| !s.is_empty()) {
                assert!(!shown.contains(segment), "{shown}");
            }
            for window in token.as_bytes().windows(6) {
                let window = std::str::from_utf8(window).unwrap();
                assert!(!shown.contains(window), "{shown:?} contains {window:?}");
            }
        }
    }
}

#[test]
fn auth_error_is_copy_and_comparable() {
    fn assert_copy<T: Copy + Send + Sync + 'static>() {}
    assert_copy::<AuthError>();
    assert_copy::<K>();
    let err = kind_of(validation().verify::<Value>("a.b", &key()));
    let error = AuthError::new(err);
    let copy = error;
    assert_eq!(error, copy);
    assert_eq!(error.kind(), K::Malformed);
}

#[test]
fn hmac_secrets_shorter_than_the_hash_are_config_errors() {
    let too_short = |algorithm, min_bytes, actual| ConfigError::KeyTooShort {
        algorithm,
        min_bytes,
        actual,
    };
    assert_eq!(
        VerifyingKey::hs256([1u8; 31]).unwrap_err(),
        too_short(Algorithm::HS256, 32, 31)
    );
    assert_eq!(
        VerifyingKey::hs384([1u8; 47]).unwrap_err(),
        too_short(Algorithm::HS384, 48, 47)
    );
    assert_eq!(
        VerifyingKey::hs512([1u8; 63]).unwrap_err(),
        too_short(Algorithm::HS512, 64, 63)
    );
    assert_eq!(
        VerifyingKey::hs256([]).unwrap_err(),
        too_short(Algorithm::HS256, 32, 0)
    );
    assert_eq!(
        SigningKey::hs256([1u8; 31]).unwrap_err(),
        too_short(Algorithm::HS256, 32, 31)
    );
    assert_eq!(
        SigningKey::hs384([1u8; 47]).unwrap_err(),
        too_short(Algorithm::HS384, 48, 47)
    );
    assert_eq!(
        SigningKey::hs512([1u8; 63]).unwrap_err(),
        too_short(Algorithm::HS512, 64, 63)
    );
    assert_eq!(
        VerifyingKey::hmac(Algorithm::HS512, [1u8; 48]).unwrap_err(),
        too_short(Algorithm::HS512, 64, 48)
    );
    assert!(VerifyingKey::hs256([1u8; 32]).is_ok());
    assert!(VerifyingKey::hs384([1u8; 48]).is_ok());
    assert!(VerifyingKey::hs512([1u8; 64]).is_ok());
    let shown = VerifyingKey::hs256(b"short-secret-value")
        .unwrap_err()
        .to_string();
    assert!(!shown.contains("short-secret-value"), "{shown}");
}

#[test]
fn an_empty_issuer_or_audience_is_a_config_error() {
    assert_eq!(
        Validation::new().issuer("").unwrap_err(),
        ConfigError::EmptyValue("issuer")
    );
    assert_eq!(
        Validation::new().audience("").unwrap_err(),
        ConfigError::EmptyValue("audience")
    );
    assert_eq!(
        signing().with_typ("").unwrap_err(),
        ConfigError::EmptyValue("typ")
    );
}

// ---------------------------------------------------------------------------------------------
// Signing
// ---------------------------------------------------------------------------------------------

#[test]
fn a_signed_token_round_trips_through_verify() {
    for (signing, verifying) in [
        (
            SigningKey::hs256([3u8; 32]).unwrap(),
            VerifyingKey::hs256([3u8; 32]).unwrap(),
        ),
        (
            SigningKey::hs384([3u8; 48]).unwrap(),
            VerifyingKey::hs384([3u8; 48]).unwrap(),
        ),
        (
            SigningKey::hs512([3u8; 64]).unwrap(),
            VerifyingKey::hs512([3u8; 64]).unwrap(),
        ),
    ] {
        let token = signing.sign(&alice()).unwrap();
        assert_eq!(
            validation().verify::<Claims>(&token, &verifying).unwrap(),
            alice()
        );
        assert_eq!(
            validation()
                .verify::<Claims>(&token, &signing.verifying_key())
                .unwrap(),
            alice()
        );
        assert_eq!(signing.verifying_key().algorithm(), signing.algorithm());
    }
}

#[test]
fn a_signed_token_has_exactly_the_alg_and_typ_header() {
    let (h, _, _) = parts(&signing().sign(&alice()).unwrap());
    assert_eq!(URL_SAFE_NO_PAD.decode(h).unwrap(), HEADER.as_bytes());
}

#[test]
fn with_kid_puts_the_kid_in_the_header() {
    let key = signing().with_kid("2024-06").unwrap();
    assert_eq!(key.kid(), Some("2024-06"));
    assert_eq!(key.verifying_key().kid(), Some("2024-06"));
    let token = key.sign(&alice()).unwrap();
    let header = dangerous::decode_header_unverified(&token).unwrap();
    assert_eq!(header["kid"], "2024-06");
    assert_eq!(header["alg"], "HS256");
    assert_eq!(
        validation()
            .verify::<Claims>(&token, &key.verifying_key())
            .unwrap(),
        alice()
    );
}

#[test]
fn with_typ_at_jwt_makes_tokens_that_verify() {
    let token = signing().with_typ("at+jwt").unwrap().sign(&alice()).unwrap();
    assert_eq!(
        dangerous::decode_header_unverified(&token).unwrap()["typ"],
        "at+jwt"
    );
    assert_eq!(validation().verify::<Claims>(&token, &key()).unwrap(), alice());
}

#[test]
fn with_typ_refresh_jwt_makes_tokens_refused_as_invalid_token_type() {
    let token = signing().with_typ("refresh+jwt").unwrap().sign(&alice()).unwrap();
    assert_eq!(
        kind_of(validation().verify::<Claims>(&token, &key())),
        K::InvalidTokenType
    );
    let odd = signing()
        .with_typ("we\"ird\\typ")
        .unwrap()
        .sign(&alice())
        .unwrap();
    assert_eq!(
        kind_of(validation().verify::<Claims>(&odd, &key())),
        K::InvalidTokenType
    );
}

#[test]
fn signing_a_value_that_is_not_an_object_is_not_an_object() {
    let key = signing();
    assert!(matches!(key.sign(&42), Err(SignError::NotAnObject)));
    assert!(matches!(key.sign(&vec![1, 2, 3]), Err(SignError::NotAnObject)));
    assert!(matches!(key.sign("{\"exp\":1}"), Err(SignError::NotAnObject)));
    assert!(matches!(key.sign(&None::<Claims>), Err(SignError::NotAnObject)));
    assert!(matches!(key.sign(&()), Err(SignError::NotAnObject)));
    assert!(matches!(
        key.sign(&json!([{"exp": LATER}])),
        Err(SignError::NotAnObject)
    ));
    assert!(key.sign(&json!({"exp": LATER})).is_ok());
}

// ---------------------------------------------------------------------------------------------
// Unverified decoding
// ---------------------------------------------------------------------------------------------

#[test]
fn decode_header_unverified_reads_a_token_whose_signature_is_bad() {
    let token = SigningKey::hs256(ATTACKER)
        .unwrap()
        .with_kid("k9")
        .unwrap()
        .sign(&alice())
        .unwrap();
    assert_eq!(verdict(&token), Err(K::InvalidSignature));
    let header = dangerous::decode_header_unverified(&token).unwrap();
    assert_eq!(header["alg"], "HS256");
    assert_eq!(header["typ"], "JWT");
    assert_eq!(header["kid"], "k9");
}

#[test]
fn decode_claims_unverified_reads_a_token_whose_signature_is_bad() {
    let token = SigningKey::hs256(ATTACKER).unwrap().sign(&alice()).unwrap();
    let claims: Claims = dangerous::decode_claims_unverified(&token).unwrap();
    assert_eq!(claims, alice());
    let expired = signing().sign(&Claims { exp: 1, ..alice() }).unwrap();
    let claims: Value = dangerous::decode_claims_unverified(&expired).unwrap();
    assert_eq!(claims["exp"], 1);
}

#[test]
fn the_unverified_decoders_still_refuse_garbage() {
    let header_kind = |t: &str| kind_of(dangerous::decode_header_unverified(t));
    let claims_kind = |t: &str| kind_of(dangerous::decode_claims_unverified::<Value>(t));
    for garbage in [
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        "a=.b.c",
        "{\"alg\":\"HS256\"}",
        "a b.c.d",
        "é.é.é",
    ] {
        assert_eq!(header_kind(garbage), K::Malformed, "{garbage:?}");
        assert_eq!(claims_kind(garbage), K::Malformed, "{garbage:?}");
    }
    // Segments that are not canonical base64url.
    assert_eq!(header_kind("QR.e30.c2ln"), K::Malformed);
    assert_eq!(claims_kind("e30.QR.c2ln"), K::Malformed);
    // A header that is not a JSON object; claims that are not JSON or do not fit.
    let not_json = format!("{}.{}.c2ln", b64("not json"), b64("not json"));
    assert_eq!(header_kind(&not_json), K::Malformed);
    assert_eq!(claims_kind(&not_json), K::InvalidClaims);
    let array = format!("{}.{}.c2ln", b64("[1]"), b64(r#"{"sub":"alice"}"#));
    assert_eq!(header_kind(&array), K::Malformed);
    assert_eq!(
        kind_of(dangerous::decode_claims_unverified::<Claims>(&array)),
        K::InvalidClaims
    );
    // Oversized input.
    let huge = format!(
        "{}.{}.{}",
        "A".repeat(40_000),
        "A".repeat(40_000),
        "A".repeat(40_000)
    );
    assert_eq!(header_kind(&huge), K::TooLarge);
    assert_eq!(claims_kind(&huge), K::TooLarge);
}

/// A claims type that reads `jti` as raw JSON text (`Box<RawValue>`, serde_json's `raw_value`
/// feature, which any crate of a build may turn on) must not hide the `jti` from the checks: the
/// one-pass reader cannot follow a raw value, so the separate pass observes, identifiers included.
#[cfg(feature = "sessions")]
#[test]
fn a_raw_json_claim_does_not_hide_the_identifiers_from_the_checks() {
    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Raw {
        jti: Box<serde_json::value::RawValue>,
        exp: u64,
    }
    let list = tower_jwt_auth::Revocations::new(10);
    list.revoke_token("j1", (LATER + 600) as f64);
    let revoked = signing().sign(&json!({ "jti": "j1", "exp": LATER })).unwrap();
    let other = signing().sign(&json!({ "jti": "j2", "exp": LATER })).unwrap();
    let checked = validation().check(list);
    assert_eq!(
        checked.verify::<Raw>(&revoked, &key()).err().map(|e| e.kind()),
        Some(K::Revoked)
    );
    assert!(checked.verify::<Raw>(&other, &key()).is_ok());
    // A whole payload read raw is observed too: an expired token stays expired.
    let expired = signing()
        .sign(&json!({ "jti": "j3", "exp": NOW - 3600 }))
        .unwrap();
    assert_eq!(
        validation()
            .verify::<Box<serde_json::value::RawValue>>(&expired, &key())
            .err()
            .map(|e| e.kind()),
        Some(K::Expired)
    );
}
