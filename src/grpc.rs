//! tonic: the verified claims in a gRPC handler in one line, and [`AuthError`] as a
//! [`tonic::Status`].
//!
//! The layer needs nothing of this module to protect a tonic server: it answers gRPC requests
//! with gRPC statuses by itself (see [`JwtAuthLayer`](crate::JwtAuthLayer)). This module is
//! what handlers use:
//!
//! ```
//! use tonic::{Request, Response, Status};
//! use tower_jwt_auth::grpc::RequestClaims;
//!
//! #[derive(Clone, serde::Deserialize)]
//! struct MyClaims { sub: String }
//!
//! async fn whoami(request: Request<()>) -> Result<Response<String>, Status> {
//!     let claims = request.claims::<MyClaims>()?;
//!     Ok(Response::new(claims.sub.clone()))
//! }
//! # let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
//! # let answer = runtime.block_on(whoami(Request::new(()))).unwrap_err();
//! # assert_eq!(answer.code(), tonic::Code::Unauthenticated);
//! # assert_eq!(answer.message(), "no token");
//! ```

use crate::{AuthError, AuthErrorKind, Claims};

/// Reads the [`Claims<T>`] that [`JwtAuthLayer`](crate::JwtAuthLayer) put in a request's
/// extensions (tonic carries the HTTP request's extensions into `tonic::Request`).
pub trait RequestClaims {
    /// The verified claims, or `UNAUTHENTICATED` ("no token") when there are none: the layer
    /// is missing, runs in optional mode and found no token, or verifies another claims type.
    ///
    /// # Errors
    /// [`tonic::Status`] with code `Unauthenticated` when the request carries no `Claims<T>`.
    fn claims<T: Send + Sync + 'static>(&self) -> Result<&T, tonic::Status>;
}

impl<M> RequestClaims for tonic::Request<M> {
    fn claims<T: Send + Sync + 'static>(&self) -> Result<&T, tonic::Status> {
        self.extensions()
            .get::<Claims<T>>()
            .map(|Claims(claims)| claims)
            .ok_or_else(|| AuthError::new(AuthErrorKind::MissingToken).into())
    }
}

/// The status a gRPC client is answered with for `error`: the code of
/// [`AuthErrorKind::grpc_status`] and the fixed [`description`](AuthError::description), as the
/// layer answers (for a handler or an interceptor that verifies a token itself).
///
/// ```
/// use tower_jwt_auth::{AuthError, AuthErrorKind};
///
/// let status = tonic::Status::from(AuthError::new(AuthErrorKind::Expired));
/// assert_eq!(status.code(), tonic::Code::Unauthenticated);
/// assert_eq!(status.message(), "token expired");
/// ```
impl From<AuthError> for tonic::Status {
    fn from(error: AuthError) -> Self {
        Self::new(tonic::Code::from(error.kind().grpc_status()), error.description())
    }
}
