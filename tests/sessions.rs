//! Refresh-token sessions over the in-memory store: rotation, grace convergence, reuse
//! detection, expiry, revocation, and races.

#![cfg(feature = "sessions")]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};
use tower_jwt_auth::session::{
    MemoryStore, RefreshError, Rotation, SessionOptions, SessionRecord, SessionStore, Sessions, StoreError,
};

const SECRET: &[u8] = b"refresh-token-secret-of-at-least-32-bytes";

fn claims() -> Map<String, Value> {
    match json!({"role": "user"}) {
        Value::Object(map) => map,
        _ => unreachable!(),
    }
}

fn sessions(options: SessionOptions) -> Sessions<MemoryStore> {
    Sessions::new(SECRET, MemoryStore::new(), options).unwrap()
}

#[tokio::test]
async fn every_refresh_rotates_to_the_next_generation_with_a_new_token() {
    let s = sessions(SessionOptions::default());
    let first = s.issue("alice", claims()).await.unwrap();
    assert_eq!(first.session.generation, 0);
    assert_eq!(first.session.claims["role"], "user");
    let second = s.refresh(first.refresh_token.as_str()).await.unwrap();
    assert_eq!(second.session.generation, 1);
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_eq!(second.session.sid, first.session.sid);
    let third = s.refresh(second.refresh_token.as_str()).await.unwrap();
    assert_eq!(third.session.generation, 2);
}

