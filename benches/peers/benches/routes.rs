//! The routes of the peers' benchmarks (`peers.rs`, `interleaved.rs`): each middleware on one
//! axum route with the rules the others check, the bare routes they are measured against, and
//! the tokens every middleware must refuse.

use std::hint::black_box;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderValue, Request, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use huskarl_resource_server::core::crypto::verifier::{JwsVerifier, JwsVerifierPlatform, MultiKeyVerifier};
use huskarl_resource_server::core::jwk::{Jwks, OctKey, PublicJwks, SymmetricJwk};
use huskarl_resource_server::core::platform::MaybeSendBoxFuture;
use huskarl_resource_server::core::EndpointUrl;
use huskarl_resource_server::validator::custom::CustomValidator;
use jwt_authorizer::{AuthorizerBuilder, IntoLayer as _, JwtAuthorizer, JwtClaims};
use tower::ServiceExt;
use tower_jwt_auth::{Algorithm, JwtAuthLayer, KeySet, PublishJwks, SigningKey};
use tower_oauth2_resource_server::server::OAuth2ResourceServer;
use tower_oauth2_resource_server::tenant::TenantConfiguration;
use tower_oauth2_resource_server::validation::ClaimsValidationSpec;

use crate::common::*;

async fn with_jwt_claims(JwtClaims(claims): JwtClaims<BenchClaims>) -> &'static str {
    black_box(&claims);
    "ok"
}

/// A route of one router release or the other, called the same way.
#[derive(Clone)]
pub(crate) enum Route {
    Axum08(Router),
    Axum07(axum07::Router),
}

impl Route {
    /// The axum release the route runs in.
    #[allow(dead_code)] // interleaved.rs only
    pub(crate) fn release(&self) -> &'static str {
        match self {
            Self::Axum08(_) => "axum 0.8",
            Self::Axum07(_) => "axum 0.7",
        }
    }

    /// The status the route answers a `GET /` bearing `authorization` with.
    pub(crate) async fn status(&self, authorization: &HeaderValue) -> StatusCode {
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

/// What a route of a group is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    /// No middleware: the baseline of its router release.
    Bare,
    /// No middleware, behind an empty `route_layer`: what the release's wrapping of any route
    /// layer costs by itself.
    EmptyLayer,
    /// Behind a middleware, which must refuse what [`refusable`] makes.
    Guarded,
    /// Behind tower-jwt-auth's layer: guarded, and what the others are compared with.
    Ours,
}

