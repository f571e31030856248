//! The example server with several issuers (`JWT_TRUSTED_ISSUERS`), the RFC 9068 profile
//! (`JWT_PROFILE=rfc9068`) and protected-resource metadata (`OAUTH_RESOURCE`), against
//! in-process identity providers on loopback, driven with `oneshot`.

#![cfg(all(feature = "jwks", feature = "axum"))]

mod support;

use std::time::Duration;

use axum::body::Body;
use axum::Router;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;
use tower_jwt_auth::{NumericDate, SigningKey};

use support::example_server::{app, config, Config, Remote};
use support::idp::{key_a, key_b, Idp};

const SECRET: &str = "the example server's secret, 32 bytes or more";

fn token(key: &SigningKey, iss: &str, extra: Value) -> String {
    let now = NumericDate::now().as_secs();
    let mut claims = json!({"sub": "alice", "role": "user", "iss": iss, "iat": now, "exp": now + 600});
    if let (Some(claims), Value::Object(extra)) = (claims.as_object_mut(), extra) {
        claims.extend(extra);
    }
    key.sign(&claims).unwrap()
}

fn trusting(issuers: &[&str]) -> Config {
    let mut c = config(SECRET);
    c.remote = Some(Remote::Issuers {
        issuers: issuers.iter().map(|i| (*i).to_owned()).collect(),
        cooldown: Duration::from_millis(300),
    });
    c
}

