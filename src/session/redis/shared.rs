//! [`Shared`]: what the store and its mirror task share (the connection, the keys, the scripts,
//! the mirrored list and how current it is), and running a call within the store's timeout.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;
use redis::ScriptInvocation;

use super::keys::Keys;
use super::options::RedisOptions;
use super::scripts::Scripts;
use crate::session::StoreError;
use crate::Revocations;

/// What the store and its mirror task share.
pub(super) struct Shared {
    pub(super) conn: ConnectionManager,
    pub(super) keys: Keys,
    pub(super) scripts: Scripts,
    pub(super) options: RedisOptions,
    pub(super) revocations: Revocations,
    /// When the mirror was last confirmed current, in ms since the store started.
    synced_ms: AtomicU64,
    /// The mirror's sequence number.
    pub(super) seq: AtomicU64,
    started: Instant,
}

impl Shared {
    /// The state of a store just connected, its mirror not yet loaded.
    pub(super) fn new(conn: ConnectionManager, options: RedisOptions) -> Self {
        Self {
            conn,
            keys: Keys::new(&options.prefix),
            scripts: Scripts::new(),
            revocations: Revocations::new(options.cap).per_subject(options.per_subject),
            options,
            synced_ms: AtomicU64::new(0),
            seq: AtomicU64::new(0),
            started: Instant::now(),
        }
    }

    pub(super) fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// How long ago the mirror was last confirmed current.
    pub(super) fn mirror_age(&self) -> Duration {
        let synced = self.synced_ms.load(Ordering::Relaxed);
        Duration::from_millis(self.elapsed_ms().saturating_sub(synced))
    }

    pub(super) fn mark_synced(&self) {
        self.synced_ms.store(self.elapsed_ms(), Ordering::Relaxed);
        self.revocations.set_stale(false);
    }

    /// Runs `f` within the store's timeout; failures are [`StoreError::Unavailable`].
    pub(super) async fn run<T>(
        &self,
        f: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.options.timeout, f).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(unavailable(&e)),
            Err(_) => Err(StoreError::Unavailable("timed out".to_owned())),
        }
    }

    /// Runs a script within the store's timeout. A connection error is tried once more: the
    /// connection manager answers the first request after an outage with the old connection's
    /// error while it reconnects. Every script leaves the same state when run twice (a rotation
    /// that did happen is answered from the grace window, revocations keep the latest values);
    /// the second answer may differ (a repeated reuse answers `revoked`, a repeated "log out
    /// everywhere" counts no session), never in a way that accepts a refused token.
    pub(super) async fn eval<T: redis::FromRedisValue>(
        &self,
        invocation: &ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        let attempt = async {
            let mut conn = self.conn.clone();
            match invocation.invoke_async(&mut conn).await {
                Err(e) if e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    invocation.invoke_async(&mut conn).await
                }
                other => other,
            }
        };
        self.run(attempt).await
    }
}

pub(super) fn unavailable(e: &redis::RedisError) -> StoreError {
    StoreError::Unavailable(e.to_string())
}
