//! The response futures of the middleware: [`ResponseFuture`] of [`JwtAuth`](crate::JwtAuth),
//! [`RequireClaimsFuture`] of [`RequireClaims`](crate::RequireClaims). Their states are private;
//! you never build one, and rarely name one.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use http::{Request, Response};
use pin_project_lite::pin_project;
use serde::de::DeserializeOwned;
use tower_service::Service;

use crate::config::Shared;
pub use crate::either::EitherFuture;
use crate::rejection::is_grpc;
use crate::{Claims, KeyResolver, RejectionResponse};

pin_project! {
    /// Response future of [`JwtAuth`](crate::JwtAuth).
    ///
    /// A verified or refused request is decided in `call`, and this future only forwards the
    /// inner service's or holds the refusal. A resolver that has to wait (an asynchronous key
    /// look-up) drives a small state machine instead: the key's future, then the inner service's
    /// — no boxed future, and no `Send` or `'static` bound on the services or bodies of users
    /// whose keys are always ready. What a waiting request keeps (the request itself, the
    /// service) is boxed, on that rare path only, so that the common future is hardly larger
    /// than the inner service's: it is moved several times on its way to the executor.
    pub struct ResponseFuture<S, ReqBody, T, K, R>
    where
        S: Service<Request<ReqBody>>,
        K: KeyResolver,
    {
        #[pin]
        state: State<S, ReqBody, T, K, R>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, ReqBody, T, K, R>
    where
        S: Service<Request<ReqBody>>,
        K: KeyResolver,
    {
        Inner { #[pin] future: S::Future },
        Rejected { response: Option<S::Response> },
        Resolving { #[pin] key: K::Future, waiting: Option<Box<Waiting<S, ReqBody, T, K, R>>> },
    }
}

/// What a request waiting for its key keeps: the service made ready for it, the request, the
/// token (owned: the request's headers cannot be borrowed across the wait) and the
/// configuration.
struct Waiting<S, ReqBody, T, K, R> {
    service: S,
    request: Request<ReqBody>,
    token: Box<str>,
    shared: Arc<Shared<K, R>>,
    _claims: PhantomData<fn() -> T>,
}

impl<S, ReqBody, T, K, R> ResponseFuture<S, ReqBody, T, K, R>
where
    S: Service<Request<ReqBody>>,
    K: KeyResolver,
{
    pub(crate) fn inner(future: S::Future) -> Self {
        Self {
            state: State::Inner { future },
        }
    }

    pub(crate) fn rejected(response: S::Response) -> Self {
        Self {
            state: State::Rejected {
                response: Some(response),
            },
        }
    }

    /// Waits for `key`, then verifies `token` with it and calls `service` (already ready) with
    /// `request`, or refuses.
    pub(crate) fn resolving(
        key: K::Future,
        service: S,
        request: Request<ReqBody>,
        token: Box<str>,
        shared: Arc<Shared<K, R>>,
    ) -> Self {
        Self {
            state: State::Resolving {
                key,
                waiting: Some(Box::new(Waiting {
                    service,
                    request,
                    token,
                    shared,
                    _claims: PhantomData,
                })),
            },
        }
    }
}

impl<S, ReqBody, T, K, R> fmt::Debug for ResponseFuture<S, ReqBody, T, K, R>
where
    S: Service<Request<ReqBody>>,
    K: KeyResolver,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody, T, K, R> Future for ResponseFuture<S, ReqBody, T, K, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    T: DeserializeOwned + Clone + Send + Sync + 'static,
    K: KeyResolver,
    R: RejectionResponse<ResBody>,
{
    type Output = Result<Response<ResBody>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Inner { future } => return future.poll(cx),
                StateProj::Rejected { response } => return Poll::Ready(Ok(take(response))),
                StateProj::Resolving { key, waiting } => {
                    let key = ready!(key.poll(cx));
                    let Waiting {
                        mut service,
                        mut request,
                        token,
                        shared,
                        ..
                    } = *take(waiting);
                    let verified = match key {
                        Ok(key) => shared.config.validation.verify_with_key::<T>(&token, &key),
                        Err(error) => Err(error.into()),
                    };
                    match verified {
                        Ok(claims) => {
                            request.extensions_mut().insert(Claims(claims));
                            let future = service.call(request);
                            this.state.set(State::Inner { future });
                        }
                        Err(error) => {
                            // Done: a poll after this finds no key future to poll again.
                            this.state.set(State::Rejected { response: None });
                            return Poll::Ready(Ok(shared.reject(error, is_grpc(&request))));
                        }
                    }
                }
            }
        }
    }
}

/// Takes what a state holds until it completes.
fn take<V>(slot: &mut Option<V>) -> V {
    // The one allowed panic: polling a future after it completed breaks the Future contract,
    // and no request data can cause it.
    #[allow(clippy::expect_used)]
    slot.take().expect("future polled after completion")
}

pin_project! {
    /// Response future of [`RequireClaims`](crate::RequireClaims): the inner service's, or the
    /// refusal decided in `call`.
    pub struct RequireClaimsFuture<F, B> {
        #[pin]
        kind: Kind<F, B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, B> {
        Inner { #[pin] future: F },
        Rejected { response: Option<Response<B>> },
    }
}

impl<F, B> RequireClaimsFuture<F, B> {
    pub(crate) fn inner(future: F) -> Self {
        Self {
            kind: Kind::Inner { future },
        }
    }

    pub(crate) fn rejected(response: Response<B>) -> Self {
        Self {
            kind: Kind::Rejected {
                response: Some(response),
            },
        }
    }
}

impl<F, B> fmt::Debug for RequireClaimsFuture<F, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireClaimsFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> Future for RequireClaimsFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner { future } => future.poll(cx),
            KindProj::Rejected { response } => Poll::Ready(Ok(take(response))),
        }
    }
}
