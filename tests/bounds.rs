//! What the middleware asks of the services it wraps: nothing beyond `Clone` for the inner
//! service. A key look-up that waits is driven by the response future's own state machine, not a
//! boxed `Send + 'static` future, so services, futures and bodies that are not `Send` (a
//! single-threaded runtime, `Rc` state) work with every resolver.

use std::cell::Cell;
use std::convert::Infallible;
use std::future::{ready, Ready};
use std::rc::Rc;
use std::sync::Arc;

use http::{Request, Response, StatusCode};
use serde::Deserialize;
use tower::{service_fn, BoxError, Layer, ServiceExt};
use tower_jwt_auth::key::{KeyError, KeyQuery, Resolution};
use tower_jwt_auth::{
    AuthErrorKind, Claims, JwtAuthLayer, KeyResolver, SigningKey, Validation, VerifyingKey,
};

const SECRET: &[u8; 32] = b"the-32-byte-secret-of-the-tests!";

#[derive(Clone, Debug, Deserialize)]
struct MyClaims {
    sub: String,
}

fn token(exp: i64) -> String {
    let key = SigningKey::hs256(SECRET).expect("a 32-byte secret");
    key.sign(&serde_json::json!({"sub": "alice", "exp": exp}))
        .expect("claims sign")
}

fn fresh() -> String {
    token(tower_jwt_auth::NumericDate::now().as_secs() + 300)
}

/// A resolver that always waits (the slow path), answering with one static key.
#[derive(Clone)]
struct Waits(Arc<VerifyingKey>);

impl KeyResolver for Waits {
    type Future = Ready<Result<Arc<VerifyingKey>, KeyError>>;
    fn resolve(&self, _: &KeyQuery<'_>) -> Resolution<'_, Self::Future> {
        Resolution::Pending(ready(Ok(Arc::clone(&self.0))))
    }
}

/// A body type that is not `Send`.
#[derive(Debug, Default)]
struct LocalBody(Option<Rc<str>>);

/// An inner service whose state, future and bodies are not `Send`.
fn local_service(
    calls: Rc<Cell<usize>>,
) -> impl tower::Service<
    Request<LocalBody>,
    Response = Response<LocalBody>,
    Error = Infallible,
    Future = impl std::future::Future<Output = Result<Response<LocalBody>, Infallible>>,
> + Clone {
    service_fn(move |req: Request<LocalBody>| {
        let calls = Rc::clone(&calls);
        async move {
            calls.set(calls.get() + 1);
            let sub = req
                .extensions()
                .get::<Claims<MyClaims>>()
                .map(|c| Rc::from(c.sub.as_str()));
            Ok::<_, Infallible>(Response::new(LocalBody(sub)))
        }
    })
}

fn request(token: &str) -> Request<LocalBody> {
    Request::builder()
        .header("authorization", format!("Bearer {token}"))
        .body(LocalBody::default())
        .expect("a request")
}

#[tokio::test]
async fn a_service_that_is_not_send_works_behind_a_static_key_and_a_waiting_resolver() -> Result<(), BoxError>
{
    let calls = Rc::new(Cell::new(0));
    let key = VerifyingKey::hs256(SECRET)?;
    let statically = JwtAuthLayer::<MyClaims>::new(key.clone()).layer(local_service(Rc::clone(&calls)));
    let waiting = JwtAuthLayer::<MyClaims>::new(Waits(Arc::new(key))).layer(local_service(Rc::clone(&calls)));

    let response = statically.clone().oneshot(request(&fresh())).await?;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.into_body().0.as_deref(), Some("alice"));
    let response = waiting.clone().oneshot(request(&fresh())).await?;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.into_body().0.as_deref(), Some("alice"));
    assert_eq!(calls.get(), 2);

    // Refusals on both paths, with the error in the response extensions.
    for response in [
        statically.oneshot(request(&token(1))).await?,
        waiting.oneshot(request(&token(1))).await?,
    ] {
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let kind = response
            .extensions()
            .get::<tower_jwt_auth::AuthError>()
            .map(|e| e.kind());
        assert_eq!(kind, Some(AuthErrorKind::Expired));
    }
    assert_eq!(calls.get(), 2);
    // Validation stays usable on its own.
    assert!(Validation::new()
        .verify::<MyClaims>(&fresh(), &VerifyingKey::hs256(SECRET)?)
        .is_ok());
    Ok(())
}

#[test]
fn the_layer_fits_axum_route_layer() {
    fn route_layer_bounds<L>(_: &L)
    where
        L: Layer<axum::routing::Route> + Clone + Send + Sync + 'static,
        L::Service: tower::Service<Request<axum::body::Body>> + Clone + Send + Sync + 'static,
        <L::Service as tower::Service<Request<axum::body::Body>>>::Response:
            axum::response::IntoResponse + 'static,
        <L::Service as tower::Service<Request<axum::body::Body>>>::Error: Into<Infallible> + 'static,
        <L::Service as tower::Service<Request<axum::body::Body>>>::Future: Send + 'static,
    {
    }
    let key = VerifyingKey::hs256(SECRET).expect("a 32-byte secret");
    route_layer_bounds(&JwtAuthLayer::<MyClaims>::new(key.clone()));
    route_layer_bounds(&JwtAuthLayer::<MyClaims>::new(Waits(Arc::new(key))));
}
