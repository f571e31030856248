//! Public-key algorithms (feature `aws-lc`): RS256/384/512, PS256/384/512, ES256/384/512 and
//! EdDSA.
//!
//! * known answers: RFC 7515 appendices A.2 (RS256), A.3 (ES256) and A.4 (ES512), RFC 8037
//!   appendix A.4 (Ed25519) and the thumbprints of RFC 7638 section 3.1 and RFC 8037 appendix A.3;
//! * tokens signed by an independent implementation (the `openssl` CLI,
//!   `tests/vectors/openssl_tokens.json`), and tokens of this crate checked by another one
//!   (`jsonwebtoken`);
//! * sign/verify round trips of arbitrary claims for every algorithm, and bit flips;
//! * algorithm confusion, key formats (PEM, DER, PKCS#1, certificates, JWK), weak keys;
//! * the [`KeySet`] resolver.
//!
//! The keys under `tests/keys/` are test-only keys generated with `openssl` for this suite (see
//! `tests/keys/README.md`); `tests/keys/public.jwks.json` holds their public JWKs and RFC 7638
//! thumbprints, computed with Python's `cryptography`, not with this crate. Time is pinned at
//! [`NOW`].

#![cfg(feature = "aws-lc")]

mod support;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestRunner};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tower_jwt_auth::validation::Verification;
use tower_jwt_auth::{
    Algorithm, AuthError, AuthErrorKind, ConfigError, Jwk, KeySet, SigningKey, Validation, VerifyingKey,
};

use support::{b64, validation as pinned, NOW};

/// Every public-key algorithm.
const PUBLIC_ALGS: [Algorithm; 10] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::ES512,
    Algorithm::EdDSA,
];

const RSA_ALGS: [Algorithm; 6] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];

// ------------------------------------------------------------------------------------------------
// Test keys
// ------------------------------------------------------------------------------------------------

/// The test keys: name, PKCS#8 private key PEM, SPKI public key PEM, the algorithm the kind implies.
const KEYS: [(&str, &str, &str, Algorithm); 6] = [
    (
        "rsa2048",
        include_str!("keys/rsa2048.pem"),
        include_str!("keys/rsa2048.pub.pem"),
        Algorithm::RS256,
    ),
    (
        "rsa3072",
        include_str!("keys/rsa3072.pem"),
        include_str!("keys/rsa3072.pub.pem"),
        Algorithm::RS256,
    ),
    (
        "p256",
        include_str!("keys/p256.pem"),
        include_str!("keys/p256.pub.pem"),
        Algorithm::ES256,
    ),
    (
        "p384",
        include_str!("keys/p384.pem"),
        include_str!("keys/p384.pub.pem"),
        Algorithm::ES384,
    ),
    (
        "p521",
        include_str!("keys/p521.pem"),
        include_str!("keys/p521.pub.pem"),
        Algorithm::ES512,
    ),
    (
        "ed25519",
        include_str!("keys/ed25519.pem"),
        include_str!("keys/ed25519.pub.pem"),
        Algorithm::EdDSA,
    ),
];

/// The public JWKs of [`KEYS`], with `kid` = RFC 7638 thumbprint, computed independently.
const PUBLIC_JWKS: &str = include_str!("keys/public.jwks.json");

fn key_files(name: &str) -> (&'static str, &'static str) {
    let (_, private, public, _) = KEYS
        .iter()
        .find(|k| k.0 == name)
        .unwrap_or_else(|| panic!("no test key {name}"));
    (private, public)
}

/// The independently computed public JWK of a test key.
fn expected_jwk(name: &str) -> Value {
    let index = KEYS.iter().position(|k| k.0 == name).expect("a test key");
    let set: Value = serde_json::from_str(PUBLIC_JWKS).expect("JSON");
    set["keys"][index].clone()
}

/// The test key that signs `alg` here (the RSA algorithms are spread over both RSA keys).
fn key_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::RS256 | Algorithm::RS512 | Algorithm::PS256 => "rsa2048",
        Algorithm::RS384 | Algorithm::PS384 | Algorithm::PS512 => "rsa3072",
        Algorithm::ES256 => "p256",
        Algorithm::ES384 => "p384",
        Algorithm::ES512 => "p521",
        Algorithm::EdDSA => "ed25519",
        other => panic!("{other} is not a public-key algorithm"),
    }
}

/// The signing key of `alg` (parsed once: RSA key checks are slow in debug builds).
fn signing(alg: Algorithm) -> &'static SigningKey {
    static KEYS_BY_ALG: OnceLock<BTreeMap<Algorithm, SigningKey>> = OnceLock::new();
    &KEYS_BY_ALG.get_or_init(|| {
        PUBLIC_ALGS
            .iter()
            .map(|&alg| {
                let (private, _) = key_files(key_name(alg));
                let key = SigningKey::from_pkcs8(private)
                    .expect("a test key")
                    .with_algorithm(alg)
                    .expect("the algorithm fits the key");
                (alg, key)
            })
            .collect()
    })[&alg]
}

/// The public key of `alg`'s signing key, read independently from its SPKI PEM file (no `kid`).
fn public_key(alg: Algorithm) -> VerifyingKey {
    let (_, public) = key_files(key_name(alg));
    VerifyingKey::from_public_key(public)
        .expect("a test key")
        .with_algorithm(alg)
        .expect("the algorithm fits the key")
}

fn is_invalid_key(e: &ConfigError) -> bool {
    matches!(e, ConfigError::InvalidKey(_))
}

fn jwk(json: Value) -> Jwk {
    serde_json::from_value(json).expect("a JWK")
}

fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).expect("base64url")
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Claims {
    sub: String,
    exp: u64,
}

fn claims() -> Claims {
    Claims {
        sub: "alice".to_owned(),
        exp: NOW + 900,
    }
}

// ------------------------------------------------------------------------------------------------
// Known answers: RFC 7515 appendix A
// ------------------------------------------------------------------------------------------------

/// RFC 7515 A.2 to A.3: the payload octets (note the CRLFs).
const RFC7515_PAYLOAD: &[u8] =
    b"{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";

const RFC7515_EXP: u64 = 1_300_819_380;

#[derive(Debug, PartialEq, Deserialize)]
struct Rfc7515Claims {
    iss: String,
    exp: u64,
    #[serde(rename = "http://example.com/is_root")]
    is_root: bool,
}

/// RFC 7515 A.2.1: the RSA key, as the RFC gives it (with its private members, which a verifying
/// key ignores).
const RFC7515_A2_JWK: &str = r#"{"kty":"RSA",
 "n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ",
 "e":"AQAB",
 "d":"Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395IW_GO-pWJ1O0BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M_V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRuOopznQ",
 "p":"4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPGBY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc",
 "q":"uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc",
 "dp":"BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3QCLdhrqE2e9YkxvuxdBfpT_PI7Yz-FOKnu1R6HsJeDCjn12Sk3vmAktV2zb34MCdy7cpdTh_YVr7tss2u6vneTwrA86rZtu5Mbr1C1XsmvkxHQAdYo0",
 "dq":"h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa7I9xXDoRwbKgB719rrmI2oKr6N3Do9U0ajaHF-NKJnwgjMd2w9cjz3_-kyNlxAr2v4IKhGNpmM5iIgOS1VZnOZ68m6_pbLBSp3nssTdlqvd0tIiTHU",
 "qi":"IYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd-DlcxyVuuM9sQLdgjVk2oy26F0EmpScGLq2MowX7fhd_QJQ3ydy5cY7YIBi87w93IKLEdfnbJtoOPLUW0ITrJReOgo1cq9SbsxYawBgfp_gh6A5603k2-ZQwVK0JKSHuLFkuQ3U"
}"#;

