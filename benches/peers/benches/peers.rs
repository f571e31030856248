//! tower-jwt-auth beside the Rust resource-server middlewares, in-process: each is a route
//! called through `oneshot`, its handler taking the typed claims, and beside each the same
//! route with no middleware in the same router release. The figure to compare is what each
//! middleware adds over its own bare route: jwt-authorizer 0.15 is an axum 0.7 middleware and
//! runs in an axum 0.7 router; tower-jwt-auth and tower-oauth2-resource-server run in axum 0.8.
//!
//! - `HS256`: the benchmarks' typical token (issuer and audience checked), with tower-jwt-auth
//!   and jwt-authorizer. tower-oauth2-resource-server is not measured with it: it excludes the
//!   HMAC algorithms by default and finds keys only by `kid` in a JWK Set.
//! - `RS256`: the same claims signed with a 2048-bit RSA key with a `kid`, every middleware
//!   given the same JWK Set document statically (nothing is fetched).
//!
//! Every route is checked to answer 200 with the token before it is measured, and every
//! middleware to answer 401 to the same claims with a forged signature, another issuer, another
//! audience, an expired `exp`, and another algorithm. huskarl-resource-server is not here: it is validation primitives for adapters
//! (huskarl-axum is unreleased), not a middleware.
//!
//! Run with `cargo bench --manifest-path benches/peers/Cargo.toml` from the crate's root.

#[path = "../../common.rs"]
mod common;

use std::hint::black_box;

use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderValue, Request, StatusCode};
use axum::routing::get;
use axum::Router;
use common::*;
use criterion::{criterion_group, criterion_main, Criterion};
use jwt_authorizer::{AuthorizerBuilder, IntoLayer as _, JwtAuthorizer, JwtClaims};
use tower::ServiceExt;
use tower_jwt_auth::{Algorithm, JwtAuthLayer, KeySet, PublishJwks, SigningKey};
use tower_oauth2_resource_server::server::OAuth2ResourceServer;
use tower_oauth2_resource_server::tenant::TenantConfiguration;
use tower_oauth2_resource_server::validation::ClaimsValidationSpec;

async fn with_jwt_claims(JwtClaims(claims): JwtClaims<BenchClaims>) -> &'static str {
    black_box(&claims);
    "ok"
}

/// A route of one router release or the other, called the same way.
#[derive(Clone)]
enum Route {
    Axum08(Router),
    Axum07(axum07::Router),
}

impl Route {
    async fn status(&self, authorization: &HeaderValue) -> StatusCode {
        match self {
            Self::Axum08(router) => status::<_, axum::body::Body, _>(router.clone(), authorization).await,
            Self::Axum07(router) => status::<_, axum07::body::Body, _>(router.clone(), authorization).await,
        }
    }
}

/// The status `service` answers a `GET /` bearing `authorization` with.
async fn status<S, B, R>(service: S, authorization: &HeaderValue) -> StatusCode
where
    S: tower::Service<Request<B>, Response = axum::http::Response<R>>,
    S::Error: std::fmt::Debug,
    B: Default,
{
    let request = Request::get("/")
        .header(AUTHORIZATION, authorization.clone())
        .body(B::default())
        .unwrap();
    service.oneshot(request).await.unwrap().status()
}

fn bearer_header(token: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("Bearer {token}")).unwrap()
}

/// What every guarded route must refuse: the token with its signature changed, with another
/// issuer, another audience, expired, and (from `other_alg`) signed with another algorithm.
fn refusable(sign: &dyn Fn(&BenchClaims) -> String, other_alg: String) -> Vec<(&'static str, String)> {
    let mut other_issuer = claims(EXP);
    other_issuer.iss = "https://other.example.com".into();
    let mut other_audience = claims(EXP);
    other_audience.aud = "other-api".into();
    vec![
        ("a forged signature", bad_signature(&sign(&claims(EXP)))),
        ("another issuer", sign(&other_issuer)),
        ("another audience", sign(&other_audience)),
        ("an expired token", sign(&claims(IAT))),
        ("another algorithm", other_alg),
    ]
}

/// Measures `routes` (name, route, guarded) under `group` after checking that each answers
/// 200 to the token `sign` makes of the benchmark claims, and that each guarded one answers
/// 401 to every token of `refused`: on a route that has just answered 200, a 401 is the
/// middleware's refusal, not a wiring fault.
fn measure(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    group: &str,
    sign: &dyn Fn(&BenchClaims) -> String,
    refused: &[(&str, String)],
    routes: &[(&str, Route, bool)],
) {
    let good = bearer_header(&sign(&claims(EXP)));
    for (name, route, guarded) in routes {
        assert_eq!(rt.block_on(route.status(&good)), StatusCode::OK, "{group} {name}");
        for (what, token) in refused.iter().filter(|_| *guarded) {
            let status = rt.block_on(route.status(&bearer_header(token)));
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{group} {name}: {what}");
        }
    }
    let mut g = c.benchmark_group(group);
    for (name, route, _) in routes {
        g.bench_function(*name, |b| b.to_async(rt).iter(|| route.status(&good)));
    }
    g.finish();
}

