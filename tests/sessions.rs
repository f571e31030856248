//! Refresh-token sessions over the in-memory store: the shared store suite (tests/store_suite),
//! plus what is particular to this store and to the layer.

#![cfg(feature = "sessions")]

mod store_suite;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use store_suite::{claims, now, SECRET};
use tower_jwt_auth::session::{
    MemoryStore, RefreshError, RotateRequest, Rotation, SessionOptions, SessionRecord, SessionStore,
    Sessions, StoreError,
};
use tower_jwt_auth::{Either, Revocations};

fn sessions(options: SessionOptions) -> Sessions<MemoryStore> {
    Sessions::new(SECRET, MemoryStore::new(), options).unwrap()
}

struct Memory;

impl store_suite::Harness for Memory {
    type Store = MemoryStore;

    async fn store(cap: usize) -> MemoryStore {
        MemoryStore::with_revocations(Revocations::new(cap))
    }

    async fn purge(store: &MemoryStore) {
        store.purge(now(), 16.0 * 60.0);
    }
}

store_suite!(Memory);

#[test]
fn the_grace_window_is_capped_at_five_minutes() {
    assert!(SessionOptions::default().grace(Duration::from_secs(300)).is_ok());
    assert!(SessionOptions::default().grace(Duration::from_secs(301)).is_err());
}