/// RFC 7515 A.2.1: the complete JWS Compact Serialization (RS256; PKCS#1 v1.5 is deterministic).
const RFC7515_A2_JWS: &str = "eyJhbGciOiJSUzI1NiJ9\
    .eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ\
    .cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGb\
    ds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZR\
    mB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rq\
    Vt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";

/// RFC 7515 A.3.1: the P-256 key.
const RFC7515_A3_JWK: &str = r#"{"kty":"EC",
 "crv":"P-256",
 "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
 "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
 "d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"
}"#;

/// RFC 7515 A.3.1: the JWS (ECDSA is randomized; this is the RFC's signature, which verifies).
const RFC7515_A3_JWS: &str = "eyJhbGciOiJFUzI1NiJ9\
    .eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ\
    .DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

/// RFC 7515 A.4.1: the P-521 key.
const RFC7515_A4_JWK: &str = r#"{"kty":"EC",
 "crv":"P-521",
 "x":"AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk",
 "y":"ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2",
 "d":"AY5pb7A0UFiB3RELSD64fTLOSV_jazdF7fLYyuTw8lOfRhWg6Y6rUrPAxerEzgdRhajnu0ferB0d53vM9mE15j2C"
}"#;

/// RFC 7515 A.4.1: the JWS of the payload `Payload` (ES512, randomized; the RFC's signature).
const RFC7515_A4_JWS: &str = "eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZA\
    .AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZqwqT2SI-KGDKB34XO0aw_7XdtAG8GaSwFKdCAPZ\
    goXD2YBJZCPEX3xKpRwcdOO8KpEHwJjyqOgzDO7iKvU8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn";

fn rfc_key(json: &str) -> VerifyingKey {
    let jwk: Jwk = serde_json::from_str(json).expect("the RFC JWK parses");
    VerifyingKey::from_jwk(&jwk).expect("the RFC key is usable")
}

/// The token with the last character of its signature replaced by another base64url character
/// that changes its value.
fn with_altered_signature(token: &str) -> String {
    let mut bytes = token.as_bytes().to_vec();
    let at = bytes.len() - 2;
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).expect("ASCII")
}

#[test]
fn the_rfc_7515_a2_rs256_example_verifies_to_its_exact_payload() {
    let key = rfc_key(RFC7515_A2_JWK);
    assert_eq!(key.algorithm(), Algorithm::RS256);
    assert_eq!(key.kid(), None);
    assert_eq!(
        Validation::new().verify_jws(RFC7515_A2_JWS, &key).unwrap(),
        RFC7515_PAYLOAD
    );
    let claims: Rfc7515Claims = Validation::new()
        .clock(|| RFC7515_EXP - 60)
        .verify(RFC7515_A2_JWS, &key)
        .unwrap();
    assert_eq!(
        claims,
        Rfc7515Claims {
            iss: "joe".to_owned(),
            exp: RFC7515_EXP,
            is_root: true
        }
    );
    let err = pinned()
        .verify::<Rfc7515Claims>(RFC7515_A2_JWS, &key)
        .unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::Expired);
    let err = Validation::new()
        .verify_jws(&with_altered_signature(RFC7515_A2_JWS), &key)
        .unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::InvalidSignature);
}

#[test]
fn the_rfc_7515_a3_es256_example_verifies_to_its_exact_payload() {
    let key = rfc_key(RFC7515_A3_JWK);
    assert_eq!(key.algorithm(), Algorithm::ES256);
    assert_eq!(
        Validation::new().verify_jws(RFC7515_A3_JWS, &key).unwrap(),
        RFC7515_PAYLOAD
    );
    let claims: Rfc7515Claims = Validation::new()
        .clock(|| RFC7515_EXP - 60)
        .verify(RFC7515_A3_JWS, &key)
        .unwrap();
    assert!(claims.is_root);
    let err = Validation::new()
        .verify_jws(&with_altered_signature(RFC7515_A3_JWS), &key)
        .unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::InvalidSignature);
}

#[test]
fn the_rfc_7515_a4_es512_example_verifies_to_its_exact_payload() {
    let key = rfc_key(RFC7515_A4_JWK);
    assert_eq!(key.algorithm(), Algorithm::ES512);
    assert_eq!(
        Validation::new().verify_jws(RFC7515_A4_JWS, &key).unwrap(),
        b"Payload"
    );
    // The payload is not JWT claims: the JWT layer refuses it after the signature check.
    assert!(Validation::new().verify::<Value>(RFC7515_A4_JWS, &key).is_err());
    let err = Validation::new()
        .verify_jws(&with_altered_signature(RFC7515_A4_JWS), &key)
        .unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::InvalidSignature);
}

#[test]
fn each_rfc_7515_example_is_refused_by_the_keys_of_the_others() {
    let examples = [
        (RFC7515_A2_JWS, rfc_key(RFC7515_A2_JWK)),
        (RFC7515_A3_JWS, rfc_key(RFC7515_A3_JWK)),
        (RFC7515_A4_JWS, rfc_key(RFC7515_A4_JWK)),
    ];
    for (i, (token, _)) in examples.iter().enumerate() {
        for (j, (_, key)) in examples.iter().enumerate() {
            if i != j {
                let err = Validation::new().verify_jws(token, key).unwrap_err();
                assert_eq!(err.kind(), AuthErrorKind::AlgorithmMismatch, "token {i}, key {j}");
            }
        }
    }
    // The A.2 key rebound to RS384 or PS256 refuses the RS256 example.
    for alg in [Algorithm::RS384, Algorithm::PS256] {
        let key = rfc_key(RFC7515_A2_JWK).with_algorithm(alg).unwrap();
        let err = Validation::new().verify_jws(RFC7515_A2_JWS, &key).unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::AlgorithmMismatch, "{alg}");
    }
}

// ------------------------------------------------------------------------------------------------
// Known answers: RFC 8037 and RFC 7638
// ------------------------------------------------------------------------------------------------

/// RFC 8037 A.2: the Ed25519 public key.
const RFC8037_JWK: &str =
    r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;

/// RFC 8037 A.4: the JWS of "Example of Ed25519 signing" (Ed25519 is deterministic).
const RFC8037_JWS: &str = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc\
    .hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

#[test]
fn the_rfc_8037_a4_ed25519_example_verifies_to_its_exact_payload() {
    let key = rfc_key(RFC8037_JWK);
    assert_eq!(key.algorithm(), Algorithm::EdDSA);
    assert_eq!(
        Validation::new().verify_jws(RFC8037_JWS, &key).unwrap(),
        b"Example of Ed25519 signing"
    );
    let err = Validation::new()
        .verify_jws(&with_altered_signature(RFC8037_JWS), &key)
        .unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::InvalidSignature);
    // RFC 8037 A.3: the key's RFC 7638 thumbprint.
    assert_eq!(
        key.thumbprint().as_deref(),
        Some("kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k")
    );
}

