//! The example server's connections under slowloris (`examples/server/serve.rs`): half-sent
//! request heads and idle keep-alive connections are closed after the header-read timeout, a
//! long head is refused at the buffer bound, `/health` still answers within 2 s while more
//! half-sent heads, stalled request bodies or idle connections are held open than the process
//! has descriptors (at the cap the longest-waiting connection of the address holding the most
//! is closed, never one with a request in flight), a flood of connections from one address
//! does not close another's, a slow body that does arrive is answered, shutdown drains within
//! its bound, and handlers see `ConnectInfo`.
//!
//! Each test serves on a loopback listener bound to port 0, over raw TCP, so the bytes on the
//! wire are the ones a slowloris client sends.
#![cfg(feature = "axum")]

mod support;

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::routing::{get, post};
use axum::Router;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{oneshot, Notify};

use serve::ServeOptions;
use server::{serve, start};
use support::example_server as server;

/// The header-read timeout of these tests.
const TIMEOUT: Duration = Duration::from_secs(1);
/// How long a test waits for what should happen after [`TIMEOUT`].
const GUARD: Duration = Duration::from_secs(3);
/// The start of a request head that never ends.
const HALF_SENT: &[u8] = b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ";
const HEALTH: &[u8] = b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n";

fn options() -> ServeOptions {
    ServeOptions {
        header_read_timeout: TIMEOUT,
        ..ServeOptions::default()
    }
}

fn example_app() -> Router {
    server::app(server::config("the-32-byte-secret-of-the-slowloris-tests")).unwrap()
}

/// Reads one response (head and `content-length` body) from `stream`.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut bytes = Vec::new();
    let mut chunk = [0; 4096];
    loop {
        let text = String::from_utf8_lossy(&bytes);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|line| {
                    line.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(str::to_owned)
                })
                .map_or(0, |n| n.trim().parse().unwrap());
            if body.len() >= length {
                return text.into_owned();
            }
        }
        let n = stream.read(&mut chunk).await.unwrap();
        assert_ne!(n, 0, "closed mid-response: {text:?}");
        bytes.extend_from_slice(&chunk[..n]);
    }
}

/// `GET /health` on a connection of its own; the response.
async fn health(addr: SocketAddr) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(HEALTH).await.unwrap();
    read_response(&mut stream).await
}

