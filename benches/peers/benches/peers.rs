//! tower-jwt-auth beside the Rust resource-server middlewares, in-process: each is a route
//! called through `oneshot`, its handler taking the typed claims, and beside each the same
//! route with no middleware in the same router release. The figure to compare is what each
//! middleware adds over its own bare route: jwt-authorizer 0.15 is an axum 0.7 middleware and
//! runs in an axum 0.7 router; the others run in axum 0.8. Each figure includes its release's
//! wrapping of a route layer (or of a `from_fn` middleware, for huskarl-resource-server),
//! measured alone as the bare route behind an empty one.
//!
//! - tower-jwt-auth: `JwtAuthLayer`, the handler taking `Claims<T>`.
//! - jwt-authorizer 0.15: its layer, the handler taking its `JwtClaims<T>`.
//! - tower-oauth2-resource-server 0.12: its layer (RS256 only: it excludes the HMAC algorithms
//!   by default and finds keys only by `kid` in a JWK Set), the handler taking `Extension<T>`.
//! - huskarl-resource-server 0.11: validation primitives for framework adapters, whose axum
//!   adapter is unreleased; here its `CustomValidator` in the `from_fn` middleware an axum user
//!   writes around it, the handler taking `Extension<T>`.
//!
//! Groups: `HS256`, the benchmarks' typical token; `RS256`, the same claims signed with a
//! 2048-bit RSA key with a `kid`, every middleware given the same JWK Set document statically
//! (nothing is fetched). Every route is checked to answer 200 with the token before it is
//! measured, and every middleware to answer 401 to the same claims with a forged signature,
//! another issuer, another audience, an expired `exp`, and another algorithm.
//!
//! Run with `cargo bench --manifest-path benches/peers/Cargo.toml` from the crate's root.

#[path = "../../common.rs"]
mod common;
mod routes;

use common::route_config;
use criterion::{criterion_group, criterion_main, Criterion};

fn bench_peers(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for group in routes::groups(&rt) {
        let mut g = c.benchmark_group(group.name);
        for (name, route, _) in &group.routes {
            g.bench_function(*name, |b| b.to_async(&rt).iter(|| route.status(&group.good)));
        }
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = route_config();
    targets = bench_peers
}
criterion_main!(benches);