/// RFC 7638 section 3.1: the example RSA key.
const RFC7638_JWK: &str = r#"{
 "kty": "RSA",
 "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
 "e": "AQAB",
 "alg": "RS256",
 "kid": "2011-04-29"
}"#;

#[test]
fn the_rfc_7638_example_key_has_the_thumbprint_of_section_3_1() {
    let key = rfc_key(RFC7638_JWK);
    assert_eq!(key.kid(), Some("2011-04-29"));
    assert_eq!(
        key.thumbprint().as_deref(),
        Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
    );
    // The thumbprint depends on the required members only: not on alg, kid, use or the binding.
    let rebound = key
        .with_algorithm(Algorithm::PS512)
        .unwrap()
        .with_kid("other")
        .unwrap();
    assert_eq!(
        rebound.thumbprint().as_deref(),
        Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
    );
}

// ------------------------------------------------------------------------------------------------
// An independent implementation: tokens signed by the openssl CLI, tokens checked by jsonwebtoken
// ------------------------------------------------------------------------------------------------

const OPENSSL_TOKENS: &str = include_str!("vectors/openssl_tokens.json");

#[derive(Deserialize)]
struct OpensslTokens {
    tokens: Vec<OpensslToken>,
    deterministic: Vec<DeterministicToken>,
}

#[derive(Deserialize)]
struct OpensslToken {
    alg: String,
    key: String,
    token: String,
    payload: String,
    der_signature_token: Option<String>,
}

#[derive(Deserialize)]
struct DeterministicToken {
    alg: String,
    key: String,
    header: String,
    payload: String,
    token: String,
}

fn openssl_tokens() -> OpensslTokens {
    serde_json::from_str(OPENSSL_TOKENS).expect("the openssl vectors parse")
}

fn alg(name: &str) -> Algorithm {
    name.parse().expect("an algorithm name")
}

/// The kid-less token signed by the openssl CLI for `alg`.
fn openssl_token(alg_name: &str) -> String {
    openssl_tokens()
        .tokens
        .into_iter()
        .find(|t| t.alg == alg_name)
        .expect("an openssl token")
        .token
}

#[test]
fn tokens_signed_by_the_openssl_cli_verify_for_every_algorithm() {
    let vectors = openssl_tokens();
    let algs: Vec<Algorithm> = vectors.tokens.iter().map(|t| alg(&t.alg)).collect();
    assert_eq!(algs, PUBLIC_ALGS);
    for t in &vectors.tokens {
        let (_, public) = key_files(&t.key);
        let key = VerifyingKey::from_public_key(public)
            .unwrap()
            .with_algorithm(alg(&t.alg))
            .unwrap();
        let payload = pinned()
            .verify_jws(&t.token, &key)
            .unwrap_or_else(|e| panic!("{}: {e:?}", t.alg));
        assert_eq!(payload, t.payload.as_bytes(), "{}", t.alg);
        let claims: Value = pinned().verify(&t.token, &key).unwrap();
        assert_eq!(claims["alg_under_test"], t.alg.as_str());
        assert_eq!(claims["exp"], NOW + 900);
    }
}

#[test]
fn deterministic_signatures_match_the_openssl_cli_byte_for_byte() {
    // RSASSA-PKCS1-v1_5 and Ed25519 are deterministic: SigningKey must produce exactly the token
    // openssl produced over the same header and claims.
    for t in openssl_tokens().deterministic {
        let (private, _) = key_files(&t.key);
        let key = SigningKey::from_pkcs8(private)
            .unwrap()
            .with_algorithm(alg(&t.alg))
            .unwrap();
        let claims: Claims = serde_json::from_str(&t.payload).unwrap();
        let token = key.sign(&claims).unwrap();
        let expected_prefix = format!("{}.{}.", b64(t.header.as_bytes()), b64(t.payload.as_bytes()));
        assert!(token.starts_with(&expected_prefix), "{}: {token}", t.alg);
        assert_eq!(token, t.token, "{}", t.alg);
    }
}

#[test]
fn tokens_this_crate_signs_verify_with_jsonwebtoken() {
    use jsonwebtoken::{decode, Algorithm as J, DecodingKey};
    // jsonwebtoken's RustCrypto backend has no P-521, so ES512 is checked against openssl above.
    let pairs = [
        (Algorithm::RS256, J::RS256),
        (Algorithm::RS384, J::RS384),
        (Algorithm::RS512, J::RS512),
        (Algorithm::PS256, J::PS256),
        (Algorithm::PS384, J::PS384),
        (Algorithm::PS512, J::PS512),
        (Algorithm::ES256, J::ES256),
        (Algorithm::ES384, J::ES384),
        (Algorithm::EdDSA, J::EdDSA),
    ];
    for (ours, theirs) in pairs {
        let token = signing(ours).sign(&claims()).unwrap();
        let jwk = signing(ours).verifying_key().to_jwk().unwrap();
        let key = match jwk.kty.as_str() {
            "RSA" => DecodingKey::from_rsa_components(jwk.n.as_deref().unwrap(), jwk.e.as_deref().unwrap()),
            "EC" => DecodingKey::from_ec_components(jwk.x.as_deref().unwrap(), jwk.y.as_deref().unwrap()),
            _ => DecodingKey::from_ed_components(jwk.x.as_deref().unwrap()),
        }
        .unwrap();
        let mut validation = jsonwebtoken::Validation::new(theirs);
        // The claims expire relative to the pinned clock, not the real one.
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        let decoded = decode::<Claims>(&token, &key, &validation).unwrap_or_else(|e| panic!("{ours}: {e}"));
        assert_eq!(decoded.claims, claims(), "{ours}");
        assert_eq!(decoded.header.kid.as_deref(), signing(ours).kid(), "{ours}");
    }
}

// ------------------------------------------------------------------------------------------------
// Keys: formats, thumbprints, JWK round trips, weak keys
// ------------------------------------------------------------------------------------------------

#[test]
fn every_test_key_loads_with_the_algorithm_its_kind_implies_and_its_thumbprint_as_kid() {
    for (name, private, public, implied) in KEYS {
        let expected = expected_jwk(name);
        let kid = expected["kid"].as_str().unwrap();
        let signing = SigningKey::from_pkcs8(private).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(signing.algorithm(), implied, "{name}");
        assert_eq!(signing.kid(), Some(kid), "{name}");
        let verifying = signing.verifying_key();
        assert_eq!(verifying.algorithm(), implied, "{name}");
        assert_eq!(verifying.kid(), Some(kid), "{name}");
        assert_eq!(verifying.thumbprint().as_deref(), Some(kid), "{name}");
        // The public key file: same key, same thumbprint, no kid.
        let from_file = VerifyingKey::from_public_key(public).unwrap();
        assert_eq!(from_file.algorithm(), implied, "{name}");
        assert_eq!(from_file.kid(), None, "{name}");
        assert_eq!(from_file.thumbprint().as_deref(), Some(kid), "{name}");
        // Its JWK has exactly the independently computed public members.
        let jwk = serde_json::to_value(verifying.to_jwk().unwrap()).unwrap();
        for member in ["kty", "crv", "n", "e", "x", "y", "kid", "use"] {
            assert_eq!(jwk.get(member), expected.get(member), "{name}: {member}");
        }
        assert_eq!(jwk["alg"], implied.as_str(), "{name}");
        for private_member in ["d", "p", "q", "k"] {
            assert!(jwk.get(private_member).is_none(), "{name}: {private_member}");
        }
        // Tokens carry the kid, and verify with the independent public key.
        let token = signing.sign(&claims()).unwrap();
        assert_eq!(
            pinned().verify::<Claims>(&token, &from_file),
            Ok(claims()),
            "{name}"
        );
        assert_eq!(
            pinned().verify::<Claims>(&token, &verifying),
            Ok(claims()),
            "{name}"
        );
    }
}

