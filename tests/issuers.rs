//! Several issuers (`issuers::Issuers`) against in-process identity providers on loopback:
//! choosing by `iss` with no I/O for an untrusted one, keys that never cross issuers, issuers
//! that fail alone, per-issuer rules and cooldowns, and templated issuers.

#![cfg(feature = "jwks")]

mod support;

use std::convert::Infallible;
use std::time::Duration;

use http::{Request, Response, StatusCode};
use serde_json::{json, Value};
use tower::ServiceExt;
use tower_jwt_auth::issuers::{IssuerTemplate, Issuers, TrustedIssuer};
use tower_jwt_auth::{
    Algorithm, AuthError, AuthErrorKind, Claim, JwksOptions, JwtAuthLayer, NumericDate, SigningKey,
    Validation, VerifyingKey,
};

use support::idp::{key_a, key_b, Idp};

fn fast() -> JwksOptions {
    JwksOptions::default()
        .cooldown(Duration::from_millis(400))
        .timeouts(Duration::from_millis(500), Duration::from_millis(800))
}

fn token(key: &SigningKey, iss: Option<&str>, extra: Value) -> String {
    let mut claims = json!({"sub": "alice", "exp": NumericDate::now().as_secs() + 600});
    if let Some(iss) = iss {
        claims["iss"] = json!(iss);
    }
    if let (Some(claims), Value::Object(extra)) = (claims.as_object_mut(), extra) {
        claims.extend(extra);
    }
    key.sign(&claims).unwrap()
}

/// Calls a service behind the layer with `token`: the status, and the refusal's kind.
async fn call(issuers: &Issuers, validation: Validation, token: &str) -> (StatusCode, Option<AuthErrorKind>) {
    let layer = JwtAuthLayer::<Value>::new(issuers.clone()).validation(validation);
    let app = tower::ServiceBuilder::new()
        .layer(layer)
        .service_fn(|req: Request<String>| async move {
            // The handler learns the issuer from the verified claims.
            let claims = req.extensions().get::<tower_jwt_auth::Claims<Value>>().unwrap();
            Ok::<_, Infallible>(Response::new(claims.0["iss"].as_str().unwrap_or("").to_owned()))
        });
    let request = Request::builder()
        .header("authorization", format!("Bearer {token}"))
        .body(String::new())
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    let kind = response.extensions().get::<AuthError>().map(AuthError::kind);
    (response.status(), kind)
}

/// The status for a token of `key` with `iss` and no other claim.
async fn status(issuers: &Issuers, validation: Validation, key: &SigningKey, iss: &str) -> StatusCode {
    call(issuers, validation, &token(key, Some(iss), json!({})))
        .await
        .0
}

async fn two_providers() -> (Idp, Idp, Issuers) {
    let (a, b) = (Idp::start(&[&key_a()]).await, Idp::start(&[&key_b()]).await);
    let issuers = Issuers::new()
        .trust(TrustedIssuer::discover(&a.base).unwrap().jwks_options(fast()))
        .unwrap()
        .trust(
            TrustedIssuer::jwks(&b.base, &format!("{}/jwks", b.base))
                .unwrap()
                .jwks_options(fast()),
        )
        .unwrap();
    (a, b, issuers)
}

#[tokio::test]
async fn each_issuer_verifies_with_its_own_keys() {
    let (a, b, issuers) = two_providers().await;
    let v = Validation::new;
    assert_eq!(status(&issuers, v(), &key_a(), &a.base).await, StatusCode::OK);
    assert_eq!(status(&issuers, v(), &key_b(), &b.base).await, StatusCode::OK);
    // A's key, claiming B: B's keys do not verify it.
    let crossed = call(&issuers, v(), &token(&key_a(), Some(&b.base), json!({}))).await;
    assert_eq!(crossed.0, StatusCode::UNAUTHORIZED);
    assert_eq!(crossed.1, Some(AuthErrorKind::UnknownKey));
    // Discovery for A (one document), the JWK Set URL for B (no discovery).
    assert_eq!(a.discoveries(), 1);
    assert_eq!(b.discoveries(), 0);
}

