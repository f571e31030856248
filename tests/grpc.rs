//! gRPC behind the layer, over real loopback HTTP/2 with tonic's own generated client
//! (`grpc.health.v1.Health` from tonic-health): every refusal is a gRPC status with the reason in
//! its message, handlers read the claims, and plain HTTP/1.1 and HTTP/2 requests on the same
//! router keep their HTTP answers.

#![cfg(feature = "tonic")]

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::get;
use http::{Request as HttpRequest, StatusCode};
use http_body_util::{BodyExt, Empty};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tonic::codegen::tokio_stream::{self, Stream, StreamExt};
use tonic::service::Routes;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Server};
use tonic::{Code, Request, Response, Status};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};
use tower_jwt_auth::grpc::RequestClaims;
use tower_jwt_auth::{
    JwtAuthLayer, KeyResolver, NumericDate, RequireClaimsLayer, Scopes, SigningKey, Validation,
};

const SECRET: &[u8] = b"the 32-byte secret of the grpc tests";
const CHECK: &str = "/grpc.health.v1.Health/Check";
const WATCH: &str = "/grpc.health.v1.Health/Watch";

#[derive(Clone, Debug, Serialize, Deserialize)]
struct MyClaims {
    sub: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    scope: Scopes,
}

/// The health service of these tests: `Check` records the subject it saw, `Watch` answers
/// SERVING once.
#[derive(Clone, Default)]
struct Recorder {
    seen: Arc<Mutex<Vec<String>>>,
}

impl Recorder {
    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

type WatchStream = Pin<Box<dyn Stream<Item = Result<HealthCheckResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Health for Recorder {
    async fn check(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        let claims = request.claims::<MyClaims>()?;
        self.seen.lock().unwrap().push(claims.sub.clone());
        Ok(Response::new(serving()))
    }

    type WatchStream = WatchStream;

    async fn watch(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let claims = request.claims::<MyClaims>()?;
        self.seen.lock().unwrap().push(claims.sub.clone());
        Ok(Response::new(Box::pin(tokio_stream::once(Ok(serving())))))
    }
}

fn serving() -> HealthCheckResponse {
    HealthCheckResponse {
        status: ServingStatus::Serving as i32,
    }
}

fn sign(claims: &serde_json::Value) -> String {
    SigningKey::hs256(SECRET).unwrap().sign(claims).unwrap()
}

fn token(sub: &str, role: &str, scope: &str) -> String {
    let exp = NumericDate::now().as_secs() + 600;
    sign(&serde_json::json!({"sub": sub, "role": role, "scope": scope, "exp": exp, "aud": "health"}))
}

fn layer() -> JwtAuthLayer<MyClaims> {
    JwtAuthLayer::<MyClaims>::hs256(SECRET)
        .unwrap()
        .validation(Validation::new().audience("health").unwrap())
}

/// The routes: `Check` needs the scope `health:read`, `Watch` the role `admin` (guards on the
/// method paths, as axum route layers), everything else of the service only a valid token.
fn routes(recorder: &Recorder) -> Routes {
    let guarded = axum::Router::new()
        .route_service(CHECK, HealthServer::new(recorder.clone()))
        .route_layer(RequireClaimsLayer::scopes(["health:read"], |c: &MyClaims| &c.scope).unwrap())
        .merge(
            axum::Router::new()
                .route_service(WATCH, HealthServer::new(recorder.clone()))
                .route_layer(RequireClaimsLayer::equals(
                    |c: &MyClaims| c.role.as_str(),
                    "admin",
                )),
        );
    Routes::from(guarded)
}

/// Serves `routes` behind `auth` on tonic's own server (HTTP/2 without TLS) on a free loopback
/// port: the layer's bounds are tonic's, with no adapter.
async fn serve<K>(routes: Routes, auth: JwtAuthLayer<MyClaims, K>) -> SocketAddr
where
    K: KeyResolver + Clone + Send + Sync + 'static,
    K::Future: Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Server::builder()
        .layer(auth)
        .add_routes(routes)
        .serve_with_incoming(TcpIncoming::from(listener));
    tokio::spawn(server);
    addr
}