/// The status, the `WWW-Authenticate` challenge and the body of `GET path` with `token`.
async fn get(app: &Router, path: &str, token: Option<&str>) -> (StatusCode, String, Value) {
    let mut request = Request::get(path);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        challenge,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn tokens_of_each_trusted_issuer_verify_with_that_issuers_keys() {
    let (a, b) = (Idp::start(&[&key_a()]).await, Idp::start(&[&key_b()]).await);
    let app = app(trusting(&[&a.base, &b.base])).unwrap();
    let (status, _, body) = get(&app, "/me", Some(&token(&key_a(), &a.base, json!({})))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["iss"], a.base.as_str());
    assert_eq!(
        get(&app, "/me", Some(&token(&key_b(), &b.base, json!({}))))
            .await
            .0,
        StatusCode::OK
    );
    // A's key claiming B.
    let (status, challenge, _) = get(&app, "/me", Some(&token(&key_a(), &b.base, json!({})))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.contains("invalid_token"), "{challenge}");
    // Roles still apply.
    let admin = token(&key_a(), &a.base, json!({"role": "admin"}));
    assert_eq!(get(&app, "/admin", Some(&admin)).await.0, StatusCode::OK);
    let user = token(&key_a(), &a.base, json!({}));
    assert_eq!(get(&app, "/admin", Some(&user)).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_untrusted_issuer_costs_no_request_and_hs256_tokens_are_refused() {
    let (a, evil) = (Idp::start(&[&key_a()]).await, Idp::start(&[&key_a()]).await);
    let app = app(trusting(&[&a.base])).unwrap();
    let (status, challenge, _) = get(&app, "/me", Some(&token(&key_a(), &evil.base, json!({})))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.contains("untrusted issuer"), "{challenge}");
    let secret = SigningKey::hs256(SECRET.as_bytes()).unwrap();
    for iss in [a.base.as_str(), "https://elsewhere.example.com"] {
        assert_eq!(
            get(&app, "/me", Some(&token(&secret, iss, json!({})))).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(evil.requests(), 0);
    // No logins here: another party issues the tokens.
    let login = Request::post("/login")
        .header("content-type", "application/json")
        .body(Body::from(r#"{"username":"alice","password":"alice-password"}"#))
        .unwrap();
    assert_eq!(
        app.clone().oneshot(login).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn an_issuer_whose_keys_cannot_be_had_answers_503_for_its_tokens_only() {
    let (a, b) = (Idp::start(&[&key_a()]).await, Idp::start(&[&key_b()]).await);
    b.set_down(true);
    // C's discovery document names another issuer: refused (OpenID Connect Discovery §4.3).
    let c = Idp::start(&[&key_a()]).await;
    c.claim_issuer("https://impostor.example.com");
    let app = app(trusting(&[&a.base, &b.base, &c.base])).unwrap();
    let (status, challenge, _) = get(&app, "/me", Some(&token(&key_b(), &b.base, json!({})))).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(challenge.is_empty());
    assert_eq!(
        get(&app, "/me", Some(&token(&key_a(), &c.base, json!({}))))
            .await
            .0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(c.fetches(), 0);
    assert_eq!(
        get(&app, "/me", Some(&token(&key_a(), &a.base, json!({}))))
            .await
            .0,
        StatusCode::OK
    );
    // B comes back; its next token past the cooldown verifies.
    b.set_down(false);
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(
        get(&app, "/me", Some(&token(&key_b(), &b.base, json!({}))))
            .await
            .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_new_kid_is_accepted_once_the_cooldown_has_passed() {
    let a = Idp::start(&[&key_a()]).await;
    let app = app(trusting(&[&a.base])).unwrap();
    assert_eq!(
        get(&app, "/me", Some(&token(&key_a(), &a.base, json!({}))))
            .await
            .0,
        StatusCode::OK
    );
    let rotated = SigningKey::from_pkcs8(include_bytes!("keys/example-server-p256.pem"))
        .unwrap()
        .with_kid("a-2")
        .unwrap();
    a.set_keys(&[&key_a(), &rotated]);
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(
        get(&app, "/me", Some(&token(&rotated, &a.base, json!({}))))
            .await
            .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_audience_applies_to_every_issuer() {
    let (a, b) = (Idp::start(&[&key_a()]).await, Idp::start(&[&key_b()]).await);
    let mut c = trusting(&[&a.base, &b.base]);
    c.audience = Some("https://api.example.com".to_owned());
    let app = app(c).unwrap();
    let ours = json!({"aud": "https://api.example.com"});
    assert_eq!(
        get(&app, "/me", Some(&token(&key_a(), &a.base, ours.clone())))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        get(&app, "/me", Some(&token(&key_b(), &b.base, ours))).await.0,
        StatusCode::OK
    );
    let (status, challenge, _) = get(&app, "/me", Some(&token(&key_b(), &b.base, json!({})))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.contains("missing aud claim"), "{challenge}");
}

#[tokio::test]
async fn the_rfc9068_profile_requires_at_jwt_and_its_claims() {
    let a = Idp::start(&[&key_a()]).await;
    let mut c = trusting(&[&a.base]);
    c.rfc9068 = true;
    c.audience = Some("https://api.example.com".to_owned());
    let app = app(c).unwrap();
    let at = key_a().with_typ("at+jwt").unwrap();
    let claims = json!({"aud": "https://api.example.com", "client_id": "web", "jti": "j-1"});
    assert_eq!(
        get(&app, "/me", Some(&token(&at, &a.base, claims.clone())))
            .await
            .0,
        StatusCode::OK
    );
    let (status, challenge, _) = get(&app, "/me", Some(&token(&key_a(), &a.base, claims.clone()))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.contains("invalid token type"), "{challenge}");
    let mut no_client = claims;
    no_client.as_object_mut().unwrap().remove("client_id");
    let (status, challenge, _) = get(&app, "/me", Some(&token(&at, &a.base, no_client))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.contains("missing client_id claim"), "{challenge}");
}

#[tokio::test]
async fn oauth_resource_serves_its_metadata_and_names_it_in_every_401() {
    let (a, b) = (Idp::start(&[&key_a()]).await, Idp::start(&[&key_b()]).await);
    let mut c = trusting(&[&a.base, &b.base]);
    // Byte for byte, a trailing slash included.
    c.resource = Some("http://127.0.0.1:8080/api/".to_owned());
    let app = app(c).unwrap();
    let response = app
        .clone()
        .oneshot(
            Request::get("/.well-known/oauth-protected-resource/api")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert!(response.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age"));
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let document: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(document["resource"], "http://127.0.0.1:8080/api/");
    assert_eq!(document["authorization_servers"], json!([a.base, b.base]));
    assert_eq!(document["bearer_methods_supported"], json!(["header"]));
    let url = "http://127.0.0.1:8080/.well-known/oauth-protected-resource/api";
    let (status, challenge, _) = get(&app, "/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenge,
        format!("Bearer realm=\"tower-jwt-auth example\", resource_metadata=\"{url}\"")
    );
    let (status, challenge, _) = get(&app, "/me", Some(&token(&key_a(), &b.base, json!({})))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        challenge.contains(&format!("resource_metadata=\"{url}\"")),
        "{challenge}"
    );
    // A 403 keeps its own challenge (and may name the metadata too).
    let user = token(&key_a(), &a.base, json!({}));
    let (status, challenge, _) = get(&app, "/admin", Some(&user)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(challenge.contains("insufficient_scope"), "{challenge}");
    // Without OAUTH_RESOURCE there is no document and no parameter.
    let plain = app_without_resource(&a).await;
    assert_eq!(
        plain
            .clone()
            .oneshot(
                Request::get("/.well-known/oauth-protected-resource")
                    .body(Body::empty())
                    .unwrap()
            )
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    assert!(!get(&plain, "/me", None).await.1.contains("resource_metadata"));
}

async fn app_without_resource(a: &Idp) -> Router {
    app(trusting(&[&a.base])).unwrap()
}

/// `JWT_OIDC_ISSUER` is the one-issuer case: an untrusted `iss` costs no request there either,
/// even with an unknown `kid` once the cooldown has passed.
#[tokio::test]
async fn the_one_issuer_mode_chooses_by_iss_too() {
    let a = Idp::start(&[&key_a()]).await;
    let mut c = config(SECRET);
    c.remote = Some(Remote::Oidc {
        issuer: a.base.clone(),
        cooldown: Duration::from_millis(100),
    });
    let app = app(c).unwrap();
    assert_eq!(
        get(&app, "/me", Some(&token(&key_a(), &a.base, json!({}))))
            .await
            .0,
        StatusCode::OK
    );
    let before = a.requests();
    tokio::time::sleep(Duration::from_millis(150)).await;
    let stranger = key_a().with_kid("never-seen").unwrap();
    let (status, challenge, _) = get(
        &app,
        "/me",
        Some(&token(&stranger, "https://evil.example", json!({}))),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.contains("untrusted issuer"), "{challenge}");
    assert_eq!(a.requests(), before);
}

#[test]
fn a_resource_whose_path_axum_would_read_as_a_parameter_is_refused() {
    for resource in [
        "http://127.0.0.1:1/:api",
        "http://127.0.0.1:1/*all",
        "http://127.0.0.1:1/a/{b}",
    ] {
        let mut c = config(SECRET);
        c.resource = Some(resource.to_owned());
        assert!(app(c).is_err(), "{resource}");
    }
}
