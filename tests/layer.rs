//! The HTTP contract of [`JwtAuthLayer`], one test per situation, through `tower::ServiceExt`.
//!
//! Every request goes to an echo service (a `tower::service_fn`) wrapped with the layer under
//! test. The echo answers with the `sub` of the `Claims<MyClaims>` it finds in the request
//! extensions (or `anonymous`) and counts its calls, so a rejection can be checked to never reach
//! it. Time is pinned at [`NOW`].
//!
//! | situation | status | `WWW-Authenticate` |
//! | --- | --- | --- |
//! | no token | 401 | `Bearer` (with `realm` if set), no `error` |
//! | malformed request | 400 | `Bearer error="invalid_request", error_description="..."` |
//! | token refused | 401 | `Bearer error="invalid_token", error_description="..."` |
//! | valid token lacking a role or scope | 403 | `Bearer error="insufficient_scope"` (+ `scope`) |
//! | key source cannot answer | 503 | none |

mod support;

use std::convert::Infallible;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::header::{AUTHORIZATION, COOKIE, WWW_AUTHENTICATE};
use http::{Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};
use tower::util::BoxCloneSyncService;
use tower::{service_fn, BoxError, Layer, Service, ServiceBuilder, ServiceExt};
use tower_jwt_auth::key::{KeyError, KeyQuery, Resolution};
use tower_jwt_auth::{
    resolver_fn, AuthError, AuthErrorKind as K, Claim, Claims, JwtAuthLayer, KeyResolver, KeyRing,
    RequireClaimsLayer, SigningKey, TokenSource, VerifyingKey,
};

use support::{b64, signer, token, validation, MyClaims, ATTACKER, LATER, NOW, SECRET};

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/// What the echo service answers when the request carries no claims.
const ANONYMOUS: &str = "anonymous";

type Req = Request<String>;
type Res = Response<String>;
type Echo = BoxCloneSyncService<Req, Res, Infallible>;

/// The echo service: answers with the `sub` of the verified claims, counting its calls.
fn echo(calls: &Arc<AtomicUsize>) -> Echo {
    let calls = Arc::clone(calls);
    BoxCloneSyncService::new(service_fn(move |req: Req| {
        calls.fetch_add(1, Ordering::SeqCst);
        let body = match req.extensions().get::<Claims<MyClaims>>() {
            Some(claims) => claims.sub.clone(),
            None => ANONYMOUS.to_owned(),
        };
        async move { Ok::<_, Infallible>(Response::new(body)) }
    }))
}

/// What came back from one request.
#[derive(Debug)]
struct Outcome {
    status: StatusCode,
    challenge: Option<String>,
    error: Option<AuthError>,
    body: String,
    /// How many times the echo service was called.
    calls: usize,
}

impl Outcome {
    /// Asserts a rejection: status, exact challenge (or none), error kind in the response
    /// extensions, and an inner service that was never called.
    #[track_caller]
    fn refused(&self, status: StatusCode, challenge: Option<&str>, kind: K) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.challenge.as_deref(), challenge, "{self:?}");
        assert_eq!(self.error.map(|e| e.kind()), Some(kind), "{self:?}");
        assert_eq!(self.calls, 0, "the inner service must not be called: {self:?}");
    }

    /// Asserts a 401 `invalid_token` with the given kind and its fixed description.
    #[track_caller]
    fn invalid_token(&self, kind: K) {
        let challenge = format!(
            "Bearer error=\"invalid_token\", error_description=\"{}\"",
            kind.description()
        );
        self.refused(StatusCode::UNAUTHORIZED, Some(&challenge), kind);
    }

    /// Asserts that the inner service answered, once, with `body`.
    #[track_caller]
    fn accepted(&self, body: &str) {
        assert_eq!(self.status, StatusCode::OK, "{self:?}");
        assert_eq!(self.body, body, "{self:?}");
        assert_eq!(self.calls, 1, "{self:?}");
        assert!(self.challenge.is_none(), "{self:?}");
        assert!(self.error.is_none(), "{self:?}");
    }
}

/// Sends `req` through `layer` wrapped around a fresh echo service.
async fn send<L>(layer: L, req: Req) -> Outcome
where
    L: Layer<Echo>,
    L::Service: Service<Req, Response = Res, Error = Infallible>,
{
    let calls = Arc::new(AtomicUsize::new(0));
    let service = layer.layer(echo(&calls));
    let response = match service.oneshot(req).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    Outcome {
        status: response.status(),
        challenge: response
            .headers()
            .get(WWW_AUTHENTICATE)
            .map(|v| v.to_str().expect("challenges are ASCII").to_owned()),
        error: response.extensions().get::<AuthError>().copied(),
        body: response.into_body(),
        calls: calls.load(Ordering::SeqCst),
    }
}

/// The layer under test: HS256 with [`SECRET`], time pinned.
fn layer() -> JwtAuthLayer<MyClaims> {
    JwtAuthLayer::hs256(SECRET)
        .expect("a 32-byte secret")
        .validation(validation())
}

/// Good claims for alice.
fn alice() -> Value {
    json!({ "sub": "alice", "role": "user", "exp": LATER })
}

fn request() -> http::request::Builder {
    Request::get("/resource")
}

fn no_token() -> Req {
    Request::new(String::new())
}

fn with_authorization(value: &str) -> Result<Req, http::Error> {
    request().header(AUTHORIZATION, value).body(String::new())
}

fn bearer(token: &str) -> Result<Req, http::Error> {
    with_authorization(&format!("Bearer {token}"))
}

// ---------------------------------------------------------------------------------------------
// Success
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_valid_token_reaches_the_inner_service_with_its_claims() -> Result<(), BoxError> {
    send(layer(), bearer(&token(&alice()))?).await.accepted("alice");
    Ok(())
}

