//! The example server's application (`examples/server/`), for the tests that drive it with
//! `oneshot`: the example's own modules, compiled once more here, without its `main` (its
//! start-up) or its unit tests (`examples/server/tests.rs`, run by `--example server`).
//!
//! `app` builds the application with sessions in memory, `app_with_redis` (feature `redis`)
//! with a shared Redis, both from a `Config`. The modules are named as in `main.rs` (they reach
//! each other through `super::`).

// The example's `pub` items are reachable from its own crate root (main.rs re-exports them),
// not from a test crate's.
#![allow(unreachable_pub)]

#[path = "../../examples/server/app.rs"]
mod app;
#[path = "../../examples/server/config.rs"]
mod config;
#[path = "../../examples/server/errors.rs"]
mod errors;
#[path = "../../examples/server/keys.rs"]
mod keys;
#[path = "../../examples/server/limits.rs"]
mod limits;
#[path = "../../examples/server/login.rs"]
mod login;
#[path = "../../examples/server/passwords.rs"]
mod passwords;
/// The example's serve loop (`examples/server/serve.rs`), for the tests that serve over TCP.
#[path = "../../examples/server/serve.rs"]
pub(crate) mod serve;
#[cfg(feature = "sessions")]
#[path = "../../examples/server/sessions.rs"]
mod sessions;
#[path = "../../examples/server/tokens.rs"]
mod tokens;

// What the tests build (most test crates use none of it).
#[allow(unused_imports)]
pub(crate) use self::{app::app, config::Config, config::Remote};
#[cfg(feature = "redis")]
#[allow(unused_imports)]
pub(crate) use app::app_with_redis;

/// The example's settings with `secret` and nothing else configured.
pub(crate) fn config(secret: &str) -> Config {
    Config {
        secret: secret.to_owned(),
        issuer: None,
        audience: None,
        signing_key_pem: None,
        rfc9068: false,
        resource: None,
        remote: None,
    }
}

/// Serves `router` with the example's serve loop on a fresh loopback port until `shutdown`
/// completes.
pub(crate) async fn start(
    router: axum::Router,
    options: serve::ServeOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (
        addr,
        tokio::spawn(serve::serve(listener, router, options, shutdown)),
    )
}
