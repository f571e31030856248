//! Requests per second over loopback: one axum server on one core, a load generator on
//! another, and six routes measured in turn, round after round:
//!
//! - `open`: no layer, answering a small constant JSON (`{"sub":"user-1234567890"}`);
//! - `tower-jwt-auth`: behind [`JwtAuthLayer`], the handler taking `Claims<T>` and answering
//!   `{"sub": ...}` from them;
//! - `from_fn+jsonwebtoken`: behind the usual hand-written `from_fn` middleware around
//!   `jsonwebtoken::decode`, the handler taking `Extension<T>`;
//! - `from_fn+floor`: the hand-written floor of the verify benchmarks (`Floor` in
//!   `common.rs`) in the same kind of `from_fn` middleware: what the least honest work costs
//!   once it sits in a server;
//! - `open+route_layer`: the open route behind a `route_layer` that does nothing (a
//!   `MapRequestLayer` handing the request on): what axum's wrapping of any route layer costs
//!   by itself, and so is part of every middleware's figure above;
//! - `insert+Claims<T>`: the `tower-jwt-auth` route with no token work at all: a `route_layer`
//!   that inserts claims built for each request into the extensions (the same five strings
//!   that the layer's reader allocates), the handler taking `Claims<T>` as above. Finding,
//!   decoding and verifying the token is all that the `tower-jwt-auth` route does beyond it,
//!   so this is the most that any layer verifying each request into owned claims could reach
//!   through this API.
//!
//! The answers all have the same length. The generator is cheap on purpose (pipelined
//! requests written once, answers counted by length), so that the server's core is the limit:
//! the figures are the server's. Each round measures each route for the same time, in a
//! rotating order, and reports its ratios to `open`; the summary gives the medians, and the
//! server CPU per request each route adds (from the rates: the server core is saturated).
//! On Linux it also gives the server thread's own CPU time per request, split into user and
//! kernel time (from `/proc`, in clock ticks summed over the rounds): the kernel's share
//! (loopback TCP, wake-ups) grows when the server is slower, because the generator then waits
//! more often and each answer wakes it, so the added time is not all the route's own code.
//!
//! Run with `cargo bench --bench http` (about 50 s). `HTTP_BENCH_ROUNDS` (default 7) and
//! `HTTP_BENCH_MILLIS` (per route and round, default 1000) bound it. `HTTP_BENCH_PIPELINE`
//! (default 8) sets the requests each connection has in flight: 1 loads the server as wrk does
//! (one request per connection at a time), each request then costing it a read and a write of
//! its own.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::middleware;
use axum::routing::get;
use axum::serve::ListenerExt as _;
use axum::{Extension, Json, Router};
use common::*;
use hmac012::Mac as _;
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tower::util::MapRequestLayer;
use tower_jwt_auth::{Claims, JwtAuthLayer, SigningKey};

/// Connections the generator keeps open.
const CONNECTIONS: usize = 16;
/// Requests each connection has in flight (HTTP/1.1 pipelining), unless `HTTP_BENCH_PIPELINE`
/// says otherwise.
const PIPELINE: usize = 8;

#[derive(Serialize)]
struct Sub {
    sub: String,
}

async fn open() -> Json<Sub> {
    Json(Sub {
        sub: String::from("user-1234567890"),
    })
}

async fn with_claims(Claims(claims): Claims<BenchClaims>) -> Json<Sub> {
    Json(Sub { sub: claims.sub })
}

async fn with_extension(Extension(claims): Extension<BenchClaims>) -> Json<Sub> {
    Json(Sub { sub: claims.sub })
}

fn routers() -> Vec<(&'static str, Router)> {
    let signing = SigningKey::hs256(SECRET).unwrap();
    let auth = JwtAuthLayer::<BenchClaims>::new(signing.verifying_key()).validation(validation());
    vec![
        ("open", Router::new().route("/", get(open))),
        (
            "tower-jwt-auth",
            Router::new().route("/", get(with_claims)).route_layer(auth),
        ),
        (
            "from_fn+jsonwebtoken",
            Router::new()
                .route("/", get(with_extension))
                .route_layer(middleware::from_fn_with_state(
                    Arc::new(JwtKeys::new()),
                    hand_written,
                )),
        ),
        (
            "from_fn+floor",
            Router::new()
                .route("/", get(with_extension))
                .route_layer(middleware::from_fn_with_state(
                    Arc::new(Floor::Hs256(hmac012::Hmac::new_from_slice(SECRET).unwrap())),
                    floor_middleware,
                )),
        ),
        (
            "open+route_layer",
            Router::new()
                .route("/", get(open))
                .route_layer(MapRequestLayer::new(|req: axum::extract::Request| req)),
        ),
        (
            "insert+Claims<T>",
            Router::new()
                .route("/", get(with_claims))
                .route_layer(MapRequestLayer::new(|mut req: axum::extract::Request| {
                    req.extensions_mut().insert(Claims(claims(EXP)));
                    req
                })),
        ),
    ]
}