#[test]
fn a_default_kid_is_the_thumbprint_of_the_verifying_key_whatever_the_algorithm() {
    for alg in PUBLIC_ALGS {
        let key = signing(alg);
        assert_eq!(key.algorithm(), alg);
        assert_eq!(key.kid(), key.verifying_key().thumbprint().as_deref(), "{alg}");
        assert_eq!(key.verifying_key().kid(), key.kid(), "{alg}");
        assert_eq!(key.verifying_key().algorithm(), alg);
        // An explicit kid replaces it, on both halves.
        let named = key.clone().with_kid("2024-06").unwrap();
        assert_eq!(named.verifying_key().kid(), Some("2024-06"));
        assert_eq!(
            named.verifying_key().thumbprint(),
            key.verifying_key().thumbprint()
        );
    }
}

#[test]
fn pkcs8_der_and_pem_give_the_same_signing_key() {
    for (name, der) in [
        ("rsa2048", &include_bytes!("keys/rsa2048.der")[..]),
        ("p256", &include_bytes!("keys/p256.der")[..]),
    ] {
        let (pem, _) = key_files(name);
        let from_pem = SigningKey::from_pkcs8(pem).unwrap();
        let from_der = SigningKey::from_pkcs8(der).unwrap();
        assert_eq!(from_der.kid(), from_pem.kid(), "{name}");
        assert_eq!(from_der.algorithm(), from_pem.algorithm(), "{name}");
        let token = from_der.sign(&claims()).unwrap();
        assert_eq!(
            pinned().verify::<Claims>(&token, &from_pem.verifying_key()),
            Ok(claims()),
            "{name}"
        );
    }
}

#[test]
fn spki_pkcs1_and_certificate_forms_of_a_key_all_verify_the_same_token() {
    let forms: [(&str, Vec<&[u8]>); 3] = [
        (
            "rsa2048",
            vec![
                &include_bytes!("keys/rsa2048.pub.pem")[..],
                &include_bytes!("keys/rsa2048.pub.der")[..],
                &include_bytes!("keys/rsa2048.pkcs1.pem")[..],
                &include_bytes!("keys/rsa2048.pkcs1.der")[..],
            ],
        ),
        (
            "p256",
            vec![
                &include_bytes!("keys/p256.pub.pem")[..],
                &include_bytes!("keys/p256.pub.der")[..],
                &include_bytes!("keys/p256.crt.pem")[..],
                &include_bytes!("keys/p256.crt.der")[..],
            ],
        ),
        (
            "ed25519",
            vec![
                &include_bytes!("keys/ed25519.pub.pem")[..],
                &include_bytes!("keys/ed25519.pub.der")[..],
            ],
        ),
    ];
    for (name, encodings) in forms {
        let (private, _) = key_files(name);
        let signing = SigningKey::from_pkcs8(private).unwrap();
        let token = signing.sign(&claims()).unwrap();
        let expected_jwk = signing.verifying_key().to_jwk().unwrap();
        for (i, bytes) in encodings.into_iter().enumerate() {
            let key = VerifyingKey::from_public_key(bytes).unwrap_or_else(|e| panic!("{name} form {i}: {e}"));
            assert_eq!(key.algorithm(), signing.algorithm(), "{name} form {i}");
            assert_eq!(
                key.thumbprint(),
                signing.verifying_key().thumbprint(),
                "{name} form {i}"
            );
            let jwk = key.to_jwk().unwrap();
            assert_eq!(
                (&jwk.n, &jwk.e, &jwk.x, &jwk.y),
                (&expected_jwk.n, &expected_jwk.e, &expected_jwk.x, &expected_jwk.y)
            );
            assert_eq!(
                pinned().verify::<Claims>(&token, &key),
                Ok(claims()),
                "{name} form {i}"
            );
        }
    }
}

#[test]
fn to_jwk_and_from_jwk_round_trip_for_every_algorithm() {
    for alg in PUBLIC_ALGS {
        let verifying = signing(alg).verifying_key();
        let jwk = verifying.to_jwk().unwrap();
        assert_eq!(jwk.alg.as_deref(), Some(alg.as_str()));
        assert_eq!(jwk.use_.as_deref(), Some("sig"));
        assert_eq!(jwk.kid.as_deref(), verifying.kid());
        assert!(!jwk.has_private_members());
        // Through JSON text and back.
        let text = serde_json::to_string(&jwk).unwrap();
        let parsed: Jwk = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed, jwk);
        let back = VerifyingKey::from_jwk(&parsed).unwrap();
        assert_eq!(back.algorithm(), alg);
        assert_eq!(back.kid(), verifying.kid());
        assert_eq!(back.thumbprint(), verifying.thumbprint());
        assert_eq!(back.to_jwk(), Some(jwk));
        let token = signing(alg).sign(&claims()).unwrap();
        assert_eq!(pinned().verify::<Claims>(&token, &back), Ok(claims()), "{alg}");
    }
}

#[test]
fn hmac_keys_have_no_jwk_and_no_thumbprint() {
    let key = VerifyingKey::hs256([7u8; 32]).unwrap();
    assert_eq!(key.to_jwk(), None);
    assert_eq!(key.thumbprint(), None);
    assert_eq!(SigningKey::hs256([7u8; 32]).unwrap().kid(), None);
}

/// The public JWK of the 2048-bit test key, as JSON to alter.
fn rsa2048_jwk() -> Value {
    let mut jwk = expected_jwk("rsa2048");
    jwk.as_object_mut().unwrap().remove("kid");
    jwk
}

#[test]
fn weak_rsa_keys_are_refused_as_invalid_keys() {
    let rsa1024 = include_str!("keys/rsa1024.pub.pem");
    assert_eq!(
        VerifyingKey::from_public_key(rsa1024).unwrap_err(),
        ConfigError::InvalidKey("RSA modulus under 2048 bits")
    );
    // (The backend refuses a 1024-bit private key before the crate's own size check.)
    let err = SigningKey::from_pkcs8(include_str!("keys/rsa1024.pem")).unwrap_err();
    assert!(is_invalid_key(&err), "{err:?}");
    let rsa1024_jwk: Jwk = serde_json::from_str(include_str!("keys/rsa1024.pub.jwk.json")).unwrap();
    assert_eq!(
        VerifyingKey::from_jwk(&rsa1024_jwk).unwrap_err(),
        ConfigError::InvalidKey("RSA modulus under 2048 bits")
    );
    // The 2048-bit key itself is fine.
    assert!(VerifyingKey::from_jwk(&jwk(rsa2048_jwk())).is_ok());
    // Exponent 1 (openssl cannot make such a key; the JWK can say it), 1 with a leading zero
    // byte, and even exponents.
    for e in ["AQ", "AAE", "Ag", "AQAA"] {
        let mut json = rsa2048_jwk();
        json["e"] = Value::from(e);
        assert_eq!(
            VerifyingKey::from_jwk(&jwk(json)).unwrap_err(),
            ConfigError::InvalidKey("RSA exponent must be odd and greater than 1"),
            "e = {e}"
        );
    }
    // An even modulus.
    let mut n = unb64(rsa2048_jwk()["n"].as_str().unwrap());
    *n.last_mut().unwrap() &= 0xfe;
    let mut json = rsa2048_jwk();
    json["n"] = Value::from(b64(&n));
    assert_eq!(
        VerifyingKey::from_jwk(&jwk(json)).unwrap_err(),
        ConfigError::InvalidKey("RSA modulus is even")
    );
}

