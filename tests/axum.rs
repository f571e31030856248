//! [`JwtAuthLayer`] in an axum `Router`: the `Claims<T>` extractors, `route_layer` versus
//! `layer`, per-route authorization, JSON rejections, and composition with tower-http.

// The `Claims<T>` extractor is the `axum` feature (on by default).
#![cfg(feature = "axum")]

mod support;

use std::convert::Infallible;

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, Route};
use axum::{Json, Router};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::{BoxError, Layer, Service, ServiceExt};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;
use tower_jwt_auth::{AuthError, AuthErrorKind, Claims, JwtAuthLayer, RequireClaimsLayer};

use support::{token, validation, MyClaims, LATER, NOW, SECRET};

fn auth() -> JwtAuthLayer<MyClaims> {
    JwtAuthLayer::hs256(SECRET)
        .expect("a 32-byte secret")
        .validation(validation())
}

fn alice() -> String {
    token(&json!({ "sub": "alice", "role": "user", "exp": LATER }))
}

fn get_request(path: &str, token: Option<&str>) -> Result<Request, axum::http::Error> {
    let mut builder = Request::get(path);
    if let Some(token) = token {
        builder = builder.header(AUTHORIZATION, format!("Bearer {token}"));
    }
    builder.body(Body::empty())
}

/// What came back: status, headers, the `AuthError` extension, and the body as text.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    error: Option<AuthErrorKind>,
    body: String,
}

impl Answer {
    fn challenge(&self) -> Option<&str> {
        self.headers.get(WWW_AUTHENTICATE).and_then(|v| v.to_str().ok())
    }
}

async fn send(app: &Router, req: Request) -> Result<Answer, BoxError> {
    let response = app.clone().oneshot(req).await?;
    let status = response.status();
    let headers = response.headers().clone();
    let error = response.extensions().get::<AuthError>().map(AuthError::kind);
    let bytes = response.into_body().collect().await?.to_bytes();
    Ok(Answer {
        status,
        headers,
        error,
        body: String::from_utf8(bytes.to_vec())?,
    })
}

async fn me(Claims(claims): Claims<MyClaims>) -> String {
    claims.sub
}

async fn must_not_run() -> &'static str {
    panic!("the handler must not run")
}

async fn hello(claims: Option<Claims<MyClaims>>) -> String {
    match claims {
        Some(Claims(claims)) => format!("hello, {}", claims.sub),
        None => "hello, stranger".to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// Fitting axum's layer bounds
// ---------------------------------------------------------------------------------------------

/// The bounds of `Router::layer` and `Router::route_layer` (axum 0.8), checked at compile time.
fn assert_router_layer<L>(_: &L)
where
    L: Layer<Route> + Clone + Send + Sync + 'static,
    L::Service: Service<Request, Error = Infallible> + Clone + Send + Sync + 'static,
    <L::Service as Service<Request>>::Response: IntoResponse + 'static,
    <L::Service as Service<Request>>::Future: Send + 'static,
{
}

#[test]
fn the_layers_fit_router_layer_and_route_layer() -> Result<(), BoxError> {
    assert_router_layer(&auth());
    assert_router_layer(&auth().optional());
    assert_router_layer(&auth().with_rejection(|e: &AuthError| -> Response {
        Json(json!({ "error": e.description() })).into_response()
    }));
    let admin_only = RequireClaimsLayer::equals(|c: &MyClaims| c.role.as_str(), "admin");
    assert_router_layer(&admin_only);
    let scoped = RequireClaimsLayer::scopes(["orders:read"], |c: &MyClaims| &c.scope)?;
    assert_router_layer(&scoped);

    let _: Router = Router::new().route("/me", get(me)).layer(auth());
    let _: Router = Router::new()
        .route("/admin", get(me))
        .route_layer(admin_only)
        .route("/orders", get(me).route_layer(scoped))
        .route_layer(auth());
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Behaviour
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_claims_extractor_reads_the_verified_claims() -> Result<(), BoxError> {
    let app = Router::new().route("/me", get(me)).route_layer(auth());
    let answer = send(&app, get_request("/me", Some(&alice()))?).await?;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, "alice");
    assert!(answer.error.is_none());
    Ok(())
}

#[tokio::test]
async fn a_protected_route_without_a_token_gets_401_and_the_handler_is_not_run() -> Result<(), BoxError> {
    let app = Router::new()
        .route("/me", get(must_not_run))
        .route_layer(auth().realm("api")?);
    let answer = send(&app, get_request("/me", None)?).await?;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.challenge(), Some("Bearer realm=\"api\""));
    assert_eq!(answer.error, Some(AuthErrorKind::MissingToken));
    let answer = send(&app, get_request("/me", Some("garbage"))?).await?;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        answer.challenge(),
        Some("Bearer realm=\"api\", error=\"invalid_token\", error_description=\"malformed token\"")
    );
    assert_eq!(answer.error, Some(AuthErrorKind::Malformed));
    Ok(())
}