async fn client(addr: SocketAddr) -> HealthClient<Channel> {
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .connect()
        .await
        .unwrap();
    HealthClient::new(channel)
}

fn check(token: Option<&str>) -> Request<HealthCheckRequest> {
    let mut request = Request::new(HealthCheckRequest {
        service: String::new(),
    });
    if let Some(token) = token {
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    request
}

/// Refused with `code` and exactly `message`.
fn refused<T: std::fmt::Debug>(answer: Result<T, Status>, code: Code, message: &str) {
    let status = answer.expect_err("refused");
    assert_eq!(status.code(), code, "{status:?}");
    assert_eq!(status.message(), message, "{status:?}");
}

#[tokio::test]
async fn refusals_are_grpc_statuses_with_the_reason_in_the_message() {
    let recorder = Recorder::default();
    let addr = serve(routes(&recorder), layer()).await;
    let mut health = client(addr).await;

    refused(health.check(check(None)).await, Code::Unauthenticated, "no token");
    let forged = SigningKey::hs256(b"another secret, also of 32 bytes!")
        .unwrap()
        .sign(&serde_json::json!({"sub": "mallory", "exp": NumericDate::now().as_secs() + 600, "aud": "health", "scope": "health:read"}))
        .unwrap();
    refused(
        health.check(check(Some(&forged))).await,
        Code::Unauthenticated,
        "invalid signature",
    );
    let expired =
        sign(&serde_json::json!({"sub": "alice", "exp": 1_000_000, "aud": "health", "scope": "health:read"}));
    refused(
        health.check(check(Some(&expired))).await,
        Code::Unauthenticated,
        "token expired",
    );
    let elsewhere = sign(
        &serde_json::json!({"sub": "alice", "exp": NumericDate::now().as_secs() + 600, "aud": "billing", "scope": "health:read"}),
    );
    refused(
        health.check(check(Some(&elsewhere))).await,
        Code::Unauthenticated,
        "invalid audience",
    );
    refused(
        health.check(check(Some("not.a.token"))).await,
        Code::Unauthenticated,
        "malformed token",
    );
    // Genuine, but without the scope `Check` needs: 403's gRPC twin.
    let no_scope = token("alice", "user", "profile");
    refused(
        health.check(check(Some(&no_scope))).await,
        Code::PermissionDenied,
        "insufficient scope",
    );
    // None of them reached the handler.
    assert!(recorder.seen().is_empty());
}

#[tokio::test]
async fn a_valid_token_reaches_the_handler_with_its_claims() {
    let recorder = Recorder::default();
    let addr = serve(routes(&recorder), layer()).await;
    let mut health = client(addr).await;
    let alice = token("alice", "user", "health:read profile");
    let answer = health.check(check(Some(&alice))).await.unwrap();
    assert_eq!(answer.into_inner().status, ServingStatus::Serving as i32);
    assert_eq!(recorder.seen(), ["alice"]);
}

#[tokio::test]
async fn a_guard_on_a_method_path_answers_permission_denied() {
    let recorder = Recorder::default();
    let addr = serve(routes(&recorder), layer()).await;
    let mut health = client(addr).await;
    let user = token("alice", "user", "health:read");
    refused(
        health.watch(check(Some(&user))).await,
        Code::PermissionDenied,
        "insufficient scope",
    );
    refused(health.watch(check(None)).await, Code::Unauthenticated, "no token");
    let admin = token("root", "admin", "");
    let mut stream = health.watch(check(Some(&admin))).await.unwrap().into_inner();
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.status, ServingStatus::Serving as i32);
    assert_eq!(recorder.seen(), ["root"]);
}