#[tokio::test]
async fn the_predecessor_within_the_grace_window_gets_the_current_token_not_a_new_branch() {
    let s = sessions(SessionOptions::default());
    let first = s.issue("alice", claims()).await.unwrap();
    let second = s.refresh(first.refresh_token.as_str()).await.unwrap();
    // A second tab, or a retry after a lost response, presents the first token again.
    let again = s.refresh(first.refresh_token.as_str()).await.unwrap();
    assert_eq!(again.refresh_token, second.refresh_token);
    assert_eq!(again.session.generation, 1);
    // The current token still rotates normally.
    assert_eq!(
        s.refresh(second.refresh_token.as_str())
            .await
            .unwrap()
            .session
            .generation,
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_refreshes_of_one_token_make_exactly_one_new_generation() {
    let s = Arc::new(sessions(SessionOptions::default()));
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
    assert_eq!(s.store().get(&first.session.sid).unwrap().generation, 1);
}

#[tokio::test]
async fn reuse_of_an_old_token_revokes_that_session_only() {
    let s = sessions(SessionOptions::default());
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
    // ...but the user's other session lives on.
    assert!(s.refresh(other_tab.refresh_token.as_str()).await.is_ok());
}

#[tokio::test]
async fn with_no_grace_the_predecessor_is_reuse() {
    let s = sessions(SessionOptions::default().grace(Duration::ZERO).unwrap());
    let first = s.issue("alice", claims()).await.unwrap();
    s.refresh(first.refresh_token.as_str()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(
        s.refresh(first.refresh_token.as_str()).await.unwrap_err(),
        RefreshError::Reused
    );
}

#[test]
fn the_grace_window_is_capped_at_five_minutes() {
    assert!(SessionOptions::default().grace(Duration::from_secs(300)).is_ok());
    assert!(SessionOptions::default().grace(Duration::from_secs(301)).is_err());
}

async fn record(generation: u64, now: f64) -> SessionRecord {
    let s = sessions(SessionOptions::default());
    let mut r = s.issue("bob", claims()).await.unwrap().session;
    r.generation = generation;
    r.rotated_at = now;
    r.last_used = now;
    r.expires_at = now + 1000.0;
    r
}

#[tokio::test]
async fn absolute_and_idle_expiry_end_a_session_and_rotation_never_extends_it() {
    let store = MemoryStore::new();
    let grace = Duration::from_secs(10);
    let idle = Duration::from_secs(100);
    let r = record(3, 10_000.0).await;
    let sid = r.sid.clone();
    store.create(r).await.unwrap();
    // Rotating keeps the absolute expiry.
    match store.rotate(&sid, 3, 10_050.0, grace, idle).await.unwrap() {
        Rotation::Rotated(next) => assert_eq!(next.expires_at, 11_000.0),
        other => panic!("{other:?}"),
    }
    // Idle: more than 100 s after the last use.
    assert_eq!(
        store.rotate(&sid, 4, 10_151.0, grace, idle).await.unwrap(),
        Rotation::Expired
    );
    // Absolute: used regularly, but past expires_at.
    let r = record(0, 10_000.0).await;
    let sid = r.sid.clone();
    store.create(r).await.unwrap();
    let mut generation = 0;
    let mut t = 10_000.0;
    while t < 10_990.0 {
        t += 90.0;
        if let Rotation::Rotated(_) = store.rotate(&sid, generation, t, grace, idle).await.unwrap() {
            generation += 1;
        }
    }
    assert_eq!(
        store
            .rotate(&sid, generation, 11_000.0, grace, idle)
            .await
            .unwrap(),
        Rotation::Expired
    );
    assert_eq!(store.purge(11_000.0), 2);
}

#[tokio::test]
async fn logout_and_log_out_everywhere_end_sessions() {
    let s = sessions(SessionOptions::default());
    let a = s.issue("alice", claims()).await.unwrap();
    let b = s.issue("alice", claims()).await.unwrap();
    let c = s.issue("carol", claims()).await.unwrap();
    assert!(s.revoke(&a.session.sid).await.unwrap());
    assert_eq!(
        s.refresh(a.refresh_token.as_str()).await.unwrap_err(),
        RefreshError::Revoked
    );
    assert_eq!(s.revoke_subject("alice").await.unwrap(), 1);
    assert_eq!(
        s.refresh(b.refresh_token.as_str()).await.unwrap_err(),
        RefreshError::Revoked
    );
    assert!(s.refresh(c.refresh_token.as_str()).await.is_ok());
    // A new login after "log out everywhere" works.
    let fresh = s.issue("alice", claims()).await.unwrap();
    assert!(s.refresh(fresh.refresh_token.as_str()).await.is_ok());
}

/// A store that counts look-ups, to prove garbage never reaches it.
#[derive(Default)]
struct Counting {
    inner: MemoryStore,
    lookups: AtomicUsize,
}

impl SessionStore for Counting {
    async fn create(&self, record: SessionRecord) -> Result<(), StoreError> {
        self.inner.create(record).await
    }
    async fn rotate(
        &self,
        sid: &str,
        generation: u64,
        now: f64,
        grace: Duration,
        idle: Duration,
    ) -> Result<Rotation, StoreError> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        self.inner.rotate(sid, generation, now, grace, idle).await
    }
    async fn revoke(&self, sid: &str) -> Result<bool, StoreError> {
        self.inner.revoke(sid).await
    }
    async fn revoke_subject(&self, sub: &str) -> Result<usize, StoreError> {
        self.inner.revoke_subject(sub).await
    }
}

#[tokio::test]
async fn garbage_and_forged_tokens_are_refused_before_any_store_look_up() {
    let s = Sessions::new(SECRET, Counting::default(), SessionOptions::default()).unwrap();
    let real = s.issue("alice", claims()).await.unwrap();
    let forger = Sessions::new(
        b"another-secret-another-secret-another",
        MemoryStore::new(),
        SessionOptions::default(),
    )
    .unwrap();
    let forged = forger.issue("alice", claims()).await.unwrap();
    let access_token_shaped = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln";
    for garbage in [
        "",
        "x",
        access_token_shaped,
        forged.refresh_token.as_str(),
        &real.refresh_token.as_str()[..20],
    ] {
        assert_eq!(
            s.refresh(garbage).await.unwrap_err(),
            RefreshError::Malformed,
            "{garbage}"
        );
    }
    assert_eq!(s.store().lookups.load(Ordering::SeqCst), 0);
    assert!(s.refresh(real.refresh_token.as_str()).await.is_ok());
    assert_eq!(s.store().lookups.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_unknown_session_is_refused_with_its_own_code() {
    let s = sessions(SessionOptions::default());
    let issued = s.issue("alice", claims()).await.unwrap();
    let elsewhere = Sessions::new(SECRET, MemoryStore::new(), SessionOptions::default()).unwrap();
    let err = elsewhere
        .refresh(issued.refresh_token.as_str())
        .await
        .unwrap_err();
    assert_eq!(err, RefreshError::Unknown);
    assert_eq!(err.code(), "unknown_session");
    assert_eq!(
        elsewhere.session_id(issued.refresh_token.as_str()),
        Some(issued.session.sid)
    );
}

mod revocation_in_the_layer {
    use std::convert::Infallible;

    use http::{Request, Response, StatusCode};
    use serde::{Deserialize, Serialize};
    use tower::ServiceExt;
    use tower_jwt_auth::{AuthError, AuthErrorKind, JwtAuthLayer, Revocations, SigningKey, Validation};

    const NOW: f64 = 1_800_000_000.0;

    #[derive(Clone, Debug, Serialize, Deserialize)]
    struct Claims {
        sub: String,
        sid: String,
        jti: String,
        iat: f64,
        exp: f64,
    }

    fn token(key: &SigningKey, jti: &str, sid: &str, iat: f64) -> String {
        key.sign(&Claims {
            sub: "alice".into(),
            sid: sid.into(),
            jti: jti.into(),
            iat,
            exp: NOW + 600.0,
        })
        .unwrap()
    }

    async fn status(list: &Revocations, key: &SigningKey, token: &str) -> (StatusCode, Option<AuthError>) {
        let layer = JwtAuthLayer::<Claims>::new(key.verifying_key())
            .validation(Validation::new().clock(|| NOW as u64).revocations(list.clone()));
        let svc = tower::ServiceBuilder::new()
            .layer(layer)
            .service_fn(|_req: Request<String>| async { Ok::<_, Infallible>(Response::new(String::new())) });
        let req = Request::builder()
            .header("authorization", format!("Bearer {token}"))
            .body(String::new())
            .unwrap();
        let res = svc.oneshot(req).await.unwrap();
        (res.status(), res.extensions().get::<AuthError>().copied())
    }

    #[tokio::test]
    async fn revoked_tokens_sessions_and_subjects_get_401_token_revoked() {
        let key = SigningKey::hs256([3u8; 32]).unwrap();
        let list = Revocations::new(10_000);
        let t1 = token(&key, "j1", "s1", NOW - 10.0);
        let t2 = token(&key, "j2", "s1", NOW - 10.0);
        let t3 = token(&key, "j3", "s2", NOW - 10.0);
        assert_eq!(status(&list, &key, &t1).await.0, StatusCode::OK);

        list.revoke_token("j1", NOW + 600.0).unwrap();
        let (code, error) = status(&list, &key, &t1).await;
        assert_eq!(code, StatusCode::UNAUTHORIZED);
        assert_eq!(error.map(|e| e.kind()), Some(AuthErrorKind::Revoked));
        assert_eq!(status(&list, &key, &t2).await.0, StatusCode::OK);

        list.revoke_session("s1", NOW + 3600.0).unwrap();
        assert_eq!(status(&list, &key, &t2).await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(status(&list, &key, &t3).await.0, StatusCode::OK);

        // "Log out everywhere" at NOW - 5.5: tokens issued before it are refused, a token issued
        // right after it, in the same second, is not.
        list.revoke_subject("alice", NOW - 5.5).unwrap();
        assert_eq!(status(&list, &key, &t3).await.0, StatusCode::UNAUTHORIZED);
        let after = token(&key, "j4", "s3", NOW - 5.4);
        assert_eq!(status(&list, &key, &after).await.0, StatusCode::OK);
        let before = token(&key, "j5", "s3", NOW - 5.6);
        assert_eq!(status(&list, &key, &before).await.0, StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn the_challenge_names_the_revocation() {
        assert_eq!(AuthErrorKind::Revoked.description(), "token revoked");
        assert_eq!(AuthErrorKind::Revoked.error_code(), Some("invalid_token"));
        assert_eq!(AuthErrorKind::Revoked.status(), StatusCode::UNAUTHORIZED);
    }
}