#[tokio::test]
async fn optional_claims_are_none_without_a_token_and_some_with_one() -> Result<(), BoxError> {
    let app = Router::new()
        .route("/hello", get(hello))
        .route_layer(auth().optional());
    let answer = send(&app, get_request("/hello", None)?).await?;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (StatusCode::OK, "hello, stranger")
    );
    let answer = send(&app, get_request("/hello", Some(&alice()))?).await?;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (StatusCode::OK, "hello, alice")
    );
    // A bad token is still refused.
    let expired = token(&json!({ "sub": "alice", "exp": NOW - 3600 }));
    let answer = send(&app, get_request("/hello", Some(&expired))?).await?;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        answer.challenge(),
        Some("Bearer error=\"invalid_token\", error_description=\"token expired\"")
    );
    Ok(())
}

#[tokio::test]
async fn unknown_paths_stay_404_with_route_layer() -> Result<(), BoxError> {
    let app = Router::new().route("/me", get(me)).route_layer(auth());
    let answer = send(&app, get_request("/nope", None)?).await?;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert!(answer.challenge().is_none());
    // A wrong method on a protected path: axum's `route_layer` wraps the whole `MethodRouter`,
    // its 405 fallback included, so the path asks for a token first.
    let post = Request::post("/me").body(Body::empty())?;
    let answer = send(&app, post).await?;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    let post = Request::post("/me")
        .header(AUTHORIZATION, format!("Bearer {}", alice()))
        .body(Body::empty())?;
    let answer = send(&app, post).await?;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    Ok(())
}

#[tokio::test]
async fn unknown_paths_get_401_with_layer() -> Result<(), BoxError> {
    // `layer` wraps the fallback too: the documented reason to prefer `route_layer`.
    let app = Router::new().route("/me", get(me)).layer(auth());
    let answer = send(&app, get_request("/nope", None)?).await?;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.challenge(), Some("Bearer"));
    let answer = send(&app, get_request("/nope", Some(&alice()))?).await?;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    Ok(())
}

#[tokio::test]
async fn the_claims_extractor_without_the_layer_is_a_500_naming_the_layer() -> Result<(), BoxError> {
    let app = Router::new().route("/me", get(me)).route("/open", get(hello));
    let answer = send(&app, get_request("/me", Some(&alice()))?).await?;
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(answer.body.contains("JwtAuthLayer"), "{}", answer.body);
    assert!(answer.body.contains("MyClaims"), "{}", answer.body);
    // `Option<Claims<T>>` without the layer is simply `None`.
    let answer = send(&app, get_request("/open", Some(&alice()))?).await?;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (StatusCode::OK, "hello, stranger")
    );
    Ok(())
}

#[tokio::test]
async fn require_claims_gives_403_per_route() -> Result<(), BoxError> {
    let app = Router::new()
        .route("/admin", get(me))
        .route_layer(RequireClaimsLayer::equals(
            |c: &MyClaims| c.role.as_str(),
            "admin",
        ))
        .route(
            "/orders",
            get(me).route_layer(RequireClaimsLayer::scopes(
                ["orders:read", "orders:write"],
                |c: &MyClaims| &c.scope,
            )?),
        )
        .route("/me", get(me))
        .route_layer(auth());
    let user = alice();
    let answer = send(&app, get_request("/me", Some(&user))?).await?;
    assert_eq!(answer.status, StatusCode::OK);
    let answer = send(&app, get_request("/admin", Some(&user))?).await?;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.challenge(), Some("Bearer error=\"insufficient_scope\""));
    assert_eq!(answer.error, Some(AuthErrorKind::InsufficientScope));
    let answer = send(&app, get_request("/orders", Some(&user))?).await?;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(
        answer.challenge(),
        Some("Bearer error=\"insufficient_scope\", scope=\"orders:read orders:write\"")
    );
    let admin =
        token(&json!({ "sub": "root", "role": "admin", "scope": "orders:write orders:read", "exp": LATER }));
    for path in ["/admin", "/orders", "/me"] {
        let answer = send(&app, get_request(path, Some(&admin))?).await?;
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (StatusCode::OK, "root"),
            "{path}"
        );
    }
    // No token: 401 before any authorization check.
    let answer = send(&app, get_request("/admin", None)?).await?;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.challenge(), Some("Bearer"));
    Ok(())
}

