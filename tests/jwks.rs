//! The remote key set resolver against an in-process JWKS endpoint on loopback: rotation,
//! removal, cooldown, storms of unknown kids, and every way a fetch can fail.

#![cfg(feature = "jwks")]

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tower::ServiceExt;
use tower_jwt_auth::jwks::FetchError;
use tower_jwt_auth::validation::Verification;
use tower_jwt_auth::{
    AuthErrorKind, ConfigError, JwksOptions, JwksResolver, JwtAuthLayer, NumericDate, PublishJwks,
    SigningKey, Validation,
};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Claims {
    sub: String,
    exp: i64,
}

fn key_a() -> SigningKey {
    SigningKey::from_pkcs8(include_bytes!("keys/jwks-a-p256.pem")).unwrap()
}

fn key_b() -> SigningKey {
    SigningKey::from_pkcs8(include_bytes!("keys/jwks-b-ed25519.pem")).unwrap()
}

fn token(key: &SigningKey) -> String {
    key.sign(&Claims {
        sub: "alice".into(),
        exp: NumericDate::now().as_secs() + 600,
    })
    .unwrap()
}

/// A token with `iss` (or none).
fn token_from(key: &SigningKey, iss: Option<&str>) -> String {
    let mut claims = serde_json::json!({"sub": "alice", "exp": NumericDate::now().as_secs() + 600});
    if let Some(iss) = iss {
        claims["iss"] = iss.into();
    }
    key.sign(&claims).unwrap()
}

fn jwks(keys: &[&SigningKey]) -> String {
    let publish: PublishJwks = PublishJwks::new(keys.iter().map(|k| k.verifying_key()), 300).unwrap();
    publish.document().to_owned()
}

/// What the endpoint answers next.
#[derive(Clone)]
enum Behaviour {
    Json(String),
    Status(u16),
    Html,
    /// Announces more bytes than it sends, then closes.
    Truncated,
    /// Closes the connection without answering.
    Drop,
    /// 10 MiB of JSON-ish bytes.
    Huge,
    /// Never answers.
    Hang,
    /// Answers this set after a delay (the fetch is counted when the request arrives).
    Slow(String, Duration),
}

struct Endpoint {
    url: String,
    base: String,
    fetches: Arc<AtomicUsize>,
    behaviour: Arc<Mutex<Behaviour>>,
}