/// Waits until the server closes `stream` (end of file or reset), reading and discarding what
/// it sends; how long that took, or `None` after [`GUARD`].
async fn time_until_closed(stream: &mut TcpStream) -> Option<Duration> {
    let start = Instant::now();
    let mut sink = [0; 4096];
    let closed = async {
        loop {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(GUARD, closed).await.ok()?;
    Some(start.elapsed())
}

/// The server closes `stream` at the header-read timeout: not before it, and within the guard
/// after it.
async fn closed_at_the_timeout(stream: &mut TcpStream, what: &str) {
    let closed = time_until_closed(stream).await;
    let closed = closed.unwrap_or_else(|| panic!("{what} is still open"));
    assert!(
        closed >= TIMEOUT - Duration::from_millis(100),
        "{what} closed after {closed:?}"
    );
}

#[tokio::test]
async fn a_half_sent_request_head_is_closed_after_the_header_read_timeout() {
    let (addr, _server) = start(example_app(), options(), std::future::pending()).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(HALF_SENT).await.unwrap();

    closed_at_the_timeout(&mut stream, "the half-sent connection").await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_timeout() {
    let (addr, _server) = start(example_app(), options(), std::future::pending()).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(HEALTH).await.unwrap();
    let response = read_response(&mut stream).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");

    closed_at_the_timeout(&mut stream, "the idle connection").await;
}

#[tokio::test]
async fn a_request_head_longer_than_the_buffer_gets_431_and_is_closed() {
    let (addr, _server) = start(example_app(), options(), std::future::pending()).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(HALF_SENT).await.unwrap();
    // More than the bound, but not the end of the head. The server may stop reading (and
    // reset the connection) before all of it is written.
    let _ = stream.write_all(&vec![b'a'; 2 * serve::MAX_BUF_SIZE]).await;

    let mut answer = Vec::new();
    let read = tokio::time::timeout(GUARD, stream.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the connection is still open");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer:?}");
}

/// Set in the child process that runs the server of the test below.
const SERVER_CHILD: &str = "SLOWLORIS_SERVER_CHILD";
/// The child's descriptor limit.
const CHILD_OPEN_FILES: u64 = 256;
/// Connections held open: more than the child has descriptors.
const HELD: usize = 300;
/// How soon `/health` must answer however many connections are held (the abuse suite's bound).
const HEALTH_GUARD: Duration = Duration::from_secs(2);

/// The child process, killed on drop.
struct ChildServer(Child);

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The server half of the tests below, run by them in a child process whose descriptor limit
/// is [`CHILD_OPEN_FILES`] (a test cannot lower its own without unsafe code, and its clients
/// would share the limit). Serves with the default options (so the 10 s header-read timeout:
/// a shorter one would free slots early and hide a slow `/health`). Prints
/// `listening on <addr>` and serves until killed.
#[test]
#[ignore = "run by the tests that hold more connections than the child has descriptors"]
fn server_child() {
    if std::env::var_os(SERVER_CHILD).is_none() {
        return;
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let limit = serve::open_files_limit();
        assert_eq!(limit, Some(CHILD_OPEN_FILES));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("listening on {}", listener.local_addr().unwrap());
        let options = ServeOptions::default();
        assert_eq!(options.header_read_timeout, serve::HEADER_READ_TIMEOUT);
        serve::serve(listener, example_app(), options, std::future::pending()).await;
    });
}

fn spawn_server_child() -> (ChildServer, SocketAddr) {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -n {CHILD_OPEN_FILES} && exec \"$0\" \"$@\""))
        .arg(std::env::current_exe().unwrap())
        .args(["server_child", "--exact", "--ignored", "--nocapture"])
        .env(SERVER_CHILD, "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let child = ChildServer(child);
    for line in BufReader::new(stdout).lines() {
        if let Some(addr) = line.unwrap().strip_prefix("listening on ") {
            return (child, addr.parse().unwrap());
        }
    }
    panic!("the server child exited without listening");
}

#[cfg(target_os = "linux")] // where the cap is read from /proc/self/limits
#[tokio::test]
async fn health_still_answers_while_more_half_sent_heads_are_held_than_descriptors() {
    let (_child, addr) = spawn_server_child();
    let mut held = Vec::with_capacity(HELD);
    for _ in 0..HELD {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(HALF_SENT).await.unwrap();
        held.push(stream);
    }

    let start = Instant::now();
    let response = tokio::time::timeout(HEALTH_GUARD, health(addr)).await;
    let response = response.expect("/health did not answer within 2 s");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    eprintln!("/health answered in {:?}", start.elapsed());
    drop(held);
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn health_still_answers_while_more_idle_keep_alive_connections_are_held_than_descriptors() {
    let (_child, addr) = spawn_server_child();
    let mut held = Vec::with_capacity(HELD);
    for i in 0..HELD {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(HEALTH).await.unwrap();
        let response = tokio::time::timeout(HEALTH_GUARD, read_response(&mut stream)).await;
        let response = response.unwrap_or_else(|_| panic!("request {i} had no answer within 2 s"));
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        // Kept open, idle.
        held.push(stream);
    }

    let start = Instant::now();
    let response = tokio::time::timeout(HEALTH_GUARD, health(addr)).await;
    let response = response.expect("/health did not answer within 2 s");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    eprintln!("/health answered in {:?}", start.elapsed());
    drop(held);
}

/// A `POST /login` head announcing a 16,000-byte body, and its first byte; the rest never comes.
const STALLED_BODY: &[u8] = b"POST /login HTTP/1.1\r\nHost: localhost\r\n\
    Content-Type: application/json\r\nContent-Length: 16000\r\n\r\n{";

#[cfg(target_os = "linux")]
#[tokio::test]
async fn health_still_answers_while_more_stalled_request_bodies_are_held_than_descriptors() {
    let (_child, addr) = spawn_server_child();
    let mut held = Vec::with_capacity(HELD);
    for _ in 0..HELD {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(STALLED_BODY).await.unwrap();
        held.push(stream);
    }

    let start = Instant::now();
    let response = tokio::time::timeout(HEALTH_GUARD, health(addr)).await;
    let response = response.expect("/health did not answer within 2 s");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    eprintln!("/health answered in {:?}", start.elapsed());
    drop(held);
}

/// A router whose `/slow` notifies `started`, then answers `done` once `release` is notified.
fn slow_router(started: &Arc<Notify>, release: &Arc<Notify>) -> Router {
    let (started, release) = (Arc::clone(started), Arc::clone(release));
    Router::new()
        .route(
            "/slow",
            get(|| async move {
                started.notify_one();
                release.notified().await;
                "done"
            }),
        )
        .route("/health", get(|| async { "ok" }))
}

/// A router whose `POST /slow` reads the whole body, notifies `started`, then answers with the
/// body once `release` is notified; `POST /echo` answers with the body at once.
fn body_router(started: &Arc<Notify>, release: &Arc<Notify>) -> Router {
    let (started, release) = (Arc::clone(started), Arc::clone(release));
    Router::new()
        .route(
            "/slow",
            post(|body: String| async move {
                started.notify_one();
                release.notified().await;
                body
            }),
        )
        .route("/echo", post(|body: String| async move { body }))
        .route("/health", get(|| async { "ok" }))
}

/// Sends `GET /slow` on a new connection and waits until its handler runs.
async fn slow_request_in_flight(addr: SocketAddr, started: &Notify) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /slow HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    tokio::time::timeout(GUARD, started.notified())
        .await
        .expect("/slow was not called");
    stream
}

#[tokio::test]
async fn a_connection_with_a_request_in_flight_is_not_closed_to_make_room() {
    const CAP: usize = 4;
    let (started, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    // The default 10 s header-read timeout: only making room closes a connection here.
    let options = ServeOptions {
        max_connections: CAP,
        ..ServeOptions::default()
    };
    let (addr, _server) = start(slow_router(&started, &release), options, std::future::pending()).await;
    // The oldest connection, and busy.
    let mut in_flight = slow_request_in_flight(addr, &started).await;
    // The other slots and as many again.
    let mut held = Vec::new();
    for _ in 0..2 * CAP {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(HALF_SENT).await.unwrap();
        held.push(stream);
    }

    let response = tokio::time::timeout(HEALTH_GUARD, health(addr)).await;
    let response = response.expect("/health did not answer within 2 s");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    // The first half-sent head was closed to make room (long before its header-read timeout).
    assert!(time_until_closed(&mut held[0]).await.is_some());

    release.notify_one();
    let response = tokio::time::timeout(GUARD, read_response(&mut in_flight)).await;
    let response = response.expect("/slow did not answer");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("done"), "{response}");
}

#[tokio::test]
async fn at_the_cap_with_every_connection_busy_a_newcomer_is_served_when_a_response_ends() {
    let (started, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let options = ServeOptions {
        max_connections: 1,
        ..ServeOptions::default()
    };
    let (addr, _server) = start(slow_router(&started, &release), options, std::future::pending()).await;
    let mut in_flight = slow_request_in_flight(addr, &started).await;
    let newcomer = tokio::spawn(health(addr));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!newcomer.is_finished(), "the busy connection made room");

    release.notify_one();
    let response = tokio::time::timeout(GUARD, read_response(&mut in_flight)).await;
    let response = response.expect("/slow did not answer");
    assert!(response.ends_with("done"), "{response}");
    // The idle connection is closed for it, long before its 10 s idle timeout.
    let response = tokio::time::timeout(GUARD, newcomer).await;
    let response = response.expect("/health did not answer once /slow had").unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}

#[tokio::test]
async fn a_request_whose_body_has_arrived_is_not_closed_to_make_room_while_its_handler_runs() {
    const CAP: usize = 4;
    let (started, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let options = ServeOptions {
        max_connections: CAP,
        ..ServeOptions::default()
    };
    let (addr, _server) = start(body_router(&started, &release), options, std::future::pending()).await;
    // The oldest connection; its body read (and dropped) by the handler, which then waits.
    let mut in_flight = TcpStream::connect(addr).await.unwrap();
    in_flight
        .write_all(b"POST /slow HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello")
        .await
        .unwrap();
    tokio::time::timeout(GUARD, started.notified())
        .await
        .expect("/slow was not called");
    let mut held = Vec::new();
    for _ in 0..2 * CAP {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(HALF_SENT).await.unwrap();
        held.push(stream);
    }

    let response = tokio::time::timeout(HEALTH_GUARD, health(addr)).await;
    let response = response.expect("/health did not answer within 2 s");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");

    release.notify_one();
    let response = tokio::time::timeout(GUARD, read_response(&mut in_flight)).await;
    let response = response.expect("/slow did not answer");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("hello"), "{response}");
}

#[tokio::test]
async fn a_slow_body_that_arrives_within_the_timeout_is_answered() {
    let (started, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let options = ServeOptions {
        max_connections: 4,
        ..options()
    };
    let (addr, _server) = start(body_router(&started, &release), options, std::future::pending()).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 9\r\n\r\n")
        .await
        .unwrap();
    for part in [&b"one"[..], b"two", b"six"] {
        tokio::time::sleep(TIMEOUT / 4).await;
        stream.write_all(part).await.unwrap();
    }

    let response = tokio::time::timeout(GUARD, read_response(&mut stream)).await;
    let response = response.expect("/echo did not answer");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("onetwosix"), "{response}");
}

/// A connection to `addr` from the loopback address `source` (any of 127/8 reaches the server).
async fn connect_from(source: [u8; 4], addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((source, 0))).unwrap();
    socket.connect(addr).await.unwrap()
}

