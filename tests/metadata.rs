//! RFC 9728 protected resource metadata: the document [`ProtectedResourceMetadata`] serves, its
//! well-known path, and the `resource_metadata` parameter the challenges of [`JwtAuthLayer`] and
//! [`RequireClaimsLayer`] carry, through `tower::ServiceExt::oneshot` and an axum `Router`.

use std::convert::Infallible;

use axum::routing::get;
use axum::Router;
use http::header::{ALLOW, AUTHORIZATION, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use serde::Deserialize;
use serde_json::{json, Value};
use tower::{service_fn, Layer, ServiceExt};
use tower_jwt_auth::{
    Algorithm, AuthError, AuthErrorKind, BearerMethod, ConfigError, JwtAuthLayer, ProtectedResourceMetadata,
    RequireClaimsLayer, Scopes, SigningKey, Validation,
};

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/// The pinned current time.
const NOW: u64 = 1_700_000_000;
/// The HS256 secret of these tests.
const SECRET: &[u8; 32] = b"the-32-byte-secret-of-metadata!!";
/// The resource identifier of these tests, and the URL of its metadata.
const RESOURCE: &str = "https://api.example.com/v1";
const METADATA_URL: &str = "https://api.example.com/.well-known/oauth-protected-resource/v1";

#[derive(Clone, Debug, Deserialize)]
struct MyClaims {
    sub: String,
    #[serde(default)]
    scope: Scopes,
}

type Prm = ProtectedResourceMetadata;

fn metadata() -> Prm {
    ProtectedResourceMetadata::new(RESOURCE).unwrap()
}

fn token(claims: &Value) -> String {
    SigningKey::hs256(SECRET).unwrap().sign(claims).unwrap()
}

fn auth() -> JwtAuthLayer<MyClaims> {
    JwtAuthLayer::<MyClaims>::hs256(SECRET)
        .unwrap()
        .validation(Validation::new().clock(|| NOW))
}

/// An inner service answering with the `sub` it was given.
async fn echo(req: Request<String>) -> Result<Response<String>, Infallible> {
    let sub = req
        .extensions()
        .get::<tower_jwt_auth::Claims<MyClaims>>()
        .map_or_else(|| "anonymous".to_owned(), |c| c.sub.clone());
    Ok(Response::new(sub))
}

fn request(method: Method, bearer: Option<&str>) -> Request<String> {
    let mut builder = Request::builder().method(method).uri("/v1/orders");
    if let Some(token) = bearer {
        builder = builder.header(AUTHORIZATION, format!("Bearer {token}"));
    }
    builder.body(String::new()).unwrap()
}

fn challenge<B>(response: &Response<B>) -> Option<&str> {
    response
        .headers()
        .get(WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap())
}

async fn get_document(metadata: Prm, method: Method) -> Response<String> {
    let req = Request::builder()
        .method(method)
        .uri(metadata.path())
        .body(())
        .unwrap();
    metadata.oneshot(req).await.unwrap()
}

fn invalid_url(result: Result<impl std::fmt::Debug, ConfigError>) -> &'static str {
    match result {
        Err(ConfigError::InvalidUrl(why)) => why,
        other => panic!("expected InvalidUrl, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// The document
// ---------------------------------------------------------------------------------------------

#[test]
fn the_well_known_path_goes_between_host_and_path() {
    for (resource, path, url) in [
        (
            "https://api.example.com",
            "/.well-known/oauth-protected-resource",
            "https://api.example.com/.well-known/oauth-protected-resource",
        ),
        (
            "https://api.example.com/",
            "/.well-known/oauth-protected-resource",
            "https://api.example.com/.well-known/oauth-protected-resource",
        ),
        (
            "https://api.example.com/v1",
            "/.well-known/oauth-protected-resource/v1",
            "https://api.example.com/.well-known/oauth-protected-resource/v1",
        ),
        (
            "https://api.example.com/v1/",
            "/.well-known/oauth-protected-resource/v1",
            "https://api.example.com/.well-known/oauth-protected-resource/v1",
        ),
        (
            "https://api.example.com:8443/tenants/a%20b/api",
            "/.well-known/oauth-protected-resource/tenants/a%20b/api",
            "https://api.example.com:8443/.well-known/oauth-protected-resource/tenants/a%20b/api",
        ),
        (
            "http://[::1]:3000/mcp",
            "/.well-known/oauth-protected-resource/mcp",
            "http://[::1]:3000/.well-known/oauth-protected-resource/mcp",
        ),
    ] {
        let m: Prm = ProtectedResourceMetadata::new(resource).unwrap();
        assert_eq!(m.path(), path, "{resource}");
        assert_eq!(m.url(), url, "{resource}");
        assert_eq!(m.resource(), resource);
    }
}

#[test]
fn the_document_holds_exactly_the_members_set() {
    let m = metadata()
        .authorization_servers(["https://login.example.com", "https://login.example.com/t2"])
        .unwrap()
        .jwks_uri("https://api.example.com/.well-known/jwks.json")
        .unwrap()
        .scopes_supported(["orders:read", "orders:write"])
        .unwrap()
        .scopes_supported(["orders:read"])
        .unwrap()
        .bearer_methods_supported([BearerMethod::Header])
        .resource_signing_alg_values_supported([Algorithm::ES256, Algorithm::RS256])
        .resource_name("Orders API")
        .resource_documentation("https://docs.example.com/orders?lang=en")
        .unwrap();
    let document: Value = serde_json::from_str(m.document()).unwrap();
    assert_eq!(
        document,
        json!({
            "resource": RESOURCE,
            "authorization_servers": ["https://login.example.com", "https://login.example.com/t2"],
            "jwks_uri": "https://api.example.com/.well-known/jwks.json",
            "scopes_supported": ["orders:read", "orders:write"],
            "bearer_methods_supported": ["header"],
            "resource_signing_alg_values_supported": ["ES256", "RS256"],
            "resource_name": "Orders API",
            "resource_documentation": "https://docs.example.com/orders?lang=en",
        })
    );
    assert!(m
        .document()
        .starts_with(r#"{"resource":"https://api.example.com/v1","#));
}

#[test]
fn empty_members_are_left_out_but_an_empty_bearer_list_is_written() {
    let document: Value = serde_json::from_str(metadata().document()).unwrap();
    assert_eq!(
        document,
        json!({ "resource": RESOURCE, "bearer_methods_supported": ["header"] })
    );
    let m = metadata()
        .authorization_servers(Vec::<String>::new())
        .unwrap()
        .scopes_supported(Vec::<String>::new())
        .unwrap()
        .resource_signing_alg_values_supported([])
        .bearer_methods_supported([]);
    let document: Value = serde_json::from_str(m.document()).unwrap();
    assert_eq!(
        document,
        json!({ "resource": RESOURCE, "bearer_methods_supported": [] })
    );
}

#[test]
fn resource_is_written_byte_for_byte() {
    for resource in [
        "https://API.Example.COM:443/a%2Fb/",
        "HTTPS://api.example.com/x/./y",
        "https://api.example.com/it's;v=1",
        "http://localhost/",
    ] {
        let m: Prm = ProtectedResourceMetadata::new(resource).unwrap();
        let document: Value = serde_json::from_str(m.document()).unwrap();
        assert_eq!(document["resource"].as_str(), Some(resource));
        assert!(
            m.document().contains(&format!("\"resource\":\"{resource}\"")),
            "{resource}"
        );
    }
}

#[test]
fn bad_resource_urls_are_refused() {
    let https = "must be HTTPS (plain HTTP only on loopback)";
    for (resource, why) in [
        ("http://api.example.com/v1", https),
        ("http://10.0.0.1/v1", https),
        ("http://localhost.example.com", https),
        ("ws://localhost/v1", https),
        ("https://api.example.com/v1#top", "must not have a fragment"),
        ("https://api.example.com/v1#", "must not have a fragment"),
        ("https://api.example.com/v1?tenant=a", "must not have a query"),
        ("/v1", "must be an absolute URL"),
        ("api.example.com/v1", "must be an absolute URL"),
        ("", "must be an absolute URL"),
        (
            "https://user:pw@api.example.com/v1",
            "must not have user information",
        ),
        ("https://", "must have a host"),
        (
            "https://api.example.com/a b",
            "has characters a URL cannot hold (percent-encode them)",
        ),
        (
            "https://api.example.com/\"",
            "has characters a URL cannot hold (percent-encode them)",
        ),
        ("https://api.example.com/%G0", "has a malformed percent-encoding"),
    ] {
        assert_eq!(invalid_url(Prm::new(resource)), why, "{resource}");
    }
    for loopback in ["http://127.0.0.1/api", "http://[::1]", "http://localhost:8080"] {
        assert!(Prm::new(loopback).is_ok(), "{loopback}");
    }
}

#[test]
fn bad_member_values_are_refused() {
    assert_eq!(
        invalid_url(metadata().authorization_servers(["https://login.example.com/?x=1"])),
        "must not have a query"
    );
    assert_eq!(
        invalid_url(metadata().authorization_servers(["http://login.example.com"])),
        "must be HTTPS (plain HTTP only on loopback)"
    );
    assert_eq!(
        invalid_url(metadata().jwks_uri("https://api.example.com/jwks#k1")),
        "must not have a fragment"
    );
    assert_eq!(
        invalid_url(metadata().resource_documentation("docs/orders")),
        "must be an absolute URL"
    );
    for scope in ["", "two words", "quote\"", "back\\slash", "é"] {
        assert!(
            matches!(
                metadata().scopes_supported([scope]),
                Err(ConfigError::InvalidHeaderValue("scope"))
            ),
            "{scope:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The service
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn get_answers_the_document_as_json() {
    let m = metadata()
        .authorization_servers(["https://login.example.com"])
        .unwrap();
    let response = get_document(m.clone(), Method::GET).await;
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers();
    assert_eq!(headers[CONTENT_TYPE], "application/json");
    assert_eq!(headers[CACHE_CONTROL], "public, max-age=3600");
    assert_eq!(headers[CONTENT_LENGTH], m.document().len().to_string().as_str());
    assert_eq!(response.body(), m.document());

    let response = get_document(m.max_age(60), Method::GET).await;
    assert_eq!(response.headers()[CACHE_CONTROL], "public, max-age=60");
}

#[tokio::test]
async fn head_answers_the_headers_without_the_body() {
    let m = metadata();
    let response = get_document(m.clone(), Method::HEAD).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    assert_eq!(response.headers()[CACHE_CONTROL], "public, max-age=3600");
    assert_eq!(
        response.headers()[CONTENT_LENGTH],
        m.document().len().to_string().as_str()
    );
    assert!(response.body().is_empty());
}

#[tokio::test]
async fn other_methods_are_405_with_allow() {
    for method in [
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::OPTIONS,
        Method::PATCH,
    ] {
        let response = get_document(metadata(), method.clone()).await;
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(response.headers()[ALLOW], "GET, HEAD");
        assert!(response.headers().get(CACHE_CONTROL).is_none());
        assert!(response.body().is_empty());
    }
}

#[tokio::test]
async fn the_service_builds_any_body_made_from_a_string() {
    let m: ProtectedResourceMetadata<axum::body::Body> = ProtectedResourceMetadata::new(RESOURCE).unwrap();
    let document = m.document().to_owned();
    let response = m.oneshot(Request::new(())).await.unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, document.as_bytes());
}

// ---------------------------------------------------------------------------------------------
// The challenges
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_missing_token_is_challenged_with_resource_metadata() {
    let service = auth()
        .resource_metadata(METADATA_URL)
        .unwrap()
        .layer(service_fn(echo));
    let response = service.oneshot(request(Method::GET, None)).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenge(&response),
        Some(format!("Bearer resource_metadata=\"{METADATA_URL}\"").as_str())
    );
}

#[tokio::test]
async fn realm_and_resource_metadata_survive_either_order() {
    let expected = format!("Bearer realm=\"api\", resource_metadata=\"{METADATA_URL}\"");
    let m = metadata();
    let layers = [
        auth().realm("api").unwrap().resource_metadata(m.url()).unwrap(),
        auth().resource_metadata(m.url()).unwrap().realm("api").unwrap(),
        // The last of each wins, the other stays.
        auth()
            .realm("old")
            .unwrap()
            .resource_metadata("https://old.example.com/.well-known/oauth-protected-resource")
            .unwrap()
            .realm("api")
            .unwrap()
            .resource_metadata(m.url())
            .unwrap(),
    ];
    for layer in layers {
        let response = layer
            .layer(service_fn(echo))
            .oneshot(request(Method::GET, None))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(challenge(&response), Some(expected.as_str()));
    }
}

#[tokio::test]
async fn a_refused_token_is_challenged_with_error_description_and_resource_metadata() {
    let service = auth()
        .realm("api")
        .unwrap()
        .resource_metadata(METADATA_URL)
        .unwrap()
        .layer(service_fn(echo));
    let expired = token(&json!({ "sub": "alice", "exp": NOW - 3600 }));
    let response = service
        .oneshot(request(Method::GET, Some(&expired)))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenge(&response),
        Some(
            format!(
                "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"token expired\", \
                 resource_metadata=\"{METADATA_URL}\""
            )
            .as_str()
        )
    );
    assert_eq!(
        response.extensions().get::<AuthError>().map(AuthError::kind),
        Some(AuthErrorKind::Expired)
    );
}

#[tokio::test]
async fn a_malformed_request_is_challenged_with_resource_metadata_too() {
    let service = auth()
        .resource_metadata(METADATA_URL)
        .unwrap()
        .layer(service_fn(echo));
    let mut req = request(Method::GET, Some("a.b.c"));
    req.headers_mut()
        .append(AUTHORIZATION, "Bearer d.e.f".parse().unwrap());
    let response = service.oneshot(req).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let challenge = challenge(&response).unwrap();
    assert!(
        challenge.starts_with("Bearer error=\"invalid_request\", error_description=\""),
        "{challenge}"
    );
    assert!(
        challenge.ends_with(&format!(", resource_metadata=\"{METADATA_URL}\"")),
        "{challenge}"
    );
}

#[tokio::test]
async fn a_valid_token_passes() {
    let service = auth()
        .resource_metadata(METADATA_URL)
        .unwrap()
        .layer(service_fn(echo));
    let ok = token(&json!({ "sub": "alice", "exp": NOW + 600 }));
    let response = service.oneshot(request(Method::GET, Some(&ok))).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.body(), "alice");
    assert!(challenge(&response).is_none());
}

#[test]
fn a_resource_metadata_url_must_be_absolute_https() {
    let m = metadata();
    assert_eq!(
        invalid_url(auth().resource_metadata(m.path())),
        "must be an absolute URL"
    );
    assert_eq!(
        invalid_url(auth().resource_metadata("http://api.example.com/.well-known/oauth-protected-resource")),
        "must be HTTPS (plain HTTP only on loopback)"
    );
    assert_eq!(
        invalid_url(auth().resource_metadata("https://api.example.com/\"x")),
        "has characters a URL cannot hold (percent-encode them)"
    );
    let require = || RequireClaimsLayer::new(|_: &MyClaims| true);
    assert_eq!(
        invalid_url(require().resource_metadata("#x")),
        "must not have a fragment"
    );
    // On a clone, the shared configuration cannot change.
    let layer = require();
    let _clone = layer.clone();
    assert!(matches!(
        layer.resource_metadata(METADATA_URL),
        Err(ConfigError::OutOfRange(_))
    ));
}

#[tokio::test]
async fn require_claims_keeps_scope_in_its_403_and_adds_resource_metadata() {
    let require = |first_realm: bool| {
        let layer = RequireClaimsLayer::scopes(["orders:read"], |c: &MyClaims| &c.scope).unwrap();
        if first_realm {
            layer
                .realm("api")
                .unwrap()
                .resource_metadata(METADATA_URL)
                .unwrap()
        } else {
            layer
                .resource_metadata(METADATA_URL)
                .unwrap()
                .realm("api")
                .unwrap()
        }
    };
    for first_realm in [true, false] {
        let service = auth()
            .realm("api")
            .unwrap()
            .resource_metadata(METADATA_URL)
            .unwrap()
            .layer(require(first_realm).layer(service_fn(echo)));
        let no_scope = token(&json!({ "sub": "bob", "exp": NOW + 600, "scope": "orders:write" }));
        let response = service
            .clone()
            .oneshot(request(Method::GET, Some(&no_scope)))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            challenge(&response),
            Some(
                format!(
                    "Bearer realm=\"api\", error=\"insufficient_scope\", scope=\"orders:read\", \
                     resource_metadata=\"{METADATA_URL}\""
                )
                .as_str()
            )
        );
        let scoped = token(&json!({ "sub": "carol", "exp": NOW + 600, "scope": "orders:read" }));
        let response = service
            .oneshot(request(Method::GET, Some(&scoped)))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.body(), "carol");
    }
}

#[tokio::test]
async fn require_claims_without_claims_answers_the_same_401_as_the_auth_layer() {
    let m = metadata();
    // Optional authentication: no token goes through without claims, to RequireClaims.
    let service = auth().optional().resource_metadata(m.url()).unwrap().layer(
        RequireClaimsLayer::new(|_: &MyClaims| true)
            .resource_metadata(m.url())
            .unwrap()
            .layer(service_fn(echo)),
    );
    let response = service.oneshot(request(Method::GET, None)).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenge(&response),
        Some(format!("Bearer resource_metadata=\"{METADATA_URL}\"").as_str())
    );
}

#[tokio::test]
async fn a_grpc_request_gets_its_grpc_status_and_the_challenge() {
    let service = auth()
        .resource_metadata(METADATA_URL)
        .unwrap()
        .layer(service_fn(echo));
    // A gRPC call: a POST over HTTP/2.
    let mut req = request(Method::POST, None);
    *req.version_mut() = http::Version::HTTP_2;
    req.headers_mut()
        .insert(CONTENT_TYPE, "application/grpc".parse().unwrap());
    let response = service.clone().oneshot(req).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["grpc-status"], "16");
    assert_eq!(response.headers()[CONTENT_TYPE], "application/grpc");
    assert_eq!(
        challenge(&response),
        Some(format!("Bearer resource_metadata=\"{METADATA_URL}\"").as_str())
    );

    let expired = token(&json!({ "sub": "alice", "exp": NOW - 3600 }));
    let mut req = request(Method::POST, Some(&expired));
    *req.version_mut() = http::Version::HTTP_2;
    req.headers_mut()
        .insert(CONTENT_TYPE, "application/grpc+proto".parse().unwrap());
    let response = service.oneshot(req).await.unwrap();
    assert_eq!(response.headers()["grpc-status"], "16");
    assert_eq!(response.headers()["grpc-message"], "token expired");
    assert!(challenge(&response).unwrap().ends_with(&format!(
        "error_description=\"token expired\", resource_metadata=\"{METADATA_URL}\""
    )));
}

