//! The axum extractor for [`Claims<T>`] (feature `axum`).

use std::convert::Infallible;
use std::fmt;

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;
use http::StatusCode;

use crate::Claims;

impl<S, T> FromRequestParts<S> for Claims<T>
where
    S: Send + Sync,
    T: Clone + Send + Sync + 'static,
{
    type Rejection = MissingClaims;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Self>().cloned().ok_or(MissingClaims {
            type_name: std::any::type_name::<T>(),
        })
    }
}

impl<S, T> OptionalFromRequestParts<S> for Claims<T>
where
    S: Send + Sync,
    T: Clone + Send + Sync + 'static,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Self>().cloned())
    }
}

/// The [`Claims<T>`] extractor found no claims: the route is not behind
/// [`JwtAuthLayer`](crate::JwtAuthLayer) (or it is optional and the handler should take
/// `Option<Claims<T>>`). A wiring bug, answered with 500 like axum's `Extension`.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct MissingClaims {
    type_name: &'static str,
}

impl MissingClaims {
    /// 500 Internal Server Error.
    #[must_use]
    pub const fn status(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }
}

impl fmt::Display for MissingClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "missing request extension `Claims<{}>`: is `JwtAuthLayer` applied to this route?",
            self.type_name
        )
    }
}

impl std::error::Error for MissingClaims {}

impl IntoResponse for MissingClaims {
    fn into_response(self) -> Response {
        (self.status(), self.to_string()).into_response()
    }
}
