//! A soak test: the example server (`examples/server/`, served by its `serve.rs` on a loopback
//! port) under a few minutes of mixed traffic (logins, valid, forged and expired tokens, a
//! role refusal, refreshes, refresh-token reuse, logouts, unknown users), with the process's
//! resident memory sampled throughout.
//!
//! It checks that every answer is the right one all along (a logged-out or reused session's
//! token stays refused, a forged one is never accepted) and that memory stays bounded: no
//! sample above the level after warm-up plus [`HEADROOM_MIB`], and no upward drift between the
//! second quarter of the run and the last. It runs `TOWER_JWT_AUTH_SOAK_SECS` seconds (20 by
//! default; `.ci/run` gives it 150). Nothing here asserts a duration.
#![cfg(feature = "sessions")]

mod support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::Notify;
use tower_jwt_auth::SigningKey;

use support::example_server::{self as server, serve::ServeOptions};
use support::loopback::{request, resident_mib, Answer};

const SECRET: &str = "the-32-byte-secret-of-the-soak-test-run";
/// Clients with no session of their own, each from its own loopback address (beside one
/// session client per demo user: one per subject, since past its bound a subject's revocations
/// are compacted into a cutoff that also refuses its other sessions' tokens, as documented).
const BYSTANDERS: u8 = 4;
/// How far above the level after warm-up resident memory may go.
const HEADROOM_MIB: u64 = 96;
/// How far the last quarter's mean may drift above the second quarter's.
const DRIFT_MIB: u64 = 32;

/// What the clients saw, in total.
#[derive(Default, Debug)]
struct Tally {
    rounds: u64,
    logins: u64,
    limited: u64,
    refreshes: u64,
    reuses: u64,
    logouts: u64,
    refused: u64,
}