/// The hand-written floor as a `from_fn` middleware, written as [`hand_written`] is.
async fn floor_middleware(
    axum::extract::State(floor): axum::extract::State<Arc<Floor>>,
    mut req: axum::extract::Request,
    next: middleware::Next,
) -> Result<axum::response::Response, axum::http::StatusCode> {
    let token = bearer(&req)?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| axum::http::StatusCode::INTERNAL_SERVER_ERROR)?
        .as_secs() as i64;
    let claims = floor
        .verify(token, now)
        .ok_or(axum::http::StatusCode::UNAUTHORIZED)?;
    req.extensions_mut().insert(claims);
    Ok(next.run(req).await)
}

/// The whole answer to one request, read once to learn its length and check it.
async fn one_answer(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "the server closed the connection");
        answer.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&answer).into_owned();
        if let Some(head_end) = text.find("\r\n\r\n") {
            let length: usize = text
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .expect("a content-length")
                .trim()
                .parse()
                .unwrap();
            if answer.len() >= head_end + 4 + length {
                answer.truncate(head_end + 4 + length);
                return answer;
            }
        }
    }
}

/// One connection's loop: `pipeline` requests written at once, then their answers read (by
/// length), until `stop`.
async fn drive(
    addr: SocketAddr,
    batch: Arc<Vec<u8>>,
    pipeline: usize,
    answer_len: usize,
    done: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let mut buf = vec![0u8; answer_len * pipeline];
    while !stop.load(Ordering::Relaxed) {
        stream.write_all(&batch).await.unwrap();
        stream.read_exact(&mut buf).await.unwrap();
        done.fetch_add(pipeline as u64, Ordering::Relaxed);
    }
}

fn pin(core: usize) {
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    match cores.get(core) {
        Some(id) if cores.len() >= 2 => {
            core_affinity::set_for_current(*id);
        }
        _ => eprintln!("fewer than two cores: the server and the generator share them"),
    }
}

/// The user and kernel CPU time (in clock ticks) of the thread whose `/proc` directory is
/// `task`, when the system has one.
fn cpu_ticks(task: Option<&std::path::Path>) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string(task?.join("stat")).ok()?;
    // The command name, in parentheses, may hold blanks: fields are counted after it.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // `utime` and `stime` are fields 14 and 15, so 12 and 13 after the name and the state.
    Some((fields.get(11)?.parse().ok()?, fields.get(12)?.parse().ok()?))
}

