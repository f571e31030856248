//! Two instances of the example server sharing one Redis: a revocation on one is enforced by
//! the other within a second, refresh tokens work on either, and Redis killed mid-run and
//! restarted gives 503s (never a 500), then everything resyncs without a restart.
//!
//! Each instance is the example's real application (`app_with_redis`) with its own Redis store
//! and revocation mirror, driven through `tower::ServiceExt::oneshot`. The Redis is this test's
//! own `redis-server` (it is stopped and restarted); without one the test fails under
//! `CI=true` and is skipped, saying so, elsewhere.

#![cfg(all(feature = "redis", feature = "axum"))]

mod support;

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;
use tower_jwt_auth::session::RedisOptions;

use support::example_server as server;
use support::redis_server::Server;

const SECRET: &str = "fleet-secret-that-is-at-least-32-bytes-long";

async fn instance(url: &str) -> Router {
    let config = server::Config {
        secret: SECRET.into(),
        issuer: None,
        audience: None,
        signing_key_pem: None,
        rfc9068: false,
        resource: None,
        remote: None,
    };
    let options = RedisOptions::default()
        .timeout(Duration::from_millis(500))
        .reconcile_interval(Duration::from_millis(200));
    server::app_with_redis(config, url, options).await.unwrap()
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    json: Value,
}

async fn send(app: &Router, req: Request<Body>) -> Answer {
    let response = app.clone().oneshot(req).await.unwrap();
    let status = response.status();
    assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "never a 500");
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        json: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