#[test]
fn malformed_public_keys_are_refused_as_invalid_keys() {
    // A point off the curve: y altered in its last byte.
    let mut p256 = expected_jwk("p256");
    let mut y = unb64(p256["y"].as_str().unwrap());
    *y.last_mut().unwrap() ^= 1;
    p256["y"] = Value::from(b64(&y));
    let err = VerifyingKey::from_jwk(&jwk(p256)).unwrap_err();
    assert!(is_invalid_key(&err), "{err:?}");
    // Coordinates of another curve's size, an Ed25519 key of 31 bytes, a missing member.
    let mut wrong_size = expected_jwk("p256");
    wrong_size["crv"] = Value::from("P-384");
    let mut short_ed = expected_jwk("ed25519");
    short_ed["x"] = Value::from(b64([9u8; 31]));
    let mut no_y = expected_jwk("p384");
    no_y.as_object_mut().unwrap().remove("y");
    let mut other_curve = expected_jwk("ed25519");
    other_curve["crv"] = Value::from("X25519");
    for json in [wrong_size, short_ed, no_y, other_curve] {
        let err = VerifyingKey::from_jwk(&jwk(json.clone())).unwrap_err();
        assert!(is_invalid_key(&err), "{json}: {err:?}");
    }
    // Private key material where a public key is expected, and the reverse.
    let (private, public) = key_files("p256");
    assert!(is_invalid_key(
        &VerifyingKey::from_public_key(private).unwrap_err()
    ));
    assert!(is_invalid_key(&SigningKey::from_pkcs8(public).unwrap_err()));
    let garbage: [&[u8]; 3] = [
        b"",
        b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        &[0x30, 0x03, 1, 2, 3],
    ];
    for garbage in garbage {
        assert!(is_invalid_key(
            &VerifyingKey::from_public_key(garbage).unwrap_err()
        ));
        assert!(is_invalid_key(&SigningKey::from_pkcs8(garbage).unwrap_err()));
    }
}

// ------------------------------------------------------------------------------------------------
// Round trips and tampering
// ------------------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct AppClaims {
    sub: String,
    roles: Vec<String>,
    exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nbf: Option<u64>,
    data: BTreeMap<String, i64>,
}

fn app_claims() -> impl Strategy<Value = AppClaims> {
    (
        "(?s).{0,24}",
        prop::collection::vec("[a-z:_-]{1,12}", 0..4),
        NOW + 1..NOW + 10 * 365 * 86_400,
        prop::option::of(NOW - 86_400..NOW),
        prop::collection::btree_map("(?s).{0,8}", any::<i64>(), 0..4),
    )
        .prop_map(|(sub, roles, exp, nbf, data)| AppClaims {
            sub,
            roles,
            exp,
            nbf,
            data,
        })
}