/// `RequireClaimsLayer` straight on tonic's server (every method), not as a route layer.
#[tokio::test]
async fn require_claims_on_a_whole_server_answers_permission_denied() {
    let recorder = Recorder::default();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Server::builder()
        .layer(layer())
        .layer(RequireClaimsLayer::equals(
            |c: &MyClaims| c.role.as_str(),
            "admin",
        ))
        .add_service(HealthServer::new(recorder.clone()))
        .serve_with_incoming(TcpIncoming::from(listener));
    tokio::spawn(server);
    let mut health = client(addr).await;
    let user = token("alice", "user", "");
    refused(
        health.check(check(Some(&user))).await,
        Code::PermissionDenied,
        "insufficient scope",
    );
    let admin = token("root", "admin", "");
    assert!(health.check(check(Some(&admin))).await.is_ok());
    assert_eq!(recorder.seen(), ["root"]);
}

/// On the wire: HTTP 200, `content-type: application/grpc`, `grpc-status` and `grpc-message` in
/// the one header block that ends the stream ("trailers-only"), and the RFC 6750 challenge kept.
#[tokio::test]
async fn a_refusal_is_trailers_only_on_the_wire() {
    let recorder = Recorder::default();
    let addr = serve(routes(&recorder), layer()).await;
    let mut send = h2c(addr).await;
    let expired = sign(&serde_json::json!({"sub": "alice", "exp": 1_000_000, "aud": "health"}));
    let request = HttpRequest::post(format!("http://{addr}{CHECK}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("authorization", format!("Bearer {expired}"))
        .body(Empty::<bytes::Bytes>::new())
        .unwrap();
    let response = send.send_request(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers();
    assert_eq!(headers["content-type"], "application/grpc");
    assert_eq!(headers["grpc-status"], "16");
    assert_eq!(headers["grpc-message"], "token expired");
    assert_eq!(
        headers["www-authenticate"],
        "Bearer error=\"invalid_token\", error_description=\"token expired\""
    );
    // The header block ended the stream: no data, no trailers.
    assert!(http_body::Body::is_end_stream(response.body()));
    let collected = response.into_body().collect().await.unwrap();
    assert!(collected.trailers().is_none());
    assert!(collected.to_bytes().is_empty());
}

/// An HTTP/2 connection without TLS (prior knowledge), as gRPC clients open.
async fn h2c(addr: SocketAddr) -> hyper::client::conn::http2::SendRequest<Empty<bytes::Bytes>> {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (send, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tcp),
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    send
}

/// Serves one router for a JSON API (`/me`) and the gRPC service, one layer around both, on a
/// loopback port.
async fn serve_mixed(recorder: &Recorder) -> std::net::SocketAddr {
    let app = axum::Router::new()
        .route(
            "/me",
            get(|claims: tower_jwt_auth::Claims<MyClaims>| async move { claims.0.sub }),
        )
        .merge(routes(recorder).into_axum_router())
        .layer(layer());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// One router for a JSON API and a gRPC service, one layer around both: gRPC calls get gRPC
/// statuses, plain HTTP/1.1 and HTTP/2 requests today's HTTP answers.
#[tokio::test]
async fn a_mixed_router_answers_each_protocol_in_its_own_terms() {
    let recorder = Recorder::default();
    let addr = serve_mixed(&recorder).await;

    // gRPC, through tonic's client.
    let mut health = client(addr).await;
    refused(health.check(check(None)).await, Code::Unauthenticated, "no token");
    let alice = token("alice", "user", "health:read");
    assert!(health.check(check(Some(&alice))).await.is_ok());

    // HTTP/2 without TLS, not gRPC: 401 and 200 as ever.
    let mut send = h2c(addr).await;
    let get_me = |token: Option<&str>| {
        let mut request = HttpRequest::get(format!("http://{addr}/me"));
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        request.body(Empty::<bytes::Bytes>::new()).unwrap()
    };
    let response = send.send_request(get_me(None)).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert!(response.headers().get("grpc-status").is_none());
    let response = send.send_request(get_me(Some(&alice))).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.into_body().collect().await.unwrap().to_bytes(), "alice");

    // HTTP/1.1.
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut send, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(connection);
    let expired = sign(&serde_json::json!({"sub": "alice", "exp": 1_000_000, "aud": "health"}));
    let response = send.send_request(get_me(Some(&expired))).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer error=\"invalid_token\", error_description=\"token expired\""
    );
    assert!(response.headers().get("grpc-status").is_none());
    assert_eq!(recorder.seen(), ["alice"]);
}

/// A revoked token is refused like any invalid one: `UNAUTHENTICATED`, "token revoked".
#[cfg(feature = "sessions")]
#[tokio::test]
async fn a_revoked_token_is_unauthenticated() {
    let revocations = tower_jwt_auth::Revocations::new(100);
    let recorder = Recorder::default();
    let addr = serve(routes(&recorder), layer().check(revocations.clone())).await;
    let mut health = client(addr).await;
    let exp = NumericDate::now().as_secs() + 600;
    let revoked = sign(
        &serde_json::json!({"sub": "alice", "jti": "j-1", "exp": exp, "aud": "health", "scope": "health:read"}),
    );
    assert!(health.check(check(Some(&revoked))).await.is_ok());
    revocations.revoke_token("j-1", exp as f64);
    refused(
        health.check(check(Some(&revoked))).await,
        Code::Unauthenticated,
        "token revoked",
    );
    assert_eq!(recorder.seen(), ["alice"]);
}

/// A key set that cannot be fetched is `UNAVAILABLE` (HTTP's 503), so clients retry.
#[cfg(feature = "jwks")]
#[tokio::test]
async fn a_key_set_that_cannot_be_fetched_is_unavailable() {
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let options = tower_jwt_auth::JwksOptions::default()
        .timeouts(Duration::from_millis(500), Duration::from_millis(800));
    let resolver =
        tower_jwt_auth::JwksResolver::with_options(&format!("http://{closed}/jwks.json"), options).unwrap();
    let auth =
        JwtAuthLayer::<MyClaims>::new(resolver).validation(Validation::new().audience("health").unwrap());
    let recorder = Recorder::default();
    let addr = serve(routes(&recorder), auth).await;
    let mut health = client(addr).await;
    let key = SigningKey::from_pkcs8(include_bytes!("keys/jwks-a-p256.pem"))
        .unwrap()
        .with_kid("a")
        .unwrap();
    let exp = NumericDate::now().as_secs() + 600;
    let token = key
        .sign(&serde_json::json!({"sub": "alice", "exp": exp, "aud": "health", "scope": "health:read"}))
        .unwrap();
    refused(
        health.check(check(Some(&token))).await,
        Code::Unavailable,
        "key source unavailable",
    );
    assert!(recorder.seen().is_empty());
}

/// `examples/grpc.rs`, as an outside client meets it.
#[path = "../examples/grpc.rs"]
#[allow(unreachable_pub, dead_code)]
mod example;

/// The example served on a free loopback port with a secret of its own making.
async fn example_server(generated: bool) -> (SocketAddr, example::Config) {
    let config = example::Config {
        secret: "the example's secret, of 32 bytes or more".to_owned(),
        generated,
        issuer: None,
        audience: None,
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let serving = config.clone();
    tokio::spawn(async move {
        example::serve(&serving, listener, std::future::pending())
            .await
            .unwrap();
    });
    (addr, config)
}

#[tokio::test]
async fn the_example_checks_tokens_and_guards_watch() {
    let (addr, config) = example_server(true).await;
    let mut health = client(addr).await;
    let user = config.token("alice", "user").unwrap();
    let admin = config.token("admin", "admin").unwrap();

    refused(health.check(check(None)).await, Code::Unauthenticated, "no token");
    let answer = health.check(check(Some(&user))).await.unwrap();
    assert_eq!(answer.into_inner().status, ServingStatus::Serving as i32);
    // The health service's own answers come after the layer's.
    let mut unknown = check(Some(&user));
    unknown.get_mut().service = "nope".to_owned();
    refused(
        health.check(unknown).await,
        Code::NotFound,
        "service not registered",
    );
    let mut named = check(Some(&user));
    named.get_mut().service = "grpc.health.v1.Health".to_owned();
    assert!(health.check(named).await.is_ok());

    refused(
        health.watch(check(Some(&user))).await,
        Code::PermissionDenied,
        "insufficient scope",
    );
    refused(health.watch(check(None)).await, Code::Unauthenticated, "no token");
    let mut stream = health.watch(check(Some(&admin))).await.unwrap().into_inner();
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.status, ServingStatus::Serving as i32);

    // Another secret's token, and an expired one.
    let other = example::Config {
        secret: "another secret, also 32 bytes or more".to_owned(),
        ..config.clone()
    };
    refused(
        health
            .check(check(Some(&other.token("alice", "admin").unwrap())))
            .await,
        Code::Unauthenticated,
        "invalid signature",
    );
    let expired = SigningKey::hs256(config.secret.as_bytes())
        .unwrap()
        .sign(&serde_json::json!({"sub": "alice", "role": "admin", "exp": 1_000_000}))
        .unwrap();
    refused(
        health.watch(check(Some(&expired))).await,
        Code::Unauthenticated,
        "token expired",
    );
    // A broken `authorization` is an invalid token (as HTTP's 401); two of them a malformed
    // request (HTTP's 400).
    let mut malformed = check(None);
    malformed
        .metadata_mut()
        .insert("authorization", "Bearer".parse().unwrap());
    refused(
        health.check(malformed).await,
        Code::Unauthenticated,
        "malformed token",
    );
    let mut two = check(Some(&user));
    two.metadata_mut()
        .append("authorization", format!("Bearer {admin}").parse().unwrap());
    refused(
        health.check(two).await,
        Code::InvalidArgument,
        "malformed authorization request",
    );
}

/// Server reflection (for `grpcurl`) sits behind the layer too.
#[tokio::test]
async fn the_example_reflection_needs_a_token() {
    let (addr, _) = example_server(true).await;
    let mut send = h2c(addr).await;
    let request = HttpRequest::post(format!(
        "http://{addr}/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
    ))
    .header("content-type", "application/grpc")
    .header("te", "trailers")
    .body(Empty::<bytes::Bytes>::new())
    .unwrap();
    let response = send.send_request(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["grpc-status"], "16");
}

#[test]
fn the_example_prints_tokens_only_for_a_secret_of_its_own() {
    let addr: SocketAddr = "127.0.0.1:50051".parse().unwrap();
    let mut config = example::Config {
        secret: "the example's secret, of 32 bytes or more".to_owned(),
        generated: true,
        issuer: None,
        audience: None,
    };
    let out = example::quick_start(&config, addr);
    assert!(out.contains("JWT_SECRET=the example's secret"), "{out}");
    assert!(out.contains("A token for alice (role user)"), "{out}");
    assert!(out.contains("A token for admin (role admin)"), "{out}");
    assert!(
        out.contains("grpcurl -plaintext -H 'authorization: Bearer ey"),
        "{out}"
    );
    assert!(
        out.contains("127.0.0.1:50051 grpc.health.v1.Health/Check"),
        "{out}"
    );
    config.generated = false;
    let out = example::quick_start(&config, addr);
    assert!(!out.contains("ey"), "{out}");
    assert!(!out.contains(&config.secret), "{out}");
}

/// Another implementation's client: Python's grpcio (gRPC C-core) against the example. `.ci/run`
/// installs grpcio and grpcio-health-checking when missing; elsewhere the test is skipped,
/// saying so, when Python lacks them.
#[tokio::test]
async fn grpcio_agrees_with_the_example() {
    let python = std::process::Command::new("python3")
        .args(["-c", "import grpc, grpc_health.v1"])
        .status();
    if !python.is_ok_and(|s| s.success()) {
        assert!(
            std::env::var("CI").is_err(),
            "CI=true: python3 with grpcio and grpcio-health-checking is required"
        );
        eprintln!("skipped: python3 with grpcio and grpcio-health-checking not found");
        return;
    }
    let (addr, config) = example_server(true).await;
    let user = config.token("alice", "user").unwrap();
    let admin = config.token("admin", "admin").unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/grpc_client.py");
    let address = addr.to_string();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .args([script, &address, &user, &admin])
            .output()
    });
    // Each of its calls has a 10 s deadline.
    let output = tokio::time::timeout(Duration::from_secs(120), output)
        .await
        .expect("the Python client finishes")
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let expected = [
        "check none: UNAUTHENTICATED no token | Bearer",
        "check user: OK SERVING",
        "check forged: UNAUTHENTICATED invalid signature | Bearer error=\"invalid_token\", error_description=\"invalid signature\"",
        "check unknown service: NOT_FOUND service not registered | -",
        "watch user: PERMISSION_DENIED insufficient scope | Bearer error=\"insufficient_scope\"",
        "watch admin: OK SERVING",
        "check malformed: UNAUTHENTICATED malformed token | Bearer error=\"invalid_token\", error_description=\"malformed token\"",
        "check two tokens: INVALID_ARGUMENT malformed authorization request | Bearer error=\"invalid_request\", error_description=\"malformed authorization request\"",
    ];
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines, expected, "{stdout}");
}

