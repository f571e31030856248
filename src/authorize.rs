//! Per-route authorization: [`RequireClaimsLayer`] answers 403 when verified claims lack what a
//! route needs.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{HeaderValue, Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use crate::future::RequireClaimsFuture;
use crate::rejection::{challenge, check_quoted, check_resource_metadata, is_grpc, respond};
use crate::{AuthError, AuthErrorKind, Claims, ConfigError, DefaultRejection, RejectionResponse, Scopes};

/// Requires the verified [`Claims<T>`] of a request to satisfy a predicate.
///
/// Apply it with `route_layer` **inside** (after) [`JwtAuthLayer`](crate::JwtAuthLayer):
///
/// | situation | status | `WWW-Authenticate` |
/// | --- | --- | --- |
/// | no claims (auth layer missing, or optional mode without a token) | 401 | `Bearer` |
/// | predicate false | 403 | `Bearer error="insufficient_scope"` (+ `scope="..."` for [`scopes`](Self::scopes)) |
///
/// [`realm`](Self::realm) and [`resource_metadata`](Self::resource_metadata) add their
/// parameters to both, as they do for [`JwtAuthLayer`](crate::JwtAuthLayer).
///
/// A gRPC request is refused with a gRPC status instead (`PERMISSION_DENIED` for 403,
/// `UNAUTHENTICATED` for 401), as [`JwtAuthLayer`](crate::JwtAuthLayer) does.
///
/// ```
/// use axum::{routing::get, Router};
/// use tower_jwt_auth::{JwtAuthLayer, RequireClaimsLayer, Scopes};
///
/// #[derive(Clone, serde::Deserialize)]
/// struct MyClaims { sub: String, role: String, #[serde(default)] scope: Scopes }
///
/// let app: Router = Router::new()
///     .route("/admin", get(|| async { "hello, admin" }))
///     .route_layer(RequireClaimsLayer::equals(|c: &MyClaims| c.role.as_str(), "admin"))
///     .route("/orders", get(|| async { "orders" }))
///     .route_layer(RequireClaimsLayer::scopes(["orders:read"], |c: &MyClaims| &c.scope)?)
///     .route_layer(JwtAuthLayer::<MyClaims>::hs256(b"a secret of at least thirty-two bytes!")?);
/// # Ok::<(), tower_jwt_auth::ConfigError>(())
/// ```
#[must_use]
pub struct RequireClaimsLayer<T, P, R = DefaultRejection> {
    shared: Arc<Shared<P>>,
    rejection: Arc<R>,
    _claims: PhantomData<fn() -> T>,
}

struct Shared<P> {
    predicate: P,
    scope: Option<Box<str>>,
    realm: Option<Box<str>>,
    resource_metadata: Option<Box<str>>,
    forbidden: Option<HeaderValue>,
    unauthorized: Option<HeaderValue>,
}

impl<P> Shared<P> {
    /// Computes the two challenges again from the scope, realm and resource metadata URL.
    fn rebuild(&mut self) {
        let realm = self.realm.as_deref();
        let url = self.resource_metadata.as_deref();
        self.forbidden = challenge(
            realm,
            AuthErrorKind::InsufficientScope,
            self.scope.as_deref(),
            url,
        );
        self.unauthorized = challenge(realm, AuthErrorKind::MissingToken, None, url);
    }
}

impl<T, P, R> Clone for RequireClaimsLayer<T, P, R> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            rejection: Arc::clone(&self.rejection),
            _claims: PhantomData,
        }
    }
}

impl<T, P, R> fmt::Debug for RequireClaimsLayer<T, P, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireClaimsLayer")
            .field("predicate", &"<fn>")
            .field("challenge", &self.shared.forbidden)
            .finish_non_exhaustive()
    }
}

impl<T, P> RequireClaimsLayer<T, P>
where
    P: Fn(&T) -> bool,
{
    /// Requires `predicate` to hold for the claims.
    pub fn new(predicate: P) -> Self {
        Self::build(predicate, None)
    }

    fn build(predicate: P, scope: Option<&str>) -> Self {
        let mut shared = Shared {
            predicate,
            scope: scope.map(Into::into),
            realm: None,
            resource_metadata: None,
            forbidden: None,
            unauthorized: None,
        };
        shared.rebuild();
        Self {
            shared: Arc::new(shared),
            rejection: Arc::new(DefaultRejection),
            _claims: PhantomData,
        }
    }
}