/// The token with bit `bit` of byte `at` flipped (a byte that stops being UTF-8 is checked as the
/// closest string the `&str` API can receive, with U+FFFD in its place).
fn flipped(token: &str, at: usize, bit: u8) -> String {
    let mut bytes = token.as_bytes().to_vec();
    bytes[at] ^= 1 << bit;
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Signs arbitrary claims with `alg` and checks that they verify back to themselves, with the
/// signing key's verifying half and with the public key read from its file, and that one flipped
/// bit anywhere is refused.
fn round_trip(alg: Algorithm, cases: u32) {
    let signing = signing(alg);
    let public = public_key(alg);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&(app_claims(), any::<Index>(), 0u8..8), |(claims, at, bit)| {
            let token = signing.sign(&claims).expect("claims serialize to an object");
            let validation = pinned();
            prop_assert_eq!(
                validation.verify::<AppClaims>(&token, &signing.verifying_key()),
                Ok(claims.clone())
            );
            prop_assert_eq!(
                validation.verify::<AppClaims>(&token, &public),
                Ok(claims.clone())
            );
            prop_assert_eq!(
                validation.verify_jws(&token, &public),
                Ok(serde_json::to_vec(&claims).expect("serializable"))
            );
            let altered = flipped(&token, at.index(token.len()), bit);
            prop_assert!(
                validation.verify::<AppClaims>(&altered, &public).is_err(),
                "{}",
                altered
            );
            prop_assert!(validation.verify_jws(&altered, &public).is_err(), "{}", altered);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{alg}: {e}"));
}

/// RSA signing is slow in debug builds: fewer cases for the RSA algorithms.
const RSA_CASES: u32 = 16;
const FAST_CASES: u32 = 32;

#[test]
fn rs256_round_trips_arbitrary_claims_and_refuses_a_flipped_bit() {
    round_trip(Algorithm::RS256, RSA_CASES);
}

#[test]
fn rs384_round_trips_arbitrary_claims_and_refuses_a_flipped_bit() {
    round_trip(Algorithm::RS384, RSA_CASES);
}

#[test]
fn rs512_round_trips_arbitrary_claims_and_refuses_a_flipped_bit() {
    round_trip(Algorithm::RS512, RSA_CASES);
}

#[test]
fn ps256_round_trips_arbitrary_claims_and_refuses_a_flipped_bit() {
    round_trip(Algorithm::PS256, RSA_CASES);
}

#[test]
fn ps384_round_trips_arbitrary_claims_and_refuses_a_flipped_bit() {
    round_trip(Algorithm::PS384, RSA_CASES);
}

#[test]
fn ps512_round_trips_arbitrary_claims_and_refuses_a_flipped_bit() {
    round_trip(Algorithm::PS512, RSA_CASES);
}

#[test]
fn es256_round_trips_arbitrary_claims_and_refuses_a_flipped_bit() {
    round_trip(Algorithm::ES256, FAST_CASES);
}

#[test]
fn es384_round_trips_arbitrary_claims_and_refuses_a_flipped_bit() {
    round_trip(Algorithm::ES384, FAST_CASES);
}

#[test]
fn es512_round_trips_arbitrary_claims_and_refuses_a_flipped_bit() {
    round_trip(Algorithm::ES512, FAST_CASES);
}

#[test]
fn eddsa_round_trips_arbitrary_claims_and_refuses_a_flipped_bit() {
    round_trip(Algorithm::EdDSA, FAST_CASES);
}

#[test]
fn every_single_bit_flip_of_a_token_is_refused_for_every_algorithm() {
    for alg in PUBLIC_ALGS {
        let token = signing(alg).sign(&claims()).unwrap();
        let key = public_key(alg);
        assert_eq!(pinned().verify::<Claims>(&token, &key), Ok(claims()));
        for at in 0..token.len() {
            for bit in 0..8 {
                let altered = flipped(&token, at, bit);
                let jws = pinned().verify_jws(&altered, &key);
                assert!(jws.is_err(), "{alg}: byte {at} bit {bit}: {altered} accepted");
                assert!(
                    pinned().verify::<Value>(&altered, &key).is_err(),
                    "{alg}: byte {at} bit {bit}"
                );
            }
        }
    }
}

#[test]
fn ecdsa_signatures_are_randomized_and_each_one_verifies() {
    for alg in [Algorithm::ES256, Algorithm::ES384, Algorithm::ES512] {
        let a = signing(alg).sign(&claims()).unwrap();
        let b = signing(alg).sign(&claims()).unwrap();
        assert_ne!(a, b, "{alg}");
        for token in [a, b] {
            assert_eq!(pinned().verify::<Claims>(&token, &public_key(alg)), Ok(claims()));
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Algorithm confusion
// ------------------------------------------------------------------------------------------------

#[test]
fn a_token_is_refused_by_a_key_bound_to_any_other_algorithm() {
    // Every (token alg, key alg) pair where the key can be bound to both is an AlgorithmMismatch;
    // the others (ES256 on an Ed25519 key...) too, with the key bound to its own algorithm.
    for token_alg in PUBLIC_ALGS {
        let token = signing(token_alg).sign(&claims()).unwrap();
        for key_alg in PUBLIC_ALGS.into_iter().filter(|&a| a != token_alg) {
            let key = public_key(key_alg);
            let err = pinned().verify::<Claims>(&token, &key).unwrap_err();
            assert_eq!(
                err.kind(),
                AuthErrorKind::AlgorithmMismatch,
                "{token_alg} token, {key_alg} key"
            );
            let err = pinned().verify_jws(&token, &key).unwrap_err();
            assert_eq!(
                err.kind(),
                AuthErrorKind::AlgorithmMismatch,
                "{token_alg} token, {key_alg} key"
            );
        }
    }
}

#[test]
fn an_rs256_token_is_refused_by_the_same_rsa_key_bound_to_ps256_and_the_reverse() {
    let rs256 = signing(Algorithm::RS256).sign(&claims()).unwrap();
    let ps256 = signing(Algorithm::PS256).sign(&claims()).unwrap();
    // Both are signed by rsa2048.
    let rsa = VerifyingKey::from_public_key(include_str!("keys/rsa2048.pub.pem")).unwrap();
    assert_eq!(rsa.algorithm(), Algorithm::RS256);
    let pss = rsa.clone().with_algorithm(Algorithm::PS256).unwrap();
    assert_eq!(pinned().verify::<Claims>(&rs256, &rsa), Ok(claims()));
    assert_eq!(pinned().verify::<Claims>(&ps256, &pss), Ok(claims()));
    assert_eq!(
        pinned().verify::<Claims>(&rs256, &pss).unwrap_err().kind(),
        AuthErrorKind::AlgorithmMismatch
    );
    assert_eq!(
        pinned().verify::<Claims>(&ps256, &rsa).unwrap_err().kind(),
        AuthErrorKind::AlgorithmMismatch
    );
    // Every RSA algorithm pair, on the one key.
    for token_alg in [Algorithm::RS256, Algorithm::RS512, Algorithm::PS256] {
        let token = signing(token_alg).sign(&claims()).unwrap();
        for key_alg in RSA_ALGS.into_iter().filter(|&a| a != token_alg) {
            let key = rsa.clone().with_algorithm(key_alg).unwrap();
            let err = pinned().verify_jws(&token, &key).unwrap_err();
            assert_eq!(
                err.kind(),
                AuthErrorKind::AlgorithmMismatch,
                "{token_alg} on {key_alg}"
            );
        }
    }
}

#[test]
fn an_es256_token_is_refused_by_an_ed25519_key() {
    let token = signing(Algorithm::ES256).sign(&claims()).unwrap();
    let ed25519 = VerifyingKey::from_public_key(include_str!("keys/ed25519.pub.pem")).unwrap();
    assert_eq!(ed25519.algorithm(), Algorithm::EdDSA);
    let err = pinned().verify::<Claims>(&token, &ed25519).unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::AlgorithmMismatch);
}

#[test]
fn an_hs256_token_keyed_with_the_public_key_bytes_is_refused_by_the_public_key() {
    // The classic confusion attack: the attacker uses the (public) key bytes as an HMAC secret.
    let jwks: Value = serde_json::from_str(PUBLIC_JWKS).unwrap();
    let mut forms: Vec<(String, Vec<u8>)> = Vec::new();
    for (name, _, public, _) in KEYS {
        forms.push((format!("{name} PEM"), public.as_bytes().to_vec()));
        let index = KEYS.iter().position(|k| k.0 == name).unwrap();
        forms.push((
            format!("{name} JWK"),
            jwks["keys"][index].to_string().into_bytes(),
        ));
    }
    forms.push((
        "rsa2048 SPKI DER".into(),
        include_bytes!("keys/rsa2048.pub.der").to_vec(),
    ));
    forms.push((
        "rsa2048 PKCS#1 PEM".into(),
        include_bytes!("keys/rsa2048.pkcs1.pem").to_vec(),
    ));
    forms.push((
        "p256 SPKI DER".into(),
        include_bytes!("keys/p256.pub.der").to_vec(),
    ));
    forms.push((
        "p256 certificate".into(),
        include_bytes!("keys/p256.crt.pem").to_vec(),
    ));
    forms.push((
        "ed25519 SPKI DER".into(),
        include_bytes!("keys/ed25519.pub.der").to_vec(),
    ));
    for (what, bytes) in forms {
        let forged = SigningKey::hs256(&bytes).unwrap().sign(&claims()).unwrap();
        // The forged token is a valid HS256 token for that "secret"...
        let as_secret = VerifyingKey::hs256(&bytes).unwrap();
        assert_eq!(
            pinned().verify::<Claims>(&forged, &as_secret),
            Ok(claims()),
            "{what}"
        );
        // ...and the public key refuses it, whatever form it was read from.
        let public = if what.ends_with("JWK") {
            VerifyingKey::from_jwk(&serde_json::from_slice(&bytes).unwrap()).unwrap()
        } else {
            VerifyingKey::from_public_key(&bytes).unwrap()
        };
        let err = pinned().verify::<Claims>(&forged, &public).unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::AlgorithmMismatch, "{what}");
        let err = pinned().verify_jws(&forged, &public).unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::AlgorithmMismatch, "{what}");
        // A public key cannot be rebound to an HMAC algorithm at all.
        for hs in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            assert_eq!(
                public.clone().with_algorithm(hs).unwrap_err(),
                ConfigError::WrongKeyType { algorithm: hs },
                "{what}"
            );
        }
        // A key set holding the public key has no HS256 key to offer.
        let set = KeySet::from_set(&tower_jwt_auth::JwkSet {
            keys: vec![public.clone().with_kid("k").unwrap().to_jwk().unwrap()],
        });
        assert_eq!(
            verify_in::<Claims>(&set, &forged).unwrap_err().kind(),
            AuthErrorKind::UnknownKey
        );
    }
}

#[test]
fn an_algorithm_that_does_not_fit_the_key_is_refused_when_the_key_is_bound() {
    let p256 = VerifyingKey::from_public_key(include_str!("keys/p256.pub.pem")).unwrap();
    let rsa = VerifyingKey::from_public_key(include_str!("keys/rsa2048.pub.pem")).unwrap();
    let ed25519 = VerifyingKey::from_public_key(include_str!("keys/ed25519.pub.pem")).unwrap();
    let refusals = [
        (&p256, Algorithm::ES384),
        (&p256, Algorithm::ES512),
        (&p256, Algorithm::EdDSA),
        (&p256, Algorithm::RS256),
        (&rsa, Algorithm::ES256),
        (&rsa, Algorithm::EdDSA),
        (&ed25519, Algorithm::ES256),
        (&ed25519, Algorithm::PS256),
    ];
    for (key, alg) in refusals {
        assert_eq!(
            key.clone().with_algorithm(alg).unwrap_err(),
            ConfigError::WrongKeyType { algorithm: alg },
            "{:?} as {alg}",
            key.algorithm()
        );
    }
    assert_eq!(
        SigningKey::from_pkcs8(include_str!("keys/p256.pem"))
            .unwrap()
            .with_algorithm(Algorithm::ES384)
            .unwrap_err(),
        ConfigError::WrongKeyType {
            algorithm: Algorithm::ES384
        }
    );
    // A JWK whose alg does not fit its curve.
    let mut json = expected_jwk("p256");
    json["alg"] = Value::from("ES384");
    assert_eq!(
        VerifyingKey::from_jwk(&jwk(json)).unwrap_err(),
        ConfigError::WrongKeyType {
            algorithm: Algorithm::ES384
        }
    );
}

/// DER-encodes an ECDSA `r || s` signature (`SEQUENCE { INTEGER r, INTEGER s }`).
fn ecdsa_der(raw: &[u8]) -> Vec<u8> {
    fn integer(out: &mut Vec<u8>, value: &[u8]) {
        let start = value.iter().position(|b| *b != 0).unwrap_or(value.len() - 1);
        let value = &value[start..];
        let pad = value[0] & 0x80 != 0;
        out.push(0x02);
        out.push(u8::try_from(value.len() + usize::from(pad)).unwrap());
        if pad {
            out.push(0);
        }
        out.extend_from_slice(value);
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    let mut body = Vec::new();
    integer(&mut body, r);
    integer(&mut body, s);
    let mut out = vec![0x30];
    if body.len() >= 0x80 {
        out.push(0x81);
    }
    out.push(u8::try_from(body.len()).unwrap());
    out.extend_from_slice(&body);
    out
}

fn with_signature(token: &str, signature: &[u8]) -> String {
    let cut = token.rfind('.').unwrap();
    format!("{}.{}", &token[..cut], b64(signature))
}

#[test]
fn der_encoded_ecdsa_signatures_are_refused() {
    for alg in [Algorithm::ES256, Algorithm::ES384, Algorithm::ES512] {
        let token = signing(alg).sign(&claims()).unwrap();
        let key = public_key(alg);
        assert_eq!(pinned().verify::<Claims>(&token, &key), Ok(claims()));
        let raw = unb64(&token[token.rfind('.').unwrap() + 1..]);
        let der = ecdsa_der(&raw);
        assert_eq!(der[0], 0x30);
        let err = pinned()
            .verify::<Claims>(&with_signature(&token, &der), &key)
            .unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::InvalidSignature, "{alg}");
        // Nor r || s with the leading zero bytes of r dropped, nor one byte short or long.
        let mut long = raw.clone();
        long.push(0);
        for sig in [&raw[1..], &raw[..raw.len() - 1], &long[..]] {
            let err = pinned()
                .verify_jws(&with_signature(&token, sig), &key)
                .unwrap_err();
            assert_eq!(err.kind(), AuthErrorKind::InvalidSignature, "{alg}");
        }
    }
    // The DER signatures openssl produced are refused; their r || s conversions verify.
    for t in openssl_tokens().tokens {
        if let Some(der_token) = &t.der_signature_token {
            let (_, public) = key_files(&t.key);
            let key = VerifyingKey::from_public_key(public).unwrap();
            assert!(pinned().verify_jws(&t.token, &key).is_ok(), "{}", t.alg);
            let err = pinned().verify_jws(der_token, &key).unwrap_err();
            assert_eq!(err.kind(), AuthErrorKind::InvalidSignature, "{}", t.alg);
        }
    }
}

// ------------------------------------------------------------------------------------------------
// KeySet
// ------------------------------------------------------------------------------------------------

fn verify_in<T: DeserializeOwned>(set: &KeySet, token: &str) -> Result<T, AuthError> {
    match pinned().verify_with::<T, _>(token, set) {
        Verification::Done(result) => result,
        Verification::Pending(never) => match never {},
    }
}

/// The public JWK of `alg`'s key, bound to `alg`, with `kid`.
fn published(alg: Algorithm, kid: Option<&str>) -> Value {
    let mut jwk = public_key(alg).to_jwk().unwrap();
    jwk.kid = kid.map(str::to_owned);
    serde_json::to_value(jwk).unwrap()
}

fn key_set(keys: &[Value]) -> KeySet {
    KeySet::from_json(json!({ "keys": keys }).to_string().as_bytes()).expect("a JWK Set document")
}

#[test]
fn a_key_set_selects_the_key_by_kid_and_alg() {
    let set = key_set(&[
        published(Algorithm::RS256, Some("rsa")),
        published(Algorithm::PS384, Some("rsa-pss")),
        published(Algorithm::ES256, Some("ec")),
        // The same kid with another algorithm is not ambiguous: the token's alg decides.
        published(Algorithm::ES384, Some("ec")),
        published(Algorithm::EdDSA, Some("ed")),
    ]);
    assert_eq!(set.len(), 5);
    assert!(set.skipped().is_empty(), "{:?}", set.skipped());
    let token = |alg: Algorithm, kid: &str| {
        signing(alg)
            .clone()
            .with_kid(kid)
            .unwrap()
            .sign(&claims())
            .unwrap()
    };
    for (alg, kid) in [
        (Algorithm::RS256, "rsa"),
        (Algorithm::PS384, "rsa-pss"),
        (Algorithm::ES256, "ec"),
        (Algorithm::ES384, "ec"),
        (Algorithm::EdDSA, "ed"),
    ] {
        assert_eq!(
            verify_in::<Claims>(&set, &token(alg, kid)),
            Ok(claims()),
            "{alg} {kid}"
        );
    }
    // A kid of a key of another algorithm, an unknown kid: no key.
    for (alg, kid) in [
        (Algorithm::RS256, "ec"),
        (Algorithm::RS256, "rsa-pss"),
        (Algorithm::ES512, "ec"),
        (Algorithm::EdDSA, "rsa"),
        (Algorithm::RS256, "nope"),
    ] {
        let err = verify_in::<Claims>(&set, &token(alg, kid)).unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::UnknownKey, "{alg} {kid}");
    }
    // The right kid and alg, signed by another key: the signature fails.
    let impostor = SigningKey::from_pkcs8(include_str!("keys/rsa3072.pem"))
        .unwrap()
        .with_kid("rsa")
        .unwrap()
        .sign(&claims())
        .unwrap();
    let err = verify_in::<Claims>(&set, &impostor).unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::InvalidSignature);
}

