//! The example server's logins under a flood (`examples/server/`, served by its `serve.rs` on
//! a loopback port): resident memory and threads stay bounded, whatever the number of logins
//! in flight.
//!
//! Before the password pool, every login in flight ran Argon2 (19 MiB) on a `spawn_blocking`
//! thread of its own, and the allocator kept the memory: 200 parallel logins took the server to
//! 3.9 GB with 203 threads, 100 sequential failed ones left 461 MiB. One test, so that this
//! binary's readings of its own memory and threads are the server's.
#![cfg(feature = "axum")]

mod support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::Notify;

use support::example_server::{self as server, serve::ServeOptions};
use support::loopback::{request, resident_mib, threads};

fn address(group: u8, n: u32) -> IpAddr {
    let [_, _, a, b] = n.to_be_bytes();
    IpAddr::V4(Ipv4Addr::new(127, group, a, b.max(1)))
}

async fn login(to: SocketAddr, from: IpAddr, user: &str, password: &str) -> u16 {
    request(
        to,
        from,
        "POST",
        "/login",
        None,
        Some(&json!({ "username": user, "password": password })),
    )
    .await
    .status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_floods_keep_memory_and_threads_bounded() {
    let app = server::app(server::config("the-32-byte-secret-of-the-login-flood")).unwrap();
    let shutdown = Arc::new(Notify::new());
    let (to, served) = server::start(app, ServeOptions::default(), {
        let shutdown = Arc::clone(&shutdown);
        async move { shutdown.notified().await }
    })
    .await;
    assert_eq!(login(to, address(2, 1), "alice", "alice-password").await, 200);
    let (base_mib, base_threads) = (resident_mib(), threads());

    // 100 sequential failed logins, each from its own address and for its own username.
    for n in 0..100 {
        assert_eq!(
            login(to, address(3, n + 1), &format!("nobody{n}"), "guess").await,
            401
        );
    }
    let after_sequential = resident_mib();

    // 200 in parallel, from as many addresses: some are checked, the rest turned away at once.
    let peak = Arc::new(AtomicU64::new(0));
    let peak_threads = Arc::new(AtomicUsize::new(0));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = tokio::spawn({
        let (peak, peak_threads, sampling) = (
            Arc::clone(&peak),
            Arc::clone(&peak_threads),
            Arc::clone(&sampling),
        );
        async move {
            while sampling.load(Ordering::Relaxed) {
                peak.fetch_max(resident_mib(), Ordering::Relaxed);
                peak_threads.fetch_max(threads(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    });
    let mut flood = tokio::task::JoinSet::new();
    for n in 0..200 {
        flood.spawn(async move { login(to, address(4, n + 1), &format!("flood{n}"), "guess").await });
    }
    let (mut checked, mut busy) = (0, 0);
    while let Some(status) = flood.join_next().await {
        match status.unwrap() {
            401 => checked += 1,
            503 => busy += 1,
            other => panic!("{other}"),
        }
    }
    sampling.store(false, Ordering::Relaxed);
    sampler.await.unwrap();
    let (peak, peak_threads) = (peak.load(Ordering::Relaxed), peak_threads.load(Ordering::Relaxed));

    // Many logins of one user, eight at a time from eight addresses.
    let before_user = resident_mib();
    let mut logins = tokio::task::JoinSet::new();
    for client in 0..8u32 {
        logins.spawn(async move {
            let mut ok = 0;
            for _ in 0..75 {
                match login(to, address(5, client + 1), "alice", "alice-password").await {
                    200 => ok += 1,
                    429 | 503 => tokio::time::sleep(Duration::from_millis(200)).await,
                    other => panic!("{other}"),
                }
            }
            ok
        });
    }
    let mut ok = 0;
    while let Some(n) = logins.join_next().await {
        ok += n.unwrap();
    }
    let after_user = resident_mib();
    shutdown.notify_one();
    served.await.unwrap();

    eprintln!(
        "resident MiB: {base_mib} at start ({base_threads} threads), {after_sequential} after 100 sequential failed \
         logins, {peak} at peak of 200 parallel ({checked} checked, {busy} answered 503; at most {peak_threads} threads), \
         {before_user} -> {after_user} over {ok} logins of one user"
    );
    assert!(
        after_sequential <= base_mib + 32,
        "{base_mib} -> {after_sequential} MiB"
    );
    assert!(peak <= base_mib + 96, "{base_mib} -> {peak} MiB");
    // The pool's threads were there from the start: a flood adds none.
    assert!(
        peak_threads <= base_threads + 2,
        "{base_threads} -> {peak_threads} threads"
    );
    assert!(checked >= 50 && busy >= 1, "{checked} checked, {busy} busy");
    assert!(ok >= 300, "{ok}");
    assert!(
        after_user <= before_user + 32,
        "{before_user} -> {after_user} MiB"
    );
}