#[tokio::test]
async fn a_shared_kid_never_lets_one_issuers_key_verify_anothers_tokens() {
    // B publishes a key under A's kid.
    let impostor = SigningKey::from_pkcs8(include_bytes!("keys/example-server-p256.pem"))
        .unwrap()
        .with_kid("a-1")
        .unwrap();
    let (a, b) = (Idp::start(&[&key_a()]).await, Idp::start(&[&impostor]).await);
    let issuers = Issuers::new()
        .trust(TrustedIssuer::discover(&a.base).unwrap().jwks_options(fast()))
        .unwrap()
        .trust(TrustedIssuer::discover(&b.base).unwrap().jwks_options(fast()))
        .unwrap();
    let v = Validation::new;
    // A's token claiming B: B's "a-1" is another key.
    let crossed = call(&issuers, v(), &token(&key_a(), Some(&b.base), json!({}))).await;
    assert_eq!(
        crossed,
        (StatusCode::UNAUTHORIZED, Some(AuthErrorKind::InvalidSignature))
    );
    // B's token claiming A: the same.
    let crossed = call(&issuers, v(), &token(&impostor, Some(&a.base), json!({}))).await;
    assert_eq!(
        crossed,
        (StatusCode::UNAUTHORIZED, Some(AuthErrorKind::InvalidSignature))
    );
    assert_eq!(status(&issuers, v(), &impostor, &b.base).await, StatusCode::OK);
    assert_eq!(status(&issuers, v(), &key_a(), &a.base).await, StatusCode::OK);
}

#[tokio::test]
async fn an_untrusted_or_missing_issuer_costs_no_request_at_all() {
    let (a, b, issuers) = two_providers().await;
    let evil = Idp::start(&[&key_a()]).await;
    let v = Validation::new;
    for iss in [
        evil.base.as_str(),
        "https://attacker.example.com",
        "",
        &format!("{}/", a.base),
    ] {
        let refused = call(&issuers, v(), &token(&key_a(), Some(iss), json!({}))).await;
        assert_eq!(
            refused,
            (StatusCode::UNAUTHORIZED, Some(AuthErrorKind::UntrustedIssuer)),
            "{iss}"
        );
    }
    let refused = call(&issuers, v(), &token(&key_a(), None, json!({}))).await;
    assert_eq!(
        refused,
        (
            StatusCode::UNAUTHORIZED,
            Some(AuthErrorKind::MissingClaim(Claim::Iss))
        )
    );
    let refused = call(&issuers, v(), &token(&key_a(), None, json!({"iss": 7}))).await;
    assert_eq!(
        refused,
        (
            StatusCode::UNAUTHORIZED,
            Some(AuthErrorKind::MissingClaim(Claim::Iss))
        )
    );
    // Two `iss` members (hand-written JSON): refused before either is chosen.
    for (first, second) in [(&evil.base, &a.base), (&a.base, &b.base)] {
        let raw = format!(
            r#"{{"sub":"alice","iss":"{first}","iss":"{second}","exp":{}}}"#,
            NumericDate::now().as_secs() + 600
        );
        let raw = serde_json::value::RawValue::from_string(raw).unwrap();
        let token = key_a().with_kid("unknown").unwrap().sign(&raw).unwrap();
        let refused = call(&issuers, v(), &token).await;
        assert_eq!(
            refused,
            (StatusCode::UNAUTHORIZED, Some(AuthErrorKind::Malformed))
        );
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!((a.requests(), b.requests(), evil.requests()), (0, 0, 0));
}

#[tokio::test]
async fn one_issuer_down_answers_503_for_its_tokens_only() {
    let (a, b, issuers) = two_providers().await;
    a.set_down(true);
    let v = Validation::new;
    let down = call(&issuers, v(), &token(&key_a(), Some(&a.base), json!({}))).await;
    assert_eq!(
        down,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Some(AuthErrorKind::KeyUnavailable)
        )
    );
    // A failed discovery (503) is not followed by RFC 8414's document, which would double the
    // wait: that one is tried only after a 404.
    assert_eq!(a.others(), 0);
    assert_eq!(status(&issuers, v(), &key_b(), &b.base).await, StatusCode::OK);
    let forged = call(&issuers, v(), &token(&key_a(), Some(&b.base), json!({}))).await;
    assert_eq!(forged.0, StatusCode::UNAUTHORIZED);
    // A comes back: after its cooldown its tokens verify.
    a.set_down(false);
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(status(&issuers, v(), &key_a(), &a.base).await, StatusCode::OK);
}

#[tokio::test]
async fn a_kid_of_one_issuer_presented_with_another_does_not_storm_it() {
    let (a, b, issuers) = two_providers().await;
    let v = Validation::new;
    assert_eq!(status(&issuers, v(), &key_b(), &b.base).await, StatusCode::OK);
    let before = b.fetches();
    for _ in 0..30 {
        let refused = call(&issuers, v(), &token(&key_a(), Some(&b.base), json!({}))).await;
        assert_eq!(refused.0, StatusCode::UNAUTHORIZED);
    }
    // One forced refetch at most within the cooldown.
    assert!(b.fetches() - before <= 1, "{} fetches", b.fetches() - before);
    assert_eq!(a.requests(), 0);
}