/// A hook that writes a JSON body (the documented closure form) still answers gRPC calls
/// trailers-only: its headers, no body (gRPC C-core clients fail on one).
#[tokio::test]
async fn a_json_hook_answers_grpc_calls_without_a_body() {
    let recorder = Recorder::default();
    let hook = |error: &tower_jwt_auth::AuthError| -> http::Response<tonic::body::Body> {
        let body = format!("{{\"error\":\"{}\"}}", error.description());
        let mut response = http::Response::new(tonic::body::Body::new(http_body_util::Full::new(
            bytes::Bytes::from(body),
        )));
        response
            .headers_mut()
            .insert("content-type", "application/json".parse().unwrap());
        response
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Server::builder()
        .layer(layer().with_rejection(hook))
        .add_routes(routes(&recorder))
        .serve_with_incoming(TcpIncoming::from(listener));
    tokio::spawn(server);
    let mut health = client(addr).await;
    refused(health.check(check(None)).await, Code::Unauthenticated, "no token");
    let mut send = h2c(addr).await;
    let request = HttpRequest::post(format!("http://{addr}{CHECK}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(Empty::<bytes::Bytes>::new())
        .unwrap();
    let response = send.send_request(request).await.unwrap();
    assert_eq!(response.headers()["content-type"], "application/grpc");
    assert_eq!(response.headers()["grpc-status"], "16");
    assert!(response.headers().get("content-length").is_none());
    assert!(http_body::Body::is_end_stream(response.body()));
    assert!(response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .is_empty());
}

/// A gRPC content type does not turn a plain request's refusal into a 200: HTTP/1.1, or a GET
/// over HTTP/2, is answered in HTTP.
#[tokio::test]
async fn a_grpc_content_type_outside_a_grpc_call_gets_an_http_answer() {
    let recorder = Recorder::default();
    let addr = serve_mixed(&recorder).await;
    let get_me = || {
        HttpRequest::get(format!("http://{addr}/me"))
            .header("content-type", "application/grpc")
            .body(Empty::<bytes::Bytes>::new())
            .unwrap()
    };
    let mut h2 = h2c(addr).await;
    let response = h2.send_request(get_me()).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().get("grpc-status").is_none());
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut h1, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(connection);
    let post = HttpRequest::post(format!("http://{addr}{CHECK}"))
        .header("content-type", "application/grpc")
        .body(Empty::<bytes::Bytes>::new())
        .unwrap();
    let response = h1.send_request(post).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().get("grpc-status").is_none());
}