impl<T> RequireClaimsLayer<T, ()> {
    /// Requires the string claim read by `get` to equal `value` (e.g. `role == "admin"`).
    pub fn equals<G>(get: G, value: impl Into<String>) -> RequireClaimsLayer<T, impl Fn(&T) -> bool>
    where
        G: for<'a> Fn(&'a T) -> &'a str,
    {
        let value: String = value.into();
        RequireClaimsLayer::new(move |claims: &T| get(claims) == value)
    }

    /// Requires the list claim read by `get` to contain `value` (e.g. `"admin"` in `roles`).
    pub fn contains<G>(get: G, value: impl Into<String>) -> RequireClaimsLayer<T, impl Fn(&T) -> bool>
    where
        G: for<'a> Fn(&'a T) -> &'a [String],
    {
        let value: String = value.into();
        RequireClaimsLayer::new(move |claims: &T| get(claims).contains(&value))
    }

    /// Requires every scope of `required` in the claims' [`Scopes`] (RFC 9068 `scope`, or an
    /// `scp` array); the 403 challenge names them in `scope="..."`.
    ///
    /// # Errors
    /// [`ConfigError::InvalidHeaderValue`] for a scope that cannot be sent in the challenge
    /// (RFC 6749 §3.3 allows printable ASCII except space, `"` and `\`).
    pub fn scopes<G, I>(
        required: I,
        get: G,
    ) -> Result<RequireClaimsLayer<T, impl Fn(&T) -> bool>, ConfigError>
    where
        I: IntoIterator,
        I::Item: Into<String>,
        G: for<'a> Fn(&'a T) -> &'a Scopes,
    {
        let required: Vec<String> = required.into_iter().map(Into::into).collect();
        for scope in &required {
            if scope.is_empty() || scope.contains(' ') {
                return Err(ConfigError::InvalidHeaderValue("scope"));
            }
            check_quoted("scope", scope)?;
        }
        let joined = required.join(" ");
        let predicate = move |claims: &T| {
            let granted = get(claims);
            required.iter().all(|s| granted.contains(s))
        };
        Ok(RequireClaimsLayer::build(predicate, Some(&joined)))
    }
}

impl<T, P, R> RequireClaimsLayer<T, P, R> {
    /// The `realm` of the `WWW-Authenticate` challenges (use the same as the
    /// [`JwtAuthLayer`](crate::JwtAuthLayer)'s). Default: none. Keeps the
    /// [`resource_metadata`](Self::resource_metadata) set before (and is kept by one set after).
    ///
    /// # Errors
    /// [`ConfigError::InvalidHeaderValue`] for characters that cannot be sent in a quoted string.
    ///
    /// Configure the layer before cloning it: on a clone this fails with
    /// [`ConfigError::OutOfRange`].
    pub fn realm(mut self, realm: &str) -> Result<Self, ConfigError> {
        check_quoted("realm", realm)?;
        let shared = Arc::get_mut(&mut self.shared).ok_or(ConfigError::OutOfRange("realm after clone"))?;
        shared.realm = Some(realm.into());
        shared.rebuild();
        Ok(self)
    }

