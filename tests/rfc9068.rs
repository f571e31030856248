//! The JWT access-token profile (RFC 9068): `Validation::rfc9068`, directly and through the
//! layer.

use std::convert::Infallible;

use http::{Request, Response, StatusCode};
use serde_json::{json, Value};
use tower::ServiceExt;
use tower_jwt_auth::{AuthErrorKind, Claim, JwtAuthLayer, NumericDate, SigningKey, Validation};

const SECRET: [u8; 32] = [42; 32];
const ISS: &str = "https://auth.example.com";
const AUD: &str = "https://api.example.com";

fn key(typ: Option<&str>) -> SigningKey {
    let key = SigningKey::hs256(SECRET).unwrap();
    match typ {
        Some(typ) => key.with_typ(typ).unwrap(),
        None => key,
    }
}

fn claims() -> Value {
    let now = NumericDate::now().as_secs();
    json!({
        "iss": ISS, "aud": AUD, "sub": "alice", "client_id": "web-app", "jti": "a1b2c3",
        "iat": now, "exp": now + 300, "scope": "orders:read orders:write",
    })
}

fn profile() -> Validation {
    Validation::rfc9068().issuer(ISS).unwrap().audience(AUD).unwrap()
}

fn verify(validation: &Validation, typ: Option<&str>, claims: &Value) -> Result<Value, AuthErrorKind> {
    let key = key(typ);
    let token = key.sign(claims).unwrap();
    validation
        .verify::<Value>(&token, &key.verifying_key())
        .map_err(|e| e.kind())
}

/// A token whose header has no `typ` at all (this crate's signing keys always write one).
fn untyped(validation: &Validation) -> Result<Value, AuthErrorKind> {
    let header = jsonwebtoken::Header {
        typ: None,
        ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256)
    };
    let token = jsonwebtoken::encode(
        &header,
        &claims(),
        &jsonwebtoken::EncodingKey::from_secret(&SECRET),
    )
    .unwrap();
    assert!(!token.starts_with("eyJhbGciOiJIUzI1NiIsInR5cCI6"));
    validation
        .verify::<Value>(&token, &key(None).verifying_key())
        .map_err(|e| e.kind())
}

fn without(name: &str) -> Value {
    let mut c = claims();
    c.as_object_mut().unwrap().remove(name);
    c
}

#[test]
fn a_complete_access_token_verifies() {
    let verified = verify(&profile(), Some("at+jwt"), &claims()).unwrap();
    assert_eq!(verified["client_id"], "web-app");
    for typ in ["application/at+jwt", "AT+JWT", "Application/At+Jwt"] {
        assert!(verify(&profile(), Some(typ), &claims()).is_ok(), "{typ}");
    }
}

#[test]
fn every_required_claim_is_named_when_missing() {
    for (name, claim) in [
        ("iss", Claim::Iss),
        ("exp", Claim::Exp),
        ("aud", Claim::Aud),
        ("sub", Claim::Sub),
        ("client_id", Claim::ClientId),
        ("iat", Claim::Iat),
        ("jti", Claim::Jti),
    ] {
        assert_eq!(
            verify(&profile(), Some("at+jwt"), &without(name)),
            Err(AuthErrorKind::MissingClaim(claim)),
            "{name}"
        );
    }
    // Without configured issuers the profile still requires `iss`.
    let bare = Validation::rfc9068().audience(AUD).unwrap();
    assert_eq!(
        verify(&bare, Some("at+jwt"), &without("iss")),
        Err(AuthErrorKind::MissingClaim(Claim::Iss))
    );
    assert!(verify(&bare, Some("at+jwt"), &claims()).is_ok());
}

#[test]
fn identifiers_of_the_wrong_type_are_refused() {
    for (name, claim, value) in [
        ("client_id", Claim::ClientId, json!(7)),
        ("client_id", Claim::ClientId, json!(null)),
        ("jti", Claim::Jti, json!(["a"])),
        ("jti", Claim::Jti, json!({"a": 1})),
        ("sub", Claim::Sub, json!(true)),
    ] {
        let mut c = claims();
        c[name] = value;
        assert_eq!(
            verify(&profile(), Some("at+jwt"), &c),
            Err(AuthErrorKind::InvalidClaimType(claim)),
            "{name}"
        );
    }
}

#[test]
fn the_type_must_say_access_token() {
    for typ in [Some("JWT"), Some("application/jwt"), Some("jwt"), Some("id+jwt")] {
        assert_eq!(
            verify(&profile(), typ, &claims()),
            Err(AuthErrorKind::InvalidTokenType),
            "{typ:?}"
        );
    }
    // The opt-in for providers that send `JWT`: every other rule stays.
    let lenient = profile().accept_typ_jwt();
    assert!(verify(&lenient, Some("JWT"), &claims()).is_ok());
    assert!(verify(&lenient, Some("at+jwt"), &claims()).is_ok());
    assert_eq!(untyped(&lenient), Err(AuthErrorKind::InvalidTokenType));
    assert_eq!(untyped(&profile()), Err(AuthErrorKind::InvalidTokenType));
    assert_eq!(
        verify(&lenient, Some("JWT"), &without("client_id")),
        Err(AuthErrorKind::MissingClaim(Claim::ClientId))
    );
    // Without the profile, `accept_typ_jwt` changes nothing and `typ` stays optional.
    let plain = Validation::new()
        .issuer(ISS)
        .unwrap()
        .audience(AUD)
        .unwrap()
        .accept_typ_jwt();
    assert!(verify(&plain, None, &without("client_id")).is_ok());
    assert!(untyped(&plain).is_ok());
}

#[test]
fn the_profile_keeps_the_other_rules() {
    let mut c = claims();
    c["aud"] = json!("https://other.example.com");
    assert_eq!(
        verify(&profile(), Some("at+jwt"), &c),
        Err(AuthErrorKind::InvalidAudience)
    );
    let mut c = claims();
    c["exp"] = json!(1_000_000);
    assert_eq!(
        verify(&profile(), Some("at+jwt"), &c),
        Err(AuthErrorKind::Expired)
    );
    let mut c = claims();
    c["iss"] = json!("https://evil.example.com");
    assert_eq!(
        verify(&profile(), Some("at+jwt"), &c),
        Err(AuthErrorKind::InvalidIssuer)
    );
}

#[tokio::test]
async fn the_layer_answers_401_naming_the_missing_claim() {
    let layer = JwtAuthLayer::<Value>::hs256(SECRET)
        .unwrap()
        .validation(profile());
    let app = tower::ServiceBuilder::new()
        .layer(layer)
        .service_fn(|_: Request<String>| async { Ok::<_, Infallible>(Response::new(String::new())) });
    let call = |token: String| {
        let app = app.clone();
        async move {
            let request = Request::builder()
                .header("authorization", format!("Bearer {token}"))
                .body(String::new())
                .unwrap();
            app.oneshot(request).await.unwrap()
        }
    };
    let ok = call(key(Some("at+jwt")).sign(&claims()).unwrap()).await;
    assert_eq!(ok.status(), StatusCode::OK);
    let refused = call(key(Some("at+jwt")).sign(&without("client_id")).unwrap()).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        refused.headers()["www-authenticate"],
        "Bearer error=\"invalid_token\", error_description=\"missing client_id claim\""
    );
    let plain_jwt = call(key(Some("JWT")).sign(&claims()).unwrap()).await;
    assert_eq!(plain_jwt.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        plain_jwt.headers()["www-authenticate"],
        "Bearer error=\"invalid_token\", error_description=\"invalid token type\""
    );
}