#[tokio::test]
async fn each_issuer_has_its_own_audiences_leeway_and_algorithms() {
    let (a, b) = (Idp::start(&[&key_a()]).await, Idp::start(&[&key_b()]).await);
    let shared = SigningKey::hs256([5u8; 32]).unwrap();
    let issuers = Issuers::new()
        .trust(
            TrustedIssuer::discover(&a.base)
                .unwrap()
                .audience("a-api")
                .unwrap()
                .leeway(Duration::from_secs(60))
                .jwks_options(fast()),
        )
        .unwrap()
        .trust(
            TrustedIssuer::discover(&b.base)
                .unwrap()
                .audience("b-api")
                .unwrap()
                .leeway(Duration::ZERO)
                .algorithms([Algorithm::EdDSA])
                .jwks_options(fast()),
        )
        .unwrap()
        .trust(
            TrustedIssuer::keys("urn:batch", [shared.verifying_key()])
                .unwrap()
                .algorithms([Algorithm::ES256]),
        )
        .unwrap();
    let v = Validation::new;
    let aud = |a: &str| json!({"aud": a});
    assert_eq!(
        call(&issuers, v(), &token(&key_a(), Some(&a.base), aud("a-api")))
            .await
            .0,
        StatusCode::OK
    );
    let wrong = call(&issuers, v(), &token(&key_a(), Some(&a.base), aud("b-api"))).await;
    assert_eq!(wrong.1, Some(AuthErrorKind::InvalidAudience));
    assert_eq!(
        call(&issuers, v(), &token(&key_b(), Some(&b.base), aud("b-api")))
            .await
            .0,
        StatusCode::OK
    );
    let missing = call(&issuers, v(), &token(&key_b(), Some(&b.base), json!({}))).await;
    assert_eq!(missing.1, Some(AuthErrorKind::MissingClaim(Claim::Aud)));
    // Expired 20 s ago: inside A's leeway, outside B's.
    let late = json!({"exp": NumericDate::now().as_secs() - 20});
    let mut late_a = aud("a-api");
    late_a["exp"] = late["exp"].clone();
    let mut late_b = aud("b-api");
    late_b["exp"] = late["exp"].clone();
    assert_eq!(
        call(&issuers, v(), &token(&key_a(), Some(&a.base), late_a))
            .await
            .0,
        StatusCode::OK
    );
    let expired = call(&issuers, v(), &token(&key_b(), Some(&b.base), late_b)).await;
    assert_eq!(expired.1, Some(AuthErrorKind::Expired));
    // The batch issuer's HS256 key is not among its allowed algorithms.
    let refused = call(&issuers, v(), &token(&shared, Some("urn:batch"), json!({}))).await;
    assert_eq!(refused.1, Some(AuthErrorKind::UnknownKey));
}

#[tokio::test]
async fn a_discovery_document_naming_another_issuer_is_refused() {
    let a = Idp::start(&[&key_a()]).await;
    a.claim_issuer("https://elsewhere.example.com");
    let issuers = Issuers::new()
        .trust(TrustedIssuer::discover(&a.base).unwrap().jwks_options(fast()))
        .unwrap();
    let refused = call(
        &issuers,
        Validation::new(),
        &token(&key_a(), Some(&a.base), json!({})),
    )
    .await;
    assert_eq!(
        refused,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Some(AuthErrorKind::KeyUnavailable)
        )
    );
    assert_eq!(a.fetches(), 0);
}

