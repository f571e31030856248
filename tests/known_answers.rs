//! Known-answer tests: published examples (RFC 7515 Appendix A.1, the jwt.io example) and tokens
//! whose exact bytes were computed independently of this crate.
//!
//! The expected tokens of [`signing_produces_the_exact_expected_tokens`] were computed with
//! Python's standard library (`json.dumps(..., separators=(",", ":"), ensure_ascii=False)`,
//! `hmac`, `hashlib`, `base64.urlsafe_b64encode` without padding), not with this crate.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tower_jwt_auth::{
    dangerous, Algorithm, AuthErrorKind, Claim, ConfigError, SigningKey, Validation, VerifyingKey,
};

/// RFC 7515 Appendix A.1: the HS256 JWS example. Its header is `{"typ":"JWT",\r\n "alg":"HS256"}`
/// (note the CRLF, and `typ` before `alg`).
const RFC7515_A1_TOKEN: &str = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9\
    .eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ\
    .dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// RFC 7515 Appendix A.1: the symmetric key, as the JWK `k` (64 bytes).
const RFC7515_A1_K: &str =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";

/// RFC 7515 Appendix A.1: the exact payload octets.
const RFC7515_A1_PAYLOAD: &[u8] =
    b"{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";

const RFC7515_A1_EXP: u64 = 1_300_819_380;

#[derive(Debug, PartialEq, Deserialize)]
struct Rfc7515Claims {
    iss: String,
    exp: u64,
    #[serde(rename = "http://example.com/is_root")]
    is_root: bool,
}

fn rfc7515_key() -> VerifyingKey {
    let secret = URL_SAFE_NO_PAD
        .decode(RFC7515_A1_K)
        .expect("the RFC key is base64url");
    assert_eq!(secret.len(), 64);
    VerifyingKey::hs256(secret).expect("a 64-byte HS256 key")
}

fn at(now: u64) -> Validation {
    Validation::new().clock(move || now)
}

#[test]
fn the_rfc_7515_a1_example_verifies_before_it_expires() {
    let key = rfc7515_key();
    let expected = Rfc7515Claims {
        iss: "joe".to_owned(),
        exp: RFC7515_A1_EXP,
        is_root: true,
    };
    for now in [RFC7515_A1_EXP - 3600, RFC7515_A1_EXP - 1] {
        let claims: Rfc7515Claims = at(now).verify(RFC7515_A1_TOKEN, &key).expect("valid before exp");
        assert_eq!(claims, expected);
    }
    let value: serde_json::Value = at(RFC7515_A1_EXP - 1).verify(RFC7515_A1_TOKEN, &key).unwrap();
    assert_eq!(
        value,
        json!({"iss": "joe", "exp": 1_300_819_380, "http://example.com/is_root": true})
    );
}

#[test]
fn the_rfc_7515_a1_example_is_accepted_within_the_leeway_and_expired_after_it() {
    let key = rfc7515_key();
    // Default leeway: 30 s.
    let within: Result<Rfc7515Claims, _> = at(RFC7515_A1_EXP + 29).verify(RFC7515_A1_TOKEN, &key);
    assert!(within.is_ok(), "{within:?}");
    for now in [RFC7515_A1_EXP + 30, RFC7515_A1_EXP + 86_400, 1_700_000_000] {
        let err = at(now)
            .verify::<Rfc7515Claims>(RFC7515_A1_TOKEN, &key)
            .unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::Expired, "at {now}");
    }
    // Without leeway, the token is expired at `exp` itself.
    let strict = at(RFC7515_A1_EXP).leeway(Duration::ZERO);
    let err = strict
        .verify::<Rfc7515Claims>(RFC7515_A1_TOKEN, &key)
        .unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::Expired);
}

#[test]
fn the_rfc_7515_a1_example_yields_its_exact_payload_octets_at_the_jws_layer() {
    // The JWS layer checks no claims, so no clock is needed.
    let payload = Validation::new()
        .verify_jws(RFC7515_A1_TOKEN, &rfc7515_key())
        .unwrap();
    assert_eq!(payload, RFC7515_A1_PAYLOAD);
    let header = dangerous::decode_header_unverified(RFC7515_A1_TOKEN).unwrap();
    assert_eq!(header.get("typ"), Some(&json!("JWT")));
    assert_eq!(header.get("alg"), Some(&json!("HS256")));
}

#[test]
fn the_rfc_7515_a1_example_is_refused_by_a_key_bound_to_another_algorithm() {
    let secret = URL_SAFE_NO_PAD.decode(RFC7515_A1_K).unwrap();
    for key in [
        VerifyingKey::hs384(&secret).unwrap(),
        VerifyingKey::hs512(&secret).unwrap(),
    ] {
        let err = Validation::new().verify_jws(RFC7515_A1_TOKEN, &key).unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::AlgorithmMismatch, "{key:?}");
    }
    let mut other = secret;
    other[0] ^= 1;
    let err = Validation::new()
        .verify_jws(RFC7515_A1_TOKEN, &VerifyingKey::hs256(other).unwrap())
        .unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::InvalidSignature);
}

