//! Serving connections: an accept loop on hyper's HTTP/1 server with the limits `axum::serve`
//! leaves out, and a bounded graceful shutdown.
//!
//! `axum::serve` gives hyper no timer, so hyper's header-read timeout is off: a client that sends
//! half a request head holds its connection, its descriptor and up to ~400 KiB of buffer for
//! as long as it likes (slowloris). Here every connection gets:
//!
//! - a **header-read timeout** ([`HEADER_READ_TIMEOUT`], 10 s): the whole request head must
//!   arrive within it, or the connection is closed without an answer. hyper (1.6 and later)
//!   restarts this timer when a keep-alive connection goes idle after a response, so it is
//!   also the **idle timeout** between requests;
//! - a **bounded header buffer** ([`MAX_BUF_SIZE`], 64 KiB): a longer head is answered with
//!   431 and the connection closed;
//! - a slot among at most [`max_connections`] (the soft descriptor limit less
//!   [`DESCRIPTOR_HEADROOM`], at most [`MAX_CONNECTIONS`]). At the cap the loop waits for a
//!   slot before it accepts, so further clients wait in the kernel's listen backlog (no
//!   descriptor, no memory, no CPU here) and are served in turn as slots free up, instead of
//!   being closed at once: a health probe arriving during a flood is delayed by at most about
//!   one header-read timeout, not refused. Accept errors (`EMFILE` when other descriptors
//!   use up the limit, a connection reset before it was accepted) pause the loop
//!   ([`ACCEPT_ERROR_PAUSE`]) and it carries on.
//!
//! On shutdown (see [`shutdown_signal`]: SIGTERM or Ctrl-C) the listener is closed, so new
//! connections are refused, idle keep-alive connections are closed, requests in flight are
//! finished (each connection closes after its current response), a half-sent head still has
//! until its header-read timeout, and whatever is still open after [`DRAIN_TIMEOUT`] is dropped.
//!
//! Not bounded here: the time a client may take to send a request *body* or to read a
//! response (the body limit in `app.rs` bounds the body's size, not its pace).
//!
//! Handlers can read the client's address with `ConnectInfo<SocketAddr>`.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tower::ServiceExt as _;

/// How long a client has to send a whole request head, counted from the connection's start or
/// from the end of the previous response (so also how long a keep-alive connection may idle).
pub(crate) const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The most a connection buffers (hyper's `max_buf_size`; its default is ~400 KiB). A request
/// head that does not fit is answered with 431.
pub(crate) const MAX_BUF_SIZE: usize = 64 * 1024;
/// Descriptors kept back from the connections for everything else the process opens (the
/// listener, Redis, JWKS fetches, files, the runtime's own).
pub(crate) const DESCRIPTOR_HEADROOM: u64 = 64;
/// The cap whatever the descriptor limit: 4096 connections with full buffers hold 256 MiB.
pub(crate) const MAX_CONNECTIONS: usize = 4096;
/// The descriptor limit assumed where it cannot be read (the usual soft limit).
pub(crate) const FALLBACK_OPEN_FILES: u64 = 1024;
/// How long shutdown waits for requests in flight before it drops their connections.
pub(crate) const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// The pause after a failed `accept`, so that `EMFILE` does not spin the loop.
pub(crate) const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// The limits [`serve`] applies; `Default` is the constants above and the cap derived from
/// this process's descriptor limit.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ServeOptions {
    /// See [`HEADER_READ_TIMEOUT`].
    pub(crate) header_read_timeout: Duration,
    /// See [`MAX_BUF_SIZE`] (hyper refuses less than 8 KiB).
    pub(crate) max_buf_size: usize,
    /// Connections served at once (at least 1).
    pub(crate) max_connections: usize,
    /// See [`DRAIN_TIMEOUT`].
    pub(crate) drain_timeout: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            header_read_timeout: HEADER_READ_TIMEOUT,
            max_buf_size: MAX_BUF_SIZE,
            max_connections: max_connections(open_files_limit().unwrap_or(FALLBACK_OPEN_FILES)),
            drain_timeout: DRAIN_TIMEOUT,
        }
    }
}

/// The connection cap for a soft descriptor limit: the limit less [`DESCRIPTOR_HEADROOM`] (half
/// the limit if that is more), between 1 and [`MAX_CONNECTIONS`]. Each connection holds one
/// descriptor.
pub(crate) fn max_connections(open_files: u64) -> usize {
    let cap = open_files.saturating_sub(DESCRIPTOR_HEADROOM).max(open_files / 2);
    usize::try_from(cap).map_or(MAX_CONNECTIONS, |cap| cap.clamp(1, MAX_CONNECTIONS))
}

/// This process's soft limit on open descriptors (`RLIMIT_NOFILE`), from `/proc/self/limits`
/// (Linux); `None` elsewhere.
pub(crate) fn open_files_limit() -> Option<u64> {
    soft_open_files_limit(&std::fs::read_to_string("/proc/self/limits").ok()?)
}

/// The soft limit in the `Max open files` line of a `/proc/<pid>/limits` text.
pub(crate) fn soft_open_files_limit(limits: &str) -> Option<u64> {
    let line = limits
        .lines()
        .find_map(|line| line.strip_prefix("Max open files"))?;
    match line.split_whitespace().next()? {
        "unlimited" => Some(u64::MAX),
        soft => soft.parse().ok(),
    }
}

/// Serves `router` on `listener` with `options` until `shutdown` completes, then drains (see
/// the module docs). Returns when every connection is closed or dropped.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    options: ServeOptions,
    shutdown: impl Future<Output = ()>,
) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout)
        .max_buf_size(options.max_buf_size);
    let make_service = router.into_make_service_with_connect_info::<SocketAddr>();
    let slots = Arc::new(Semaphore::new(options.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);

    loop {
        // At the cap, wait here: the clients that follow wait in the listen backlog.
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = Arc::clone(&slots).acquire_owned() => slot,
        };
        // The semaphore is never closed.
        let Ok(slot) = slot else { break };
        let (stream, remote) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    eprintln!("accept failed ({e}); retrying");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    continue;
                }
            },
        };
        // Forget the connections that have ended.
        while connections.try_join_next().is_some() {}

        // The router with `ConnectInfo(remote)` in each request's extensions.
        let service = match make_service.clone().oneshot(remote).await {
            Ok(service) => service,
            Err(never) => match never {},
        };
        let connection =
            graceful.watch(http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service)));
        connections.spawn(async move {
            // An error here is the client's (timed out, reset, malformed): nothing to do.
            let _ = connection.await;
            drop(slot);
        });
    }

    drop(listener);
    while connections.try_join_next().is_some() {}
    eprintln!(
        "shutting down: no new connections; waiting up to {} s for {} open connection(s)",
        options.drain_timeout.as_secs(),
        connections.len(),
    );
    if tokio::time::timeout(options.drain_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        while connections.try_join_next().is_some() {}
        eprintln!("drain time over: dropping {} connection(s)", connections.len());
    }
    connections.shutdown().await;
}

/// Completes on SIGTERM (what `docker stop`, systemd and Kubernetes send) or Ctrl-C.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            eprintln!("warning: cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(e) => {
                eprintln!("warning: cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
