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
//! - a **bounded header buffer** ([`MAX_BUF_SIZE`], 32 KiB): a longer head is answered with
//!   431 and the connection closed;
//! - a slot among at most [`max_connections`] (the soft descriptor limit less
//!   [`DESCRIPTOR_HEADROOM`], at most [`MAX_CONNECTIONS`]). Accept errors (`EMFILE` when other
//!   descriptors use up the limit, a connection reset before it was accepted) pause the loop
//!   ([`ACCEPT_ERROR_PAUSE`]) and it carries on.
//!
//! # At the cap: the longest-waiting connection of the busiest address makes room
//!
//! Each connection is either **busy** (a request whose body has been received, or dropped by
//! its handler, and whose response body has not yet been handed to hyper, or dropped) or
//! **waiting** (nothing sent yet, a half-sent head, a request body still arriving, or an idle
//! keep-alive connection), and a waiting connection remembers since when (a request body still
//! arriving counts from before its head, so a stalled body is as old as a stalled head). When
//! every slot is taken, the loop still accepts the next client (the headroom leaves it a
//! descriptor), takes the client address holding the most connections (an IPv4 address, or an
//! IPv6 /64; among those with a waiting connection), closes its connection that has been
//! waiting longest (dropping a handler still waiting for that body), and serves the newcomer
//! in the slot that frees. So a flood of half-sent heads, stalled bodies or idle connections
//! cannot keep a health probe or a real client out for a header-read timeout, and one address
//! opening connections as fast as it can closes its own, not those of other clients. There is
//! no per-address cap (and must be none below a few hundred: many clients share a NAT or a
//! proxy's address). A busy connection is never closed to
//! make room; if every connection is busy, the newcomer waits until one of them finishes its
//! response (and is then the one closed) or closes, and the clients after it wait in the
//! kernel's listen backlog. (So a connection that has just finished a large response to a
//! slow reader can lose the tail hyper still buffers; only when all the others are busy.)
//!
//! This is what nginx does when it runs out of `worker_connections`: it closes the oldest of
//! its "reusable" connections, idle keep-alive ones and ones that have not sent a byte
//! (`ngx_drain_connections`); Apache's event MPM likewise closes keep-alive connections first
//! when it is busy. Unlike nginx, a half-sent head or body counts as waiting too: a real
//! client sends its request in one go, so one still unfinished is the likeliest slowloris.
//!
//! On shutdown (see [`shutdown_signal`]: SIGTERM or Ctrl-C) the listener is closed, so new
//! connections are refused, idle keep-alive connections are closed, requests in flight are
//! finished (each connection closes after its current response), a half-sent head still has
//! until its header-read timeout, and whatever is still open after [`DRAIN_TIMEOUT`] is dropped.
//! No connection is closed to make room once shutdown has begun; a newcomer accepted but still
//! waiting for a slot is closed unanswered.
//!
//! Not bounded here: the time a client may take to send a request *body* (but such a
//! connection counts as waiting, see above; `app.rs` answers 408 after its request timeout and
//! bounds the body's size) or to read a response.
//!
//! Handlers can read the client's address with `ConnectInfo<SocketAddr>`.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use http::{Request, Response};
use hyper::body::{Body, Frame, SizeHint};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tower::ServiceExt as _;