/// Rejections as JSON, like an API would send them.
fn json_rejection(error: &AuthError) -> Response {
    (
        StatusCode::IM_A_TEAPOT,
        Json(json!({
            "error": error.kind().error_code().unwrap_or("unauthorized"),
            "error_description": error.description(),
        })),
    )
        .into_response()
}

#[tokio::test]
async fn a_json_rejection_hook_keeps_the_status_and_the_challenge() -> Result<(), BoxError> {
    let app = Router::new()
        .route("/me", get(me))
        .route_layer(auth().with_rejection(json_rejection));
    let expired = token(&json!({ "sub": "alice", "exp": NOW - 3600 }));
    let answer = send(&app, get_request("/me", Some(&expired))?).await?;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        answer.challenge(),
        Some("Bearer error=\"invalid_token\", error_description=\"token expired\"")
    );
    assert_eq!(answer.headers[CONTENT_TYPE], "application/json");
    assert_eq!(answer.error, Some(AuthErrorKind::Expired));
    let body: Value = serde_json::from_str(&answer.body)?;
    assert_eq!(
        body,
        json!({ "error": "invalid_token", "error_description": "token expired" })
    );
    let answer = send(&app, get_request("/me", None)?).await?;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.challenge(), Some("Bearer"));
    let body: Value = serde_json::from_str(&answer.body)?;
    assert_eq!(body["error_description"], "no token");
    Ok(())
}

#[tokio::test]
async fn sensitive_headers_and_trace_layers_compose_with_the_auth_layer() -> Result<(), BoxError> {
    async fn sensitive(headers: HeaderMap, Claims(claims): Claims<MyClaims>) -> String {
        let hidden = headers.get(AUTHORIZATION).is_some_and(|v| v.is_sensitive());
        format!("{} sensitive={hidden}", claims.sub)
    }
    let app = Router::new()
        .route("/me", get(sensitive))
        .route_layer(auth().with_rejection(json_rejection))
        .layer(TraceLayer::new_for_http())
        .layer(SetSensitiveRequestHeadersLayer::new([AUTHORIZATION]));
    let answer = send(&app, get_request("/me", Some(&alice()))?).await?;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, "alice sensitive=true");
    // Rejections cross the outer layers with their status, challenge and error extension.
    let answer = send(&app, get_request("/me", Some("garbage"))?).await?;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.error, Some(AuthErrorKind::Malformed));
    assert_eq!(
        answer.challenge(),
        Some("Bearer error=\"invalid_token\", error_description=\"malformed token\"")
    );
    let answer = send(&app, get_request("/nope", None)?).await?;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    Ok(())
}

#[tokio::test]
async fn the_router_can_be_served_over_tcp() -> Result<(), BoxError> {
    // The real server path: `axum::serve` needs `Router` to stay `Send + Sync` with the layer.
    let app = Router::new().route("/me", get(me)).route_layer(auth());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let response = raw_get(addr, &format!("Authorization: Bearer {}\r\n", alice())).await?;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("alice"), "{response}");
    let response = raw_get(addr, "").await?;
    assert!(response.starts_with("HTTP/1.1 401"), "{response}");
    assert!(
        response
            .to_ascii_lowercase()
            .contains("www-authenticate: bearer\r\n"),
        "{response}"
    );
    server.abort();
    Ok(())
}

/// A minimal HTTP/1.1 GET of `/me` with `extra` header lines, reading until the server closes.
async fn raw_get(addr: std::net::SocketAddr, extra: &str) -> Result<String, BoxError> {
    let request = format!("GET /me HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{extra}\r\n");
    let response = tokio::task::spawn_blocking(move || -> std::io::Result<String> {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
        stream.write_all(request.as_bytes())?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        Ok(response)
    })
    .await??;
    Ok(response)
}
