//! The Redis store: the shared store suite (tests/store_suite), then what only a shared store
//! has: two instances, Redis going away and coming back, and failing closed.
//!
//! Redis comes from `TOWER_JWT_AUTH_TEST_REDIS` (a URL; `.ci/run` starts a `redis-server` on a
//! free loopback port and sets it), else each test starts its own `redis-server` from `PATH`.
//! The tests that stop and restart Redis always start their own. Without `redis-server` they
//! fail under `CI=true` and are skipped, saying so, elsewhere.

#![cfg(feature = "redis")]

mod store_suite;
mod support;

use std::convert::Infallible;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{Request, Response, StatusCode};
use serde::{Deserialize, Serialize};
use tower::ServiceExt;
use tower_jwt_auth::session::{
    RedisOptions, RedisStore, RefreshError, RotateRequest, Rotation, SessionOptions, SessionRecord,
    SessionStore, Sessions, StoreError,
};
use tower_jwt_auth::{AuthError, AuthErrorKind, JwtAuthLayer, Revocations, SigningKey};

use store_suite::{claims, now, SECRET};
use support::redis_server::Server;

/// Where a test's store lives: the shared server (with a prefix of the test's own) or a server
/// of its own.
struct Place {
    url: String,
    prefix: String,
    _server: Option<Server>,
}

fn place() -> Option<Place> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let prefix = format!(
        "test:{}:{}:",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    match std::env::var("TOWER_JWT_AUTH_TEST_REDIS") {
        Ok(url) if !url.is_empty() => Some(Place {
            url,
            prefix,
            _server: None,
        }),
        _ => Server::start().map(|server| Place {
            url: server.url(),
            prefix,
            _server: Some(server),
        }),
    }
}

/// A Redis store that keeps its server alive (when the test started one).
struct Store {
    store: RedisStore,
    _place: Arc<Place>,
}

impl SessionStore for Store {
    async fn create(&self, record: SessionRecord, revoke_until: f64) -> Result<(), StoreError> {
        self.store.create(record, revoke_until).await
    }
    async fn rotate(&self, request: RotateRequest<'_>) -> Result<Rotation, StoreError> {
        self.store.rotate(request).await
    }
    async fn revoke(&self, sid: &str, until: f64) -> Result<bool, StoreError> {
        self.store.revoke(sid, until).await
    }
    async fn revoke_subject(&self, sub: &str, cutoff: f64, until: f64) -> Result<usize, StoreError> {
        self.store.revoke_subject(sub, cutoff, until).await
    }
    async fn revoke_token(&self, sub: Option<&str>, jti: &str, exp: f64) -> Result<(), StoreError> {
        self.store.revoke_token(sub, jti, exp).await
    }
    fn revocations(&self) -> &Revocations {
        self.store.revocations()
    }
}

struct Redis;

impl store_suite::Harness for Redis {
    type Store = Store;

    async fn store(cap: usize) -> Store {
        // `redis_suite!` runs only where Redis is available.
        let place = place().expect("Redis is available");
        let options = RedisOptions::default().prefix(place.prefix.clone()).cap(cap);
        let store = RedisStore::connect(&place.url, options).await.unwrap();
        Store {
            store,
            _place: Arc::new(place),
        }
    }

    async fn purge(store: &Store) {
        store.store.resync().await.unwrap();
    }
}

/// Runs the suite only where Redis is available (always in CI).
macro_rules! redis_suite {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                if !redis_available() {
                    return;
                }
                store_suite::$name::<Redis>().await;
            }
        )*
    };
}

fn redis_available() -> bool {
    std::env::var("TOWER_JWT_AUTH_TEST_REDIS").is_ok_and(|u| !u.is_empty())
        || Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok()
        || {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("no Redis for the Redis tests in CI");
            }
            eprintln!("skipped: no redis-server on PATH and TOWER_JWT_AUTH_TEST_REDIS unset");
            false
        }
}

