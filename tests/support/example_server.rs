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
#[cfg(feature = "sessions")]
#[path = "../../examples/server/sessions.rs"]
mod sessions;
#[path = "../../examples/server/tokens.rs"]
mod tokens;

// What the tests build (most test crates use none of it).
#[allow(unused_imports)]
pub(crate) use self::{app::app, config::Config};
#[cfg(feature = "redis")]
#[allow(unused_imports)]
pub(crate) use app::app_with_redis;
