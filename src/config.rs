//! What a [`JwtAuth`](crate::JwtAuth) service shares with its clones and its futures: the
//! configuration its [`JwtAuthLayer`](crate::JwtAuthLayer) built.

use std::sync::Arc;

use http::Response;

use crate::rejection::{respond, Challenges};
use crate::{AuthError, RejectionResponse, TokenCheck, TokenSource, Validation};

/// Everything a [`JwtAuth`](crate::JwtAuth) service shares with its clones.
#[derive(Clone)]
pub(crate) struct Config<K> {
    pub(crate) validation: Validation,
    /// Checks added to the layer itself: kept whatever
    /// [`JwtAuthLayer::validation`](crate::JwtAuthLayer::validation) is given.
    pub(crate) pinned: Vec<Arc<dyn TokenCheck>>,
    pub(crate) resolver: K,
    pub(crate) source: TokenSource,
    pub(crate) optional: bool,
    pub(crate) challenges: Challenges,
}

/// What a [`JwtAuthLayer`](crate::JwtAuthLayer) shares with the services it builds: the
/// configuration and the rejection hook behind one pointer, so that the clone axum makes of a
/// route's service for each request, and its drop, count one reference, not two. The hook has a
/// pointer of its own so that the layer's builder can copy the rest without asking `R: Clone`.
pub(crate) struct Shared<K, R> {
    pub(crate) config: Config<K>,
    pub(crate) rejection: Arc<R>,
}

impl<K: Clone, R> Clone for Shared<K, R> {
    fn clone(&self) -> Self {
        Self {
            config: self.config.clone(),
            rejection: Arc::clone(&self.rejection),
        }
    }
}

impl<K, R> Shared<K, R> {
    /// The refusal of `error`: the hook's response with the middleware's status, challenge and
    /// error extension (a gRPC answer to a gRPC call, `grpc`).
    pub(crate) fn reject<B>(&self, error: AuthError, grpc: bool) -> Response<B>
    where
        R: RejectionResponse<B>,
    {
        respond(
            &*self.rejection,
            error,
            self.config.challenges.get(error.kind()),
            grpc,
        )
    }
}