#[tokio::test]
async fn the_claims_in_the_request_extensions_are_the_tokens() -> Result<(), BoxError> {
    let seen = Arc::new(std::sync::Mutex::new(None::<MyClaims>));
    let store = Arc::clone(&seen);
    let service = layer().layer(service_fn(move |req: Req| {
        let claims = req.extensions().get::<Claims<MyClaims>>().cloned();
        *store.lock().expect("not poisoned") = claims.map(Claims::into_inner);
        async { Ok::<_, Infallible>(Response::new(String::new())) }
    }));
    let token = token(&json!({ "sub": "bob", "role": "admin", "scope": "a b", "exp": LATER }));
    let response = service.oneshot(bearer(&token)?).await?;
    assert_eq!(response.status(), StatusCode::OK);
    let claims = seen
        .lock()
        .expect("not poisoned")
        .take()
        .expect("claims were inserted");
    assert_eq!(claims.sub, "bob");
    assert_eq!(claims.role, "admin");
    assert!(claims.scope.contains("a") && claims.scope.contains("b"));
    Ok(())
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() -> Result<(), BoxError> {
    let token = token(&alice());
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        send(layer(), with_authorization(&format!("{scheme} {token}"))?)
            .await
            .accepted("alice");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// No token: 401 `Bearer`, no `error`
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn no_token_gets_401_with_a_bare_bearer_challenge() {
    send(layer(), no_token())
        .await
        .refused(StatusCode::UNAUTHORIZED, Some("Bearer"), K::MissingToken);
}

#[tokio::test]
async fn no_token_gets_the_realm_in_the_challenge_when_one_is_set() -> Result<(), BoxError> {
    let layer = layer().realm("api")?;
    send(layer.clone(), no_token()).await.refused(
        StatusCode::UNAUTHORIZED,
        Some("Bearer realm=\"api\""),
        K::MissingToken,
    );
    let expired = token(&json!({ "sub": "alice", "exp": NOW - 3600 }));
    send(layer, bearer(&expired)?).await.refused(
        StatusCode::UNAUTHORIZED,
        Some("Bearer realm=\"api\", error=\"invalid_token\", error_description=\"token expired\""),
        K::Expired,
    );
    Ok(())
}

#[tokio::test]
async fn a_basic_authorization_header_counts_as_no_token() -> Result<(), BoxError> {
    send(layer(), with_authorization("Basic YWxhZGRpbjpvcGVuc2VzYW1l")?)
        .await
        .refused(StatusCode::UNAUTHORIZED, Some("Bearer"), K::MissingToken);
    Ok(())
}

#[test]
fn a_realm_that_cannot_be_quoted_is_a_configuration_error() {
    for realm in ["a\"b", "a\\b", "a\nb", "réalm"] {
        assert!(layer().realm(realm).is_err(), "{realm:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Malformed requests: 400 `invalid_request`
// ---------------------------------------------------------------------------------------------

const INVALID_REQUEST: &str =
    "Bearer error=\"invalid_request\", error_description=\"malformed authorization request\"";

#[tokio::test]
async fn two_authorization_headers_get_400_invalid_request() -> Result<(), BoxError> {
    let token = token(&alice());
    let req = request()
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .body(String::new())?;
    send(layer(), req)
        .await
        .refused(StatusCode::BAD_REQUEST, Some(INVALID_REQUEST), K::InvalidRequest);
    Ok(())
}

#[tokio::test]
async fn a_token_in_both_the_bearer_header_and_the_cookie_gets_400_invalid_request() -> Result<(), BoxError> {
    let token = token(&alice());
    let layer = layer().token_source(TokenSource::bearer().or_cookie("access_token")?);
    let req = request()
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .header(COOKIE, format!("access_token={token}"))
        .body(String::new())?;
    send(layer, req)
        .await
        .refused(StatusCode::BAD_REQUEST, Some(INVALID_REQUEST), K::InvalidRequest);
    Ok(())
}

/// Defect: these got 400; browser clients refresh or redirect on 401 only, and Spring Security,
/// ASP.NET Core and Auth0's Express middleware answer 401.
#[tokio::test]
async fn bearer_without_a_token_gets_401_invalid_token() -> Result<(), BoxError> {
    for value in ["Bearer", "Bearer ", "bearer    ", "Bearer \t ", "BEARER \t"] {
        send(layer(), with_authorization(value)?)
            .await
            .invalid_token(K::Malformed);
        // A present but empty token is refused in optional mode too.
        send(layer().optional(), with_authorization(value)?)
            .await
            .invalid_token(K::Malformed);
    }
    Ok(())
}

#[tokio::test]
async fn bearer_with_two_tokens_gets_400_invalid_request() -> Result<(), BoxError> {
    let token = token(&alice());
    for value in [
        "Bearer a b".to_owned(),
        format!("Bearer {token} {token}"),
        format!("Bearer {token} "),
    ] {
        send(layer(), with_authorization(&value)?).await.refused(
            StatusCode::BAD_REQUEST,
            Some(INVALID_REQUEST),
            K::InvalidRequest,
        );
    }
    Ok(())
}

#[tokio::test]
async fn an_authorization_header_that_is_not_visible_ascii_gets_400_invalid_request() -> Result<(), BoxError>
{
    let value = http::HeaderValue::from_bytes(b"Bearer abc\xff")?;
    let req = request().header(AUTHORIZATION, value).body(String::new())?;
    send(layer(), req)
        .await
        .refused(StatusCode::BAD_REQUEST, Some(INVALID_REQUEST), K::InvalidRequest);
    Ok(())
}

#[tokio::test]
async fn the_same_cookie_twice_gets_400_invalid_request() -> Result<(), BoxError> {
    let token = token(&alice());
    let layer = layer().token_source(TokenSource::cookie("access_token")?);
    let req = request()
        .header(COOKIE, format!("access_token={token}; access_token={token}"))
        .body(String::new())?;
    send(layer, req)
        .await
        .refused(StatusCode::BAD_REQUEST, Some(INVALID_REQUEST), K::InvalidRequest);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Refused tokens: 401 `invalid_token` with a fixed description
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_forged_signature_gets_401_invalid_token() -> Result<(), BoxError> {
    let forged = SigningKey::hs256(ATTACKER)?.sign(&alice())?;
    let outcome = send(layer(), bearer(&forged)?).await;
    outcome.refused(
        StatusCode::UNAUTHORIZED,
        Some("Bearer error=\"invalid_token\", error_description=\"invalid signature\""),
        K::InvalidSignature,
    );
    Ok(())
}

#[tokio::test]
async fn a_tampered_payload_gets_401_invalid_token() -> Result<(), BoxError> {
    let good = token(&alice());
    let mut parts: Vec<&str> = good.split('.').collect();
    let admin = b64(format!(r#"{{"sub":"alice","role":"admin","exp":{LATER}}}"#).as_bytes());
    parts[1] = &admin;
    send(layer(), bearer(&parts.join("."))?)
        .await
        .invalid_token(K::InvalidSignature);
    Ok(())
}

#[tokio::test]
async fn expired_token_gets_401_invalid_token() -> Result<(), BoxError> {
    let expired = token(&json!({ "sub": "alice", "exp": NOW - 3600 }));
    send(layer(), bearer(&expired)?).await.refused(
        StatusCode::UNAUTHORIZED,
        Some("Bearer error=\"invalid_token\", error_description=\"token expired\""),
        K::Expired,
    );
    Ok(())
}

#[tokio::test]
async fn a_token_without_exp_gets_401_invalid_token() -> Result<(), BoxError> {
    let forever = token(&json!({ "sub": "alice" }));
    send(layer(), bearer(&forever)?).await.refused(
        StatusCode::UNAUTHORIZED,
        Some("Bearer error=\"invalid_token\", error_description=\"missing exp claim\""),
        K::MissingClaim(Claim::Exp),
    );
    Ok(())
}

#[tokio::test]
async fn a_wrong_issuer_gets_401_invalid_token() -> Result<(), BoxError> {
    let layer = layer().validation(validation().issuer("https://issuer.example")?);
    let token = token(&json!({ "sub": "alice", "iss": "https://evil.example", "exp": LATER }));
    send(layer.clone(), bearer(&token)?).await.refused(
        StatusCode::UNAUTHORIZED,
        Some("Bearer error=\"invalid_token\", error_description=\"invalid issuer\""),
        K::InvalidIssuer,
    );
    let good = self::token(&json!({ "sub": "alice", "iss": "https://issuer.example", "exp": LATER }));
    send(layer, bearer(&good)?).await.accepted("alice");
    Ok(())
}

#[tokio::test]
async fn a_wrong_audience_gets_401_invalid_token() -> Result<(), BoxError> {
    let layer = layer().validation(validation().audience("orders-api")?);
    let token = token(&json!({ "sub": "alice", "aud": ["billing-api"], "exp": LATER }));
    send(layer.clone(), bearer(&token)?).await.refused(
        StatusCode::UNAUTHORIZED,
        Some("Bearer error=\"invalid_token\", error_description=\"invalid audience\""),
        K::InvalidAudience,
    );
    let good = self::token(&json!({ "sub": "alice", "aud": "orders-api", "exp": LATER }));
    send(layer, bearer(&good)?).await.accepted("alice");
    Ok(())
}

#[tokio::test]
async fn an_unknown_kid_gets_401_invalid_token() -> Result<(), BoxError> {
    let ring = KeyRing::new([
        VerifyingKey::hs256(SECRET)?.with_kid("2024-05")?,
        VerifyingKey::hs256(ATTACKER)?.with_kid("2024-06")?,
    ])?;
    let layer = layer().with_resolver(ring);
    let token = signer().with_kid("2023-01")?.sign(&alice())?;
    send(layer, bearer(&token)?).await.refused(
        StatusCode::UNAUTHORIZED,
        Some("Bearer error=\"invalid_token\", error_description=\"unknown signing key\""),
        K::UnknownKey,
    );
    Ok(())
}

#[tokio::test]
async fn a_wrong_alg_gets_401_invalid_token() -> Result<(), BoxError> {
    // The same bytes as an HS384 secret: only the algorithm differs.
    let hs384 = SigningKey::hs384([7u8; 48])?.sign(&alice())?;
    let layer = JwtAuthLayer::<MyClaims>::new(VerifyingKey::hs256([7u8; 48])?).validation(validation());
    send(layer, bearer(&hs384)?).await.refused(
        StatusCode::UNAUTHORIZED,
        Some("Bearer error=\"invalid_token\", error_description=\"algorithm not allowed for this key\""),
        K::AlgorithmMismatch,
    );
    Ok(())
}

#[tokio::test]
async fn a_token_over_the_size_cap_gets_401_invalid_token() -> Result<(), BoxError> {
    let huge = "a".repeat(9 * 1024);
    send(layer(), bearer(&huge)?).await.refused(
        StatusCode::UNAUTHORIZED,
        Some("Bearer error=\"invalid_token\", error_description=\"token too large\""),
        K::TooLarge,
    );
    // A configured cap applies to otherwise valid tokens too.
    let small_cap = layer().validation(validation().max_token_len(32));
    send(small_cap, bearer(&token(&alice()))?)
        .await
        .invalid_token(K::TooLarge);
    Ok(())
}

#[tokio::test]
async fn an_alg_none_token_gets_401_invalid_token() -> Result<(), BoxError> {
    let header = b64(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = b64(alice().to_string().as_bytes());
    // The classic unsecured JWS: an empty signature.
    send(layer(), bearer(&format!("{header}.{payload}."))?)
        .await
        .invalid_token(K::Malformed);
    // With a signature copied from a genuine token: the algorithm itself is refused.
    let genuine = token(&alice());
    let signature = genuine.rsplit('.').next().unwrap_or_default();
    for alg in ["none", "None", "NONE"] {
        let header = b64(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#).as_bytes());
        send(layer(), bearer(&format!("{header}.{payload}.{signature}"))?)
            .await
            .refused(
                StatusCode::UNAUTHORIZED,
                Some("Bearer error=\"invalid_token\", error_description=\"unsupported algorithm\""),
                K::UnsupportedAlgorithm,
            );
    }
    Ok(())
}

#[tokio::test]
async fn garbage_gets_401_invalid_token() -> Result<(), BoxError> {
    for garbage in ["garbage", "a.b", "a.b.c.d", "eyJ.eyJ.sig", "%%%.!!!.***"] {
        send(layer(), bearer(garbage)?).await.refused(
            StatusCode::UNAUTHORIZED,
            Some("Bearer error=\"invalid_token\", error_description=\"malformed token\""),
            K::Malformed,
        );
    }
    Ok(())
}

#[tokio::test]
async fn claims_that_do_not_fit_the_claims_type_get_401_invalid_token() -> Result<(), BoxError> {
    // `sub` is required by `MyClaims`.
    let token = token(&json!({ "role": "user", "exp": LATER }));
    send(layer(), bearer(&token)?)
        .await
        .invalid_token(K::InvalidClaims);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Authorization: 403 `insufficient_scope` (RequireClaimsLayer inside JwtAuthLayer)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_valid_token_lacking_the_role_gets_403_insufficient_scope() -> Result<(), BoxError> {
    let stack = ServiceBuilder::new()
        .layer(layer())
        .layer(RequireClaimsLayer::equals(
            |c: &MyClaims| c.role.as_str(),
            "admin",
        ))
        .into_inner();
    send(stack.clone(), bearer(&token(&alice()))?).await.refused(
        StatusCode::FORBIDDEN,
        Some("Bearer error=\"insufficient_scope\""),
        K::InsufficientScope,
    );
    let admin = token(&json!({ "sub": "root", "role": "admin", "exp": LATER }));
    send(stack.clone(), bearer(&admin)?).await.accepted("root");
    // Authentication still comes first.
    send(stack, no_token())
        .await
        .refused(StatusCode::UNAUTHORIZED, Some("Bearer"), K::MissingToken);
    Ok(())
}

#[tokio::test]
async fn a_valid_token_lacking_a_scope_gets_403_with_the_required_scopes() -> Result<(), BoxError> {
    let stack = ServiceBuilder::new()
        .layer(layer())
        .layer(RequireClaimsLayer::scopes(["a", "b"], |c: &MyClaims| &c.scope)?)
        .into_inner();
    let only_a = token(&json!({ "sub": "alice", "scope": "a", "exp": LATER }));
    send(stack.clone(), bearer(&only_a)?).await.refused(
        StatusCode::FORBIDDEN,
        Some("Bearer error=\"insufficient_scope\", scope=\"a b\""),
        K::InsufficientScope,
    );
    let both = token(&json!({ "sub": "alice", "scope": "b c a", "exp": LATER }));
    send(stack.clone(), bearer(&both)?).await.accepted("alice");
    let array = token(&json!({ "sub": "alice", "scope": ["a", "b"], "exp": LATER }));
    send(stack, bearer(&array)?).await.accepted("alice");
    Ok(())
}

#[tokio::test]
async fn require_claims_in_optional_mode_without_a_token_gets_401() -> Result<(), BoxError> {
    let stack = ServiceBuilder::new()
        .layer(
            JwtAuthLayer::<RolesClaims>::hs256(SECRET)?
                .validation(validation())
                .optional(),
        )
        .layer(RequireClaimsLayer::contains(
            |c: &RolesClaims| c.roles.as_slice(),
            "admin",
        ))
        .into_inner();
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let service = stack.layer(service_fn(move |_: Req| {
        counted.fetch_add(1, Ordering::SeqCst);
        async { Ok::<_, Infallible>(Response::new(String::new())) }
    }));
    let response = service.clone().oneshot(no_token()).await?;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()[WWW_AUTHENTICATE], "Bearer");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    let admin = token(&json!({ "sub": "root", "roles": ["user", "admin"], "exp": LATER }));
    let response = service.oneshot(bearer(&admin)?).await?;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    Ok(())
}

#[derive(Clone, Debug, Deserialize)]
struct RolesClaims {
    #[serde(default)]
    roles: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Key sources that cannot answer: 503, no challenge
// ---------------------------------------------------------------------------------------------

type KeyFuture = Pin<Box<dyn Future<Output = Result<Arc<VerifyingKey>, KeyError>> + Send>>;

/// An asynchronous resolver, like a remote key set: waits briefly, then answers.
#[derive(Clone)]
struct SlowResolver {
    answer: Result<Arc<VerifyingKey>, KeyError>,
    lookups: Arc<AtomicUsize>,
}

impl SlowResolver {
    fn new(answer: Result<VerifyingKey, KeyError>) -> Self {
        Self {
            answer: answer.map(Arc::new),
            lookups: Arc::new(AtomicUsize::new(0)),
        }
    }
}

impl KeyResolver for SlowResolver {
    type Future = KeyFuture;

    fn resolve(&self, _: &KeyQuery<'_>) -> Resolution<'_, KeyFuture> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        let answer = self.answer.clone();
        Resolution::Pending(Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            answer
        }))
    }
}

#[tokio::test]
async fn an_unavailable_async_key_source_gets_503_without_a_challenge() -> Result<(), BoxError> {
    let layer = layer().with_resolver(SlowResolver::new(Err(KeyError::unavailable())));
    send(layer, bearer(&token(&alice()))?).await.refused(
        StatusCode::SERVICE_UNAVAILABLE,
        None,
        K::KeyUnavailable,
    );
    Ok(())
}

#[tokio::test]
async fn an_unavailable_sync_key_source_gets_503_without_a_challenge() -> Result<(), BoxError> {
    let layer = layer().with_resolver(resolver_fn(|_: &KeyQuery<'_>| Err(KeyError::unavailable())));
    send(layer.clone(), bearer(&token(&alice()))?).await.refused(
        StatusCode::SERVICE_UNAVAILABLE,
        None,
        K::KeyUnavailable,
    );
    // No token needs no key: still a plain 401.
    send(layer, no_token())
        .await
        .refused(StatusCode::UNAUTHORIZED, Some("Bearer"), K::MissingToken);
    Ok(())
}

#[tokio::test]
async fn a_malformed_token_is_refused_before_asking_the_key_source() -> Result<(), BoxError> {
    let resolver = SlowResolver::new(Ok(VerifyingKey::hs256(SECRET)?));
    let lookups = Arc::clone(&resolver.lookups);
    let layer = layer().with_resolver(resolver);
    let good = token(&alice());
    let (body, sig) = good.rsplit_once('.').ok_or("no dot")?;
    // Garbage, and tokens whose header is sound but whose payload or signature is not.
    for bad in [
        "garbage".to_owned(),
        format!("{body}.{sig}.{sig}"),
        format!("{body}=.{sig}"),
        format!("{body}.{sig}+"),
    ] {
        send(layer.clone(), bearer(&bad)?)
            .await
            .invalid_token(K::Malformed);
    }
    assert_eq!(lookups.load(Ordering::SeqCst), 0);
    send(layer, bearer(&good)?).await.accepted("alice");
    assert_eq!(lookups.load(Ordering::SeqCst), 1);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Resolvers
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_async_resolver_verifies_valid_tokens_and_refuses_bad_ones() -> Result<(), BoxError> {
    let resolver = SlowResolver::new(Ok(VerifyingKey::hs256(SECRET)?));
    let lookups = Arc::clone(&resolver.lookups);
    let layer = layer().with_resolver(resolver);
    send(layer.clone(), bearer(&token(&alice()))?)
        .await
        .accepted("alice");
    let forged = SigningKey::hs256(ATTACKER)?.sign(&alice())?;
    send(layer.clone(), bearer(&forged)?)
        .await
        .invalid_token(K::InvalidSignature);
    let expired = token(&json!({ "sub": "alice", "exp": NOW - 3600 }));
    send(layer.clone(), bearer(&expired)?)
        .await
        .invalid_token(K::Expired);
    let hs384 = SigningKey::hs384([7u8; 48])?.sign(&alice())?;
    send(layer, bearer(&hs384)?)
        .await
        .invalid_token(K::AlgorithmMismatch);
    assert_eq!(lookups.load(Ordering::SeqCst), 4);
    Ok(())
}

#[tokio::test]
async fn an_async_resolver_answering_unknown_key_gets_401_invalid_token() -> Result<(), BoxError> {
    let layer = layer().with_resolver(SlowResolver::new(Err(KeyError::unknown_key())));
    send(layer, bearer(&token(&alice()))?)
        .await
        .invalid_token(K::UnknownKey);
    Ok(())
}

#[tokio::test]
async fn an_async_resolver_calls_the_service_that_was_made_ready() -> Result<(), BoxError> {
    // Driving the service by hand (ready, then call) rather than with `oneshot`, twice.
    let resolver = SlowResolver::new(Ok(VerifyingKey::hs256(SECRET)?));
    let calls = Arc::new(AtomicUsize::new(0));
    let mut service = layer().with_resolver(resolver).layer(echo(&calls));
    for _ in 0..2 {
        let response = service.ready().await?.call(bearer(&token(&alice()))?).await?;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.into_body(), "alice");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    Ok(())
}

#[tokio::test]
async fn a_sync_resolver_fn_picks_keys_by_kid() -> Result<(), BoxError> {
    let main = Arc::new(VerifyingKey::hs256(SECRET)?);
    let resolver = resolver_fn(move |query: &KeyQuery<'_>| match query.kid() {
        Some("main") => Ok(Arc::clone(&main)),
        _ => Err(KeyError::unknown_key()),
    });
    let layer = layer().with_resolver(resolver);
    let with_kid = signer().with_kid("main")?.sign(&alice())?;
    send(layer.clone(), bearer(&with_kid)?).await.accepted("alice");
    let other_kid = signer().with_kid("other")?.sign(&alice())?;
    send(layer.clone(), bearer(&other_kid)?)
        .await
        .invalid_token(K::UnknownKey);
    send(layer, bearer(&token(&alice()))?)
        .await
        .invalid_token(K::UnknownKey);
    Ok(())
}

#[tokio::test]
async fn a_key_ring_verifies_tokens_of_every_kid_during_rotation() -> Result<(), BoxError> {
    const NEXT: &[u8; 32] = b"the-next-32-byte-secret-rotated!";
    let ring = KeyRing::new([
        VerifyingKey::hs256(SECRET)?.with_kid("2024-05")?,
        VerifyingKey::hs256(NEXT)?.with_kid("2024-06")?,
    ])?;
    let layer = layer().with_resolver(ring);
    let old = signer().with_kid("2024-05")?.sign(&alice())?;
    let new = SigningKey::hs256(NEXT)?
        .with_kid("2024-06")?
        .sign(&json!({ "sub": "bob", "exp": LATER }))?;
    send(layer.clone(), bearer(&old)?).await.accepted("alice");
    send(layer.clone(), bearer(&new)?).await.accepted("bob");
    // A token signed with one key but naming the other's kid.
    let swapped = signer().with_kid("2024-06")?.sign(&alice())?;
    send(layer, bearer(&swapped)?)
        .await
        .invalid_token(K::InvalidSignature);
    Ok(())
}

/// Defect (in the example server's claims type): `"aud": ["other", "<ours>"]` is a valid
/// audience (RFC 7519 §4.1.3). A claims type reads it with [`tower_jwt_auth::Audience`].
#[tokio::test]
async fn an_audience_array_reaches_a_claims_type_that_reads_it_with_audience() -> Result<(), BoxError> {
    #[derive(Clone, Debug, Deserialize)]
    struct WithAudience {
        sub: String,
        aud: tower_jwt_auth::Audience,
    }
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(std::sync::Mutex::new(None));
    let inner = {
        let (calls, seen) = (Arc::clone(&calls), Arc::clone(&seen));
        service_fn(move |req: Req| {
            calls.fetch_add(1, Ordering::SeqCst);
            let claims = req
                .extensions()
                .get::<Claims<WithAudience>>()
                .map(|c| c.0.clone());
            *seen.lock().unwrap() = claims;
            async { Ok::<_, Infallible>(Response::new(String::new())) }
        })
    };
    let layer = JwtAuthLayer::<WithAudience>::hs256(SECRET)?.validation(validation().audience("orders")?);
    let service = layer.layer(inner);
    let array = token(&json!({ "sub": "alice", "aud": ["billing", "orders"], "exp": LATER }));
    let response = service.clone().oneshot(bearer(&array)?).await?;
    assert_eq!(response.status(), StatusCode::OK);
    let claims = seen.lock().unwrap().take().expect("claims reached the service");
    assert_eq!(claims.sub, "alice");
    assert!(claims.aud.contains("orders") && claims.aud.contains("billing"));
    let single = token(&json!({ "sub": "alice", "aud": "orders", "exp": LATER }));
    assert_eq!(
        service.clone().oneshot(bearer(&single)?).await?.status(),
        StatusCode::OK
    );
    let elsewhere = token(&json!({ "sub": "alice", "aud": ["billing"], "exp": LATER }));
    let response = service.oneshot(bearer(&elsewhere)?).await?;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    Ok(())
}

/// Defect: `JwtAuthLayer::<C>::new(ring)` filled the resolver type with its default, so it had
/// to be spelled (`JwtAuthLayer::<C, KeyRing>::new(ring)`).
#[tokio::test]
async fn constructors_infer_the_resolver_type_from_their_argument() -> Result<(), BoxError> {
    let ring =
        || -> Result<KeyRing, BoxError> { Ok(KeyRing::new([VerifyingKey::hs256(SECRET)?.with_kid("k1")?])?) };
    let token = signer().with_kid("k1")?.sign(&alice())?;
    let layer = JwtAuthLayer::<MyClaims>::new(ring()?).validation(validation());
    send(layer, bearer(&token)?).await.accepted("alice");
    let layer = tower_jwt_auth::JwtAuth::<Echo, MyClaims>::layer(ring()?).validation(validation());
    send(layer, bearer(&token)?).await.accepted("alice");
    // A choice made at run time, with no forwarding enum.
    for keys in [
        tower_jwt_auth::Either::Left(VerifyingKey::hs256(SECRET)?),
        tower_jwt_auth::Either::Right(ring()?),
    ] {
        let layer = JwtAuthLayer::<MyClaims>::new(keys).validation(validation());
        send(layer, bearer(&token)?).await.accepted("alice");
    }
    Ok(())
}

/// Defect: sessions were wired in three steps, and a forgotten `Validation::revocations` (or a
/// later `.validation(..)`) left revocation silently off.
#[cfg(feature = "sessions")]
#[tokio::test]
async fn a_layer_wired_to_sessions_keeps_refusing_revoked_tokens_whatever_validation_follows(
) -> Result<(), BoxError> {
    use tower_jwt_auth::session::{MemoryStore, SessionOptions, Sessions};
    let sessions = Sessions::new(SECRET, MemoryStore::default(), SessionOptions::default())?;
    let issued = sessions.issue("alice", serde_json::Map::new()).await?;
    let access = token(&json!({ "sub": "alice", "sid": issued.session.sid, "exp": LATER }));
    let wired_first = layer()
        .sessions(&sessions)
        .validation(validation().audience("api")?);
    let wired_last = JwtAuthLayer::<MyClaims>::hs256(SECRET)?
        .validation(validation())
        .sessions(&sessions);
    let with_aud = token(&json!({ "sub": "alice", "sid": issued.session.sid, "aud": "api", "exp": LATER }));
    send(wired_first.clone(), bearer(&with_aud)?)
        .await
        .accepted("alice");
    send(wired_last.clone(), bearer(&access)?).await.accepted("alice");
    assert!(sessions.revoke(&issued.session.sid).await?);
    send(wired_first, bearer(&with_aud)?)
        .await
        .invalid_token(K::Revoked);
    send(wired_last.clone(), bearer(&access)?)
        .await
        .invalid_token(K::Revoked);
    // Replacing the rules again keeps the check.
    send(wired_last.validation(validation()), bearer(&access)?)
        .await
        .invalid_token(K::Revoked);
    Ok(())
}

#[tokio::test]
async fn a_key_ring_refuses_tokens_without_kid_unless_a_default_is_named() -> Result<(), BoxError> {
    const NEXT: &[u8; 32] = b"the-next-32-byte-secret-rotated!";
    let ring = KeyRing::new([
        VerifyingKey::hs256(SECRET)?.with_kid("2024-05")?,
        VerifyingKey::hs256(NEXT)?.with_kid("2024-06")?,
    ])?;
    let no_kid_new = SigningKey::hs256(NEXT)?.sign(&json!({ "sub": "bob", "exp": LATER }))?;
    let no_kid_old = token(&alice());
    send(layer().with_resolver(ring.clone()), bearer(&no_kid_new)?)
        .await
        .invalid_token(K::UnknownKey);
    let with_default = layer().with_resolver(ring.with_default_kid("2024-06")?);
    send(with_default.clone(), bearer(&no_kid_new)?)
        .await
        .accepted("bob");
    send(with_default, bearer(&no_kid_old)?)
        .await
        .invalid_token(K::InvalidSignature);
    Ok(())
}

#[tokio::test]
async fn a_static_key_with_a_kid_refuses_tokens_naming_another() -> Result<(), BoxError> {
    let layer =
        JwtAuthLayer::<MyClaims>::new(VerifyingKey::hs256(SECRET)?.with_kid("k1")?).validation(validation());
    send(layer.clone(), bearer(&signer().with_kid("k1")?.sign(&alice())?)?)
        .await
        .accepted("alice");
    send(layer.clone(), bearer(&token(&alice()))?)
        .await
        .accepted("alice");
    send(layer, bearer(&signer().with_kid("k2")?.sign(&alice())?)?)
        .await
        .invalid_token(K::UnknownKey);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Optional mode
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn optional_mode_lets_requests_without_a_token_through_without_claims() -> Result<(), BoxError> {
    let outcome = send(layer().optional(), no_token()).await;
    outcome.accepted(ANONYMOUS);
    send(
        layer().optional(),
        with_authorization("Basic YWxhZGRpbjpvcGVuc2VzYW1l")?,
    )
    .await
    .accepted(ANONYMOUS);
    send(layer().optional(), bearer(&token(&alice()))?)
        .await
        .accepted("alice");
    Ok(())
}

#[tokio::test]
async fn optional_mode_still_refuses_a_bad_token_with_401() -> Result<(), BoxError> {
    let forged = SigningKey::hs256(ATTACKER)?.sign(&alice())?;
    send(layer().optional(), bearer(&forged)?)
        .await
        .invalid_token(K::InvalidSignature);
    let expired = token(&json!({ "sub": "alice", "exp": NOW - 3600 }));
    send(layer().optional(), bearer(&expired)?)
        .await
        .invalid_token(K::Expired);
    Ok(())
}

#[tokio::test]
async fn optional_mode_still_refuses_a_malformed_request_with_400() -> Result<(), BoxError> {
    send(layer().optional(), with_authorization("Bearer a b")?)
        .await
        .refused(StatusCode::BAD_REQUEST, Some(INVALID_REQUEST), K::InvalidRequest);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Token sources
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_cookie_source_reads_the_named_cookie() -> Result<(), BoxError> {
    let layer = layer().token_source(TokenSource::cookie("access_token")?);
    let token = token(&alice());
    let req = request()
        .header(COOKIE, format!("theme=dark; access_token={token}; lang=en"))
        .body(String::new())?;
    send(layer.clone(), req).await.accepted("alice");
    // A cookie-only source ignores the Authorization header.
    send(layer.clone(), bearer(&token)?).await.refused(
        StatusCode::UNAUTHORIZED,
        Some("Bearer"),
        K::MissingToken,
    );
    // Another cookie is no token.
    let req = request()
        .header(COOKIE, format!("other_token={token}"))
        .body(String::new())?;
    send(layer.clone(), req)
        .await
        .refused(StatusCode::UNAUTHORIZED, Some("Bearer"), K::MissingToken);
    // A bad token in the cookie is refused like one in the header.
    let req = request()
        .header(COOKIE, "access_token=garbage")
        .body(String::new())?;
    send(layer, req).await.invalid_token(K::Malformed);
    Ok(())
}

#[tokio::test]
async fn bearer_or_cookie_accepts_either_source() -> Result<(), BoxError> {
    let layer = layer().token_source(TokenSource::bearer().or_cookie("access_token")?);
    let token = token(&alice());
    send(layer.clone(), bearer(&token)?).await.accepted("alice");
    let req = request()
        .header(COOKIE, format!("access_token={token}"))
        .body(String::new())?;
    send(layer, req).await.accepted("alice");
    Ok(())
}

#[tokio::test]
async fn a_custom_header_source_reads_the_bare_token() -> Result<(), BoxError> {
    let layer = layer().token_source(TokenSource::header("x-token")?);
    let token = token(&alice());
    let req = request().header("x-token", &token).body(String::new())?;
    send(layer.clone(), req).await.accepted("alice");
    send(layer.clone(), bearer(&token)?).await.refused(
        StatusCode::UNAUTHORIZED,
        Some("Bearer"),
        K::MissingToken,
    );
    let twice = request()
        .header("x-token", &token)
        .header("x-token", &token)
        .body(String::new())?;
    send(layer, twice)
        .await
        .refused(StatusCode::BAD_REQUEST, Some(INVALID_REQUEST), K::InvalidRequest);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Rejection hook
// ---------------------------------------------------------------------------------------------

/// A hook that tries to change everything: status, challenge, and the body.
fn json_hook(error: &AuthError) -> Res {
    let body = json!({ "error": error.kind().error_code(), "error_description": error.description() });
    let mut response = Response::new(body.to_string());
    *response.status_mut() = StatusCode::IM_A_TEAPOT;
    response.headers_mut().insert(
        WWW_AUTHENTICATE,
        http::HeaderValue::from_static("Basic realm=\"hijacked\""),
    );
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

#[tokio::test]
async fn a_rejection_hook_sets_the_body_but_keeps_status_and_challenge() -> Result<(), BoxError> {
    let layer = layer().with_rejection(|e: &AuthError| -> Res { json_hook(e) });
    let expired = token(&json!({ "sub": "alice", "exp": NOW - 3600 }));
    let outcome = send(layer.clone(), bearer(&expired)?).await;
    outcome.invalid_token(K::Expired);
    let body: Value = serde_json::from_str(&outcome.body)?;
    assert_eq!(
        body,
        json!({ "error": "invalid_token", "error_description": "token expired" })
    );

    let outcome = send(layer.clone(), no_token()).await;
    outcome.refused(StatusCode::UNAUTHORIZED, Some("Bearer"), K::MissingToken);
    let body: Value = serde_json::from_str(&outcome.body)?;
    assert_eq!(body["error_description"], "no token");

    // The hook's challenge is removed on 503 too.
    let unavailable = layer.with_resolver(SlowResolver::new(Err(KeyError::unavailable())));
    let outcome = send(unavailable, bearer(&token(&alice()))?).await;
    outcome.refused(StatusCode::SERVICE_UNAVAILABLE, None, K::KeyUnavailable);
    let body: Value = serde_json::from_str(&outcome.body)?;
    assert_eq!(body["error_description"], "key source unavailable");
    Ok(())
}

#[tokio::test]
async fn a_rejection_hook_is_not_used_for_accepted_requests() -> Result<(), BoxError> {
    let hooked = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hooked);
    let layer = layer().with_rejection(move |e: &AuthError| -> Res {
        counter.fetch_add(1, Ordering::SeqCst);
        json_hook(e)
    });
    send(layer.clone(), bearer(&token(&alice()))?)
        .await
        .accepted("alice");
    assert_eq!(hooked.load(Ordering::SeqCst), 0);
    send(layer, no_token())
        .await
        .refused(StatusCode::UNAUTHORIZED, Some("Bearer"), K::MissingToken);
    assert_eq!(hooked.load(Ordering::SeqCst), 1);
    Ok(())
}

#[tokio::test]
async fn a_require_claims_rejection_hook_keeps_403_and_its_challenge() -> Result<(), BoxError> {
    let stack = ServiceBuilder::new()
        .layer(layer())
        .layer(
            RequireClaimsLayer::scopes(["orders:write"], |c: &MyClaims| &c.scope)?
                .with_rejection(|e: &AuthError| -> Res { json_hook(e) }),
        )
        .into_inner();
    let reader = token(&json!({ "sub": "alice", "scope": "orders:read", "exp": LATER }));
    let outcome = send(stack, bearer(&reader)?).await;
    outcome.refused(
        StatusCode::FORBIDDEN,
        Some("Bearer error=\"insufficient_scope\", scope=\"orders:write\""),
        K::InsufficientScope,
    );
    let body: Value = serde_json::from_str(&outcome.body)?;
    assert_eq!(body["error"], "insufficient_scope");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The tower contract: readiness and errors of the inner service
// ---------------------------------------------------------------------------------------------

/// Not ready on the first `poll_ready` (waking the task), ready afterwards; or failing.
#[derive(Clone)]
struct SlowToStart {
    polls: Arc<AtomicUsize>,
    fail: bool,
}

impl Service<Req> for SlowToStart {
    type Response = Res;
    type Error = std::io::Error;
    type Future = std::future::Ready<Result<Res, std::io::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        if self.fail {
            return Poll::Ready(Err(std::io::Error::other("not starting")));
        }
        if self.polls.fetch_add(1, Ordering::SeqCst) == 0 {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Req) -> Self::Future {
        std::future::ready(Ok(Response::new("called".to_owned())))
    }
}

#[tokio::test]
async fn poll_ready_is_forwarded_to_the_inner_service() -> Result<(), BoxError> {
    let polls = Arc::new(AtomicUsize::new(0));
    let mut service = layer().layer(SlowToStart {
        polls: Arc::clone(&polls),
        fail: false,
    });
    let first = poll_fn(|cx| Poll::Ready(service.poll_ready(cx).is_pending())).await;
    assert!(first, "the first poll_ready of the inner service is Pending");
    service.ready().await?;
    assert_eq!(polls.load(Ordering::SeqCst), 2);
    let response = service.call(bearer(&token(&alice()))?).await?;
    assert_eq!(response.into_body(), "called");
    Ok(())
}

#[tokio::test]
async fn a_poll_ready_error_of_the_inner_service_passes_through() {
    let mut service = layer().layer(SlowToStart {
        polls: Arc::new(AtomicUsize::new(0)),
        fail: true,
    });
    let err = service.ready().await.err().expect("the inner error");
    assert_eq!(err.to_string(), "not starting");
}

#[tokio::test]
async fn an_error_of_the_inner_service_passes_through_unchanged() -> Result<(), BoxError> {
    let failing = service_fn(|_: Req| async { Err::<Res, _>(std::io::Error::other("boom")) });
    let service = layer().layer(failing);
    // `Error = S::Error`: an io::Error, not a boxed one.
    let err: std::io::Error = service
        .clone()
        .oneshot(bearer(&token(&alice()))?)
        .await
        .expect_err("the inner error");
    assert_eq!(err.to_string(), "boom");
    // Rejections are responses, never errors.
    let response = service.oneshot(no_token()).await?;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // The async path passes the error through too.
    let failing = service_fn(|_: Req| async { Err::<Res, _>(std::io::Error::other("boom")) });
    let slow = layer()
        .with_resolver(SlowResolver::new(Ok(VerifyingKey::hs256(SECRET)?)))
        .layer(failing);
    let err = slow
        .oneshot(bearer(&token(&alice()))?)
        .await
        .expect_err("the inner error");
    assert_eq!(err.to_string(), "boom");
    Ok(())
}

#[test]
fn layers_and_services_are_clone_send_sync_and_debug() {
    fn assert_traits<T: Clone + Send + Sync + std::fmt::Debug + 'static>(_: &T) {}
    let layer = layer();
    assert_traits(&layer);
    let calls = Arc::new(AtomicUsize::new(0));
    let service = layer.layer(echo(&calls));
    fn assert_service<T: Clone + Send + Sync + 'static>(_: &T) {}
    assert_service(&service);
    let shown = format!("{layer:?}");
    assert!(shown.contains("JwtAuthLayer"), "{shown}");
    assert!(!shown.contains("the-32-byte-secret"), "{shown}");
}