fn post(path: &str, body: &Value, bearer: Option<&str>) -> Request<Body> {
    let mut req = Request::post(path).header(header::CONTENT_TYPE, "application/json");
    if let Some(t) = bearer {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    req.body(Body::from(body.to_string())).unwrap()
}

fn me(bearer: &str) -> Request<Body> {
    Request::get("/me")
        .header(header::AUTHORIZATION, format!("Bearer {bearer}"))
        .body(Body::empty())
        .unwrap()
}

/// Logs in; returns (access token, refresh token).
async fn login(app: &Router, user: &str) -> (String, String) {
    let a = send(
        app,
        post(
            "/login",
            &json!({"username": user, "password": format!("{user}-password")}),
            None,
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.json);
    (
        a.json["access_token"].as_str().unwrap().to_owned(),
        a.json["refresh_token"].as_str().unwrap().to_owned(),
    )
}

async fn refresh(app: &Router, token: &str) -> Answer {
    send(
        app,
        post("/session/refresh", &json!({ "refresh_token": token }), None),
    )
    .await
}

/// Polls `/me` on `app` until the token is refused; returns how long that took.
async fn refused_within(app: &Router, token: &str, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let a = send(app, me(token)).await;
        if a.status == StatusCode::UNAUTHORIZED {
            assert!(
                a.headers[header::WWW_AUTHENTICATE]
                    .to_str()
                    .unwrap()
                    .contains("token revoked"),
                "{:?}",
                a.headers
            );
            return start.elapsed();
        }
        assert_eq!(a.status, StatusCode::OK);
        assert!(start.elapsed() < limit, "still accepted after {limit:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_sessions_and_revocations_and_survive_a_redis_restart() {
    // Without redis-server: a failure under CI=true, a skip (said) elsewhere.
    let Some(mut redis) = Server::start() else { return };
    let a = instance(&redis.url()).await;
    let b = instance(&redis.url()).await;

    // A session opened on A refreshes on B; A answers the predecessor from the grace window
    // with B's token.
    let (access, first) = login(&a, "alice").await;
    assert_eq!(send(&b, me(&access)).await.status, StatusCode::OK);
    let second = refresh(&b, &first).await;
    assert_eq!(second.status, StatusCode::OK);
    let again = refresh(&a, &first).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json["refresh_token"], second.json["refresh_token"]);
    let access = second.json["access_token"].as_str().unwrap().to_owned();
    let current = second.json["refresh_token"].as_str().unwrap().to_owned();

    // Logout on A: B refuses the access token within a second, and the refresh token.
    let out = send(&a, post("/session/logout", &Value::Null, Some(&access))).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert!(out.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    let took = refused_within(&b, &access, Duration::from_secs(1)).await;
    eprintln!("logout on A enforced on B after {took:?}");
    let grant = refresh(&b, &current).await;
    assert_eq!(grant.status, StatusCode::UNAUTHORIZED);
    assert_eq!(grant.json["error"], "invalid_grant");
    assert_eq!(grant.json["code"], "revoked");
    assert!(grant.headers.contains_key(header::WWW_AUTHENTICATE));

    // Reuse detected on B kills the session on A too.
    let (stolen_access, stolen) = login(&a, "alice").await;
    let next = refresh(&a, &stolen).await.json["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(refresh(&a, &next).await.status, StatusCode::OK);
    let reuse = refresh(&b, &stolen).await;
    assert_eq!(
        (reuse.status, reuse.json["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("reused"))
    );
    refused_within(&a, &stolen_access, Duration::from_secs(1)).await;

    // An administrator on B revokes alice: A refuses her tokens within a second; her next
    // login (on A) works everywhere.
    let (alice, alice_refresh) = login(&a, "alice").await;
    let (admin, _) = login(&b, "admin").await;
    let revoke = send(&b, post("/admin/revoke", &json!({"sub": "alice"}), Some(&admin))).await;
    assert_eq!(revoke.status, StatusCode::NO_CONTENT);
    let took = refused_within(&a, &alice, Duration::from_secs(1)).await;
    eprintln!("admin revocation on B enforced on A after {took:?}");
    assert_eq!(refresh(&a, &alice_refresh).await.status, StatusCode::UNAUTHORIZED);
    let (fresh, fresh_refresh) = login(&a, "alice").await;
    assert_eq!(send(&b, me(&fresh)).await.status, StatusCode::OK);

    // Redis killed mid-run: session routes answer 503, protected routes keep enforcing the
    // last mirror (the revoked token stays refused, the fresh one passes), never a 500.
    redis.stop();
    for app in [&a, &b] {
        assert_eq!(
            refresh(app, &fresh_refresh).await.status,
            StatusCode::SERVICE_UNAVAILABLE
        );
        let login = send(
            app,
            post(
                "/login",
                &json!({"username": "alice", "password": "alice-password"}),
                None,
            ),
        )
        .await;
        assert_eq!(login.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(login.json["error"], "temporarily_unavailable");
        assert_eq!(
            send(app, post("/admin/revoke", &json!({"sub": "bob"}), Some(&admin)))
                .await
                .status,
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(send(app, me(&alice)).await.status, StatusCode::UNAUTHORIZED);
        assert_eq!(send(app, me(&fresh)).await.status, StatusCode::OK);
    }
    assert_eq!(
        send(&a, post("/session/logout", &Value::Null, Some(&fresh)))
            .await
            .status,
        StatusCode::SERVICE_UNAVAILABLE
    );

    // Redis back: no restart of the instances; refresh works, and revocations flow again.
    assert!(redis.restart());
    let back = Instant::now();
    let rotated = loop {
        let r = refresh(&b, &fresh_refresh).await;
        if r.status == StatusCode::OK {
            break r;
        }
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            back.elapsed() < Duration::from_secs(10),
            "Redis did not come back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let fresh = rotated.json["access_token"].as_str().unwrap().to_owned();
    assert_eq!(send(&a, me(&fresh)).await.status, StatusCode::OK);
    let out = loop {
        let out = send(&a, post("/session/logout", &Value::Null, Some(&fresh))).await;
        if out.status != StatusCode::SERVICE_UNAVAILABLE || back.elapsed() > Duration::from_secs(10) {
            break out;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let took = refused_within(&b, &fresh, Duration::from_secs(1)).await;
    eprintln!("after the Redis restart, logout on A enforced on B after {took:?}");
    // The revocations from before the outage are still enforced on both.
    assert_eq!(send(&a, me(&alice)).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(send(&b, me(&access)).await.status, StatusCode::UNAUTHORIZED);
}