fn main() {
    let rounds: usize = env_or("HTTP_BENCH_ROUNDS", 7);
    let millis: u64 = env_or("HTTP_BENCH_MILLIS", 1000);
    let pipeline: usize = env_or("HTTP_BENCH_PIPELINE", PIPELINE).max(1);
    let signing = SigningKey::hs256(SECRET).unwrap();
    let token = signing.sign(&claims(EXP)).unwrap();
    let request =
        format!("GET / HTTP/1.1\r\nhost: bench\r\nauthorization: Bearer {token}\r\n\r\n").into_bytes();

    // The server: one thread, one core, one single-threaded runtime serving every route.
    let (addrs_tx, addrs_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        pin(0);
        let task = std::fs::read_link("/proc/thread-self").ok();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let mut addrs = Vec::new();
            for (name, router) in routers() {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                addrs.push((name, listener.local_addr().unwrap()));
                // Answers go out as they are ready: Nagle's algorithm would hold pipelined ones.
                let listener = listener.tap_io(|tcp| {
                    tcp.set_nodelay(true).unwrap();
                });
                tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
            }
            addrs_tx.send((addrs, task)).unwrap();
            std::future::pending::<()>().await;
        });
    });
    let (addrs, server_task) = addrs_rx.recv().unwrap();
    // The link read in the server thread names its own directory (`/proc/<pid>/task/<tid>`).
    let server_task = server_task.map(|t| std::path::Path::new("/proc").join(t));

    pin(1);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let routes: Vec<_> = rt.block_on(async {
        let mut routes = Vec::new();
        for (name, addr) in &addrs {
            let answer = one_answer(*addr, &request).await;
            let text = String::from_utf8_lossy(&answer);
            assert!(text.starts_with("HTTP/1.1 200 OK"), "{name}: {text}");
            assert!(text.ends_with(r#"{"sub":"user-1234567890"}"#), "{name}: {text}");
            routes.push((*name, *addr, answer.len()));
        }
        routes
    });
    assert!(
        routes.windows(2).all(|w| w[0].2 == w[1].2),
        "answers of different lengths: {routes:?}"
    );
    let batch = Arc::new(request.repeat(pipeline));

    // The rate, the requests answered and the server thread's CPU ticks over the period.
    let measure = |addr: SocketAddr, answer_len: usize, period: Duration| -> (f64, u64, Option<(u64, u64)>) {
        rt.block_on(async {
            let done = Arc::new(AtomicU64::new(0));
            let stop = Arc::new(AtomicBool::new(false));
            let tasks: Vec<_> = (0..CONNECTIONS)
                .map(|_| {
                    tokio::spawn(drive(
                        addr,
                        Arc::clone(&batch),
                        pipeline,
                        answer_len,
                        Arc::clone(&done),
                        Arc::clone(&stop),
                    ))
                })
                .collect();
            // A short warm-up on fresh connections, then the measured period.
            tokio::time::sleep(Duration::from_millis(100)).await;
            let ticks_before = cpu_ticks(server_task.as_deref());
            let (start, before) = (Instant::now(), done.load(Ordering::Relaxed));
            tokio::time::sleep(period).await;
            let answered = done.load(Ordering::Relaxed) - before;
            let rate = answered as f64 / start.elapsed().as_secs_f64();
            let ticks = ticks_before
                .zip(cpu_ticks(server_task.as_deref()))
                .map(|((u0, s0), (u1, s1))| (u1 - u0, s1 - s0));
            stop.store(true, Ordering::Relaxed);
            for task in tasks {
                task.await.unwrap();
            }
            (rate, answered, ticks)
        })
    };

    println!(
        "http/HS256: {} routes, {CONNECTIONS} connections x {pipeline} pipelined, {rounds} rounds of {millis} ms each",
        routes.len()
    );
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); routes.len()];
    let mut ratios: Vec<Vec<f64>> = vec![Vec::new(); routes.len()];
    // Per route: requests answered, and the server thread's user and kernel ticks meanwhile.
    let mut cpu: Vec<Option<(u64, u64, u64)>> = vec![Some((0, 0, 0)); routes.len()];
    for round in 0..rounds {
        let mut this_round = vec![0.0; routes.len()];
        for k in 0..routes.len() {
            let i = (round + k) % routes.len();
            let (_, addr, len) = routes[i];
            let (rate, answered, ticks) = measure(addr, len, Duration::from_millis(millis));
            this_round[i] = rate;
            cpu[i] = cpu[i]
                .zip(ticks)
                .map(|((n, u, s), (du, ds))| (n + answered, u + du, s + ds));
        }
        let line: Vec<String> = routes
            .iter()
            .zip(&this_round)
            .map(|((name, _, _), rate)| format!("{name} {rate:.0}/s ({:.3}x)", rate / this_round[0]))
            .collect();
        println!("  round {}: {}", round + 1, line.join(", "));
        for (i, rate) in this_round.iter().enumerate() {
            rates[i].push(*rate);
            ratios[i].push(rate / this_round[0]);
        }
    }
    let open_rate = median(&mut rates[0].clone());
    println!("medians:");
    for (i, (name, _, _)) in routes.iter().enumerate() {
        let rate = median(&mut rates[i]);
        let ratio = median(&mut ratios[i]);
        let added = 1e6 / rate - 1e6 / open_rate;
        println!(
            "  {name:<22} {rate:>9.0} requests/s  {ratio:.3}x open  {added:+.2} us of server CPU per request"
        );
    }
    // Clock ticks are 10 ms on Linux (`CLK_TCK` is 100 on every architecture Rust supports).
    if cpu.iter().all(Option::is_some) {
        println!("server thread CPU per request (user + kernel), over all rounds:");
        for ((name, _, _), c) in routes.iter().zip(&cpu) {
            if let Some((n, u, s)) = *c {
                let per = |ticks: u64| ticks as f64 * 1e4 / n.max(1) as f64;
                println!(
                    "  {name:<22} {:.2} us + {:.2} us = {:.2} us",
                    per(u),
                    per(s),
                    per(u + s)
                );
            }
        }
    }
    // The resident memory of the whole process (server and generator) after the load.
    if let Some(rss) = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).map(str::to_owned))
    {
        println!("  {rss}");
    }
}
