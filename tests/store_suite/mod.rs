//! One test suite for every [`SessionStore`]: each rule of sessions and revocations, run
//! against the in-memory store (tests/sessions.rs) and Redis (tests/redis.rs) by
//! `store_suite!(Harness)`.

#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};
use tower_jwt_auth::session::{
    RefreshError, RotateRequest, Rotation, SessionOptions, SessionRecord, SessionStore, Sessions, StoreError,
};

pub const SECRET: &[u8] = b"refresh-token-secret-of-at-least-32-bytes";

/// How a store is made for one test.
pub trait Harness {
    type Store: SessionStore + 'static;
    /// A fresh, empty store whose revocation list holds at most `cap` entries (64 per subject)
    /// and that keeps at most 32 sessions per subject (the defaults).
    fn store(cap: usize) -> impl Future<Output = Self::Store>;
    /// Drops expired sessions and revocations.
    fn purge(store: &Self::Store) -> impl Future<Output = ()>;
}

pub fn claims() -> Map<String, Value> {
    match json!({"role": "user"}) {
        Value::Object(map) => map,
        _ => unreachable!(),
    }
}

pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

async fn sessions<H: Harness>(options: SessionOptions) -> Sessions<H::Store> {
    Sessions::new(SECRET, H::store(1000).await, options).unwrap()
}

pub async fn every_refresh_rotates<H: Harness>() {
    let s = sessions::<H>(SessionOptions::default()).await;
    let first = s.issue("alice", claims()).await.unwrap();
    assert_eq!(first.session.generation, 0);
    assert_eq!(first.session.claims["role"], "user");
    let second = s.refresh(first.refresh_token.as_str()).await.unwrap();
    assert_eq!(second.session.generation, 1);
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_eq!(second.session.sid, first.session.sid);
    assert_eq!(second.session.sub, "alice");
    assert_eq!(second.session.claims, claims());
    // Rotation never extends the absolute expiry.
    assert_eq!(second.session.expires_at, first.session.expires_at);
    let third = s.refresh(second.refresh_token.as_str()).await.unwrap();
    assert_eq!(third.session.generation, 2);
}

pub async fn grace_converges_on_the_current_token<H: Harness>() {
    let s = sessions::<H>(SessionOptions::default()).await;
    let first = s.issue("alice", claims()).await.unwrap();
    let second = s.refresh(first.refresh_token.as_str()).await.unwrap();
    // A second tab, or a retry after a lost response, presents the first token again.
    let again = s.refresh(first.refresh_token.as_str()).await.unwrap();
    assert_eq!(again.refresh_token, second.refresh_token);
    assert_eq!(again.session.generation, 1);
    // No revocation was written: the session's access tokens still pass.
    assert!(s.revocations().is_empty());
    // The current token still rotates normally.
    let third = s.refresh(second.refresh_token.as_str()).await.unwrap();
    assert_eq!(third.session.generation, 2);
}