redis_suite!(
    every_refresh_rotates,
    grace_converges_on_the_current_token,
    without_grace_the_predecessor_is_reuse,
    reuse_revokes_that_session_only,
    fifty_parallel_refreshes_make_one_generation,
    absolute_and_idle_expiry,
    unknown_sessions_have_their_own_code,
    logout_revokes_the_session_and_the_token,
    subject_cutoff_splits_the_second,
    purge_drops_expired_entries,
    at_the_cap_the_list_compacts_and_never_refuses,
    logout_at_the_cap_refuses_the_token,
    one_subject_with_three_thousand_sessions_stays_bounded,
    times_that_are_not_finite_are_refused,
);

/// Waits up to `limit` for `done`; returns how long it took.
async fn within(limit: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    start.elapsed()
}

/// Two instances (each with its own connection and mirror) sharing the Redis of `place`.
async fn two_instances(place: &Place) -> (Sessions<RedisStore>, Sessions<RedisStore>) {
    let instance = || async {
        let options = RedisOptions::default().prefix(place.prefix.clone());
        let store = RedisStore::connect(&place.url, options).await.unwrap();
        Sessions::new(SECRET, store, SessionOptions::default()).unwrap()
    };
    (instance().await, instance().await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_on_one_instance_is_enforced_by_another_within_a_second() {
    let Some(place) = place() else { return };
    let (a, b) = two_instances(&place).await;
    let issued = a.issue("alice", claims()).await.unwrap();
    let sid = issued.session.sid.clone();

    // A refresh token works on either instance: the session is shared.
    let rotated = b.refresh(issued.refresh_token.as_str()).await.unwrap();
    assert_eq!(rotated.session.generation, 1);

    // Logout on A; B refuses the token and the session within a second (pub/sub: milliseconds).
    a.revoke_token(Some("alice"), "jti-1", now() + 900.0)
        .await
        .unwrap();
    a.revoke(&sid).await.unwrap();
    let took = within(Duration::from_secs(1), || {
        b.revocations().is_revoked(Some("jti-1"), None, None, None)
            && b.revocations().is_revoked(None, Some(&sid), None, None)
    })
    .await;
    eprintln!("revocation reached the other instance in {took:?}");
    assert_eq!(
        b.refresh(rotated.refresh_token.as_str()).await.unwrap_err(),
        RefreshError::Revoked
    );

    // Reuse detected on B revokes the session on A too.
    let other = a.issue("bob", claims()).await.unwrap();
    let next = a.refresh(other.refresh_token.as_str()).await.unwrap();
    a.refresh(next.refresh_token.as_str()).await.unwrap();
    assert_eq!(
        b.refresh(other.refresh_token.as_str()).await.unwrap_err(),
        RefreshError::Reused
    );
    let other_sid = other.session.sid.clone();
    within(Duration::from_secs(1), || {
        a.revocations().is_revoked(None, Some(&other_sid), None, None)
    })
    .await;

    // "Log out everywhere" on B reaches A.
    let before = now();
    b.revoke_subject("carol").await.unwrap();
    within(Duration::from_secs(1), || {
        a.revocations()
            .is_revoked(None, None, Some("carol"), Some(before))
    })
    .await;
    assert!(!a.revocations().is_revoked(None, None, Some("carol"), Some(now())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_refreshes_across_two_instances_make_one_generation() {
    let Some(place) = place() else { return };
    let (a, b) = two_instances(&place).await;
    let (a, b) = (Arc::new(a), Arc::new(b));
    let first = a.issue("alice", claims()).await.unwrap();
    let token = first.refresh_token.as_str().to_owned();
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let s = Arc::clone(if i % 2 == 0 { &a } else { &b });
            let token = token.clone();
            tokio::spawn(async move { s.refresh(&token).await })
        })
        .collect();
    let mut tokens = Vec::new();
    for task in tasks {
        let issued = task.await.unwrap().expect("every honest racer succeeds");
        assert_eq!(issued.session.generation, 1);
        tokens.push(issued.refresh_token);
    }
    assert!(tokens.windows(2).all(|w| w[0] == w[1]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_going_away_gives_unavailable_keeps_the_mirror_and_resyncs_without_restart() {
    let Some(mut server) = Server::start() else {
        return;
    };
    let options = || {
        RedisOptions::default()
            .timeout(Duration::from_millis(500))
            .reconcile_interval(Duration::from_millis(200))
    };
    let a = Sessions::new(
        SECRET,
        RedisStore::connect(&server.url(), options()).await.unwrap(),
        SessionOptions::default(),
    )
    .unwrap();
    let b = Sessions::new(
        SECRET,
        RedisStore::connect(&server.url(), options()).await.unwrap(),
        SessionOptions::default(),
    )
    .unwrap();
    let issued = a.issue("alice", claims()).await.unwrap();
    a.revoke_token(Some("alice"), "before-outage", now() + 900.0)
        .await
        .unwrap();
    within(Duration::from_secs(1), || {
        b.revocations()
            .is_revoked(Some("before-outage"), None, None, None)
    })
    .await;

    server.stop();
    // Refresh, logout and revocation fail as unavailable (503), quickly, never silently.
    let started = Instant::now();
    match b.refresh(issued.refresh_token.as_str()).await {
        Err(RefreshError::Unavailable(StoreError::Unavailable(_))) => {}
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        b.revoke(&issued.session.sid).await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(matches!(
        a.revoke_token(Some("alice"), "during-outage", now() + 900.0)
            .await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // The request path keeps enforcing the last mirror, and does not fail closed by default.
    assert!(b
        .revocations()
        .is_revoked(Some("before-outage"), None, None, None));
    assert!(!b
        .revocations()
        .is_revoked(Some("during-outage"), None, None, None));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!b.revocations().is_stale());
    assert!(b.store().mirror_age() > Duration::from_millis(500));

    // Redis comes back (with its data): everything works again without a restart.
    assert!(server.restart());
    let came_back = Instant::now();
    let mut refreshed = None;
    while came_back.elapsed() < Duration::from_secs(10) {
        if let Ok(issued) = b.refresh(issued.refresh_token.as_str()).await {
            refreshed = Some(issued);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let refreshed = refreshed.expect("refresh works again once Redis is back");
    assert_eq!(refreshed.session.generation, 1);
    a.revoke_token(Some("alice"), "after-outage", now() + 900.0)
        .await
        .unwrap();
    // The other instance's mirror reconnected: it gets new revocations again, and kept the old.
    within(Duration::from_secs(5), || {
        b.revocations().is_revoked(Some("after-outage"), None, None, None)
    })
    .await;
    assert!(b
        .revocations()
        .is_revoked(Some("before-outage"), None, None, None));
    within(Duration::from_secs(2), || {
        b.store().mirror_age() < Duration::from_millis(500)
    })
    .await;
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Access {
    sub: String,
    jti: String,
    iat: f64,
    exp: f64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_staleness_fails_closed_with_503_and_recovers() {
    let Some(mut server) = Server::start() else {
        return;
    };
    let store = RedisStore::connect(
        &server.url(),
        RedisOptions::default()
            .timeout(Duration::from_millis(300))
            .reconcile_interval(Duration::from_millis(100))
            .max_staleness(Duration::from_millis(700)),
    )
    .await
    .unwrap();
    let key = SigningKey::hs256([7u8; 32]).unwrap();
    let token = key
        .sign(&Access {
            sub: "alice".into(),
            jti: "j".into(),
            iat: now(),
            exp: now() + 600.0,
        })
        .unwrap();
    let call = |list: Revocations, token: String| {
        let key = key.verifying_key();
        async move {
            let svc = tower::ServiceBuilder::new()
                .layer(JwtAuthLayer::<Access>::new(key).check(list))
                .service_fn(|_req: Request<String>| async {
                    Ok::<_, Infallible>(Response::new(String::new()))
                });
            let req = Request::builder()
                .header("authorization", format!("Bearer {token}"))
                .body(String::new())
                .unwrap();
            let res = svc.oneshot(req).await.unwrap();
            let retry_after = res.headers().get(http::header::RETRY_AFTER).cloned();
            (
                res.status(),
                res.extensions().get::<AuthError>().map(|e| e.kind()),
                retry_after,
            )
        }
    };
    let list = store.revocations().clone();
    assert_eq!(call(list.clone(), token.clone()).await.0, StatusCode::OK);

    server.stop();
    within(Duration::from_secs(3), || list.is_stale()).await;
    let (status, kind, retry_after) = call(list.clone(), token.clone()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(kind, Some(AuthErrorKind::RevocationsUnavailable));
    assert_eq!(retry_after.as_ref().map(|v| v.as_bytes()), Some(&b"1"[..]));
    // A forged token is still a 401: the signature is checked first.
    let forged = format!("{}x", &token[..token.len() - 1]);
    assert_eq!(call(list.clone(), forged).await.0, StatusCode::UNAUTHORIZED);

    assert!(server.restart());
    within(Duration::from_secs(10), || !list.is_stale()).await;
    assert_eq!(call(list, token).await.0, StatusCode::OK);
}

#[tokio::test]
async fn an_unreachable_redis_fails_at_connect_with_unavailable() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let options = RedisOptions::default().timeout(Duration::from_millis(500));
    match RedisStore::connect(&format!("redis://127.0.0.1:{port}"), options).await {
        Err(StoreError::Unavailable(_)) => {}
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        RedisStore::connect("not a url", RedisOptions::default()).await,
        Err(StoreError::Unavailable(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_that_lost_its_data_does_not_bring_revoked_tokens_back() {
    let Some(server) = Server::start() else { return };
    let options = || RedisOptions::default().reconcile_interval(Duration::from_millis(100));
    let a = RedisStore::connect(&server.url(), options()).await.unwrap();
    let b = RedisStore::connect(&server.url(), options()).await.unwrap();
    a.revoke_token(Some("alice"), "before-the-loss", now() + 900.0)
        .await
        .unwrap();
    a.revoke_token(Some("alice"), "another", now() + 900.0)
        .await
        .unwrap();
    within(Duration::from_secs(1), || b.mirror_sequence() == 2).await;
    assert!(b
        .revocations()
        .is_revoked(Some("before-the-loss"), None, None, None));

    // Redis forgets everything (FLUSHALL stands for a restart without persistence, an eviction
    // or a failover to a lagging replica).
    let client = redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("FLUSHALL").query_async(&mut conn).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    // The instances keep what they saw, and follow Redis's new sequence.
    for store in [&a, &b] {
        assert!(store
            .revocations()
            .is_revoked(Some("before-the-loss"), None, None, None));
        assert_eq!(store.mirror_sequence(), 0);
    }
    // New revocations flow again, though their sequence numbers start over.
    b.revoke_token(Some("alice"), "after-the-loss", now() + 900.0)
        .await
        .unwrap();
    within(Duration::from_secs(1), || {
        a.revocations()
            .is_revoked(Some("after-the-loss"), None, None, None)
    })
    .await;
    assert!(a.revocations().is_revoked(Some("another"), None, None, None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_out_everywhere_of_many_sessions_reaches_the_other_instance() {
    let Some(place) = place() else { return };
    let (a, b) = two_instances(&place).await;
    let mut sids = Vec::new();
    for _ in 0..40 {
        sids.push(a.issue("alice", claims()).await.unwrap().session.sid);
    }
    let other = a.issue("bob", claims()).await.unwrap().session.sid;
    // A subject keeps 32 sessions by default: issuing the 33rd to 40th removed and listed the
    // 8 oldest. One script lists the cutoff and the 32 others: 33 messages, applied on A in
    // batches.
    assert_eq!(b.revoke_subject("alice").await.unwrap(), 32);
    let after = now();
    within(Duration::from_secs(1), || {
        sids.iter().all(|sid| {
            a.revocations()
                .is_revoked(Some("j"), Some(sid), Some("alice"), Some(after))
        })
    })
    .await;
    within(Duration::from_secs(1), || {
        a.store().mirror_sequence() == b.store().mirror_sequence()
    })
    .await;
    assert_eq!(a.revocations().len(), 41);
    assert!(!a
        .revocations()
        .is_revoked(Some("j"), Some(&other), Some("bob"), Some(after)));
}

/// Every script's work is bounded: a subject keeps at most its cap of sessions in Redis (the
/// oldest are removed and listed), so "log out everywhere" walks at most that many; its
/// revocations stay within the per-subject bound, in Redis and in the other instance's mirror.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scripts_keep_a_subject_within_its_bounds() {
    let Some(place) = place() else { return };
    let instance = || async {
        let options = RedisOptions::default()
            .prefix(place.prefix.clone())
            .sessions_per_subject(10)
            .revocations_per_subject(8);
        let store = RedisStore::connect(&place.url, options).await.unwrap();
        Sessions::new(SECRET, store, SessionOptions::default()).unwrap()
    };
    let (a, b) = (instance().await, instance().await);
    let first = a.issue("alice", claims()).await.unwrap();
    let mut latest = None;
    for i in 0..60 {
        let issued = a.issue("alice", claims()).await.unwrap();
        a.revoke_token(Some("alice"), &format!("jti-{i}"), now() + 900.0)
            .await
            .unwrap();
        latest = Some(issued);
    }
    let latest = latest.unwrap();
    let client = redis::Client::open(place.url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let sessions: usize = redis::cmd("ZCARD")
        .arg(format!("{}subject-sessions:alice", place.prefix))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(sessions, 10);
    let listed: usize = redis::cmd("HLEN")
        .arg(format!("{}rev", place.prefix))
        .query_async(&mut conn)
        .await
        .unwrap();
    // At most 8 of alice's entries, and her cutoff.
    assert!(listed <= 8 + 1, "{listed} entries in Redis");
    // The oldest session is gone, the latest works.
    assert!(matches!(
        a.refresh(first.refresh_token.as_str()).await.unwrap_err(),
        RefreshError::Unknown | RefreshError::Revoked
    ));
    assert!(b.refresh(latest.refresh_token.as_str()).await.is_ok());
    // The other instance converges on the same refusals, within the same bounds.
    let issued_before = now() - 0.5;
    within(Duration::from_secs(2), || {
        b.revocations()
            .is_revoked(Some("jti-0"), None, Some("alice"), Some(issued_before))
            && b.revocations()
                .is_revoked(Some("jti-59"), None, Some("alice"), Some(issued_before))
    })
    .await;
    assert!(b.revocations().len() <= 8 + 1, "{:?}", b.revocations());
    assert!(a.revocations().len() <= 8 + 1, "{:?}", a.revocations());
    // "Log out everywhere" walks at most the cap.
    assert!(b.revoke_subject("alice").await.unwrap() <= 10);
    assert!(b
        .revocations()
        .is_revoked(None, Some(&latest.session.sid), Some("alice"), Some(now())));
}

/// At the cap with nothing to compact (one entry per subject), Redis replaces the list by a
/// cutoff for everyone, which reaches the other instance: nothing revoked comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_redis_list_becomes_a_cutoff_for_everyone_on_every_instance() {
    let Some(place) = place() else { return };
    let instance = || async {
        let options = RedisOptions::default().prefix(place.prefix.clone()).cap(5);
        RedisStore::connect(&place.url, options).await.unwrap()
    };
    let (a, b) = (instance().await, instance().await);
    let issued = now() - 1.0;
    for i in 0..6 {
        a.revoke_token(Some(&format!("user-{i}")), &format!("jti-{i}"), now() + 900.0)
            .await
            .unwrap();
    }
    within(Duration::from_secs(2), || {
        (0..6).all(|i| {
            b.revocations().is_revoked(
                Some(&format!("jti-{i}")),
                None,
                Some(&format!("user-{i}")),
                Some(issued),
            )
        })
    })
    .await;
    assert!(b
        .revocations()
        .is_revoked(Some("x"), None, Some("zoe"), Some(issued)));
    let fresh = now();
    assert!(!b
        .revocations()
        .is_revoked(Some("x"), None, Some("zoe"), Some(fresh)));
    // A new instance learns the cutoff from its load.
    let c = instance().await;
    assert!(c
        .revocations()
        .is_revoked(Some("x"), None, Some("zoe"), Some(issued)));
    assert!(c.revocations().len() <= 5);
}
