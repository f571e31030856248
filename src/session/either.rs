//! [`Either`] of two stores is a store: the store chosen at run time (memory or Redis, from the
//! configuration) with no forwarding enum to write and no boxing.

use std::future::Future;

use super::{RotateRequest, Rotation, SessionRecord, SessionStore, StoreError};
use crate::either::EitherFuture;
use crate::{Either, Revocations};

/// The store chosen at run time: every call goes to the side in use, and its futures are that
/// side's (in an [`EitherFuture`], not a box).
///
/// ```
/// # tokio_test_block_on(async {
/// use std::sync::Arc;
/// use tower_jwt_auth::session::{MemoryStore, SessionOptions, Sessions};
/// use tower_jwt_auth::Either;
///
/// // Say, a store of its own, or one shared with another part of the program.
/// let shared = Arc::new(MemoryStore::new());
/// let store = if std::env::var("SHARE_SESSIONS").is_ok() {
///     Either::Right(Arc::clone(&shared))
/// } else {
///     Either::Left(MemoryStore::new())
/// };
/// let sessions = Sessions::new(b"a refresh-token secret of at least 32 bytes", store, SessionOptions::default())?;
/// let issued = sessions.issue("alice", serde_json::Map::new()).await?;
/// assert!(sessions.revoke(&issued.session.sid).await?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
impl<A: SessionStore, B: SessionStore> SessionStore for Either<A, B> {
    fn create(
        &self,
        record: SessionRecord,
        revoke_until: f64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        match self {
            Self::Left(a) => EitherFuture::left(a.create(record, revoke_until)),
            Self::Right(b) => EitherFuture::right(b.create(record, revoke_until)),
        }
    }

    fn rotate(
        &self,
        request: RotateRequest<'_>,
    ) -> impl Future<Output = Result<Rotation, StoreError>> + Send {
        match self {
            Self::Left(a) => EitherFuture::left(a.rotate(request)),
            Self::Right(b) => EitherFuture::right(b.rotate(request)),
        }
    }

    fn revoke(&self, sid: &str, until: f64) -> impl Future<Output = Result<bool, StoreError>> + Send {
        match self {
            Self::Left(a) => EitherFuture::left(a.revoke(sid, until)),
            Self::Right(b) => EitherFuture::right(b.revoke(sid, until)),
        }
    }

    fn revoke_subject(
        &self,
        sub: &str,
        cutoff: f64,
        until: f64,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send {
        match self {
            Self::Left(a) => EitherFuture::left(a.revoke_subject(sub, cutoff, until)),
            Self::Right(b) => EitherFuture::right(b.revoke_subject(sub, cutoff, until)),
        }
    }

    fn revoke_token(
        &self,
        sub: Option<&str>,
        jti: &str,
        exp: f64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        match self {
            Self::Left(a) => EitherFuture::left(a.revoke_token(sub, jti, exp)),
            Self::Right(b) => EitherFuture::right(b.revoke_token(sub, jti, exp)),
        }
    }

    fn revocations(&self) -> &Revocations {
        match self {
            Self::Left(a) => a.revocations(),
            Self::Right(b) => b.revocations(),
        }
    }
}