pub async fn without_grace_the_predecessor_is_reuse<H: Harness>() {
    let s = sessions::<H>(SessionOptions::default().grace(Duration::ZERO).unwrap()).await;
    let first = s.issue("alice", claims()).await.unwrap();
    s.refresh(first.refresh_token.as_str()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(
        s.refresh(first.refresh_token.as_str()).await.unwrap_err(),
        RefreshError::Reused
    );
}

pub async fn reuse_revokes_that_session_only<H: Harness>() {
    let s = sessions::<H>(SessionOptions::default()).await;
    let stolen = s.issue("alice", claims()).await.unwrap();
    let other_tab = s.issue("alice", claims()).await.unwrap();
    let second = s.refresh(stolen.refresh_token.as_str()).await.unwrap();
    let third = s.refresh(second.refresh_token.as_str()).await.unwrap();
    // Generation 0 is two behind: theft or a bug.
    assert_eq!(
        s.refresh(stolen.refresh_token.as_str()).await.unwrap_err(),
        RefreshError::Reused
    );
    // The rightful client's current token dies with the session...
    assert_eq!(
        s.refresh(third.refresh_token.as_str()).await.unwrap_err(),
        RefreshError::Revoked
    );
    // ...and so does every access token of the session, at once on this instance...
    let sid = stolen.session.sid.as_str();
    assert!(s
        .revocations()
        .is_revoked(Some("any-jti"), Some(sid), Some("alice"), Some(now())));
    // ...but the user's other session lives on, with its access tokens.
    let other_sid = other_tab.session.sid.as_str();
    assert!(!s
        .revocations()
        .is_revoked(Some("any-jti"), Some(other_sid), Some("alice"), Some(now())));
    assert!(s.refresh(other_tab.refresh_token.as_str()).await.is_ok());
}

pub async fn fifty_parallel_refreshes_make_one_generation<H: Harness>() {
    let s = Arc::new(sessions::<H>(SessionOptions::default()).await);
    let first = s.issue("alice", claims()).await.unwrap();
    let token = first.refresh_token.as_str().to_owned();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (s, token) = (Arc::clone(&s), token.clone());
            tokio::spawn(async move { s.refresh(&token).await })
        })
        .collect();
    let mut tokens = Vec::new();
    for task in tasks {
        let issued = task.await.unwrap().expect("every honest racer succeeds");
        assert_eq!(issued.session.generation, 1);
        tokens.push(issued.refresh_token);
    }
    assert!(
        tokens.windows(2).all(|w| w[0] == w[1]),
        "every 200 carries the same token"
    );
    // The session holds generation 1: its token rotates to 2, and nothing was revoked.
    let next = s.refresh(tokens[0].as_str()).await.unwrap();
    assert_eq!(next.session.generation, 2);
    assert!(s.revocations().is_empty());
}

fn record(sub: &str, generation: u64, at: f64, lifetime: f64) -> SessionRecord {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let sid = format!("{:016x}{n:016x}", std::process::id());
    let mut r = SessionRecord::new(sid, sub, claims(), at, at + lifetime);
    r.generation = generation;
    r
}