impl Endpoint {
    fn set(&self, behaviour: Behaviour) {
        *self.behaviour.lock().unwrap() = behaviour;
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

/// Serves `/jwks` per the current behaviour, and an OIDC discovery document naming `issuer`
/// (the endpoint's own base URL unless overridden).
async fn endpoint(initial: Behaviour, issuer_override: Option<&str>) -> Endpoint {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let fetches = Arc::new(AtomicUsize::new(0));
    let behaviour = Arc::new(Mutex::new(initial));
    let issuer = issuer_override.unwrap_or(&base).to_owned();
    let discovery = format!(r#"{{"issuer":"{issuer}","jwks_uri":"{base}/jwks"}}"#);
    let (f, b) = (Arc::clone(&fetches), Arc::clone(&behaviour));
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let (fetches, behaviour, discovery) = (Arc::clone(&f), Arc::clone(&b), discovery.clone());
            tokio::spawn(async move {
                // Peek at the request line to apply connection-level behaviours.
                let current = behaviour.lock().unwrap().clone();
                match current {
                    Behaviour::Drop => {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        let _ = stream.shutdown().await;
                        return;
                    }
                    Behaviour::Truncated => {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        let mut buf = [0u8; 1024];
                        let _ = tokio::io::AsyncReadExt::read(&mut stream, &mut buf).await;
                        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n{\"keys\":[";
                        let _ = stream.write_all(head.as_bytes()).await;
                        let _ = stream.shutdown().await;
                        return;
                    }
                    _ => {}
                }
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let behaviour = behaviour.lock().unwrap().clone();
                    let fetches = Arc::clone(&fetches);
                    let discovery = discovery.clone();
                    async move {
                        if req.uri().path() == "/.well-known/openid-configuration" {
                            return Ok::<_, Infallible>(json(200, discovery));
                        }
                        fetches.fetch_add(1, Ordering::SeqCst);
                        Ok(match behaviour {
                            Behaviour::Json(body) => json(200, body),
                            Behaviour::Status(code) => json(code, "{}".into()),
                            Behaviour::Html => Response::builder()
                                .header("content-type", "text/html")
                                .body(Full::new(Bytes::from_static(b"<html>login</html>")))
                                .unwrap(),
                            Behaviour::Huge => json(200, "x".repeat(10 * 1024 * 1024)),
                            Behaviour::Hang => {
                                tokio::time::sleep(Duration::from_secs(3600)).await;
                                json(200, "{}".into())
                            }
                            Behaviour::Slow(body, delay) => {
                                tokio::time::sleep(delay).await;
                                json(200, body)
                            }
                            Behaviour::Drop | Behaviour::Truncated => json(500, "{}".into()),
                        })
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Endpoint {
        url: format!("{base}/jwks"),
        base,
        fetches,
        behaviour,
    }
}

fn json(status: u16, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

fn fast_options() -> JwksOptions {
    JwksOptions::default()
        .cooldown(Duration::from_millis(300))
        .timeouts(Duration::from_millis(500), Duration::from_millis(800))
}

/// Verifies through the resolver exactly as the middleware does (sync path, then async).
async fn verify(resolver: &JwksResolver, token: &str) -> Result<Claims, AuthErrorKind> {
    let validation = Validation::new();
    match validation.verify_with::<Claims, _>(token, resolver) {
        Verification::Done(result) => result.map_err(|e| e.kind()),
        Verification::Pending(future) => match future.await {
            Ok(key) => validation.verify_with_key(token, &key).map_err(|e| e.kind()),
            Err(e) => Err(AuthErrorKind::from(e)),
        },
    }
}

#[tokio::test]
async fn a_cached_kid_verifies_synchronously_after_one_fetch() {
    let (a, b) = (key_a(), key_b());
    let server = endpoint(Behaviour::Json(jwks(&[&a, &b])), None).await;
    let resolver = JwksResolver::with_options(&server.url, fast_options()).unwrap();
    assert_eq!(verify(&resolver, &token(&a)).await.unwrap().sub, "alice");
    for _ in 0..100 {
        let done = matches!(
            Validation::new().verify_with::<Claims, _>(&token(&b), &resolver),
            Verification::Done(Ok(_))
        );
        assert!(done, "a known kid must verify without awaiting");
    }
    assert_eq!(server.fetches(), 1);
    assert_eq!(resolver.status().keys, 2);
}

#[tokio::test]
async fn a_new_kid_triggers_exactly_one_refetch_and_then_verifies() {
    let (a, b) = (key_a(), key_b());
    let server = endpoint(Behaviour::Json(jwks(&[&a])), None).await;
    let resolver = JwksResolver::with_options(&server.url, fast_options()).unwrap();
    resolver.warm_up().await.unwrap();
    server.set(Behaviour::Json(jwks(&[&a, &b])));
    let token_b = token(&b);
    // 50 concurrent requests with the new kid share one fetch.
    let results = futures_join_all((0..50).map(|_| verify(&resolver, &token_b))).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(server.fetches(), 2);
}

#[tokio::test]
async fn a_storm_of_unknown_kids_costs_at_most_one_fetch_per_cooldown() {
    let a = key_a();
    let server = endpoint(Behaviour::Json(jwks(&[&a])), None).await;
    let resolver = JwksResolver::with_options(&server.url, fast_options()).unwrap();
    resolver.warm_up().await.unwrap();
    let forged: Vec<String> = (0..200)
        .map(|i| token(&key_a().with_kid(format!("random-{i}")).unwrap()))
        .collect();
    let started = Instant::now();
    let results = futures_join_all(forged.iter().map(|t| verify(&resolver, t))).await;
    assert!(results.iter().all(|r| *r == Err(AuthErrorKind::UnknownKey)));
    assert_eq!(server.fetches(), 2, "one warm-up, one forced refetch");
    assert!(resolver.status().cooling_down);
    assert!(started.elapsed() < Duration::from_secs(2));
    // After the cooldown an unknown kid may force one more fetch.
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(
        verify(&resolver, &forged[0]).await,
        Err(AuthErrorKind::UnknownKey)
    );
    assert_eq!(server.fetches(), 3);
}

#[tokio::test]
async fn a_cancelled_request_does_not_leave_the_resolver_stuck_or_open_the_cooldown() {
    let (a, b) = (key_a(), key_b());
    let server = endpoint(Behaviour::Json(jwks(&[&a])), None).await;
    let resolver = JwksResolver::with_options(&server.url, fast_options()).unwrap();
    resolver.warm_up().await.unwrap();
    server.set(Behaviour::Json(jwks(&[&a, &b])));
    // The request that forced a refetch goes away before it is polled.
    match Validation::new().verify_with::<Claims, _>(&token(&b), &resolver) {
        Verification::Pending(future) => drop(future),
        Verification::Done(_) => panic!("an unknown kid must force a refetch"),
    }
    // The next one performs that fetch instead; nobody fetches twice.
    assert!(verify(&resolver, &token(&b)).await.is_ok());
    assert!(verify(&resolver, &token(&b)).await.is_ok());
    assert_eq!(server.fetches(), 2);
    assert!(!resolver.status().fetching);
}

/// Defect: a refetch forced by an unknown `kid` ran inside the request's future, so a client that
/// hung up mid-fetch dropped it before it was recorded, and the next unknown `kid` skipped the
/// cooldown: 40 cancelled requests made 40 fetches.
#[tokio::test]
async fn requests_that_hang_up_mid_refetch_cost_one_fetch_per_cooldown() {
    let a = key_a();
    let server = endpoint(Behaviour::Json(jwks(&[&a])), None).await;
    // The default cooldown, 30 s: the whole test runs inside it.
    let resolver = JwksResolver::with_options(&server.url, JwksOptions::default()).unwrap();
    resolver.warm_up().await.unwrap();
    server.set(Behaviour::Slow(jwks(&[&a]), Duration::from_millis(300)));
    let app = app(resolver.clone());
    for i in 0..40 {
        let forged = token(&key_a().with_kid(format!("random-{i}")).unwrap());
        let mut request = Box::pin(call(&app, Some(forged)));
        // Hang up as soon as the request's fetch reaches the endpoint (or, if it starts none,
        // after 100 ms).
        if let Some(response) = until_fetch(request.as_mut(), &server, Duration::from_millis(100)).await {
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        }
        drop(request);
    }
    assert_eq!(server.fetches(), 2, "one warm-up, one forced refetch");
    assert!(resolver.status().cooling_down);
}

/// The refetch runs on its own: it fills the cache although the request that forced it hung up.
#[tokio::test]
async fn a_refetch_whose_request_hung_up_still_fills_the_cache() {
    let (a, b) = (key_a(), key_b());
    let server = endpoint(Behaviour::Json(jwks(&[&a])), None).await;
    let resolver = JwksResolver::with_options(&server.url, JwksOptions::default()).unwrap();
    resolver.warm_up().await.unwrap();
    server.set(Behaviour::Slow(jwks(&[&a, &b]), Duration::from_millis(200)));
    let app = app(resolver.clone());
    let mut request = Box::pin(call(&app, Some(token(&b))));
    assert!(
        until_fetch(request.as_mut(), &server, Duration::from_secs(2))
            .await
            .is_none(),
        "the request must hang up mid-fetch"
    );
    drop(request);
    assert_eq!(server.fetches(), 2);
    wait_until(Duration::from_secs(5), || resolver.status().keys == 2).await;
    assert!(!resolver.status().fetching);
    // The new kid now verifies from the cache, without waiting and without another fetch.
    assert!(matches!(
        Validation::new().verify_with::<Claims, _>(&token(&b), &resolver),
        Verification::Done(Ok(_))
    ));
    assert_eq!(call(&app, Some(token(&b))).await.status(), StatusCode::OK);
    assert_eq!(server.fetches(), 2);
}

/// Requests waiting for a refetch share it, even when the request that started it hangs up.
#[tokio::test]
async fn waiting_requests_share_the_refetch_of_a_request_that_hung_up() {
    let (a, b) = (key_a(), key_b());
    let server = endpoint(Behaviour::Json(jwks(&[&a])), None).await;
    let resolver = JwksResolver::with_options(&server.url, JwksOptions::default()).unwrap();
    resolver.warm_up().await.unwrap();
    server.set(Behaviour::Slow(jwks(&[&a, &b]), Duration::from_millis(300)));
    let app = app(resolver.clone());
    let mut first = Box::pin(call(&app, Some(token(&b))));
    assert!(until_fetch(first.as_mut(), &server, Duration::from_secs(2))
        .await
        .is_none());
    let mut waiting = Box::pin(futures_join_all((0..20).map(|_| call(&app, Some(token(&b))))));
    // The 20 join the fetch under way; then the first request hangs up.
    let polled = std::future::poll_fn(|cx| std::task::Poll::Ready(waiting.as_mut().poll(cx))).await;
    assert!(polled.is_pending(), "the 20 must wait for the fetch under way");
    drop(first);
    let responses = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .unwrap();
    assert!(responses.iter().all(|r| r.status() == StatusCode::OK));
    assert_eq!(server.fetches(), 2, "one warm-up, one forced refetch");
}

/// A fetch runs in a task of its own; when that task's runtime shuts down midway, the fetch
/// under way ends with it and the resolver can fetch again (nothing waits for it forever).
#[tokio::test]
async fn a_fetch_whose_runtime_shuts_down_midway_does_not_wedge_the_resolver() {
    let a = key_a();
    let server = endpoint(Behaviour::Hang, None).await;
    let resolver = JwksResolver::with_options(&server.url, JwksOptions::default()).unwrap();
    let other = resolver.clone();
    let reload = tokio::task::spawn_blocking(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            assert!(tokio::time::timeout(Duration::from_millis(200), other.reload())
                .await
                .is_err());
            assert!(other.status().fetching, "the fetch outlives its caller");
        });
        // Dropping the runtime drops the fetch's task midway.
    });
    reload.await.unwrap();
    assert!(!resolver.status().fetching);
    server.set(Behaviour::Json(jwks(&[&a])));
    let reloaded = tokio::time::timeout(Duration::from_secs(5), resolver.reload()).await;
    assert_eq!(reloaded.unwrap(), Ok(()));
    assert!(verify(&resolver, &token(&a)).await.is_ok());
}

#[tokio::test]
async fn failed_fetches_never_replace_a_good_set() {
    let a = key_a();
    let server = endpoint(Behaviour::Json(jwks(&[&a])), None).await;
    let resolver = JwksResolver::with_options(&server.url, fast_options().max_body(64 * 1024)).unwrap();
    resolver.warm_up().await.unwrap();
    let cases = [
        (Behaviour::Status(500), FetchError::Status(500)),
        (Behaviour::Status(302), FetchError::Status(302)),
        (Behaviour::Html, FetchError::NotJson),
        (
            Behaviour::Json("{\"keys\":[".into()),
            FetchError::Invalid("not a JWK Set".into()),
        ),
        (Behaviour::Json("{\"keys\":[]}".into()), FetchError::NoUsableKey),
        (
            Behaviour::Json(
                r#"{"keys":[{"kty":"oct","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI","alg":"HS256"}]}"#
                    .into(),
            ),
            FetchError::NoUsableKey,
        ),
        (Behaviour::Huge, FetchError::TooLarge),
    ];
    for (behaviour, expected) in cases {
        server.set(behaviour);
        assert_eq!(resolver.reload().await, Err(expected.clone()));
        assert_eq!(
            verify(&resolver, &token(&a)).await.unwrap().sub,
            "alice",
            "{expected:?}"
        );
        assert_eq!(resolver.status().last_error.map(|(e, _)| e), Some(expected));
    }
    for behaviour in [Behaviour::Truncated, Behaviour::Drop] {
        server.set(behaviour);
        assert!(matches!(
            resolver.reload().await,
            Err(FetchError::Connect(_) | FetchError::Body(_))
        ));
        assert!(verify(&resolver, &token(&a)).await.is_ok());
    }
    server.set(Behaviour::Hang);
    let started = Instant::now();
    assert_eq!(resolver.reload().await, Err(FetchError::Timeout));
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(verify(&resolver, &token(&a)).await.is_ok());
}

#[tokio::test]
async fn a_set_older_than_max_stale_answers_unavailable_until_a_fetch_succeeds() {
    let a = key_a();
    let server = endpoint(Behaviour::Json(jwks(&[&a])), None).await;
    let options = fast_options()
        .cache_ttl(Duration::from_millis(100))
        .max_stale(Duration::from_millis(400));
    let resolver = JwksResolver::with_options(&server.url, options).unwrap();
    assert!(verify(&resolver, &token(&a)).await.is_ok());
    server.set(Behaviour::Status(500));
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Stale but within max_stale: still verifies.
    assert!(verify(&resolver, &token(&a)).await.is_ok());
    assert!(resolver.status().stale);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        verify(&resolver, &token(&a)).await,
        Err(AuthErrorKind::KeyUnavailable)
    );
    server.set(Behaviour::Json(jwks(&[&a])));
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(verify(&resolver, &token(&a)).await.is_ok());
}

#[tokio::test]
async fn no_set_ever_obtained_answers_unavailable_and_recovers() {
    let a = key_a();
    let server = endpoint(Behaviour::Status(503), None).await;
    let resolver = JwksResolver::with_options(&server.url, fast_options()).unwrap();
    assert_eq!(
        verify(&resolver, &token(&a)).await,
        Err(AuthErrorKind::KeyUnavailable)
    );
    // Within the cooldown: unavailable at once, no new fetch.
    assert_eq!(
        verify(&resolver, &token(&a)).await,
        Err(AuthErrorKind::KeyUnavailable)
    );
    assert_eq!(server.fetches(), 1);
    server.set(Behaviour::Json(jwks(&[&a])));
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(verify(&resolver, &token(&a)).await.is_ok());
}

#[tokio::test]
async fn a_removed_key_stops_verifying_after_the_background_refresh() {
    let (a, b) = (key_a(), key_b());
    let server = endpoint(Behaviour::Json(jwks(&[&a, &b])), None).await;
    let resolver =
        JwksResolver::with_options(&server.url, fast_options().cache_ttl(Duration::from_millis(500)))
            .unwrap();
    assert!(verify(&resolver, &token(&b)).await.is_ok());
    server.set(Behaviour::Json(jwks(&[&a])));
    // No request nudges it: the background task refreshes ahead of expiry.
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert!(server.fetches() >= 2);
    assert_eq!(resolver.status().keys, 1);
    assert_eq!(
        verify(&resolver, &token(&b)).await,
        Err(AuthErrorKind::UnknownKey)
    );
}

#[tokio::test]
async fn oidc_discovery_finds_the_keys_and_checks_the_issuer() {
    let a = key_a();
    let server = endpoint(Behaviour::Json(jwks(&[&a])), None).await;
    let resolver = JwksResolver::oidc(&server.base, fast_options()).unwrap();
    assert_eq!(resolver.issuer(), Some(server.base.as_str()));
    assert!(verify(&resolver, &token_from(&a, Some(&server.base)))
        .await
        .is_ok());
    // Discovered keys are bound to their issuer: `iss` is required and must be it, even under a
    // `Validation` that names no issuer.
    assert_eq!(
        verify(&resolver, &token(&a)).await,
        Err(AuthErrorKind::MissingClaim(tower_jwt_auth::Claim::Iss))
    );
    assert_eq!(
        verify(&resolver, &token_from(&a, Some("https://other-tenant.example"))).await,
        Err(AuthErrorKind::InvalidIssuer)
    );

    let liar = endpoint(Behaviour::Json(jwks(&[&a])), Some("https://evil.example")).await;
    let resolver = JwksResolver::oidc(&liar.base, fast_options()).unwrap();
    assert!(matches!(resolver.reload().await, Err(FetchError::Discovery(_))));
    assert_eq!(
        verify(&resolver, &token(&a)).await,
        Err(AuthErrorKind::KeyUnavailable)
    );
}

#[tokio::test]
async fn the_layer_answers_200_401_and_503_with_a_remote_set() {
    let a = key_a();
    let server = endpoint(Behaviour::Status(500), None).await;
    let resolver = JwksResolver::with_options(&server.url, fast_options()).unwrap();
    let layer = JwtAuthLayer::<Claims>::new(resolver);
    let app = tower::ServiceBuilder::new()
        .layer(layer)
        .service_fn(|_req: Request<String>| async { Ok::<_, Infallible>(Response::new(String::from("ok"))) });
    let call = |token: Option<String>| {
        let app = app.clone();
        async move {
            let mut req = Request::builder().uri("/");
            if let Some(t) = token {
                req = req.header("authorization", format!("Bearer {t}"));
            }
            app.oneshot(req.body(String::new()).unwrap()).await.unwrap()
        }
    };
    let down = call(Some(token(&a))).await;
    assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(down.headers().get("www-authenticate").is_none());
    assert_eq!(call(None).await.status(), StatusCode::UNAUTHORIZED);
    server.set(Behaviour::Json(jwks(&[&a])));
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(call(Some(token(&a))).await.status(), StatusCode::OK);
    let stranger = token(&key_b().with_kid("stranger").unwrap());
    assert_eq!(call(Some(stranger)).await.status(), StatusCode::UNAUTHORIZED);
}

/// Defect: `oidc(issuer)` then `.validation(Validation::new().audience(..))` used to drop the
/// issuer rule, so another tenant's token signed by the same multi-tenant key set passed.
#[tokio::test]
async fn a_later_validation_cannot_drop_the_issuer_of_an_oidc_key_set() {
    let a = key_a();
    let server = endpoint(Behaviour::Json(jwks(&[&a])), None).await;
    let resolver = JwksResolver::oidc(&server.base, fast_options()).unwrap();
    let layer =
        JwtAuthLayer::<Claims>::new(resolver).validation(Validation::new().audience("orders").unwrap());
    let app = tower::ServiceBuilder::new()
        .layer(layer)
        .service_fn(|_req: Request<String>| async { Ok::<_, Infallible>(Response::new(String::from("ok"))) });
    let call = |claims: serde_json::Value| {
        let app = app.clone();
        let token = a.sign(&claims).unwrap();
        async move {
            let req = Request::builder()
                .uri("/")
                .header("authorization", format!("Bearer {token}"))
                .body(String::new())
                .unwrap();
            app.oneshot(req).await.unwrap()
        }
    };
    let exp = NumericDate::now().as_secs() + 600;
    let ours =
        call(serde_json::json!({"sub": "alice", "iss": server.base, "aud": "orders", "exp": exp})).await;
    assert_eq!(ours.status(), StatusCode::OK);
    let other_tenant = call(
        serde_json::json!({"sub": "alice", "iss": "https://tenant-b.example", "aud": "orders", "exp": exp}),
    )
    .await;
    assert_eq!(other_tenant.status(), StatusCode::UNAUTHORIZED);
    let challenge = other_tenant.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.contains(r#"error="invalid_token""#), "{challenge}");
    let no_issuer = call(serde_json::json!({"sub": "alice", "aud": "orders", "exp": exp})).await;
    assert_eq!(no_issuer.status(), StatusCode::UNAUTHORIZED);
}

#[test]
fn plain_http_is_refused_except_on_loopback() {
    assert!(matches!(
        JwksResolver::new("http://example.com/jwks"),
        Err(ConfigError::InvalidUrl(_))
    ));
    assert!(matches!(
        JwksResolver::oidc("http://accounts.example.com", JwksOptions::default()),
        Err(ConfigError::InvalidUrl(_))
    ));
    assert!(matches!(
        JwksResolver::new("not a url"),
        Err(ConfigError::InvalidUrl(_))
    ));
    assert!(JwksResolver::new("http://127.0.0.1:1/jwks").is_ok());
    assert!(JwksResolver::new("https://example.com/jwks").is_ok());
}

/// The layer with `resolver` over a service that answers 200 "ok".
fn app(
    resolver: JwksResolver,
) -> impl tower::Service<Request<String>, Response = Response<String>, Error = Infallible> + Clone {
    tower::ServiceBuilder::new()
        .layer(JwtAuthLayer::<Claims>::new(resolver))
        .service_fn(|_req: Request<String>| async { Ok::<_, Infallible>(Response::new(String::from("ok"))) })
}

/// A request through `app`, with `token` as its bearer token.
fn call<S>(app: &S, token: Option<String>) -> impl Future<Output = Response<String>>
where
    S: tower::Service<Request<String>, Response = Response<String>, Error = Infallible> + Clone,
{
    let app = app.clone();
    async move {
        let mut req = Request::builder().uri("/");
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        app.oneshot(req.body(String::new()).unwrap()).await.unwrap()
    }
}

/// Polls `request` until `server` has received one more fetch than before (then `None`: the
/// caller may hang up mid-fetch), until it is answered, or for `guard` at most.
async fn until_fetch<F: Future>(
    mut request: Pin<&mut F>,
    server: &Endpoint,
    guard: Duration,
) -> Option<F::Output> {
    let before = server.fetches();
    let deadline = tokio::time::Instant::now() + guard;
    loop {
        tokio::select! {
            out = request.as_mut() => return Some(out),
            () = tokio::time::sleep(Duration::from_millis(1)) => {
                if server.fetches() > before || tokio::time::Instant::now() >= deadline {
                    return None;
                }
            }
        }
    }
}

/// Waits until `done` holds, for `guard` at most.
async fn wait_until(guard: Duration, done: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + guard;
    while !done() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(done(), "not done within {guard:?}");
}

/// Runs futures concurrently on the current task (no extra dependency).
async fn futures_join_all<F: std::future::Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let handles: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = handles.iter().map(|_| None).collect();
    let mut pending = handles;
    std::future::poll_fn(move |cx| {
        let mut all_done = true;
        for (i, fut) in pending.iter_mut().enumerate() {
            if outputs[i].is_none() {
                match fut.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => outputs[i] = Some(v),
                    std::task::Poll::Pending => all_done = false,
                }
            }
        }
        if all_done {
            std::task::Poll::Ready(outputs.iter_mut().map(|o| o.take().unwrap()).collect())
        } else {
            std::task::Poll::Pending
        }
    })
    .await
}
