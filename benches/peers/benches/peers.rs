//! tower-jwt-auth beside the Rust resource-server middlewares, in-process: each is a route
//! called through `oneshot`, its handler taking the typed claims, and beside each the same
//! route with no middleware in the same router release. The figure to compare is what each
//! middleware adds over its own bare route: jwt-authorizer 0.15 is an axum 0.7 middleware and
//! runs in an axum 0.7 router; tower-jwt-auth and tower-oauth2-resource-server run in axum 0.8.
//!
//! - `HS256`: the benchmarks' typical token (issuer and audience checked), with tower-jwt-auth
//!   and jwt-authorizer (tower-oauth2-resource-server accepts no HMAC algorithm).
//! - `RS256`: the same claims signed with a 2048-bit RSA key with a `kid`, every middleware
//!   given the same JWK Set document statically (nothing is fetched).
//!
//! Every route is checked to answer 200 with the token and 401 with a forged one before it is
//! measured. huskarl-resource-server is not here: it is validation primitives for adapters
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
use tower_jwt_auth::{JwtAuthLayer, KeySet, PublishJwks, SigningKey};
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

fn bearer(token: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("Bearer {token}")).unwrap()
}

/// Measures `routes` under `group` after checking that each answers 200 to `token` and 401 to
/// the same token with its signature changed.
fn measure(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    group: &str,
    token: &str,
    routes: &[(&str, Route)],
) {
    let good = bearer(token);
    let forged = bearer(&bad_signature(token));
    for (name, route) in routes {
        assert_eq!(rt.block_on(route.status(&good)), StatusCode::OK, "{group} {name}");
        if !name.starts_with("bare") {
            assert_eq!(
                rt.block_on(route.status(&forged)),
                StatusCode::UNAUTHORIZED,
                "{group} {name}"
            );
        }
    }
    let mut g = c.benchmark_group(group);
    for (name, route) in routes {
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
fn jwt_authorizer(rt: &tokio::runtime::Runtime, builder: AuthorizerBuilder<BenchClaims>) -> Route {
    let validation = jwt_authorizer::Validation::new().iss(&[ISSUER]).aud(&[AUDIENCE]);
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
    let token = hs256.sign(&claims(EXP)).unwrap();
    // jwt-authorizer takes the secret as a string.
    let secret = std::str::from_utf8(SECRET).unwrap();
    let routes = [
        ("bare, axum 0.8", bare08.clone()),
        ("tower-jwt-auth", ours(hs256.verifying_key())),
        ("bare, axum 0.7", bare07.clone()),
        (
            "jwt-authorizer",
            jwt_authorizer(&rt, JwtAuthorizer::from_secret(secret)),
        ),
    ];
    measure(c, &rt, "peers/HS256", &token, &routes);

    // RS256, one key with a `kid`, from one JWK Set document.
    let rs256 = SigningKey::from_pkcs8(include_str!("../../../tests/keys/rsa2048.pem"))
        .unwrap()
        .with_kid("bench-rsa")
        .unwrap();
    let token = rs256.sign(&claims(EXP)).unwrap();
    let jwks = PublishJwks::<axum::body::Body>::new([rs256.verifying_key()], 300).unwrap();
    let jwks = jwks.document();
    let tenant = TenantConfiguration::static_builder(jwks)
        .audiences(&[AUDIENCE])
        // The rules the others check (its `recommended` also requires `nbf`, which the token lacks).
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
    let routes = [
        ("bare, axum 0.8", bare08),
        (
            "tower-jwt-auth",
            ours(KeySet::from_json(jwks.as_bytes()).unwrap()),
        ),
        (
            "tower-oauth2-resource-server",
            Route::Axum08(
                Router::new()
                    .route("/", get(with_extension))
                    .route_layer(resource_server.into_layer()),
            ),
        ),
        ("bare, axum 0.7", bare07),
        (
            "jwt-authorizer",
            jwt_authorizer(&rt, JwtAuthorizer::from_jwks_text(jwks)),
        ),
    ];
    measure(c, &rt, "peers/RS256", &token, &routes);
}

criterion_group! {
    name = benches;
    config = route_config();
    targets = bench_peers
}
criterion_main!(benches);
