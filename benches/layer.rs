//! The full tower path in-process: an axum `Router` with one route called through `oneshot`,
//! bare, behind tower-jwt-auth's layer, and behind the typical hand-written `from_fn`
//! middleware around jsonwebtoken; then the refusals (no token, a bad signature) of both.
//! Run with `cargo bench --bench layer`.

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware;
use axum::routing::get;
use axum::Router;
use common::*;
use criterion::{criterion_group, criterion_main, Criterion};
use tower::ServiceExt;
use tower_jwt_auth::{AuthErrorKind, JwtAuthLayer, SigningKey};

fn bench_layer(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let signing = SigningKey::hs256(SECRET).unwrap();
    let token = signing.sign(&claims(EXP)).unwrap();
    let bearer = bearer_header(&token);

    let bare_router = Router::new().route("/", get(bare));
    let auth = JwtAuthLayer::<BenchClaims>::new(signing.verifying_key()).validation(validation());
    let ours = Router::new().route("/", get(with_claims)).route_layer(auth);
    let keys = Arc::new(JwtKeys::new());
    let theirs = Router::new()
        .route("/", get(with_extension))
        .route_layer(middleware::from_fn_with_state(keys, hand_written));

    // The same token with one signature character changed: refused after the HMAC.
    let forged = bad_signature(&token);
    let refused = validation()
        .verify::<BenchClaims>(&forged, &signing.verifying_key())
        .unwrap_err();
    assert_eq!(refused.kind(), AuthErrorKind::InvalidSignature);
    let forged = bearer_header(&forged);
    let request_with = |value: Option<&HeaderValue>| {
        let mut request = Request::get("/");
        if let Some(value) = value {
            request = request.header(AUTHORIZATION, value.clone());
        }
        request.body(Body::empty()).unwrap()
    };
    let request = || request_with(Some(&bearer));
    for router in [&bare_router, &ours, &theirs] {
        let status = rt.block_on(router.clone().oneshot(request())).unwrap().status();
        assert_eq!(status, StatusCode::OK);
    }
    for (router, value) in [(&ours, Some(&forged)), (&ours, None), (&theirs, Some(&forged))] {
        let status = rt
            .block_on(router.clone().oneshot(request_with(value)))
            .unwrap()
            .status();
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }

    let mut g = c.benchmark_group("layer/HS256");
    for (name, router) in [
        ("bare", &bare_router),
        ("tower-jwt-auth", &ours),
        ("from_fn+jsonwebtoken", &theirs),
    ] {
        g.bench_function(name, |b| {
            b.to_async(&rt)
                .iter(|| async { router.clone().oneshot(request()).await.unwrap() })
        });
    }
    // Refusals: the layer's 401 with its challenge; the middleware's bare 401.
    for (name, router, value) in [
        ("tower-jwt-auth, no token", &ours, None),
        ("tower-jwt-auth, bad signature", &ours, Some(&forged)),
        ("from_fn+jsonwebtoken, bad signature", &theirs, Some(&forged)),
    ] {
        g.bench_function(name, |b| {
            b.to_async(&rt)
                .iter(|| async { router.clone().oneshot(request_with(value)).await.unwrap() })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = route_config();
    targets = bench_layer
}
criterion_main!(benches);