#[test]
fn a_token_without_kid_uses_the_only_key_of_its_alg_and_is_refused_when_there_are_two() {
    // The openssl tokens carry no kid; RS256 and PS256 are signed by rsa2048, PS384 by rsa3072.
    let rs256 = openssl_token("RS256");
    let eddsa = openssl_token("EdDSA");
    let one_each = key_set(&[
        published(Algorithm::RS256, Some("rsa")),
        published(Algorithm::EdDSA, Some("ed")),
        published(Algorithm::ES256, None),
    ]);
    assert_eq!(
        verify_in::<Value>(&one_each, &rs256).unwrap()["alg_under_test"],
        "RS256"
    );
    assert_eq!(
        verify_in::<Value>(&one_each, &eddsa).unwrap()["alg_under_test"],
        "EdDSA"
    );
    // Two RS256 keys (with or without kids): which one is meant is unknown.
    let mut rsa3072_rs256 = serde_json::to_value(
        VerifyingKey::from_public_key(include_str!("keys/rsa3072.pub.pem"))
            .unwrap()
            .to_jwk()
            .unwrap(),
    )
    .unwrap();
    rsa3072_rs256["kid"] = Value::from("rsa-2");
    let two = key_set(&[published(Algorithm::RS256, Some("rsa")), rsa3072_rs256.clone()]);
    assert_eq!(two.len(), 2);
    assert_eq!(
        verify_in::<Value>(&two, &rs256).unwrap_err().kind(),
        AuthErrorKind::UnknownKey
    );
    rsa3072_rs256.as_object_mut().unwrap().remove("kid");
    let two_without_kids = key_set(&[published(Algorithm::RS256, None), rsa3072_rs256]);
    assert_eq!(
        verify_in::<Value>(&two_without_kids, &rs256).unwrap_err().kind(),
        AuthErrorKind::UnknownKey
    );
    // Keys without kid cannot be named by a token's kid either.
    let named = signing(Algorithm::RS256).sign(&claims()).unwrap();
    assert_eq!(
        verify_in::<Claims>(&two_without_kids, &named).unwrap_err().kind(),
        AuthErrorKind::UnknownKey
    );
    // A token without kid for an algorithm the set has no key of.
    let es384 = openssl_token("ES384");
    assert_eq!(
        verify_in::<Value>(&one_each, &es384).unwrap_err().kind(),
        AuthErrorKind::UnknownKey
    );
}