/// tower-jwt-auth's route: the handler takes `Claims<T>`.
fn ours<K>(resolver: K) -> Route
where
    K: tower_jwt_auth::KeyResolver + Clone + Send + Sync + 'static,
    K::Future: Send,
{
    let layer = JwtAuthLayer::<BenchClaims>::new(resolver).validation(validation());
    Route::Axum08(Router::new().route("/", get(with_claims)).route_layer(layer))
}

/// jwt-authorizer's route (axum 0.7), with the rules the others check; the handler takes its
/// `JwtClaims<T>`.
fn jwt_authorizer(
    rt: &tokio::runtime::Runtime,
    builder: AuthorizerBuilder<BenchClaims>,
    alg: jsonwebtoken9::Algorithm,
) -> Route {
    // Pinned to the token's algorithm, as the others are (a secret alone allows the HS family).
    let validation = jwt_authorizer::Validation::new()
        .iss(&[ISSUER])
        .aud(&[AUDIENCE])
        .algs(vec![alg]);
    let authorizer = rt.block_on(builder.validation(validation).build()).unwrap();
    Route::Axum07(
        axum07::Router::new()
            .route("/", axum07::routing::get(with_jwt_claims))
            .route_layer(vec![authorizer].into_layer()),
    )
}

fn bench_peers(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let bare08 = Route::Axum08(Router::new().route("/", get(bare)));
    let bare07 = Route::Axum07(axum07::Router::new().route("/", axum07::routing::get(bare)));

    // HS256.
    let hs256 = SigningKey::hs256(SECRET).unwrap();
    let sign = |claims: &BenchClaims| hs256.sign(claims).unwrap();
    let hs384 = SigningKey::hs384(SECRET).unwrap().sign(&claims(EXP)).unwrap();
    let refused = refusable(&sign, hs384);
    // jwt-authorizer takes the secret as a string.
    let secret = std::str::from_utf8(SECRET).unwrap();
    let hs = jsonwebtoken9::Algorithm::HS256;
    let routes = [
        ("bare, axum 0.8", bare08.clone(), false),
        ("tower-jwt-auth", ours(hs256.verifying_key()), true),
        ("bare, axum 0.7", bare07.clone(), false),
        (
            "jwt-authorizer",
            jwt_authorizer(&rt, JwtAuthorizer::from_secret(secret), hs),
            true,
        ),
    ];
    measure(c, &rt, "peers/HS256", &sign, &refused, &routes);

    // RS256, one key with a `kid`, from one JWK Set document (whose key says RS256).
    let rs256 = SigningKey::from_pkcs8(include_str!("../../../tests/keys/rsa2048.pem"))
        .unwrap()
        .with_kid("bench-rsa")
        .unwrap();
    let sign = |claims: &BenchClaims| rs256.sign(claims).unwrap();
    let ps256 = rs256.clone().with_algorithm(Algorithm::PS256).unwrap();
    let refused = refusable(&sign, ps256.sign(&claims(EXP)).unwrap());
    let jwks = PublishJwks::<axum::body::Body>::new([rs256.verifying_key()], 300).unwrap();
    let jwks = jwks.document();
    let tenant = TenantConfiguration::static_builder(jwks)
        // The rules the others check. (Without this, the static builder checks `exp` and
        // `aud` but not `iss`; `ClaimsValidationSpec::recommended` also requires `nbf`, which
        // the token lacks.)
        .claims_validation(
            ClaimsValidationSpec::new()
                .exp(true)
                .iss(ISSUER)
                .aud(&vec![AUDIENCE.to_owned()]),
        )
        .build()
        .unwrap();
    let resource_server = rt
        .block_on(
            OAuth2ResourceServer::<BenchClaims>::builder()
                .add_tenant(tenant)
                .build(),
        )
        .unwrap();
    let rs = jsonwebtoken9::Algorithm::RS256;
    let routes = [
        ("bare, axum 0.8", bare08, false),
        (
            "tower-jwt-auth",
            ours(KeySet::from_json(jwks.as_bytes()).unwrap()),
            true,
        ),
        (
            "tower-oauth2-resource-server",
            Route::Axum08(
                Router::new()
                    .route("/", get(with_extension))
                    .route_layer(resource_server.into_layer()),
            ),
            true,
        ),
        ("bare, axum 0.7", bare07, false),
        (
            "jwt-authorizer",
            jwt_authorizer(&rt, JwtAuthorizer::from_jwks_text(jwks), rs),
            true,
        ),
    ];
    measure(c, &rt, "peers/RS256", &sign, &refused, &routes);
}

criterion_group! {
    name = benches;
    config = route_config();
    targets = bench_peers
}
criterion_main!(benches);