/// The routes measured together, and the token they are called with.
pub(crate) struct Group {
    pub(crate) name: &'static str,
    /// `Bearer <token>`, the token every route accepts.
    pub(crate) good: HeaderValue,
    pub(crate) routes: Vec<(&'static str, Route, Kind)>,
}

impl Group {
    fn checked(
        rt: &tokio::runtime::Runtime,
        name: &'static str,
        sign: &dyn Fn(&BenchClaims) -> String,
        refused: &[(&str, String)],
        routes: Vec<(&'static str, Route, Kind)>,
    ) -> Self {
        let good = bearer_header(&sign(&claims(EXP)));
        for (route_name, route, kind) in &routes {
            assert_eq!(
                rt.block_on(route.status(&good)),
                StatusCode::OK,
                "{name} {route_name}"
            );
            for (what, token) in refused
                .iter()
                .filter(|_| matches!(kind, Kind::Guarded | Kind::Ours))
            {
                let status = rt.block_on(route.status(&bearer_header(token)));
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{name} {route_name}: {what}");
            }
        }
        Self { name, good, routes }
    }

    /// The index of the bare route of `route`'s router release.
    #[allow(dead_code)] // interleaved.rs only
    pub(crate) fn baseline_of(&self, route: &Route) -> usize {
        self.routes
            .iter()
            .position(|(_, r, kind)| *kind == Kind::Bare && r.release() == route.release())
            .expect("every group has a bare route of each release it uses")
    }

    /// The index of tower-jwt-auth's route.
    #[allow(dead_code)] // interleaved.rs only
    pub(crate) fn ours(&self) -> usize {
        self.routes
            .iter()
            .position(|(_, _, kind)| *kind == Kind::Ours)
            .expect("every group has tower-jwt-auth's route")
    }
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

/// huskarl-resource-server's validator in the `from_fn` middleware an axum user writes around
/// it today (its axum adapter is unreleased): the claims handed on as an extension (assembled
/// from its registered fields and its typed claims, which are the other members), any failure
/// a bare 401.
async fn huskarl_middleware(
    State(validator): State<Arc<CustomValidator<CustomOnly>>>,
    mut request: axum::extract::Request,
    next: Next,
) -> Result<Response, StatusCode> {
    // The origin-form URI does here only because the benchmark's Bearer tokens carry no `cnf`:
    // a DPoP proof is checked against the absolute URI the client addressed, which only the
    // deployment knows.
    let result = validator
        .validate_request(request.headers(), request.method(), request.uri(), None)
        .await;
    let Ok(Some(validated)) = result.outcome else {
        return Err(StatusCode::UNAUTHORIZED);
    };
    // Its typed claims are the unregistered ones; the registered ones are fields beside them
    // (`exp` and `iat` required, so never absent here; `aud` checked to hold the audience,
    // which is the token's only one).
    let seconds = |time: Option<std::time::SystemTime>| {
        time.and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs() as i64)
    };
    let claims = BenchClaims {
        sub: validated.sub.unwrap_or_default(),
        name: validated.claims.name,
        role: validated.claims.role,
        iat: seconds(validated.iat),
        exp: seconds(validated.exp),
        iss: validated.iss.unwrap_or_default(),
        aud: validated.aud.into_iter().next().unwrap_or_default(),
    };
    request.extensions_mut().insert(claims);
    Ok(next.run(request).await)
}

/// huskarl-resource-server's route, with the rules the others check (the token has no `jti`,
/// which it requires by default), verifying with `verifier` for `alg` alone.
fn huskarl(rt: &tokio::runtime::Runtime, verifier: Arc<dyn JwsVerifier>, alg: &str) -> Route {
    let factory = move |_: Option<&EndpointUrl>,
                        _: Arc<dyn JwsVerifierPlatform>|
          -> MaybeSendBoxFuture<
        'static,
        Result<Arc<dyn JwsVerifier>, huskarl_resource_server::core::Error>,
    > {
        let verifier = Arc::clone(&verifier);
        Box::pin(async move { Ok(verifier) })
    };
    let validator = rt
        .block_on(
            CustomValidator::builder()
                .with_claims::<CustomOnly>()
                .iss(ISSUER)
                .aud(AUDIENCE)
                .require_jti(false)
                .allowed_signing_algorithms(vec![alg.to_owned()])
                .jws_verifier_factory(factory)
                .build(),
        )
        .expect("huskarl-resource-server's validator");
    Route::Axum08(
        Router::new()
            .route("/", get(with_extension))
            .route_layer(middleware::from_fn_with_state(
                Arc::new(validator),
                huskarl_middleware,
            )),
    )
}

/// The two groups, each checked: every route answers 200 to the group's token, and every
/// guarded one 401 to each token of [`refusable`] (on a route that has just answered 200, a 401
/// is the middleware's refusal, not a wiring fault). Panics otherwise.
pub(crate) fn groups(rt: &tokio::runtime::Runtime) -> Vec<Group> {
    let bare08 = Route::Axum08(Router::new().route("/", get(bare)));
    let bare07 = Route::Axum07(axum07::Router::new().route("/", axum07::routing::get(bare)));
    // What either release's wrapping of any route layer costs by itself, which every
    // middleware's figure includes.
    let empty = tower::layer::util::Identity::new;
    let empty08 = Route::Axum08(Router::new().route("/", get(bare)).route_layer(empty()));
    // And of a `from_fn` middleware that only hands the request on: the wrapping of the
    // huskarl-resource-server route, which has no layer of its own.
    let pass = |request: axum::extract::Request, next: Next| next.run(request);
    let from_fn08 = Route::Axum08(
        Router::new()
            .route("/", get(bare))
            .route_layer(middleware::from_fn(pass)),
    );
    let empty07 = Route::Axum07(
        axum07::Router::new()
            .route("/", axum07::routing::get(bare))
            .route_layer(empty()),
    );

    // HS256.
    let hs256 = SigningKey::hs256(SECRET).unwrap();
    let sign = |claims: &BenchClaims| hs256.sign(claims).unwrap();
    let hs384 = SigningKey::hs384(SECRET).unwrap().sign(&claims(EXP)).unwrap();
    let refused = refusable(&sign, hs384);
    // jwt-authorizer takes the secret as a string.
    let secret = std::str::from_utf8(SECRET).unwrap();
    let hs = jsonwebtoken9::Algorithm::HS256;
    let oct = SymmetricJwk::builder()
        .key(OctKey::builder().k(SECRET.to_vec()).build())
        .algorithm("HS256")
        .build();
    let oct = huskarl_crypto_native::symmetric::SymmetricKey::from_jwk(oct).expect("an HS256 key");
    let routes = vec![
        ("bare, axum 0.8", bare08.clone(), Kind::Bare),
        (
            "bare behind an empty route_layer, axum 0.8",
            empty08,
            Kind::EmptyLayer,
        ),
        (
            "bare behind an empty from_fn, axum 0.8",
            from_fn08,
            Kind::EmptyLayer,
        ),
        ("tower-jwt-auth", ours(hs256.verifying_key()), Kind::Ours),
        (
            "huskarl-resource-server",
            huskarl(rt, Arc::new(oct), "HS256"),
            Kind::Guarded,
        ),
        ("bare, axum 0.7", bare07.clone(), Kind::Bare),
        (
            "bare behind an empty route_layer, axum 0.7",
            empty07,
            Kind::EmptyLayer,
        ),
        (
            "jwt-authorizer",
            jwt_authorizer(rt, JwtAuthorizer::from_secret(secret), hs),
            Kind::Guarded,
        ),
    ];
    let hs256 = Group::checked(rt, "peers/HS256", &sign, &refused, routes);

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
    let set: PublicJwks = serde_json::from_str::<Jwks>(jwks).unwrap().into();
    let platform = huskarl_crypto_native::NativeVerifierPlatform;
    let rsa = rt.block_on(MultiKeyVerifier::from_jwks(&set, &platform)).unwrap();
    let routes = vec![
        ("bare, axum 0.8", bare08, Kind::Bare),
        (
            "tower-jwt-auth",
            ours(KeySet::from_json(jwks.as_bytes()).unwrap()),
            Kind::Ours,
        ),
        (
            "tower-oauth2-resource-server",
            Route::Axum08(
                Router::new()
                    .route("/", get(with_extension))
                    .route_layer(resource_server.into_layer()),
            ),
            Kind::Guarded,
        ),
        (
            "huskarl-resource-server",
            huskarl(rt, Arc::new(rsa), "RS256"),
            Kind::Guarded,
        ),
        ("bare, axum 0.7", bare07, Kind::Bare),
        (
            "jwt-authorizer",
            jwt_authorizer(rt, JwtAuthorizer::from_jwks_text(jwks), rs),
            Kind::Guarded,
        ),
    ];
    let rs256 = Group::checked(rt, "peers/RS256", &sign, &refused, routes);
    vec![hs256, rs256]
}