#[test]
fn a_key_set_reports_the_keys_it_skips_and_why() {
    let mut enc = published(Algorithm::ES384, Some("enc"));
    enc["use"] = Value::from("enc");
    let mut ops = published(Algorithm::ES384, Some("ops"));
    ops.as_object_mut().unwrap().remove("use");
    ops["key_ops"] = json!(["sign"]);
    let mut rsa1024: Value = serde_json::from_str(include_str!("keys/rsa1024.pub.jwk.json")).unwrap();
    rsa1024["kid"] = Value::from("rsa1024");
    let mut private: Value = serde_json::from_str(RFC7515_A2_JWK).unwrap();
    private["kid"] = Value::from("private");
    let mut private_ec: Value = serde_json::from_str(RFC7515_A3_JWK).unwrap();
    private_ec["kid"] = Value::from("private-ec");
    let mut unknown_alg = published(Algorithm::RS256, Some("rs1"));
    unknown_alg["alg"] = Value::from("RS1");
    // Two ES256 keys under one kid: ambiguous, both dropped.
    let dup_a = published(Algorithm::ES256, Some("dup"));
    let mut dup_b: Value = serde_json::from_str(RFC7515_A3_JWK).unwrap();
    dup_b.as_object_mut().unwrap().remove("d");
    dup_b["kid"] = Value::from("dup");
    let set = key_set(&[
        published(Algorithm::EdDSA, Some("good")),
        json!({"kty": "oct", "kid": "secret", "alg": "HS256", "k": b64([7u8; 32])}),
        private,
        private_ec,
        enc,
        ops,
        rsa1024,
        json!({"kty": "AKP", "kid": "unknown-kty", "pub": "AAAA"}),
        unknown_alg,
        dup_a,
        dup_b,
    ]);
    assert_eq!(set.len(), 1);
    assert_eq!(set.keys().next().and_then(VerifyingKey::kid), Some("good"));
    let mut skipped: Vec<(String, String)> = set
        .skipped()
        .iter()
        .map(|s| (s.kid.clone().unwrap_or_default(), s.reason.clone()))
        .collect();
    skipped.sort();
    let mut expected: Vec<(String, String)> = [
        ("secret", "symmetric keys from a key set are never used"),
        ("private", "private key members in a public key set"),
        ("private-ec", "private key members in a public key set"),
        ("enc", "unusable key: use is not sig"),
        ("ops", "unusable key: key_ops does not allow verify"),
        ("rsa1024", "unusable key: RSA modulus under 2048 bits"),
        ("unknown-kty", "unusable key: unsupported kty"),
        ("rs1", "unusable key: alg is not a supported JWS algorithm"),
        ("dup", "duplicate kid"),
        ("dup", "duplicate kid"),
    ]
    .into_iter()
    .map(|(kid, reason)| (kid.to_owned(), reason.to_owned()))
    .collect();
    expected.sort();
    assert_eq!(skipped, expected);
    let token = signing(Algorithm::EdDSA)
        .clone()
        .with_kid("good")
        .unwrap()
        .sign(&claims())
        .unwrap();
    assert_eq!(verify_in::<Claims>(&set, &token), Ok(claims()));
    // The skipped keys serve nothing, the duplicated kid included.
    let dup = signing(Algorithm::ES256)
        .clone()
        .with_kid("dup")
        .unwrap()
        .sign(&claims())
        .unwrap();
    assert_eq!(
        verify_in::<Claims>(&set, &dup).unwrap_err().kind(),
        AuthErrorKind::UnknownKey
    );
}

#[test]
fn a_document_that_is_not_a_jwk_set_is_refused() {
    let documents: [&[u8]; 5] = [
        b"not json",
        b"{}",
        b"[]",
        br#"{"keys": "none"}"#,
        br#"{"keys": [1]}"#,
    ];
    for doc in documents {
        assert_eq!(
            KeySet::from_json(doc).unwrap_err(),
            ConfigError::InvalidKey("not a JWK Set document"),
            "{}",
            String::from_utf8_lossy(doc)
        );
    }
    let empty = KeySet::from_json(br#"{"keys": []}"#).unwrap();
    assert!(empty.is_empty());
}

/// RFC 7517 section 5: implementations SHOULD ignore JWKs of a set that they cannot use; the
/// crate documents that "individual unusable keys are skipped" rather than failing the set. A key
/// whose member has the wrong JSON type is such a key: one bad key published by an identity
/// provider must not make every other key of its set unusable.
#[test]
fn a_key_with_a_member_of_the_wrong_type_is_skipped_not_fatal_to_the_set() {
    let good = published(Algorithm::ES256, Some("good"));
    let bad_keys = [
        json!({"kty": "EC", "crv": "P-256", "kid": 7, "x": "AAAA", "y": "AAAA"}),
        json!({"kty": "RSA", "kid": "ops-as-string", "key_ops": "verify", "n": "AQAB", "e": "AQAB"}),
        json!({"kty": "RSA", "kid": "n-as-number", "n": 12345, "e": "AQAB"}),
    ];
    for bad in bad_keys {
        let doc = json!({ "keys": [good.clone(), bad.clone()] }).to_string();
        let set = KeySet::from_json(doc.as_bytes());
        let set = set.unwrap_or_else(|e| panic!("the whole set was refused because of {bad}: {e:?}"));
        assert_eq!(set.len(), 1, "{bad}");
        assert_eq!(set.skipped().len(), 1, "{bad}");
    }
}