// ---------------------------------------------------------------------------------------------
// An axum application
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_axum_client_finds_the_document_the_challenge_names() {
    let m: ProtectedResourceMetadata<axum::body::Body> = ProtectedResourceMetadata::new(RESOURCE)
        .unwrap()
        .authorization_servers(["https://login.example.com"])
        .unwrap()
        .scopes_supported(["orders:read"])
        .unwrap();
    let auth = auth().realm("api").unwrap().resource_metadata(m.url()).unwrap();
    let app: Router = Router::new()
        .route("/v1/orders", get(|| async { "orders" }))
        .route_layer(RequireClaimsLayer::scopes(["orders:read"], |c: &MyClaims| &c.scope).unwrap())
        .route_layer(auth)
        .route_service(m.path(), m.clone());

    // 1. The API refuses a request without a token and names the metadata.
    let response = app
        .clone()
        .oneshot(
            Request::get("/v1/orders")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = challenge(&response).unwrap();
    let url = challenge
        .split("resource_metadata=\"")
        .nth(1)
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap();
    assert_eq!(url, METADATA_URL);

    // 2. The client fetches it (no token needed), and checks `resource` (RFC 9728 §3.3).
    let path = url.strip_prefix("https://api.example.com").unwrap();
    let response = app
        .clone()
        .oneshot(Request::get(path).body(axum::body::Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let document: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(document["resource"], RESOURCE);
    assert_eq!(
        document["authorization_servers"],
        json!(["https://login.example.com"])
    );
    assert_eq!(document["scopes_supported"], json!(["orders:read"]));

    // HEAD through axum: the headers, no body.
    let response = app
        .clone()
        .oneshot(Request::head(path).body(axum::body::Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[CONTENT_LENGTH],
        m.document().len().to_string().as_str()
    );
    assert!(response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .is_empty());

    // 3. With a token of the scope, the API answers.
    let ok = token(&json!({ "sub": "alice", "exp": NOW + 600, "scope": "orders:read" }));
    let response = app
        .oneshot(
            Request::get("/v1/orders")
                .header(AUTHORIZATION, format!("Bearer {ok}"))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}