/// The example token shown by jwt.io, signed with the secret `your-256-bit-secret`.
const JWT_IO_TOKEN: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9\
    .eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ\
    .SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

const JWT_IO_SECRET: &[u8] = b"your-256-bit-secret";

#[test]
fn the_jwt_io_example_secret_is_refused_as_too_short() {
    // The crate refuses this weak secret by design: 19 bytes is below the 32 that RFC 7518
    // section 3.2 requires for HS256, so the jwt.io token cannot be verified with it at all.
    let too_short = ConfigError::KeyTooShort {
        algorithm: Algorithm::HS256,
        min_bytes: 32,
        actual: 19,
    };
    assert_eq!(JWT_IO_SECRET.len(), 19);
    assert_eq!(VerifyingKey::hs256(JWT_IO_SECRET).unwrap_err(), too_short);
    assert_eq!(SigningKey::hs256(JWT_IO_SECRET).unwrap_err(), too_short);
    assert_eq!(
        VerifyingKey::hmac(Algorithm::HS256, JWT_IO_SECRET).unwrap_err(),
        too_short
    );
}

#[test]
fn the_jwt_io_example_decodes_unverified_and_is_refused_by_any_other_key() {
    let header = dangerous::decode_header_unverified(JWT_IO_TOKEN).unwrap();
    assert_eq!(
        serde_json::Value::Object(header),
        json!({"alg": "HS256", "typ": "JWT"})
    );
    let claims: serde_json::Value = dangerous::decode_claims_unverified(JWT_IO_TOKEN).unwrap();
    assert_eq!(
        claims,
        json!({"sub": "1234567890", "name": "John Doe", "iat": 1_516_239_022})
    );
    let key = VerifyingKey::hs256([7u8; 32]).unwrap();
    let err = Validation::new()
        .verify::<serde_json::Value>(JWT_IO_TOKEN, &key)
        .unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::InvalidSignature);
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct JwtIoClaims {
    sub: String,
    name: String,
    iat: u64,
}

#[test]
fn the_jwt_io_claims_have_no_exp_and_are_refused_unless_that_is_explicitly_allowed() {
    let signing = SigningKey::hs256(b"a replacement secret of 32 bytes").unwrap();
    let claims = JwtIoClaims {
        sub: "1234567890".to_owned(),
        name: "John Doe".to_owned(),
        iat: 1_516_239_022,
    };
    let token = signing.sign(&claims).unwrap();
    let now = 1_516_239_022 + 60;
    let err = at(now)
        .verify::<JwtIoClaims>(&token, &signing.verifying_key())
        .unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::MissingClaim(Claim::Exp));
    let relaxed = at(now).dangerous_allow_missing_exp();
    assert_eq!(
        relaxed.verify::<JwtIoClaims>(&token, &signing.verifying_key()),
        Ok(claims)
    );
}

/// Claims serialized in field order: `sub`, `name`, `roles`, `iat`, `exp`.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct KnownClaims {
    sub: String,
    name: String,
    roles: Vec<String>,
    iat: u64,
    exp: u64,
}

fn known_claims() -> KnownClaims {
    KnownClaims {
        sub: "alice".to_owned(),
        // Non-ASCII, to pin that strings are serialized as raw UTF-8, not `\u` escapes.
        name: "Zo\u{eb} \u{dc}nal".to_owned(),
        roles: vec!["admin".to_owned(), "user".to_owned()],
        iat: 1_700_000_000,
        exp: 1_700_000_900,
    }
}

const HS256_SECRET: &[u8] = b"tower-jwt-auth known answer, 32B";
const HS384_SECRET: &[u8] = b"tower-jwt-auth known answer key for HS384, 48 B!";
const HS512_SECRET: &[u8] = b"tower-jwt-auth known answer key for HS512 tokens: sixty-four B!!";

/// `{"sub":"alice","name":"Zoë Ünal","roles":["admin","user"],"iat":1700000000,"exp":1700000900}`
const KNOWN_PAYLOAD_B64: &str =
    "eyJzdWIiOiJhbGljZSIsIm5hbWUiOiJab8OrIMOcbmFsIiwicm9sZXMiOlsiYWRtaW4iLCJ1c2VyIl0\
    sImlhdCI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAwOTAwfQ";

/// A token expected from signing [`known_claims`].
struct KnownToken {
    alg: Algorithm,
    secret: &'static [u8],
    kid: Option<&'static str>,
    /// The encoded header.
    header: &'static str,
    /// The encoded signature, computed independently (see the top).
    signature: &'static str,
}

