//! What a token must satisfy besides its signature: [`Validation`] (the rules and their
//! builder), the verification entry points built on it, and [`TokenCheck`], the hook for rules
//! of your own run after the signature and the registered claims.

mod check;
mod profile;
mod rules;
mod verify;

pub use self::check::{TokenCheck, TokenIds};
pub use self::rules::{Validation, DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_LEN};
pub use self::verify::Verification;
