//! The revocation check: an empty list, a list of 10,000 entries, and the axum layer with and
//! without a revocation list; writes to an empty list and to one of 100,000 entries. Run with
//! `cargo bench --bench revocation --features sessions`.

mod common;

use std::hint::black_box;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::AUTHORIZATION;
use axum::routing::get;
use axum::Router;
use common::*;
use criterion::{criterion_group, criterion_main, Criterion};
use tower::ServiceExt;
use tower_jwt_auth::{Claims, JwtAuthLayer, Revocations, SigningKey, TokenCheck, TokenIds};

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(60)
}

/// A list of about `n` entries: a third each of token ids, sessions and subject cutoffs.
fn list_of(n: usize, cap: usize) -> Revocations {
    let list = Revocations::new(cap);
    for i in 0..n.div_ceil(3) {
        list.revoke_token(&format!("jti-{i}"), 4e9);
        list.revoke_session(&format!("sid-{i}"), 4e9);
        list.revoke_subject(&format!("user-{i}"), 1.0);
    }
    assert!(list.len() >= n);
    list
}

fn full_list() -> Revocations {
    list_of(10_000, 20_000)
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
    // A listed token, found by its `jti`.
    g.bench_function("10k-entries-hit", |b| {
        b.iter(|| full.is_revoked(black_box(Some("jti-42")), None, None, None))
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

/// Writes (a logout's `jti`): to a list of 10 entries and to one of 100,000, each write listing
/// one of the list's token ids again with a later end (so the list keeps its size), and to a
/// list of 100,000 entries that grows by a new id per write.
fn bench_write(c: &mut Criterion) {
    let mut g = c.benchmark_group("revocation/write");
    for (name, size, ids) in [
        ("10-entries", 10, 4),
        ("100k-entries", 100_000, 33_334),
        ("100k-entries-growing", 100_000, u64::MAX),
    ] {
        let list = list_of(size, 1_000_000);
        let mut n = 0u64;
        g.bench_function(name, |b| {
            b.iter(|| {
                n += 1;
                let id = if ids == u64::MAX {
                    format!("new-{n}")
                } else {
                    format!("jti-{}", n % ids)
                };
                list.revoke_token(black_box(&id), 4e9 + n as f64);
            })
        });
        black_box(list.len());
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
    let bearer = bearer_header(&token);
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
    targets = bench_check, bench_write, bench_layer
}
criterion_main!(benches);
