//! The example's own tests: every route and mode through `tower::ServiceExt::oneshot`.

#[cfg(feature = "jwks")]
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::json;
use tower::ServiceExt;
use tower_jwt_auth::{NumericDate, SigningKey};

use super::app;
use super::config::Config;
#[cfg(feature = "jwks")]
use super::config::Remote;
#[cfg(feature = "redis")]
use super::sessions;
use super::tokens::ACCESS_TOKEN_TTL;

const SECRET: &str = "test-secret-that-is-at-least-32-bytes-long";

fn config(issuer: Option<&str>, audience: Option<&str>) -> Config {
    Config {
        secret: SECRET.into(),
        issuer: issuer.map(Into::into),
        audience: audience.map(Into::into),
        signing_key_pem: None,
        rfc9068: false,
        resource: None,
        remote: None,
    }
}

async fn send(app: &Router, req: Request<Body>) -> (StatusCode, header::HeaderMap, serde_json::Value) {
    let response = app.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (status, headers, json)
}

fn login_request(body: &str) -> Request<Body> {
    Request::post("/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

fn get(path: &str, token: Option<&str>) -> Request<Body> {
    let mut req = Request::get(path);
    if let Some(token) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    req.body(Body::empty()).unwrap()
}

async fn login(app: &Router, user: &str, password: &str) -> String {
    let (status, _, json) = send(
        app,
        login_request(&format!(r#"{{"username":"{user}","password":"{password}"}}"#)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["token_type"], "Bearer");
    assert_eq!(json["expires_in"], ACCESS_TOKEN_TTL);
    json["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn health_needs_no_token() {
    let app = app(config(None, None)).unwrap();
    let (status, _, _) = send(&app, get("/health", None)).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn login_then_me_returns_sub_and_role() {
    let app = app(config(None, None)).unwrap();
    let token = login(&app, "alice", "alice-password").await;
    let (status, _, json) = send(&app, get("/me", Some(&token))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["sub"], "alice");
    assert_eq!(json["role"], "user");
}

#[tokio::test]
async fn admin_route_answers_403_for_users_and_200_for_admins() {
    let app = app(config(None, None)).unwrap();
    let user = login(&app, "alice", "alice-password").await;
    let (status, headers, json) = send(&app, get("/admin", Some(&user))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        headers[header::WWW_AUTHENTICATE],
        "Bearer realm=\"tower-jwt-auth example\", error=\"insufficient_scope\""
    );
    assert_eq!(json["error"], "insufficient_scope");
    let admin = login(&app, "admin", "admin-password").await;
    let (status, _, _) = send(&app, get("/admin", Some(&admin))).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn missing_and_bad_tokens_get_401_with_a_challenge() {
    let app = app(config(None, None)).unwrap();
    let (status, headers, _) = send(&app, get("/me", None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        headers[header::WWW_AUTHENTICATE],
        "Bearer realm=\"tower-jwt-auth example\""
    );
    let (status, headers, json) = send(&app, get("/admin", Some("a.b.c"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers[header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .contains("error=\"invalid_token\""));
    assert_eq!(json["error"], "invalid_token");
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_401() {
    let app = app(config(None, None)).unwrap();
    let wrong = send(&app, login_request(r#"{"username":"alice","password":"nope"}"#)).await;
    let unknown = send(&app, login_request(r#"{"username":"mallory","password":"nope"}"#)).await;
    assert_eq!(wrong.0, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.0, unknown.0);
    assert_eq!(wrong.2, unknown.2);
    // Every 401 carries a challenge.
    assert_eq!(
        wrong.1[header::WWW_AUTHENTICATE],
        "Bearer realm=\"tower-jwt-auth example\""
    );
}

#[tokio::test]
async fn malformed_login_json_gets_400() {
    let app = app(config(None, None)).unwrap();
    let nested = format!("{}{}", "[".repeat(5_000), "]".repeat(5_000));
    for body in ["{", "[]", r#"{"username":"alice"}"#, "", nested.as_str()] {
        let (status, _, _) = send(&app, login_request(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body:.40}");
    }
    let huge = "x".repeat(64 * 1024);
    let (status, _, _) = send(&app, login_request(&huge)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn issuer_and_audience_are_issued_and_enforced() {
    let app = app(config(Some("https://issuer.example"), Some("example-api"))).unwrap();
    let token = login(&app, "alice", "alice-password").await;
    let (status, _, json) = send(&app, get("/me", Some(&token))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["iss"], "https://issuer.example");
    assert_eq!(json["aud"], "example-api");
    // A token from a server without iss/aud is refused here.
    let plain = login(&app_without_iss_aud(), "alice", "alice-password").await;
    let (status, _, json) = send(&app, get("/me", Some(&plain))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(json["error_description"], "missing iss claim");
}

/// Defect: an `aud` array naming the configured audience got 401 "invalid claims".
#[tokio::test]
async fn an_audience_array_naming_ours_is_accepted() {
    let app = app(config(None, Some("example-api"))).unwrap();
    let signing = SigningKey::hs256(SECRET).unwrap();
    let exp = NumericDate::now().as_secs() + 300;
    let token = |aud: serde_json::Value| {
        signing
            .sign(&json!({"sub": "carol", "role": "user", "aud": aud, "exp": exp}))
            .unwrap()
    };
    let (status, _, json) = send(&app, get("/me", Some(&token(json!(["other", "example-api"]))))).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["sub"], "carol");
    assert_eq!(json["aud"], json!(["other", "example-api"]));
    let (status, _, json) = send(&app, get("/me", Some(&token(json!(["other", "another"]))))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(json["error_description"], "invalid audience");
}

fn app_without_iss_aud() -> Router {
    app(config(None, None)).unwrap()
}

#[tokio::test]
async fn oversized_tokens_are_refused_without_a_5xx() {
    let app = app(config(None, None)).unwrap();
    let huge = "a".repeat(100 * 1024);
    let (status, _, json) = send(&app, get("/me", Some(&huge))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(json["error_description"], "token too large");
}

#[tokio::test]
async fn unknown_paths_stay_404() {
    let app = app(config(None, None)).unwrap();
    let (status, _, _) = send(&app, get("/nope", None)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[cfg(feature = "aws-lc")]
#[tokio::test]
async fn a_signing_key_file_signs_verifies_and_publishes_its_public_key() {
    // A throwaway P-256 key (PKCS#8), for this test only.
    let pem = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/keys/example-server-p256.pem"
    ))
    .unwrap();
    let mut c = config(None, None);
    c.signing_key_pem = Some(pem);
    let app = app(c).unwrap();
    let token = login(&app, "alice", "alice-password").await;
    let header = tower_jwt_auth::dangerous::decode_header_unverified(&token).unwrap();
    assert_eq!(header["alg"], "ES256");
    let (status, _, _) = send(&app, get("/me", Some(&token))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, headers, jwks) = send(&app, get("/.well-known/jwks.json", None)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/jwk-set+json");
    assert_eq!(jwks["keys"][0]["kid"], header["kid"]);
    // HS256 tokens made with the (unused) secret are refused.
    let hs = SigningKey::hs256(SECRET)
        .unwrap()
        .sign(&json!({"sub":"x","role":"admin","exp": NumericDate::now().as_secs() + 60}))
        .unwrap();
    let (status, _, _) = send(&app, get("/me", Some(&hs))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[cfg(feature = "jwks")]
#[tokio::test]
async fn jwks_mode_has_no_login_and_answers_503_while_the_key_set_is_unreachable() {
    let mut c = config(None, None);
    c.remote = Some(Remote::Jwks {
        url: "http://127.0.0.1:1/jwks.json".into(),
        cooldown: Duration::from_secs(30),
    });
    let app = app(c).unwrap();
    let (status, _, _) = send(
        &app,
        login_request(r#"{"username":"alice","password":"alice-password"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let token = SigningKey::hs256(SECRET)
        .unwrap()
        .sign(&json!({"sub":"x","role":"admin","exp": NumericDate::now().as_secs() + 60}))
        .unwrap();
    let (status, headers, _) = send(&app, get("/me", Some(&token))).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(headers.get(header::WWW_AUTHENTICATE).is_none());
    let (status, _, _) = send(&app, get("/health", None)).await;
    assert_eq!(status, StatusCode::OK);
}

#[cfg(feature = "redis")]
#[test]
fn redis_urls_are_shown_without_their_password() {
    assert_eq!(
        sessions::redact("redis://user:secret@db.internal:6379/2"),
        "redis://***@db.internal:6379/2"
    );
    assert_eq!(
        sessions::redact("redis://127.0.0.1:6379"),
        "redis://127.0.0.1:6379"
    );
}

#[cfg(feature = "sessions")]
#[tokio::test]
async fn sessions_refresh_rotate_detect_reuse_log_out_and_revoke() {
    let app = app(config(None, None)).unwrap();
    let post = |path: &str, body: String, cookie: Option<&str>, bearer: Option<&str>| {
        let mut req = Request::post(path).header(header::CONTENT_TYPE, "application/json");
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, format!("__Host-refresh_token={c}"));
        }
        if let Some(t) = bearer {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        req.body(Body::from(body)).unwrap()
    };
    let response = app
        .clone()
        .oneshot(login_request(
            r#"{"username":"alice","password":"alice-password"}"#,
        ))
        .await
        .unwrap();
    let set_cookie = response.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(set_cookie.starts_with("__Host-refresh_token=rt1_"));
    for part in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(set_cookie.contains(part), "{set_cookie}");
    }
    assert!(!set_cookie.contains("Domain"));
    let body: serde_json::Value =
        serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    let first = body["refresh_token"].as_str().unwrap().to_owned();
    let access = body["access_token"].as_str().unwrap().to_owned();

    // Refresh from the cookie, then from the body: each rotates.
    let (status, headers, json) =
        send(&app, post("/session/refresh", String::new(), Some(&first), None)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[header::SET_COOKIE].to_str().unwrap().contains("rt1_"));
    let second = json["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    let (status, _, json) = send(
        &app,
        post(
            "/session/refresh",
            json!({"refresh_token": second}).to_string(),
            None,
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let third = json["refresh_token"].as_str().unwrap().to_owned();
    let third_access = json["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        send(&app, get("/me", Some(&third_access))).await.0,
        StatusCode::OK
    );

    // Reuse of the first token: invalid_grant, and the session dies with its tokens.
    let (status, _, json) = send(&app, post("/session/refresh", String::new(), Some(&first), None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(json["error"], "invalid_grant");
    assert_eq!(json["code"], "reused");
    let (status, _, json) = send(&app, post("/session/refresh", String::new(), Some(&third), None)).await;
    assert_eq!(
        (status, json["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("revoked"))
    );
    assert_eq!(
        send(&app, get("/me", Some(&third_access))).await.0,
        StatusCode::UNAUTHORIZED
    );
    // The login's own access token belonged to the same session.
    assert_eq!(
        send(&app, get("/me", Some(&access))).await.0,
        StatusCode::UNAUTHORIZED
    );

    // No token, malformed JSON: 400.
    assert_eq!(
        send(&app, post("/session/refresh", String::new(), None, None))
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        send(&app, post("/session/refresh", "{".into(), None, None))
            .await
            .0,
        StatusCode::BAD_REQUEST
    );

    // Logout: 204, cookie cleared, the access token and the refresh token stop working.
    let (_, _, json) = send(
        &app,
        login_request(r#"{"username":"alice","password":"alice-password"}"#),
    )
    .await;
    let (access, refresh) = (
        json["access_token"].as_str().unwrap().to_owned(),
        json["refresh_token"].as_str().unwrap().to_owned(),
    );
    let (status, headers, _) = send(&app, post("/session/logout", String::new(), None, Some(&access))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    assert_eq!(
        send(&app, get("/me", Some(&access))).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, _, json) = send(
        &app,
        post("/session/refresh", String::new(), Some(&refresh), None),
    )
    .await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_grant"))
    );

    // Admin revocation of alice: her tokens and refresh tokens stop, her next login works.
    let (_, _, alice) = send(
        &app,
        login_request(r#"{"username":"alice","password":"alice-password"}"#),
    )
    .await;
    let admin = login(&app, "admin", "admin-password").await;
    let user = login(&app, "alice", "alice-password").await;
    assert_eq!(
        send(
            &app,
            post(
                "/admin/revoke",
                json!({"sub": "alice"}).to_string(),
                None,
                Some(&user)
            )
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    let (status, _, _) = send(
        &app,
        post(
            "/admin/revoke",
            json!({"sub": "alice"}).to_string(),
            None,
            Some(&admin),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        send(&app, get("/me", Some(&user))).await.0,
        StatusCode::UNAUTHORIZED
    );
    let alice_refresh = alice["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(
        send(
            &app,
            post("/session/refresh", String::new(), Some(&alice_refresh), None)
        )
        .await
        .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(send(&app, get("/me", Some(&admin))).await.0, StatusCode::OK);
    let again = login(&app, "alice", "alice-password").await;
    assert_eq!(send(&app, get("/me", Some(&again))).await.0, StatusCode::OK);
}

#[test]
fn a_short_secret_is_a_configuration_error() {
    let mut c = config(None, None);
    c.secret = "short".into();
    assert!(app(c).is_err());
}

fn login_from(address: [u8; 4], body: &str) -> Request<Body> {
    let mut req = login_request(body);
    let peer = std::net::SocketAddr::from((address, 40_000));
    req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
    req
}

#[tokio::test]
async fn token_responses_are_never_cached() {
    let app = app(config(None, None)).unwrap();
    for body in [
        r#"{"username":"alice","password":"alice-password"}"#,
        r#"{"username":"alice","password":"wrong"}"#,
    ] {
        let (status, headers, _) = send(&app, login_request(body)).await;
        assert!(status == StatusCode::OK || status == StatusCode::UNAUTHORIZED);
        assert_eq!(headers[header::CACHE_CONTROL], "no-store", "{body}");
        assert_eq!(headers[header::PRAGMA], "no-cache", "{body}");
    }
    #[cfg(feature = "sessions")]
    {
        let response = app
            .clone()
            .oneshot(login_request(
                r#"{"username":"alice","password":"alice-password"}"#,
            ))
            .await
            .unwrap();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let refresh = json["refresh_token"].as_str().unwrap();
        let req = Request::post("/session/refresh")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json!({ "refresh_token": refresh }).to_string()))
            .unwrap();
        let (status, headers, json) = send(&app, req).await;
        assert_eq!(status, StatusCode::OK, "{json}");
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        assert_eq!(headers[header::PRAGMA], "no-cache");
    }
    // Other answers keep their caching to the client.
    let (_, headers, _) = send(&app, get("/health", None)).await;
    assert!(headers.get(header::CACHE_CONTROL).is_none());
}

#[test]
fn start_up_prints_ready_tokens_only_for_a_secret_it_generated() {
    let base = "http://127.0.0.1:3000";
    let generated = super::output::quick_start(&config(None, None), true, base);
    assert!(generated.contains("A token for alice"), "{generated}");
    assert!(generated.contains("Bearer eyJ"), "{generated}");
    // A configured secret: a token in the logs would be a credential for whoever reads them.
    let configured = super::output::quick_start(&config(None, None), false, base);
    assert!(!configured.contains("eyJ"), "{configured}");
    assert!(configured.contains("/login"), "{configured}");
    // JWKS mode: this server issues nothing and has no /login.
    let mut jwks = config(None, None);
    jwks.remote = Some(super::config::Remote::Jwks {
        url: "https://idp.example/jwks.json".into(),
        cooldown: std::time::Duration::from_secs(30),
    });
    for generated in [true, false] {
        let text = super::output::quick_start(&jwks, generated, base);
        assert!(!text.contains("eyJ"), "{text}");
        assert!(!text.contains("/login"), "{text}");
    }
}

#[tokio::test]
async fn logins_from_one_address_are_limited_with_retry_after_and_others_are_not() {
    let app = app(config(None, None)).unwrap();
    // Requests that fail before any password check still count: a flood costs nothing.
    let mut statuses = Vec::new();
    for _ in 0..200 {
        let (status, headers, json) = send(&app, login_from([10, 0, 0, 1], "{")).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            let retry: u64 = headers[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
            assert!((1..=60).contains(&retry), "{retry}");
            assert_eq!(json["error"], "too_many_requests");
        }
        statuses.push(status);
    }
    let allowed = statuses.iter().filter(|s| **s == StatusCode::BAD_REQUEST).count();
    let limited = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(allowed + limited, 200);
    // A burst of at least 50 passes; the rest of the flood is refused.
    assert!(allowed >= 50, "{allowed}");
    assert!(limited >= 100, "{limited}");
    // Another address is not affected, and logs in.
    let (status, _, _) = send(
        &app,
        login_from(
            [10, 0, 0, 2],
            r#"{"username":"alice","password":"alice-password"}"#,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_username_is_slowed_after_ten_failures_in_a_minute_and_only_that_one() {
    let app = app(config(None, None)).unwrap();
    let attempt = |n: u8, user: &str, password: &str| {
        login_from(
            [10, 1, 0, n],
            &format!(r#"{{"username":"{user}","password":"{password}"}}"#),
        )
    };
    // Successful logins never count.
    for n in 0..15 {
        let (status, _, _) = send(&app, attempt(n, "alice", "alice-password")).await;
        assert_eq!(status, StatusCode::OK);
    }
    // Ten failures, from as many addresses, are each checked and refused with 401.
    for n in 0..10 {
        let (status, _, _) = send(&app, attempt(n, "alice", "guess")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "failure {n}");
    }
    // The quota is spent: from now on the username waits, even with its password.
    let (status, headers, json) = send(&app, attempt(11, "alice", "alice-password")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{json}");
    let retry: u64 = headers[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // An unknown username is counted alike (the answers do not tell which accounts exist)...
    for n in 0..10 {
        let (status, _, _) = send(&app, attempt(n, "mallory", "guess")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, _, _) = send(&app, attempt(12, "mallory", "guess")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // ...and another user is not affected.
    let (status, _, _) = send(&app, attempt(13, "admin", "admin-password")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_flood_is_answered_503_with_retry_after_once_the_queue_is_full() {
    let app = app(config(None, None)).unwrap();
    let mut flood = tokio::task::JoinSet::new();
    for i in 0..200u32 {
        let app = app.clone();
        // Distinct addresses and usernames: only the password pool's bound applies.
        let [_, _, a, b] = i.to_be_bytes();
        flood.spawn(async move {
            send(
                &app,
                login_from(
                    [10, 2, a, b],
                    &format!(r#"{{"username":"user{i}","password":"x"}}"#),
                ),
            )
            .await
        });
    }
    let mut unauthorized = 0;
    let mut busy = 0;
    while let Some(answer) = flood.join_next().await {
        let (status, headers, _) = answer.unwrap();
        match status {
            StatusCode::UNAUTHORIZED => unauthorized += 1,
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(headers[header::RETRY_AFTER], "1");
                busy += 1;
            }
            other => panic!("{other}"),
        }
    }
    assert_eq!(unauthorized + busy, 200);
    // The queue holds a burst of 50 and more; the rest is turned away at once.
    assert!(unauthorized >= 50, "{unauthorized}");
    assert!(busy >= 1, "{busy}");
    // The pool recovers.
    let (status, _, _) = send(
        &app,
        login_from(
            [10, 3, 0, 1],
            r#"{"username":"alice","password":"alice-password"}"#,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_address_quota_holds_a_burst_of_64_and_refills_at_20_a_second() {
    use super::limits::{LoginLimits, PER_ADDRESS_BURST};
    let limits = LoginLimits::default();
    let one: std::net::IpAddr = "192.0.2.1".parse().unwrap();
    for n in 0..PER_ADDRESS_BURST {
        assert!(limits.attempt_from(one).is_ok(), "attempt {n}");
    }
    let refused = limits.attempt_from(one).unwrap_err();
    assert!((1..=60).contains(&refused.seconds()));
    // 20 a second: one more every 50 ms.
    tokio::time::sleep(std::time::Duration::from_millis(120)).await;
    assert!(limits.attempt_from(one).is_ok());
    assert!(limits.attempt_from(one).is_ok());
    // An IPv6 host counts by its /64; another /64 has its own quota.
    let a: std::net::IpAddr = "2001:db8:0:1::1".parse().unwrap();
    let b: std::net::IpAddr = "2001:db8:0:1:ffff::2".parse().unwrap();
    let c: std::net::IpAddr = "2001:db8:0:2::1".parse().unwrap();
    for _ in 0..PER_ADDRESS_BURST {
        assert!(limits.attempt_from(a).is_ok());
    }
    assert!(limits.attempt_from(b).is_err());
    assert!(limits.attempt_from(c).is_ok());
    // Forgetting those back at full quota keeps the ones still limited.
    limits.retain_recent();
    assert!(limits.attempt_from(b).is_err());
}

/// A request body that never arrives.
struct Stalled;

impl hyper::body::Body for Stalled {
    type Data = axum::body::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        std::task::Poll::Pending
    }
}

#[tokio::test(start_paused = true)]
async fn a_body_sent_too_slowly_is_answered_408_after_the_request_timeout() {
    let app = app(config(None, None)).unwrap();
    let req = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::new(Stalled))
        .unwrap();
    let started = tokio::time::Instant::now();
    let response = app.oneshot(req).await.unwrap();
    assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
    // Paused time: this is the timer's reading, not the wall clock's.
    assert_eq!(started.elapsed().as_secs(), super::app::REQUEST_TIMEOUT.as_secs());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_guesses_at_one_username_get_ten_checks_and_no_more() {
    let app = app(config(None, None)).unwrap();
    let mut guesses = tokio::task::JoinSet::new();
    for n in 0..64u8 {
        let app = app.clone();
        // From as many addresses: only the username's quota applies.
        guesses.spawn(async move {
            send(
                &app,
                login_from(
                    [10, 4, 0, n],
                    &format!(r#"{{"username":"alice","password":"guess{n}"}}"#),
                ),
            )
            .await
            .0
        });
    }
    let (mut checked, mut slowed) = (0, 0);
    while let Some(status) = guesses.join_next().await {
        match status.unwrap() {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => slowed += 1,
            other => panic!("{other}"),
        }
    }
    assert_eq!((checked, slowed), (10, 54));
}

#[tokio::test]
async fn a_declared_body_over_the_limit_is_answered_413_before_it_is_read() {
    let app = app(config(None, None)).unwrap();
    // The declared length is refused: the (stalled) body is never polled.
    let req = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, "100000")
        .header(header::EXPECT, "100-continue")
        .body(Body::new(Stalled))
        .unwrap();
    let response = tokio::time::timeout(std::time::Duration::from_secs(5), app.oneshot(req))
        .await
        .expect("answered at once")
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}