pub async fn absolute_and_idle_expiry<H: Harness>() {
    let store = H::store(1000).await;
    let (grace, idle) = (Duration::from_secs(10), Duration::from_secs(100));
    // Times near now, so that stores with real TTLs keep the records.
    let t0 = now();
    let r = record("bob", 3, t0, 1000.0);
    let sid = r.sid.clone();
    store.create(r, now() + 960.0).await.unwrap();
    match store
        .rotate(RotateRequest {
            sid: &sid,
            generation: 3,
            now: t0 + 50.0,
            grace,
            idle,
            revoke_until: t0 + 960.0,
        })
        .await
        .unwrap()
    {
        Rotation::Rotated(next) => {
            assert_eq!(next.generation, 4);
            assert_eq!(next.expires_at, t0 + 1000.0, "rotation never extends the session");
        }
        other => panic!("{other:?}"),
    }
    // Idle: more than 100 s after the last use.
    assert_eq!(
        store
            .rotate(RotateRequest {
                sid: &sid,
                generation: 4,
                now: t0 + 151.0,
                grace,
                idle,
                revoke_until: t0 + 960.0
            })
            .await
            .unwrap(),
        Rotation::Expired
    );
    // Absolute: used regularly, but past expires_at.
    let r = record("bob", 0, t0, 1000.0);
    let sid = r.sid.clone();
    store.create(r, now() + 960.0).await.unwrap();
    let mut generation = 0;
    let mut t = t0;
    while t < t0 + 990.0 {
        t += 90.0;
        match store
            .rotate(RotateRequest {
                sid: &sid,
                generation,
                now: t,
                grace,
                idle,
                revoke_until: t + 960.0,
            })
            .await
            .unwrap()
        {
            Rotation::Rotated(_) => generation += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        store
            .rotate(RotateRequest {
                sid: &sid,
                generation,
                now: t0 + 1000.0,
                grace,
                idle,
                revoke_until: t0 + 1960.0
            })
            .await
            .unwrap(),
        Rotation::Expired
    );
    // Expiry is not revocation: nothing was listed.
    assert!(store.revocations().is_empty());
}

pub async fn unknown_sessions_have_their_own_code<H: Harness>() {
    let s = sessions::<H>(SessionOptions::default()).await;
    let elsewhere = Sessions::new(
        SECRET,
        tower_jwt_auth::session::MemoryStore::new(),
        SessionOptions::default(),
    )
    .unwrap();
    let issued = elsewhere.issue("alice", claims()).await.unwrap();
    let err = s.refresh(issued.refresh_token.as_str()).await.unwrap_err();
    assert_eq!(err, RefreshError::Unknown);
    assert_eq!(err.code(), "unknown_session");
}

pub async fn logout_revokes_the_session_and_the_token<H: Harness>() {
    let s = sessions::<H>(SessionOptions::default()).await;
    let a = s.issue("alice", claims()).await.unwrap();
    let b = s.issue("alice", claims()).await.unwrap();
    let sid = a.session.sid.as_str();
    let list = s.revocations().clone();
    s.revoke_token(Some("alice"), "jti-a", now() + 900.0)
        .await
        .unwrap();
    assert!(s.revoke(sid).await.unwrap());
    assert_eq!(
        s.refresh(a.refresh_token.as_str()).await.unwrap_err(),
        RefreshError::Revoked
    );
    // The presented token (by jti) and every token of the session (by sid) are refused.
    assert!(list.is_revoked(Some("jti-a"), None, Some("alice"), Some(now())));
    assert!(list.is_revoked(Some("other"), Some(sid), Some("alice"), Some(now())));
    // The user's other session is untouched.
    let b_sid = b.session.sid.as_str();
    assert!(!list.is_revoked(Some("jti-b"), Some(b_sid), Some("alice"), Some(now())));
    assert!(s.refresh(b.refresh_token.as_str()).await.is_ok());
    // Logging out of a session the store does not know still refuses its tokens.
    assert!(!s.revoke("0123456789abcdef0123456789abcdef").await.unwrap());
    assert!(list.is_revoked(None, Some("0123456789abcdef0123456789abcdef"), None, None));
}

pub async fn subject_cutoff_splits_the_second<H: Harness>() {
    let s = sessions::<H>(SessionOptions::default()).await;
    let a = s.issue("alice", claims()).await.unwrap();
    let b = s.issue("alice", claims()).await.unwrap();
    let c = s.issue("carol", claims()).await.unwrap();
    let before = now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(s.revoke_subject("alice").await.unwrap(), 2);
    tokio::time::sleep(Duration::from_millis(20)).await;
    let after = now();
    let list = s.revocations();
    // A token issued just before the cutoff is refused, one issued just after is not, even
    // within the same second.
    assert!(after - before < 1.0);
    assert!(list.is_revoked(None, None, Some("alice"), Some(before)));
    assert!(!list.is_revoked(None, None, Some("alice"), Some(after)));
    assert!(!list.is_revoked(None, None, Some("carol"), Some(before)));
    // Her sessions are listed too: a token minted by a refresh that committed just before the
    // cutoff, with an `iat` just after it, is still refused by its `sid`.
    for session in [&a, &b] {
        let sid = session.session.sid.as_str();
        assert!(list.is_revoked(Some("late"), Some(sid), Some("alice"), Some(after)));
    }
    let carol_sid = c.session.sid.as_str();
    assert!(!list.is_revoked(Some("late"), Some(carol_sid), Some("carol"), Some(after)));
    for refresh in [&a, &b] {
        assert_eq!(
            s.refresh(refresh.refresh_token.as_str()).await.unwrap_err(),
            RefreshError::Revoked
        );
    }
    assert!(s.refresh(c.refresh_token.as_str()).await.is_ok());
    // The next login works.
    let fresh = s.issue("alice", claims()).await.unwrap();
    assert!(s.refresh(fresh.refresh_token.as_str()).await.is_ok());
    // A second, earlier cutoff never moves the latest back.
    let store = s.store();
    store
        .revoke_subject("alice", before - 100.0, now() + 900.0)
        .await
        .unwrap();
    assert!(s
        .revocations()
        .is_revoked(None, None, Some("alice"), Some(before)));
}

/// The life of a short entry: long enough for a busy machine to make its assertions first.
const SHORT: f64 = 2.0;

/// Sleeps until the clock is past `t`.
async fn sleep_past(t: f64) {
    let left = t - now() + 0.05;
    if left > 0.0 {
        tokio::time::sleep(Duration::from_secs_f64(left)).await;
    }
}

pub async fn purge_drops_expired_entries<H: Harness>() {
    let store = H::store(1000).await;
    let t = now();
    store.revoke_token(None, "short", t + SHORT).await.unwrap();
    store.revoke_token(None, "long", t + 900.0).await.unwrap();
    store.revoke(&"a".repeat(32), t + SHORT).await.unwrap();
    assert_eq!(store.revocations().len(), 3);
    sleep_past(t + SHORT).await;
    H::purge(&store).await;
    let list = store.revocations();
    assert_eq!(list.len(), 1, "{list:?}");
    assert!(list.is_revoked(Some("long"), None, None, None));
    assert!(!list.is_revoked(Some("short"), None, None, None));
}

pub async fn at_the_cap_the_list_compacts_and_never_refuses<H: Harness>() {
    let store = H::store(3).await;
    let t = now();
    let issued = t - 1.0;
    store.revoke_token(None, "a", t + SHORT).await.unwrap();
    store.revoke_token(Some("bob"), "b", t + 900.0).await.unwrap();
    store.revoke_subject("carol", t, t + 900.0).await.unwrap();
    // An entry that has already ended is not listed (and takes no room).
    store.revoke_token(None, "over", t - 1.0).await.unwrap();
    assert!(!store.revocations().is_revoked(Some("over"), None, None, None));
    // Past the cap, the subject with the most entries (bob) becomes one cutoff: his tokens
    // issued so far are refused, the new one included.
    store.revoke_token(Some("bob"), "b2", t + 900.0).await.unwrap();
    let list = store.revocations();
    assert!(list.len() <= 3, "{list:?}");
    for (jti, sub) in [("a", "x"), ("b", "bob"), ("b2", "bob")] {
        assert!(list.is_revoked(Some(jti), None, Some(sub), Some(issued)), "{jti}");
    }
    assert!(list.is_revoked(Some("any"), None, Some("carol"), Some(issued)));
    assert!(!list.is_revoked(Some("any"), None, Some("dave"), Some(issued)));
    // Nothing left to compact (no subject holds two entries): the list becomes one cutoff for
    // everyone, which refuses every token issued so far, and still takes writes.
    store.revoke_token(None, "c", t + 900.0).await.unwrap();
    let list = store.revocations();
    assert!(list.len() <= 3, "{list:?}");
    for (jti, sub) in [("a", "x"), ("b", "bob"), ("c", "x"), ("any", "dave")] {
        assert!(list.is_revoked(Some(jti), None, Some(sub), Some(issued)), "{jti}");
    }
    let after = now();
    assert!(!list.is_revoked(Some("fresh"), None, Some("dave"), Some(after)));
    // Logout at the cap ends the session and refuses its tokens.
    let (grace, idle) = (Duration::from_secs(10), Duration::from_secs(100));
    let r = record("dave", 0, t, 1000.0);
    let sid = r.sid.clone();
    store.create(r, now() + 960.0).await.unwrap();
    store.revoke_token(Some("erin"), "e1", t + 900.0).await.unwrap();
    store.revoke_token(Some("frank"), "f1", t + 900.0).await.unwrap();
    // Its tokens were all minted before the logout (a revoked session mints no more).
    let minted = now();
    assert!(store.revoke(&sid, now() + 900.0).await.unwrap());
    let list = store.revocations();
    assert!(list.len() <= 3, "{list:?}");
    assert!(list.is_revoked(Some("j"), Some(&sid), Some("dave"), Some(minted)));
    assert!(matches!(
        store
            .rotate(RotateRequest {
                sid: &sid,
                generation: 0,
                now: now(),
                grace,
                idle,
                revoke_until: now() + 900.0
            })
            .await
            .unwrap(),
        Rotation::Revoked | Rotation::Unknown
    ));
}

/// Logout of a user whose list is full: the logged-out access token is refused afterwards.
pub async fn logout_at_the_cap_refuses_the_token<H: Harness>() {
    let s = Sessions::new(SECRET, H::store(50).await, SessionOptions::default()).unwrap();
    let issued = now() - 1.0;
    // Other users fill the list, one entry each.
    for i in 0..60 {
        s.revoke_token(Some(&format!("user-{i}")), &format!("other-{i}"), now() + 900.0)
            .await
            .unwrap();
    }
    // One user logging in and out, many times: bounded by the per-subject compaction.
    let mut last = None;
    for i in 0..100 {
        let session = s.issue("mallory", claims()).await.unwrap();
        s.revoke(&session.session.sid).await.unwrap();
        s.revoke_token(Some("mallory"), &format!("m-{i}"), now() + 900.0)
            .await
            .unwrap();
        last = Some(session.session.sid);
    }
    let list = s.revocations();
    assert!(list.len() <= 50, "{list:?}");
    let sid = last.unwrap();
    assert!(list.is_revoked(Some("m-99"), Some(&sid), Some("mallory"), Some(issued)));
    assert!(list.is_revoked(Some("m-0"), None, Some("mallory"), Some(issued)));
    assert!(list.is_revoked(Some("other-59"), None, Some("user-59"), Some(issued)));
    // The users' next tokens work.
    let fresh = now();
    assert!(!list.is_revoked(Some("new"), Some("new-sid"), Some("mallory"), Some(fresh)));
    assert!(!list.is_revoked(Some("new"), Some("new-sid"), Some("user-1"), Some(fresh)));
}

/// One subject opening 3,000 sessions: the store keeps at most its cap of sessions for it
/// (the oldest are revoked), the revocation list stays within the per-subject bound, and the
/// latest session works while the oldest does not.
pub async fn one_subject_with_three_thousand_sessions_stays_bounded<H: Harness>() {
    let s = Sessions::new(SECRET, H::store(100_000).await, SessionOptions::default()).unwrap();
    let first = s.issue("alice", claims()).await.unwrap();
    let mut latest = None;
    for _ in 1..3000 {
        latest = Some(s.issue("alice", claims()).await.unwrap());
    }
    let latest = latest.unwrap();
    let list = s.revocations();
    assert!(list.len() <= 64 + 1, "{list:?}");
    assert!(matches!(
        s.refresh(first.refresh_token.as_str()).await.unwrap_err(),
        RefreshError::Revoked | RefreshError::Unknown
    ));
    assert!(list.is_revoked(
        Some("j"),
        Some(&first.session.sid),
        Some("alice"),
        Some(now() - 1.0)
    ));
    let rotated = s.refresh(latest.refresh_token.as_str()).await.unwrap();
    assert_eq!(rotated.session.generation, 1);
    // A token minted now from the latest session passes.
    assert!(!list.is_revoked(Some("j"), Some(&latest.session.sid), Some("alice"), Some(now())));
    // "Log out everywhere" walks at most the cap of sessions.
    assert!(s.revoke_subject("alice").await.unwrap() <= 32);
    assert!(s.revocations().len() <= 64 + 2);
}

pub async fn times_that_are_not_finite_are_refused<H: Harness>() {
    let store = H::store(10).await;
    let t = now();
    let (grace, idle) = (Duration::from_secs(10), Duration::from_secs(100));
    let r = record("erin", 0, t, 1000.0);
    let sid = r.sid.clone();
    store.create(r, now() + 960.0).await.unwrap();
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        assert!(matches!(
            store.revoke_token(None, "nan", bad).await,
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            store.revoke(&sid, bad).await,
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            store.revoke_subject("erin", bad, t + 900.0).await,
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            store
                .rotate(RotateRequest {
                    sid: &sid,
                    generation: 0,
                    now: bad,
                    grace,
                    idle,
                    revoke_until: t + 900.0
                })
                .await,
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            store.create(record("erin", 0, bad, 1000.0), t + 960.0).await,
            Err(StoreError::Invalid(_))
        ));
    }
    // Nothing was stored half-way: the list is empty and the session still rotates.
    assert!(store.revocations().is_empty());
    match store
        .rotate(RotateRequest {
            sid: &sid,
            generation: 0,
            now: t + 1.0,
            grace,
            idle,
            revoke_until: t + 900.0,
        })
        .await
        .unwrap()
    {
        Rotation::Rotated(r) => assert_eq!(r.generation, 1),
        other => panic!("{other:?}"),
    }
}

/// Expands to one `#[tokio::test]` per rule, for the store of `$harness`.
#[macro_export]
macro_rules! store_suite {
    ($harness:ty) => {
        $crate::store_suite!(@tests $harness;
            every_refresh_rotates,
            grace_converges_on_the_current_token,
            without_grace_the_predecessor_is_reuse,
            reuse_revokes_that_session_only,
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
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn fifty_parallel_refreshes_make_one_generation() {
            store_suite::fifty_parallel_refreshes_make_one_generation::<$harness>().await;
        }
    };
    (@tests $harness:ty; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                store_suite::$name::<$harness>().await;
            }
        )*
    };
}