#[tokio::test]
async fn revoked_and_ended_sessions_leave_the_memory_store_without_a_purge() {
    let s = sessions(SessionOptions::default());
    let a = s.issue("alice", claims()).await.unwrap();
    let b = s.issue("alice", claims()).await.unwrap();
    assert_eq!(s.store().len(), 2);
    // Logout: gone at once, and refused with its own code while its revocation is listed.
    assert!(s.revoke(&a.session.sid).await.unwrap());
    assert_eq!(s.store().len(), 1);
    assert_eq!(
        s.refresh(a.refresh_token.as_str()).await.unwrap_err(),
        RefreshError::Revoked
    );
    // Reuse: gone at once too.
    let b2 = s.refresh(b.refresh_token.as_str()).await.unwrap();
    let b3 = s.refresh(b2.refresh_token.as_str()).await.unwrap();
    assert_eq!(
        s.refresh(b.refresh_token.as_str()).await.unwrap_err(),
        RefreshError::Reused
    );
    assert!(s.store().is_empty());
    assert_eq!(
        s.refresh(b3.refresh_token.as_str()).await.unwrap_err(),
        RefreshError::Revoked
    );
    // "Log out everywhere": gone, through the subject's index.
    s.issue("carol", claims()).await.unwrap();
    s.issue("carol", claims()).await.unwrap();
    assert_eq!(s.revoke_subject("carol").await.unwrap(), 2);
    assert!(s.store().is_empty());
    // A session past its absolute end goes with a later write.
    let store = s.store();
    let t = now();
    let short = SessionRecord::new("0".repeat(32), "dave", claims(), t, t + 0.2);
    store.create(short, t + 960.0).await.unwrap();
    assert_eq!(store.len(), 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    s.issue("erin", claims()).await.unwrap();
    assert_eq!(store.len(), 1);
    assert!(store.get(&"0".repeat(32)).is_none());
}

#[tokio::test]
async fn the_memory_store_keeps_at_most_its_cap_of_sessions_per_subject() {
    let s = sessions(SessionOptions::default());
    let first = s.issue("alice", claims()).await.unwrap();
    for _ in 1..3000 {
        s.issue("alice", claims()).await.unwrap();
    }
    let bob = s.issue("bob", claims()).await.unwrap();
    assert_eq!(s.store().len(), 32 + 1);
    assert!(s.store().get(&first.session.sid).is_none());
    assert!(s.revocations().len() <= 64 + 1);
    assert!(s.refresh(bob.refresh_token.as_str()).await.is_ok());
    // The setting.
    let small = Sessions::new(
        SECRET,
        MemoryStore::new().sessions_per_subject(2),
        SessionOptions::default(),
    )
    .unwrap();
    let one = small.issue("alice", claims()).await.unwrap();
    small.issue("alice", claims()).await.unwrap();
    small.issue("alice", claims()).await.unwrap();
    assert_eq!(small.store().len(), 2);
    assert!(small
        .revocations()
        .is_revoked(None, Some(&one.session.sid), Some("alice"), Some(now())));
}

#[tokio::test]
async fn the_memory_store_purges_ended_sessions() {
    let s = sessions(SessionOptions::default());
    s.issue("alice", claims()).await.unwrap();
    let t = now();
    assert_eq!(s.store().purge(t, 900.0), 0);
    assert_eq!(s.store().len(), 1);
    assert_eq!(s.store().purge(t + 31.0 * 24.0 * 3600.0, 900.0), 1);
    assert!(s.store().is_empty());
}

/// A store that counts look-ups, to prove garbage never reaches it.
#[derive(Default)]
struct Counting {
    inner: MemoryStore,
    lookups: AtomicUsize,
}

impl SessionStore for Counting {
    async fn create(&self, record: SessionRecord, revoke_until: f64) -> Result<(), StoreError> {
        self.inner.create(record, revoke_until).await
    }
    async fn rotate(&self, request: RotateRequest<'_>) -> Result<Rotation, StoreError> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        self.inner.rotate(request).await
    }
    async fn revoke(&self, sid: &str, until: f64) -> Result<bool, StoreError> {
        self.inner.revoke(sid, until).await
    }
    async fn revoke_subject(&self, sub: &str, cutoff: f64, until: f64) -> Result<usize, StoreError> {
        self.inner.revoke_subject(sub, cutoff, until).await
    }
    async fn revoke_token(&self, sub: Option<&str>, jti: &str, exp: f64) -> Result<(), StoreError> {
        self.inner.revoke_token(sub, jti, exp).await
    }
    fn revocations(&self) -> &Revocations {
        self.inner.revocations()
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
            .validation(Validation::new().clock(|| NOW as u64))
            .check(list.clone());
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

        list.revoke_token("j1", NOW + 600.0);
        let (code, error) = status(&list, &key, &t1).await;
        assert_eq!(code, StatusCode::UNAUTHORIZED);
        assert_eq!(error.map(|e| e.kind()), Some(AuthErrorKind::Revoked));
        assert_eq!(status(&list, &key, &t2).await.0, StatusCode::OK);

        list.revoke_session("s1", NOW + 3600.0);
        assert_eq!(status(&list, &key, &t2).await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(status(&list, &key, &t3).await.0, StatusCode::OK);

        // "Log out everywhere" at NOW - 5.5: tokens issued before it are refused, a token issued
        // right after it, in the same second, is not.
        list.revoke_subject("alice", NOW - 5.5);
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

#[tokio::test]
async fn a_shared_store_serves_several_session_managers() {
    // `Arc<S>` is a store: two managers (say, two routers in one process) share sessions and
    // revocations.
    let store = std::sync::Arc::new(MemoryStore::new());
    let a = Sessions::new(SECRET, std::sync::Arc::clone(&store), SessionOptions::default()).unwrap();
    let b = Sessions::new(SECRET, std::sync::Arc::clone(&store), SessionOptions::default()).unwrap();
    let issued = a.issue("alice", claims()).await.unwrap();
    let rotated = b.refresh(issued.refresh_token.as_str()).await.unwrap();
    assert_eq!(rotated.session.generation, 1);
    assert!(b.revoke(&issued.session.sid).await.unwrap());
    assert!(a
        .revocations()
        .is_revoked(None, Some(&issued.session.sid), None, None));
    assert_eq!(
        a.refresh(rotated.refresh_token.as_str()).await.unwrap_err(),
        RefreshError::Revoked
    );
    // A revoked session leaves the store at once.
    assert!(store.is_empty());
}

#[tokio::test]
async fn a_store_chosen_at_run_time_issues_rotates_and_revokes_on_either_side() {
    // `Either` of two stores is a store: memory of its own on the left, a shared one on the
    // right, each taking every call and keeping its own revocation list.
    let shared = std::sync::Arc::new(MemoryStore::new());
    for store in [
        Either::Left(MemoryStore::new()),
        Either::Right(std::sync::Arc::clone(&shared)),
    ] {
        let right = matches!(store, Either::Right(_));
        let s: Sessions<Either<MemoryStore, std::sync::Arc<MemoryStore>>> =
            Sessions::new(SECRET, store, SessionOptions::default()).unwrap();
        // Rotation, and reuse revoking the session.
        let stolen = s.issue("alice", claims()).await.unwrap();
        let second = s.refresh(stolen.refresh_token.as_str()).await.unwrap();
        assert_eq!(second.session.generation, 1);
        let third = s.refresh(second.refresh_token.as_str()).await.unwrap();
        assert_eq!(third.session.generation, 2);
        assert_eq!(
            s.refresh(stolen.refresh_token.as_str()).await.unwrap_err(),
            RefreshError::Reused
        );
        assert!(s
            .revocations()
            .is_revoked(None, Some(&stolen.session.sid), None, None));
        // Logout.
        let tab = s.issue("alice", claims()).await.unwrap();
        assert!(s.revoke(&tab.session.sid).await.unwrap());
        assert_eq!(
            s.refresh(tab.refresh_token.as_str()).await.unwrap_err(),
            RefreshError::Revoked
        );
        assert!(s
            .revocations()
            .is_revoked(None, Some(&tab.session.sid), None, None));
        // Log out everywhere, and one access token.
        let phone = s.issue("alice", claims()).await.unwrap();
        assert_eq!(s.revoke_subject("alice").await.unwrap(), 1);
        assert_eq!(
            s.refresh(phone.refresh_token.as_str()).await.unwrap_err(),
            RefreshError::Revoked
        );
        assert!(s
            .revocations()
            .is_revoked(None, None, Some("alice"), Some(now() - 1.0)));
        s.revoke_token(Some("alice"), "jti-1", now() + 60.0)
            .await
            .unwrap();
        assert!(s.revocations().is_revoked(Some("jti-1"), None, None, None));
        // The side in use did the work (its sessions, all revoked, are gone), and its list is
        // the one handed out.
        assert!(shared.is_empty());
        assert_eq!(shared.revocations().is_empty(), !right);
    }
}

/// "Log out everywhere" refuses every token issued until the call, to the last fraction of a
/// second: the cutoff is never rounded down (a cutoff truncated to the microsecond let a token
/// issued in the same microsecond, just before, escape).
#[tokio::test]
async fn a_subject_cutoff_catches_a_token_issued_just_before_it() {
    let sessions = sessions(SessionOptions::default());
    for round in 0..200 {
        let sub = format!("user-{round}");
        // The `iat` another issuer would write: the system time, as precise as an f64 holds it.
        let issued_before = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        sessions.revoke_subject(&sub).await.unwrap();
        assert!(
            sessions
                .revocations()
                .is_revoked(None, None, Some(&sub), Some(issued_before)),
            "round {round}: a token issued at {issued_before} escaped the cutoff"
        );
    }
}
