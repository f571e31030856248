//! A protected axum API: login → token → protected calls, with 401 and 403 done right.
//!
//! Run with
//!
//! ```sh
//! cargo run --example server
//! ```
//!
//! With no configuration it makes a random HS256 secret for the run and prints a ready token and
//! curl lines. Environment (all optional):
//!
//! | variable | meaning | default |
//! | --- | --- | --- |
//! | `JWT_SECRET` | HS256 secret (UTF-8, at least 32 bytes) | random, printed |
//! | `JWT_ISSUER` | tokens must carry this `iss`; issued tokens carry it | none |
//! | `JWT_AUDIENCE` | tokens must carry this `aud`; issued tokens carry it | none |
//! | `BIND` | listen address | `127.0.0.1:3000` |
//! | `JWT_JWKS_URL` | JWKS mode: tokens are verified only against this remote key set (`JWT_SECRET` is not used to verify) and `POST /login` answers 404; needs `--features jwks` | unset |
//! | `JWT_JWKS_COOLDOWN_SECS` | least time between refetches forced by unknown `kid`s, for every remote key set (each its own) | 30 |
//! | `JWT_OIDC_ISSUER` | like `JWT_JWKS_URL`, with the key set found by OpenID Connect discovery; `iss` must equal it | unset |
//! | `JWT_TRUSTED_ISSUERS` | several issuers, separated by spaces: each discovered (`/.well-known/openid-configuration`, whose `issuer` must equal it) with its own key set and cooldown; a token's `iss` must be one of them and verify with that issuer's keys (an untrusted `iss` costs no request); `POST /login` answers 404 and `JWT_SECRET` tokens are refused; an issuer whose keys were never obtained answers 503 for its tokens only; needs `--features jwks` | unset |
//! | `JWT_PROFILE` | `rfc9068`: tokens must follow the JWT access-token profile (`typ: at+jwt`; `iss`, `exp`, `aud`, `sub`, `client_id`, `iat`, `jti` required) | unset |
//! | `OAUTH_RESOURCE` | the resource identifier (`https://api.example.com`; loopback `http://` allowed): its RFC 9728 metadata is served at `/.well-known/oauth-protected-resource` (plus the identifier's path), naming the trusted issuers, and every 401 challenge carries `resource_metadata` | unset |
//! | `REDIS_URL` | with `--features redis`: sessions and revocations in this Redis, shared by every instance (which must share `JWT_SECRET`); unset: in memory, one process | unset |
//! | `REDIS_MAX_STALENESS_SECS` | with `REDIS_URL`: answer 503 to token-bearing requests when the revocation mirror has not been confirmed for this long | none (enforce the last mirror) |
//! | `JWT_SIGNING_KEY_FILE` | a PKCS#8 PEM private key (RSA, P-256/384/521, Ed25519): tokens are signed with it (algorithm from the key, `kid` its RFC 7638 thumbprint), verified with its public half (HS256 tokens are then refused), and the public key is served at `GET /.well-known/jwks.json`; needs `--features aws-lc` | unset |
//!
//! Routes: `GET /health` (open), `POST /login` (`{"username","password"}`; demo users `alice` /
//! `alice-password` with role `user`, `admin` / `admin-password` with role `admin`), `GET /me`
//! (any valid token), `GET /admin` (role `admin`, else 403).
//!
//! Limits (people copy this server): passwords are checked two at a time with at most 64
//! waiting (past that 503 with `Retry-After`); one address may log in 20 times a second in
//! bursts of 64, a username may fail 10 times a minute (past either, 429 with `Retry-After`);
//! request bodies up to 16 KiB; the connection limits of `serve.rs`.
//!
//! The code, one concern per file: `config.rs` (the environment), `keys.rs` (signing and
//! verifying keys of each mode), `tokens.rs` (the claims and minting), `login.rs` (users and
//! the login handler), `passwords.rs` (Argon2 on a fixed two-thread pool with a bounded queue),
//! `limits.rs` (login rate limits per address and per username), `sessions.rs` (refresh, logout, revocation), `errors.rs` (JSON errors and
//! challenges), `app.rs` (state, routes, layers: `app()` is what tests drive with `oneshot`),
//! `output.rs` (what is printed at start-up), `serve.rs` (connections: header-read and idle
//! timeout 10 s, 32 KiB header buffer, a cap from the descriptor limit, drain on SIGTERM or
//! Ctrl-C within 30 s), `tests.rs`.

mod app;
mod config;
mod errors;
mod keys;
mod limits;
mod login;
mod output;
mod passwords;
mod serve;
#[cfg(feature = "sessions")]
mod sessions;
#[cfg(test)]
mod tests;
mod tokens;

use std::net::SocketAddr;

// The application and its settings: what tests build and drive with `oneshot`.
pub use app::app;
#[cfg(feature = "redis")]
pub use app::app_with_redis;
pub use config::{Config, Remote};

#[tokio::main]
async fn main() {
    let (config, generated) = match Config::from_env() {
        Ok(found) => found,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    #[cfg(feature = "sessions")]
    let store = match sessions::store_from_env().await {
        Ok(store) => store,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    #[cfg(not(feature = "sessions"))]
    if std::env::var("REDIS_URL").is_ok_and(|v| !v.is_empty()) {
        eprintln!("error: REDIS_URL is set, but this build has no sessions (build with --features redis)");
        std::process::exit(2);
    }
    output::print_mode(&config, generated);
    let bind = std::env::var("BIND").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let addr: SocketAddr = match bind.parse() {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("error: BIND={bind:?} is not a socket address: {e}");
            std::process::exit(2);
        }
    };
    let state_config = config.clone();
    let router = match app::app_with(
        config,
        #[cfg(feature = "sessions")]
        store,
    ) {
        Ok(router) => router,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("error: cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    let base = format!("http://{}", listener.local_addr().unwrap_or(addr));
    output::print_quick_start(&state_config, generated, &base);
    serve::serve(
        listener,
        router,
        serve::ServeOptions::default(),
        serve::shutdown_signal(),
    )
    .await;
}