/// How long a client has to send a whole request head, counted from the connection's start or
/// from the end of the previous response (so also how long a keep-alive connection may idle).
pub(crate) const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The most a connection buffers (hyper's `max_buf_size`; its default is ~400 KiB). A request
/// head that does not fit is answered with 431. The heads this server expects are a few KiB
/// (a token is at most 8 KiB, the crate's bound).
pub(crate) const MAX_BUF_SIZE: usize = 32 * 1024;
/// Descriptors kept back from the connections for everything else the process opens (the
/// listener, Redis, JWKS fetches, files, the runtime's own).
pub(crate) const DESCRIPTOR_HEADROOM: u64 = 64;
/// The cap whatever the descriptor limit: each connection holding a head just short of
/// [`MAX_BUF_SIZE`] costs about 42 KiB (the buffer, hyper's and the task's state; measured with
/// 2048 such connections), so a full flood holds about 85 MiB.
pub(crate) const MAX_CONNECTIONS: usize = 2048;
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
    let registry = Arc::new(Registry::default());
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);

    loop {
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
        // At the cap, close a waiting connection of the busiest address (or wait for a busy one).
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = make_room(&slots, &registry) => slot,
        };
        // Forget the connections that have ended.
        while connections.try_join_next().is_some() {}

        // The router with `ConnectInfo(remote)` in each request's extensions.
        let service = match make_service.clone().oneshot(remote).await {
            Ok(service) => service,
            Err(never) => match never {},
        };
        let (registration, closed_to_make_room) = registry.register(remote.ip());
        let service = Tracked {
            inner: TowerToHyperService::new(service),
            connection: registration.handle(),
        };
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        connections.spawn(async move {
            tokio::select! {
                // An error here is the client's (timed out, reset, malformed): nothing to do.
                _ = connection => {}
                // Dropping the connection closes it.
                _ = closed_to_make_room => {}
            }
            drop(registration);
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

/// A free slot: at once if there is one; at the cap, the slot of the longest-waiting connection
/// of the address holding the most, closed for it; if every connection is busy, the first slot a connection
/// frees by ending or by finishing its response (it is then closed in turn).
async fn make_room(slots: &Arc<Semaphore>, registry: &Registry) -> OwnedSemaphorePermit {
    loop {
        if let Ok(slot) = Arc::clone(slots).try_acquire_owned() {
            return slot;
        }
        let closed_one = registry.close_longest_waiting();
        tokio::select! {
            slot = Arc::clone(slots).acquire_owned() => match slot {
                Ok(slot) => return slot,
                // The semaphore is never closed.
                Err(_) => std::future::pending::<()>().await,
            },
            // A busy connection became waiting: it can be closed now.
            () = registry.finished.notified(), if !closed_one => {}
        }
    }
}

/// The live connections and their state, to choose the one to close at the cap: O(1) to
/// update on each request, O(addresses + connections) (at most [`MAX_CONNECTIONS`]) to choose.
#[derive(Debug, Default)]
struct Registry {
    connections: Mutex<Connections>,
    /// Notified when a busy connection becomes waiting (its response done, or a new request
    /// whose body is still arriving).
    finished: Notify,
}

#[derive(Debug, Default)]
struct Connections {
    next_id: u64,
    live: HashMap<u64, ConnectionState>,
    /// The live connections of each client address, and how many of them are busy.
    addresses: HashMap<AddressKey, AddressCount>,
}

/// A client address as the cap counts it: an IPv4 address (an IPv4-mapped IPv6 address counts
/// as its IPv4 address), or an IPv6 /64 (what one host or one customer is usually given).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum AddressKey {
    V4(Ipv4Addr),
    V6Prefix(u64),
}

impl AddressKey {
    fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self::V4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::V4(v4),
                // The upper 64 bits.
                None => Self::V6Prefix((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

#[derive(Debug, Default)]
struct AddressCount {
    connections: usize,
    busy: usize,
}

#[derive(Debug)]
struct ConnectionState {
    address: AddressKey,
    /// Requests between the router's call and the end of their response body (hyper serves
    /// one at a time, so 0 or 1).
    in_flight: usize,
    /// Requests whose body has not ended yet (0 or 1).
    awaiting_body: usize,
    /// When the connection last became waiting (accepted, or its last response done); not
    /// reset when a request's head arrives, so a stalled body counts from before its head.
    waiting_since: Instant,
    /// Closes the connection.
    close: oneshot::Sender<()>,
}

impl ConnectionState {
    /// Busy: a request whose body has been received (or dropped) and whose response has not
    /// ended. Anything else is waiting, and may be closed to make room.
    fn busy(&self) -> bool {
        self.in_flight > 0 && self.awaiting_body == 0
    }
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, Connections> {
        // Nothing panics while holding the lock; if something did, the counts are still usable.
        self.connections.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a waiting connection from `remote`; the receiver completes when it is to be closed.
    fn register(self: &Arc<Self>, remote: IpAddr) -> (Registration, oneshot::Receiver<()>) {
        let (close, closed) = oneshot::channel();
        let address = AddressKey::of(remote);
        let mut connections = self.lock();
        let id = connections.next_id;
        connections.next_id += 1;
        let state = ConnectionState {
            address,
            in_flight: 0,
            awaiting_body: 0,
            waiting_since: Instant::now(),
            close,
        };
        connections.live.insert(id, state);
        connections.addresses.entry(address).or_default().connections += 1;
        let registration = Registration(ConnectionHandle {
            registry: Arc::clone(self),
            id,
        });
        (registration, closed)
    }

    /// Applies `change` to connection `id` (if it is still live), keeping its address's busy
    /// count right, and wakes [`make_room`] if the connection went from busy to waiting.
    fn update(&self, id: u64, change: impl FnOnce(&mut ConnectionState)) {
        let mut connections = self.lock();
        let Connections { live, addresses, .. } = &mut *connections;
        let Some(state) = live.get_mut(&id) else {
            return;
        };
        let was_busy = state.busy();
        change(state);
        let is_busy = state.busy();
        if was_busy == is_busy {
            return;
        }
        if let Some(count) = addresses.get_mut(&state.address) {
            if is_busy {
                count.busy += 1;
            } else {
                count.busy = count.busy.saturating_sub(1);
            }
        }
        drop(connections);
        if !is_busy {
            self.finished.notify_one();
        }
    }

    /// Removes connection `id`; its state if it was still live.
    fn remove(connections: &mut Connections, id: u64) -> Option<ConnectionState> {
        let state = connections.live.remove(&id)?;
        if let Entry::Occupied(mut entry) = connections.addresses.entry(state.address) {
            let count = entry.get_mut();
            count.connections = count.connections.saturating_sub(1);
            if state.busy() {
                count.busy = count.busy.saturating_sub(1);
            }
            if count.connections == 0 {
                entry.remove();
            }
        }
        Some(state)
    }

    /// Closes a waiting connection of the address holding the most connections (among those
    /// with one waiting), the one of them waiting longest; `false` if every one is busy.
    fn close_longest_waiting(&self) -> bool {
        let mut connections = self.lock();
        let most = connections
            .addresses
            .values()
            .filter(|count| count.connections > count.busy)
            .map(|count| count.connections)
            .max();
        let Some(most) = most else {
            return false;
        };
        let mut tied = connections
            .addresses
            .iter()
            .filter(|(_, count)| count.connections == most && count.connections > count.busy)
            .map(|(&address, _)| address);
        // The usual cases, one address flooding or every address with one connection, need
        // no look-up per connection.
        let only = match (tied.next(), tied.next()) {
            (Some(address), None) => Some(address),
            _ => None,
        };
        let addresses = &connections.addresses;
        let oldest = connections
            .live
            .iter()
            .filter(|(_, state)| !state.busy())
            .filter(|(_, state)| match only {
                Some(address) => state.address == address,
                None => {
                    most == 1
                        || addresses
                            .get(&state.address)
                            .is_some_and(|count| count.connections == most)
                }
            })
            .min_by_key(|(_, state)| state.waiting_since)
            .map(|(&id, _)| id);
        let Some(state) = oldest.and_then(|id| Self::remove(&mut connections, id)) else {
            return false;
        };
        // Wakes the connection's task, which drops the connection (its receiver is gone if
        // the task has just ended: its slot is free all the same).
        let _ = state.close.send(());
        true
    }
}

/// A connection's entry in the [`Registry`], removed when dropped (when its task ends).
#[derive(Debug)]
struct Registration(ConnectionHandle);

impl Registration {
    fn handle(&self) -> ConnectionHandle {
        self.0.clone()
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        Registry::remove(&mut self.0.registry.lock(), self.0.id);
    }
}

#[derive(Clone, Debug)]
struct ConnectionHandle {
    registry: Arc<Registry>,
    id: u64,
}

impl ConnectionHandle {
    /// Counts a request in flight until the guard is dropped.
    fn in_flight(&self) -> InFlight {
        self.registry.update(self.id, |state| state.in_flight += 1);
        InFlight(self.clone())
    }

    /// Counts a request body still arriving until the guard is dropped.
    fn awaiting_body(&self) -> AwaitingBody {
        self.registry.update(self.id, |state| state.awaiting_body += 1);
        AwaitingBody(self.clone())
    }
}

/// A request in flight on a connection: from the router's call until its response body ends.
#[derive(Debug)]
struct InFlight(ConnectionHandle);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.registry.update(self.0.id, |state| {
            state.in_flight = state.in_flight.saturating_sub(1);
            if state.in_flight == 0 {
                state.waiting_since = Instant::now();
            }
        });
    }
}

/// A request body still arriving: until it ends (or fails), or the handler drops it.
#[derive(Debug)]
struct AwaitingBody(ConnectionHandle);

impl Drop for AwaitingBody {
    fn drop(&mut self) {
        self.0.registry.update(self.0.id, |state| {
            state.awaiting_body = state.awaiting_body.saturating_sub(1);
        });
    }
}

/// The connection's service: counts each request in flight from its call until its response
/// body ends, and its body as arriving until it ends. The connection is busy (never closed to
/// make room) only in between.
#[derive(Debug)]
struct Tracked<S> {
    inner: S,
    connection: ConnectionHandle,
}

impl<S, B, ResBody> hyper::service::Service<Request<B>> for Tracked<S>
where
    S: hyper::service::Service<Request<TrackedRequestBody<B>>, Response = Response<ResBody>>,
    B: Body,
{
    type Response = Response<TrackedBody<ResBody>>;
    type Error = S::Error;
    type Future = TrackedFuture<S::Future>;

    fn call(&self, request: Request<B>) -> Self::Future {
        // Between these two updates a request with a body looks busy for a moment: harmless.
        let in_flight = self.connection.in_flight();
        let request = request.map(|body| {
            let awaiting = (!body.is_end_stream()).then(|| self.connection.awaiting_body());
            TrackedRequestBody {
                body,
                _awaiting: awaiting,
            }
        });
        TrackedFuture {
            in_flight: Some(in_flight),
            inner: self.inner.call(request),
        }
    }
}

pin_project_lite::pin_project! {
    /// A request body holding its [`AwaitingBody`] guard until it ends, fails or is dropped.
    struct TrackedRequestBody<B> {
        #[pin]
        body: B,
        _awaiting: Option<AwaitingBody>,
    }
}

impl<B: Body> Body for TrackedRequestBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        let frame = ready!(this.body.as_mut().poll_frame(cx));
        if !matches!(frame, Some(Ok(_))) || this.body.is_end_stream() {
            *this._awaiting = None;
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

pin_project_lite::pin_project! {
    /// [`Tracked`]'s response future: moves the [`InFlight`] guard into the response body.
    struct TrackedFuture<F> {
        #[pin]
        inner: F,
        in_flight: Option<InFlight>,
    }
}

impl<F, B, E> Future for TrackedFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<TrackedBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = ready!(this.inner.poll(cx))?;
        let in_flight = this.in_flight.take();
        Poll::Ready(Ok(response.map(|body| TrackedBody {
            body,
            _in_flight: in_flight,
        })))
    }
}

pin_project_lite::pin_project! {
    /// A response body holding its request's [`InFlight`] guard: hyper drops the body once it
    /// has taken its last frame (or at once if it is empty), or when the connection goes.
    struct TrackedBody<B> {
        #[pin]
        body: B,
        _in_flight: Option<InFlight>,
    }
}

impl<B: Body> Body for TrackedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        self.project().body.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
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
