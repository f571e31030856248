//! [`Either`]: one of two implementations, chosen at run time.
//!
//! A server that picks its key source or its session store from its configuration (a secret or
//! a remote key set, memory or Redis) holds `Either<A, B>`, which is a
//! [`KeyResolver`](crate::KeyResolver) when both sides are, and a
//! [`SessionStore`](crate::session::SessionStore) when both sides are (feature `sessions`). No
//! forwarding enum to write, no boxing.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

/// One of two values: the left or the right implementation of the same trait.
///
/// ```
/// use tower_jwt_auth::{Either, JwtAuthLayer, KeyRing, VerifyingKey};
///
/// #[derive(Clone, serde::Deserialize)]
/// struct MyClaims { sub: String }
///
/// let rotating = std::env::var("KEY_RING").is_ok();
/// let keys = if rotating {
///     Either::Right(KeyRing::new([VerifyingKey::hs256([2u8; 32])?.with_kid("2026-12")?])?)
/// } else {
///     Either::Left(VerifyingKey::hs256([1u8; 32])?)
/// };
/// let auth = JwtAuthLayer::<MyClaims>::new(keys);
/// # let _ = auth;
/// # Ok::<(), tower_jwt_auth::ConfigError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Either<A, B> {
    /// The first choice.
    Left(A),
    /// The second choice.
    Right(B),
}

pin_project! {
    /// The future of an [`Either`]: the future of whichever side was chosen.
    #[derive(Debug)]
    pub struct EitherFuture<A, B> {
        #[pin]
        inner: Inner<A, B>,
    }
}

pin_project! {
    #[project = InnerProj]
    #[derive(Debug)]
    enum Inner<A, B> {
        Left { #[pin] future: A },
        Right { #[pin] future: B },
    }
}

impl<A, B> EitherFuture<A, B> {
    pub(crate) fn left(future: A) -> Self {
        Self {
            inner: Inner::Left { future },
        }
    }

    pub(crate) fn right(future: B) -> Self {
        Self {
            inner: Inner::Right { future },
        }
    }
}

impl<A, B> Future for EitherFuture<A, B>
where
    A: Future,
    B: Future<Output = A::Output>,
{
    type Output = A::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().inner.project() {
            InnerProj::Left { future } => future.poll(cx),
            InnerProj::Right { future } => future.poll(cx),
        }
    }
}