const KNOWN_TOKENS: &[KnownToken] = &[
    KnownToken {
        alg: Algorithm::HS256,
        secret: HS256_SECRET,
        kid: None,
        // {"alg":"HS256","typ":"JWT"}
        header: "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
        signature: "_uHoULNjHHiwhICgsEQYEfh-BMXTa3teG6b7OmWfGJU",
    },
    KnownToken {
        alg: Algorithm::HS256,
        secret: HS256_SECRET,
        kid: Some("2024-06"),
        // {"alg":"HS256","typ":"JWT","kid":"2024-06"}
        header: "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6IjIwMjQtMDYifQ",
        signature: "AeG0kLwylQ96J3saNs2nzFipCcG-MWcPWHwtgSZCv14",
    },
    KnownToken {
        alg: Algorithm::HS384,
        secret: HS384_SECRET,
        kid: None,
        header: "eyJhbGciOiJIUzM4NCIsInR5cCI6IkpXVCJ9",
        signature: "jN4PFQcY920W5HyatHgrbivq6p3WE73kMUxiUaZGmjAZq_Hqr3eFVoudHBaQykmA",
    },
    KnownToken {
        alg: Algorithm::HS384,
        secret: HS384_SECRET,
        kid: Some("2024-06"),
        header: "eyJhbGciOiJIUzM4NCIsInR5cCI6IkpXVCIsImtpZCI6IjIwMjQtMDYifQ",
        signature: "WfxhKuB6bZi0lV_ITeRqAPPG_hq44T_kxjU0lSczXU_UY6uYyAV5v_CqcHnrV8TN",
    },
    KnownToken {
        alg: Algorithm::HS512,
        secret: HS512_SECRET,
        kid: None,
        header: "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9",
        signature: "UtZF8ShliBIB3mRbM7O9sJ33kgho3MuT0qNliLs7KaiBqDEE4azZJdeIrLAimipRcLuWzM_cuC4MYAkMpQaUsA",
    },
    KnownToken {
        alg: Algorithm::HS512,
        secret: HS512_SECRET,
        kid: Some("2024-06"),
        header: "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCIsImtpZCI6IjIwMjQtMDYifQ",
        signature: "D9KV9s9u2viyRHlDd6v-N2hY0U0XqtKhsiX3gfIxOrSasfY6egN7mtuxC51xkj5tOBp5OxSHVDnfAUFlrHOlDQ",
    },
];

fn expected_token(header: &str, signature: &str) -> String {
    format!("{header}.{KNOWN_PAYLOAD_B64}.{signature}")
}

#[test]
fn signing_produces_the_exact_expected_tokens() {
    assert_eq!(HS256_SECRET.len(), 32);
    assert_eq!(HS384_SECRET.len(), 48);
    assert_eq!(HS512_SECRET.len(), 64);
    for &KnownToken {
        alg,
        secret,
        kid,
        header,
        signature,
    } in KNOWN_TOKENS
    {
        let mut signing = SigningKey::hmac(alg, secret).unwrap();
        if let Some(kid) = kid {
            signing = signing.with_kid(kid).unwrap();
        }
        let token = signing.sign(&known_claims()).unwrap();
        assert_eq!(token, expected_token(header, signature), "{alg} kid {kid:?}");
    }
}

#[test]
fn the_expected_tokens_verify_with_independently_built_keys() {
    let validation = at(1_700_000_000 + 10);
    for &KnownToken {
        alg,
        secret,
        kid,
        header,
        signature,
    } in KNOWN_TOKENS
    {
        let token = expected_token(header, signature);
        let mut key = VerifyingKey::hmac(alg, secret).unwrap();
        if let Some(kid) = kid {
            key = key.with_kid(kid).unwrap();
        }
        let claims: KnownClaims = validation.verify(&token, &key).unwrap();
        assert_eq!(claims, known_claims(), "{alg} kid {kid:?}");
        let payload = validation.verify_jws(&token, &key).unwrap();
        assert_eq!(payload, URL_SAFE_NO_PAD.decode(KNOWN_PAYLOAD_B64).unwrap());
        assert_eq!(
            std::str::from_utf8(&payload).unwrap(),
            "{\"sub\":\"alice\",\"name\":\"Zo\u{eb} \u{dc}nal\",\"roles\":[\"admin\",\"user\"],\
             \"iat\":1700000000,\"exp\":1700000900}"
        );
        // A key with another kid refuses the token; after `exp` + leeway it is expired.
        if kid.is_some() {
            let other = VerifyingKey::hmac(alg, secret)
                .unwrap()
                .with_kid("2024-05")
                .unwrap();
            let err = validation.verify::<KnownClaims>(&token, &other).unwrap_err();
            assert_eq!(err.kind(), AuthErrorKind::UnknownKey);
        }
        let err = at(1_700_000_900 + 30)
            .verify::<KnownClaims>(&token, &key)
            .unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::Expired);
    }
}