#[tokio::test]
async fn templated_issuers_are_discovered_only_when_allowed_and_kept_in_a_bounded_cache() {
    let idp = Idp::start(&[&key_a()]).await;
    let template = IssuerTemplate::new(&format!("{}/tenants/{{tenant}}", idp.base), |tenant: &str| {
        ["t1", "t2"].contains(&tenant)
    })
    .unwrap()
    .capacity(1)
    .unwrap()
    .jwks_options(fast());
    let issuers = Issuers::new().trust_template(template).unwrap();
    let v = Validation::new;
    assert_eq!(
        call(
            &issuers,
            v(),
            &token(&key_a(), Some(&idp.tenant("t1")), json!({}))
        )
        .await
        .0,
        StatusCode::OK
    );
    assert_eq!(idp.discoveries(), 1);
    // Cached: no new discovery.
    assert_eq!(
        call(
            &issuers,
            v(),
            &token(&key_a(), Some(&idp.tenant("t1")), json!({}))
        )
        .await
        .0,
        StatusCode::OK
    );
    assert_eq!(idp.discoveries(), 1);
    // Not allowed, or not fitting: no I/O.
    for iss in [
        idp.tenant("t3"),
        idp.tenant("t1/../t2"),
        idp.tenant("t1%2F"),
        idp.tenant(""),
        format!("{}/tenants/t1/extra", idp.base),
        format!("{}/other/t1", idp.base),
    ] {
        let refused = call(&issuers, v(), &token(&key_a(), Some(&iss), json!({}))).await;
        assert_eq!(refused.1, Some(AuthErrorKind::UntrustedIssuer), "{iss}");
    }
    assert_eq!(idp.requests(), 2);
    // Capacity 1: t2 evicts t1, which is discovered again when it comes back.
    assert_eq!(
        call(
            &issuers,
            v(),
            &token(&key_a(), Some(&idp.tenant("t2")), json!({}))
        )
        .await
        .0,
        StatusCode::OK
    );
    assert_eq!(
        call(
            &issuers,
            v(),
            &token(&key_a(), Some(&idp.tenant("t1")), json!({}))
        )
        .await
        .0,
        StatusCode::OK
    );
    assert_eq!(idp.discoveries(), 3);
}

#[tokio::test]
async fn a_failing_templated_issuer_is_retried_only_after_its_cooldown() {
    let idp = Idp::start(&[&key_a()]).await;
    idp.set_down(true);
    let template = IssuerTemplate::new(&format!("{}/tenants/{{tenant}}", idp.base), |_: &str| true)
        .unwrap()
        .jwks_options(fast());
    let issuers = Issuers::new().trust_template(template).unwrap();
    let t1 = token(&key_a(), Some(&idp.tenant("t1")), json!({}));
    for _ in 0..20 {
        let refused = call(&issuers, Validation::new(), &t1).await;
        assert_eq!(refused.0, StatusCode::SERVICE_UNAVAILABLE);
    }
    assert!(idp.discoveries() <= 2, "{} discoveries", idp.discoveries());
    idp.set_down(false);
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(call(&issuers, Validation::new(), &t1).await.0, StatusCode::OK);
}

#[test]
fn configuration_mistakes_are_refused() {
    assert!(TrustedIssuer::discover("http://example.com").is_err());
    assert!(TrustedIssuer::discover("").is_err());
    assert!(TrustedIssuer::jwks("https://a.example.com", "http://a.example.com/jwks").is_err());
    assert!(TrustedIssuer::keys("urn:x", Vec::<VerifyingKey>::new()).is_err());
    assert!(IssuerTemplate::new("https://{tenant}.example.com", |_: &str| true).is_err());
    assert!(IssuerTemplate::new("https://login.example.com/", |_: &str| true).is_err());
    assert!(IssuerTemplate::new("https://login.example.com/{a}/{b}", |_: &str| true).is_err());
    assert!(IssuerTemplate::new("https://login.example.com/{tenant}/v2.0", |_: &str| true).is_ok());
    assert!(IssuerTemplate::new("https://login.example.com/?tenant={tenant}", |_: &str| true).is_err());
    assert!(IssuerTemplate::new("https://login.example.com/x#{tenant}", |_: &str| true).is_err());
    let twice = Issuers::new()
        .trust(TrustedIssuer::discover("https://a.example.com").unwrap())
        .unwrap()
        .trust(TrustedIssuer::discover("https://a.example.com").unwrap());
    assert!(twice.is_err());
}

/// A provider with only RFC 8414 metadata: found at the path §3.1 gives, the well-known path
/// between the host and the issuer's path.
#[tokio::test]
async fn rfc_8414_metadata_is_found_between_the_host_and_the_issuers_path() {
    let idp = Idp::start(&[&key_a()]).await;
    idp.set_rfc8414_only();
    let issuer = idp.tenant("t1");
    let issuers = Issuers::new()
        .trust(TrustedIssuer::discover(&issuer).unwrap().jwks_options(fast()))
        .unwrap();
    let answer = call(
        &issuers,
        Validation::new(),
        &token(&key_a(), Some(&issuer), json!({})),
    )
    .await;
    assert_eq!(answer.0, StatusCode::OK);
    assert_eq!(idp.discoveries(), 1);
}
