//! The revocation check: an empty list, a list of 10,000 entries, and the axum layer with and
//! without a revocation list. Run with `cargo bench --bench revocation --features sessions`.

mod common;

use std::hint::black_box;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::AUTHORIZATION;
use axum::http::HeaderValue;
use axum::routing::get;
use axum::Router;
use common::*;
use criterion::{criterion_group, criterion_main, Criterion};
use tower::ServiceExt;
use tower_jwt_auth::{Claims, JwtAuthLayer, Revocations, SigningKey, TokenCheck, TokenIds, Validation};

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(60)
}

fn full_list() -> Revocations {
    let list = Revocations::new(20_000);
    for i in 0..3_334 {
        list.revoke_token(&format!("jti-{i}"), 4e9).unwrap();
        list.revoke_session(&format!("sid-{i}"), 4e9).unwrap();
        list.revoke_subject(&format!("user-{i}"), 1.0).unwrap();
    }
    assert!(list.len() >= 10_000);
    list
}

fn bench_check(c: &mut Criterion) {
    let empty = Revocations::new(10);
    let full = full_list();
    let mut g = c.benchmark_group("revocation/check");
    g.bench_function("empty", |b| {
        b.iter(|| {
            empty.is_revoked(
                black_box(Some("jti-x")),
                Some("sid-x"),
                Some("alice"),
                Some(1.7e9),
            )
        })
    });
    g.bench_function("10k-entries", |b| {
        b.iter(|| {
            full.is_revoked(
                black_box(Some("jti-x")),
                Some("sid-x"),
                Some("alice"),
                Some(1.7e9),
            )
        })
    });
    // What the verifier pays per token: the hook's two calls (`needs_ids`, then `check`).
    let ids = TokenIds::new(Some("jti-x"), Some("sid-x"), Some("alice"), Some(1.7e9));
    for (name, list) in [("hook-empty", &empty), ("hook-10k-entries", &full)] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let list = black_box(list);
                (list.needs_ids(), list.check(black_box(&ids)))
            })
        });
    }
    g.finish();
}

async fn handler(Claims(claims): Claims<BenchClaims>) -> &'static str {
    black_box(&claims);
    "ok"
}

fn bench_layer(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let signing = SigningKey::hs256(SECRET).unwrap();
    let token = signing.sign(&claims(EXP)).unwrap();
    let bearer = HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
    let validation = || {
        Validation::new()
            .issuer(ISSUER)
            .unwrap()
            .audience(AUDIENCE)
            .unwrap()
    };
    let off = Router::new()
        .route("/", get(handler))
        .route_layer(JwtAuthLayer::<BenchClaims>::new(signing.verifying_key()).validation(validation()));
    let on = Router::new().route("/", get(handler)).route_layer(
        JwtAuthLayer::<BenchClaims>::new(signing.verifying_key())
            .validation(validation())
            .check(full_list()),
    );
    let request = || {
        Request::get("/")
            .header(AUTHORIZATION, bearer.clone())
            .body(Body::empty())
            .unwrap()
    };
    let mut g = c.benchmark_group("revocation/layer");
    for (name, router) in [("without-revocation", &off), ("with-10k-revocations", &on)] {
        assert!(rt
            .block_on(router.clone().oneshot(request()))
            .unwrap()
            .status()
            .is_success());
        g.bench_function(name, |b| {
            b.to_async(&rt)
                .iter(|| async { router.clone().oneshot(request()).await.unwrap() })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_check, bench_layer
}
criterion_main!(benches);