    /// The RFC 9728 `resource_metadata` URL at the end of both challenges, 401 (no claims) and
    /// 403 (after `scope`); use the same as the
    /// [`JwtAuthLayer::resource_metadata`](crate::JwtAuthLayer::resource_metadata)'s. Default:
    /// none. Keeps the [`realm`](Self::realm) set before (and is kept by one set after).
    ///
    /// ```
    /// use tower_jwt_auth::{ProtectedResourceMetadata, RequireClaimsLayer, Scopes};
    ///
    /// #[derive(Clone, serde::Deserialize)]
    /// struct MyClaims { #[serde(default)] scope: Scopes }
    ///
    /// let metadata: ProtectedResourceMetadata = ProtectedResourceMetadata::new("https://api.example.com")?
    ///     .scopes_supported(["orders:read"])?;
    /// let orders = RequireClaimsLayer::scopes(["orders:read"], |c: &MyClaims| &c.scope)?
    ///     .resource_metadata(metadata.url())?;
    /// // A token without the scope is answered:
    /// // 403, WWW-Authenticate: Bearer error="insufficient_scope", scope="orders:read",
    /// //      resource_metadata="https://api.example.com/.well-known/oauth-protected-resource"
    /// # let _ = orders;
    /// # Ok::<(), tower_jwt_auth::ConfigError>(())
    /// ```
    ///
    /// # Errors
    /// [`ConfigError::InvalidUrl`] unless `url` is an absolute `https://` URL (`http://` on
    /// loopback) without fragment, made of RFC 3986 characters.
    ///
    /// Configure the layer before cloning it: on a clone this fails with
    /// [`ConfigError::OutOfRange`].
    pub fn resource_metadata(mut self, url: &str) -> Result<Self, ConfigError> {
        check_resource_metadata(url)?;
        let shared =
            Arc::get_mut(&mut self.shared).ok_or(ConfigError::OutOfRange("resource_metadata after clone"))?;
        shared.resource_metadata = Some(url.into());
        shared.rebuild();
        Ok(self)
    }

    /// Builds rejection responses with `rejection`; see [`JwtAuthLayer::with_rejection`](crate::JwtAuthLayer::with_rejection).
    pub fn with_rejection<R2>(self, rejection: R2) -> RequireClaimsLayer<T, P, R2> {
        RequireClaimsLayer {
            shared: self.shared,
            rejection: Arc::new(rejection),
            _claims: PhantomData,
        }
    }
}

impl<S, T, P, R> Layer<S> for RequireClaimsLayer<T, P, R> {
    type Service = RequireClaims<S, T, P, R>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireClaims {
            inner,
            shared: Arc::clone(&self.shared),
            rejection: Arc::clone(&self.rejection),
            _claims: PhantomData,
        }
    }
}

/// The service made by [`RequireClaimsLayer`].
#[must_use]
pub struct RequireClaims<S, T, P, R = DefaultRejection> {
    inner: S,
    shared: Arc<Shared<P>>,
    rejection: Arc<R>,
    _claims: PhantomData<fn() -> T>,
}

impl<S: Clone, T, P, R> Clone for RequireClaims<S, T, P, R> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            shared: Arc::clone(&self.shared),
            rejection: Arc::clone(&self.rejection),
            _claims: PhantomData,
        }
    }
}

impl<S: fmt::Debug, T, P, R> fmt::Debug for RequireClaims<S, T, P, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireClaims")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, T, P> RequireClaims<S, T, P>
where
    P: Fn(&T) -> bool,
{
    /// A layer requiring `predicate` of the claims; see [`RequireClaimsLayer::new`].
    pub fn layer(predicate: P) -> RequireClaimsLayer<T, P> {
        RequireClaimsLayer::new(predicate)
    }
}

impl<S, T, P, R> RequireClaims<S, T, P, R> {
    define_inner_service_accessors!();
}

impl<S, T, P, R, ReqBody, ResBody> Service<Request<ReqBody>> for RequireClaims<S, T, P, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    T: Send + Sync + 'static,
    P: Fn(&T) -> bool,
    R: RejectionResponse<ResBody>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = RequireClaimsFuture<S::Future, ResBody>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let (kind, challenge) = match req.extensions().get::<Claims<T>>() {
            Some(Claims(claims)) if (self.shared.predicate)(claims) => {
                return RequireClaimsFuture::inner(self.inner.call(req));
            }
            Some(_) => (AuthErrorKind::InsufficientScope, self.shared.forbidden.as_ref()),
            None => (AuthErrorKind::MissingToken, self.shared.unauthorized.as_ref()),
        };
        RequireClaimsFuture::rejected(respond(
            &*self.rejection,
            AuthError::new(kind),
            challenge,
            is_grpc(&req),
        ))
    }
}
