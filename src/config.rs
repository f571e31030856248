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

impl<K> Config<K> {
    /// The refusal of `error`: the hook's response with the middleware's status, challenge and
    /// error extension (a gRPC answer to a gRPC call, `grpc`).
    pub(crate) fn reject<B, R: RejectionResponse<B> + ?Sized>(
        &self,
        hook: &R,
        error: AuthError,
        grpc: bool,
    ) -> Response<B> {
        respond(hook, error, self.challenges.get(error.kind()), grpc)
    }
}
