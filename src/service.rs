//! [`JwtAuth`]: the authentication middleware service.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use serde::de::DeserializeOwned;
use tower_service::Service;

use crate::config::Shared;
use crate::future::ResponseFuture;
use crate::rejection::is_grpc;
use crate::source::refusal;
use crate::validation::Verification;
use crate::{
    AuthError, AuthErrorKind, Claims, DefaultRejection, JwtAuthLayer, KeyResolver, RejectionResponse,
    VerifyingKey,
};

/// Middleware that authenticates requests with JSON Web Tokens.
///
/// See [`JwtAuthLayer`] for the behaviour and an example.
#[must_use]
pub struct JwtAuth<S, T, K = VerifyingKey, R = DefaultRejection> {
    inner: S,
    shared: Arc<Shared<K, R>>,
    _claims: PhantomData<fn() -> T>,
}

impl<S: Clone, T, K, R> Clone for JwtAuth<S, T, K, R> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            shared: Arc::clone(&self.shared),
            _claims: PhantomData,
        }
    }
}

impl<S: fmt::Debug, T, K, R> fmt::Debug for JwtAuth<S, T, K, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuth")
            .field("inner", &self.inner)
            .field("validation", &self.shared.config.validation)
            .field("source", &self.shared.config.source)
            .field("optional", &self.shared.config.optional)
            .finish_non_exhaustive()
    }
}

impl<S, T> JwtAuth<S, T> {
    /// A layer verifying tokens with keys from `resolver`; see [`JwtAuthLayer::new`].
    pub fn layer<K: KeyResolver>(resolver: K) -> JwtAuthLayer<T, K> {
        JwtAuthLayer::new(resolver)
    }
}

impl<S, T, K, R> JwtAuth<S, T, K, R> {
    pub(crate) fn from_parts(inner: S, shared: Arc<Shared<K, R>>) -> Self {
        Self {
            inner,
            shared,
            _claims: PhantomData,
        }
    }

    define_inner_service_accessors!();
}

impl<S, T, K, R, ReqBody, ResBody> Service<Request<ReqBody>> for JwtAuth<S, T, K, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    T: DeserializeOwned + Clone + Send + Sync + 'static,
    K: KeyResolver,
    R: RejectionResponse<ResBody>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody, T, K, R>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let shared = &*self.shared;
        let config = &shared.config;
        // Each outcome is answered where it is found; the refusals fall through to the end.
        let error = match config.source.find(req.headers()) {
            Err(kind) => AuthError::new(kind),
            Ok(None) if config.optional => return ResponseFuture::inner(self.inner.call(req)),
            Ok(None) => AuthError::new(AuthErrorKind::MissingToken),
            Ok(Some(token)) => match config.validation.verify_with::<T, K>(token, &config.resolver) {
                Verification::Done(Ok(claims)) => {
                    req.extensions_mut().insert(Claims(claims));
                    return ResponseFuture::inner(self.inner.call(req));
                }
                Verification::Done(Err(error)) => AuthError::new(refusal(token, error.kind())),
                Verification::Pending(key) => {
                    let token = Box::from(token);
                    // The inner service is called later, from the future: move the service that
                    // `poll_ready` readied into it and keep a fresh clone here. See
                    // https://docs.rs/tower/latest/tower/trait.Service.html#be-careful-when-cloning-inner-services
                    let clone = self.inner.clone();
                    let ready = std::mem::replace(&mut self.inner, clone);
                    return ResponseFuture::resolving(key, ready, req, token, Arc::clone(&self.shared));
                }
            },
        };
        ResponseFuture::rejected(shared.reject(error, is_grpc(&req)))
    }
}