/// One client's loop until `stop`: every answer is checked as it comes.
async fn client(to: SocketAddr, n: u8, stop: Arc<AtomicBool>, tally: Arc<Mutex<Tally>>) {
    let from = IpAddr::V4(Ipv4Addr::new(127, 0, 1, n));
    let user = if n == 1 { "alice" } else { "admin" };
    let signer = SigningKey::hs256(SECRET.as_bytes()).unwrap();
    let expired = signer
        .sign(&json!({ "sub": user, "role": "admin", "exp": 1_000_000_000 }))
        .unwrap();
    let mut round: u64 = 0;
    while !stop.load(Ordering::Relaxed) {
        round += 1;
        let mut seen = Tally::default();
        let login = request(
            to,
            from,
            "POST",
            "/login",
            None,
            Some(&json!({ "username": user, "password": format!("{user}-password") })),
        )
        .await;
        if login.status == 429 || login.status == 503 {
            assert!(login.header("retry-after").is_some(), "{}", login.status);
            seen.limited += 1;
            tally_add(&tally, &seen);
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        assert_eq!(login.status, 200, "login: {}", login.body);
        assert_eq!(login.header("cache-control"), Some("no-store"));
        seen.logins += 1;
        let access = login.body["access_token"].as_str().unwrap().to_owned();
        let refresh = login.body["refresh_token"].as_str().unwrap().to_owned();

        let me = request(to, from, "GET", "/me", Some(&access), None).await;
        assert_eq!(me.status, 200, "{}", me.body);
        assert_eq!(me.body["sub"], user);

        // A forged signature, an expired token, garbage, a wrong password: refused.
        let mut forged = access.clone();
        let last = if forged.ends_with('A') { "B" } else { "A" };
        forged.replace_range(forged.len() - 1.., last);
        for (token, what) in [
            (forged.as_str(), "forged"),
            (expired.as_str(), "expired"),
            ("x.y.z", "garbage"),
        ] {
            let answer = request(to, from, "GET", "/me", Some(token), None).await;
            assert_eq!(answer.status, 401, "{what}: {}", answer.body);
            assert!(answer
                .header("www-authenticate")
                .is_some_and(|c| c.starts_with("Bearer ")));
            seen.refused += 1;
        }
        failed_login(to, from, &format!("nobody-{n}-{round}")).await;
        let admin = request(to, from, "GET", "/admin", Some(&access), None).await;
        assert_eq!(admin.status, if user == "admin" { 200 } else { 403 });

        // Refresh: a new pair; the old access token still works until it expires.
        let renewed = refreshed(to, from, &refresh).await;
        assert_eq!(renewed.status, 200, "refresh: {}", renewed.body);
        seen.refreshes += 1;
        let access2 = renewed.body["access_token"].as_str().unwrap().to_owned();
        if round % 4 == 0 {
            // A second rotation, then the first refresh token again: older than the grace
            // window's one predecessor, so a reuse; the session ends, its tokens are refused.
            let refresh2 = renewed.body["refresh_token"].as_str().unwrap();
            let again = refreshed(to, from, refresh2).await;
            assert_eq!(again.status, 200, "refresh: {}", again.body);
            let reused = refreshed(to, from, &refresh).await;
            assert_eq!(reused.status, 401, "reuse: {}", reused.body);
            assert_eq!(reused.body["code"], "reused");
            seen.reuses += 1;
            for token in [&access, &access2] {
                let answer = request(to, from, "GET", "/me", Some(token), None).await;
                assert_eq!(answer.status, 401, "a reused session's token: {}", answer.body);
            }
        } else {
            let out = request(to, from, "POST", "/session/logout", Some(&access2), None).await;
            assert_eq!(out.status, 204, "logout: {}", out.body);
            seen.logouts += 1;
            for token in [&access, &access2] {
                let answer = request(to, from, "GET", "/me", Some(token), None).await;
                assert_eq!(
                    answer.status, 401,
                    "a logged-out session's token: {}",
                    answer.body
                );
            }
        }
        seen.rounds += 1;
        tally_add(&tally, &seen);
    }
}

/// `POST /session/refresh` with `token` in the body.
async fn refreshed(to: SocketAddr, from: IpAddr, token: &str) -> Answer {
    request(
        to,
        from,
        "POST",
        "/session/refresh",
        None,
        Some(&json!({ "refresh_token": token })),
    )
    .await
}

/// A wrong password for an unknown user: refused, or turned away by a limit.
async fn failed_login(to: SocketAddr, from: IpAddr, user: &str) {
    let wrong = request(
        to,
        from,
        "POST",
        "/login",
        None,
        Some(&json!({ "username": user, "password": "guess" })),
    )
    .await;
    assert!(matches!(wrong.status, 401 | 429 | 503), "{}", wrong.status);
}

/// A client with no session: a valid token minted with the secret (no `sid`), and the refusals.
async fn bystander(to: SocketAddr, n: u8, stop: Arc<AtomicBool>, tally: Arc<Mutex<Tally>>) {
    let from = IpAddr::V4(Ipv4Addr::new(127, 0, 2, n));
    let signer = SigningKey::hs256(SECRET.as_bytes()).unwrap();
    let sub = format!("carol{n}");
    let now = tower_jwt_auth::SystemClock::now_precise() as u64;
    let valid = signer
        .sign(&json!({ "sub": sub, "role": "user", "iat": now, "exp": now + 3600 }))
        .unwrap();
    let expired = signer
        .sign(&json!({ "sub": sub, "role": "admin", "exp": 1_000_000_000 }))
        .unwrap();
    let forged = SigningKey::hs256(b"a-secret-the-server-does-not-know!!")
        .unwrap()
        .sign(&json!({ "sub": sub, "role": "admin", "exp": now + 3600 }))
        .unwrap();
    let mut round: u64 = 0;
    while !stop.load(Ordering::Relaxed) {
        round += 1;
        let me = request(to, from, "GET", "/me", Some(&valid), None).await;
        assert_eq!(me.status, 200, "{}", me.body);
        assert_eq!(me.body["sub"], sub.as_str());
        let admin = request(to, from, "GET", "/admin", Some(&valid), None).await;
        assert_eq!(admin.status, 403, "{}", admin.body);
        for (token, what) in [
            (forged.as_str(), "forged"),
            (expired.as_str(), "expired"),
            ("x.y.z", "garbage"),
        ] {
            let answer = request(to, from, "GET", "/me", Some(token), None).await;
            assert_eq!(answer.status, 401, "{what}: {}", answer.body);
        }
        failed_login(to, from, &format!("nobody-{n}-{round}")).await;
        let health = request(to, from, "GET", "/health", None, None).await;
        assert_eq!(health.status, 200);
        tally_add(
            &tally,
            &Tally {
                refused: 4,
                ..Tally::default()
            },
        );
    }
}

fn tally_add(tally: &Mutex<Tally>, seen: &Tally) {
    let mut t = tally.lock().unwrap();
    t.rounds += seen.rounds;
    t.logins += seen.logins;
    t.limited += seen.limited;
    t.refreshes += seen.refreshes;
    t.reuses += seen.reuses;
    t.logouts += seen.logouts;
    t.refused += seen.refused;
}

fn mean(samples: &[u64]) -> u64 {
    samples.iter().sum::<u64>() / (samples.len() as u64).max(1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_traffic_for_minutes_keeps_every_answer_right_and_memory_flat() {
    let secs: u64 = std::env::var("TOWER_JWT_AUTH_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20)
        .max(8);
    let app = server::app(server::config(SECRET)).unwrap();
    let shutdown = Arc::new(Notify::new());
    let (to, server) = server::start(app, ServeOptions::default(), {
        let shutdown = Arc::clone(&shutdown);
        async move { shutdown.notified().await }
    })
    .await;

    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let mut clients = tokio::task::JoinSet::new();
    for n in 1..=2 {
        clients.spawn(client(to, n, Arc::clone(&stop), Arc::clone(&tally)));
    }
    for n in 1..=BYSTANDERS {
        clients.spawn(bystander(to, n, Arc::clone(&stop), Arc::clone(&tally)));
    }
    let start = Instant::now();
    let mut samples = Vec::new();
    while start.elapsed() < Duration::from_secs(secs) {
        tokio::time::sleep(Duration::from_millis(250)).await;
        samples.push(resident_mib());
        // A client that failed a check ends the run at once.
        if let Some(done) = clients.try_join_next() {
            done.unwrap();
            panic!("a client stopped early");
        }
    }
    stop.store(true, Ordering::Relaxed);
    while let Some(done) = clients.join_next().await {
        done.unwrap();
    }
    shutdown.notify_one();
    server.await.unwrap();

    let tally = tally.lock().unwrap();
    let quarter = samples.len() / 4;
    let warm = samples[quarter.min(8)..].to_vec();
    let baseline = *samples.get(quarter.min(8)).unwrap_or(&0);
    let peak = warm.iter().copied().max().unwrap_or(0);
    let second = mean(&samples[quarter..2 * quarter]);
    let last = mean(&samples[3 * quarter..]);
    eprintln!(
        "soak: {secs} s, {tally:?}; resident MiB: first {}, after warm-up {baseline}, peak {peak}, second quarter {second}, last quarter {last}",
        samples.first().copied().unwrap_or(0)
    );
    assert!(
        tally.logins >= 10 && tally.logouts >= 5 && tally.reuses >= 1,
        "{tally:?}"
    );
    assert!(
        peak <= baseline + HEADROOM_MIB,
        "peak {peak} MiB, after warm-up {baseline} MiB"
    );
    assert!(last <= second + DRIFT_MIB, "drift: {second} MiB -> {last} MiB");
}