#[tokio::test]
async fn at_the_cap_a_flood_from_one_address_does_not_close_another_addresses_connection() {
    const CAP: usize = 8;
    let options = ServeOptions {
        max_connections: CAP,
        ..ServeOptions::default()
    };
    let (addr, _server) = start(example_app(), options, std::future::pending()).await;
    // Empty connections from 127.0.0.1, as fast as they can be opened, the last few kept open.
    let flood = tokio::spawn(async move {
        let mut open = std::collections::VecDeque::new();
        loop {
            open.push_back(connect_from([127, 0, 0, 1], addr).await);
            if open.len() > 4 * CAP {
                open.pop_front();
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;

    // An honest client from 127.0.0.2 that sends its head 100 ms after connecting, five times.
    for i in 0..5 {
        let mut honest = connect_from([127, 0, 0, 2], addr).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let answered = async {
            honest.write_all(HEALTH).await?;
            let mut response = vec![0; 4096];
            let n = honest.read(&mut response).await?;
            Ok::<_, std::io::Error>(String::from_utf8_lossy(&response[..n]).into_owned())
        };
        let response = tokio::time::timeout(HEALTH_GUARD, answered).await;
        let response = response.unwrap_or_else(|_| panic!("client {i}: no answer within 2 s"));
        let response = response.unwrap_or_else(|e| panic!("client {i}: closed ({e})"));
        assert!(response.starts_with("HTTP/1.1 200"), "client {i}: {response:?}");
    }
    flood.abort();
}

#[tokio::test]
async fn shutdown_finishes_the_request_in_flight_and_refuses_new_connections() {
    let started = Arc::new(Notify::new());
    let router = Router::new().route(
        "/slow",
        get({
            let started = Arc::clone(&started);
            || async move {
                started.notify_one();
                tokio::time::sleep(Duration::from_millis(500)).await;
                "done"
            }
        }),
    );
    let (trigger, triggered) = oneshot::channel::<()>();
    let (addr, server) = start(router, options(), async {
        let _ = triggered.await;
    })
    .await;
    let mut in_flight = TcpStream::connect(addr).await.unwrap();
    in_flight
        .write_all(b"GET /slow HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    started.notified().await;

    trigger.send(()).unwrap();
    let refused = async {
        loop {
            match TcpStream::connect(addr).await {
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => break,
                _ => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    };
    tokio::time::timeout(Duration::from_millis(400), refused)
        .await
        .expect("new connections are still accepted");

    let response = read_response(&mut in_flight).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("done"), "{response}");
    tokio::time::timeout(GUARD, server)
        .await
        .expect("serve did not return after the drain")
        .unwrap();
}

#[tokio::test]
async fn shutdown_drops_what_is_still_open_after_the_drain_timeout() {
    let router = Router::new().route("/never", get(std::future::pending::<&'static str>));
    let options = ServeOptions {
        drain_timeout: Duration::from_millis(300),
        ..options()
    };
    let (trigger, triggered) = oneshot::channel::<()>();
    let (addr, server) = start(router, options, async {
        let _ = triggered.await;
    })
    .await;
    let mut stuck = TcpStream::connect(addr).await.unwrap();
    stuck
        .write_all(b"GET /never HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    // Let the request reach the handler.
    tokio::time::sleep(Duration::from_millis(100)).await;

    let start = Instant::now();
    trigger.send(()).unwrap();
    tokio::time::timeout(GUARD, server)
        .await
        .expect("serve did not return after the drain timeout")
        .unwrap();
    assert!(
        start.elapsed() >= Duration::from_millis(300),
        "{:?}",
        start.elapsed()
    );
    assert!(time_until_closed(&mut stuck).await.is_some());
}

#[tokio::test]
async fn handlers_see_the_clients_address_in_connect_info() {
    let router = Router::new().route(
        "/peer",
        get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
    );
    let (addr, _server) = start(router, options(), std::future::pending()).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /peer HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let response = read_response(&mut stream).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let peer = stream.local_addr().unwrap().to_string();
    assert!(response.ends_with(&peer), "{response} (client {peer})");
}

#[test]
fn the_descriptor_limit_is_read_from_proc_limits() {
    let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                  Max cpu time              unlimited            unlimited            seconds   \n\
                  Max open files            1024                 524288               files     \n";
    assert_eq!(serve::soft_open_files_limit(limits), Some(1024));
    let unlimited = "Max open files            unlimited            unlimited            files\n";
    assert_eq!(serve::soft_open_files_limit(unlimited), Some(u64::MAX));
    assert_eq!(
        serve::soft_open_files_limit("Max processes 10 10 processes\n"),
        None
    );
    #[cfg(target_os = "linux")]
    assert!(serve::open_files_limit().is_some());
}

#[test]
fn the_connection_cap_keeps_headroom_below_the_descriptor_limit() {
    assert_eq!(serve::max_connections(256), 192);
    assert_eq!(serve::max_connections(1024), 960);
    assert_eq!(serve::max_connections(100), 50);
    assert_eq!(serve::max_connections(1), 1);
    assert_eq!(serve::max_connections(0), 1);
    assert_eq!(serve::max_connections(1 << 20), serve::MAX_CONNECTIONS);
    assert_eq!(serve::max_connections(u64::MAX), serve::MAX_CONNECTIONS);
}
