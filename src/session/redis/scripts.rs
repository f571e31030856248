//! The Lua scripts, one per atomic step, each in `scripts/<name>.lua` (whose header names its
//! KEYS and ARGV).

use redis::Script;

/// Records a revocation: skips one that has already ended, purges a few expired entries,
/// refuses growth past the cap (counting live entries), keeps the latest end and cutoff of an
/// existing entry, bumps the sequence number and publishes.
const REVOKE_FN: &str = include_str!("scripts/revoke.lua");

/// KEYS: session, the subject's sessions (a sorted set by end). ARGV: sub, claims, generation,
/// rotated_at, last_used, expires_at, expires_at in ms, sid, ms left, revoked, now in ms.
const CREATE: &str = include_str!("scripts/create.lua");

/// KEYS: session, rev, rev:exp, rev:seq. ARGV: generation, now, grace, idle, revoke_until,
/// channel, cap, member, generation + 1.
const ROTATE: &str = include_str!("scripts/rotate.lua");

/// KEYS: session, rev, rev:exp, rev:seq. ARGV: until, channel, cap, member, now. The session
/// is marked revoked even when the list is full (-1 then).
const REVOKE_SESSION: &str = include_str!("scripts/revoke_session.lua");

/// KEYS: the subject's sessions, rev, rev:exp, rev:seq. ARGV: cutoff, until, channel, cap,
/// member, now, session key prefix, now in ms. Marks every live session of the subject revoked
/// and lists it (so that a token minted by a refresh that committed just before the cutoff is
/// caught by its `sid`), then writes the cutoff. Answers `ok` and the sessions revoked, or
/// `full`.
const REVOKE_SUBJECT: &str = include_str!("scripts/revoke_subject.lua");

/// KEYS: rev, rev:exp, rev:seq. ARGV: until, channel, cap, member, now.
const REVOKE_TOKEN: &str = include_str!("scripts/revoke_token.lua");

/// KEYS: rev, rev:exp, rev:seq. ARGV: now. Purges expired entries; returns the sequence number
/// and every live entry.
const LOAD: &str = include_str!("scripts/load.lua");

/// The scripts, hashed once; the four that write revocations start with [`REVOKE_FN`].
#[derive(Debug)]
pub(super) struct Scripts {
    pub(super) create: Script,
    pub(super) rotate: Script,
    pub(super) revoke_session: Script,
    pub(super) revoke_subject: Script,
    pub(super) revoke_token: Script,
    pub(super) load: Script,
}

impl Scripts {
    pub(super) fn new() -> Self {
        let with_revoke = |body: &str| Script::new(&format!("{REVOKE_FN}{body}"));
        Self {
            create: Script::new(CREATE),
            rotate: with_revoke(ROTATE),
            revoke_session: with_revoke(REVOKE_SESSION),
            revoke_subject: with_revoke(REVOKE_SUBJECT),
            revoke_token: with_revoke(REVOKE_TOKEN),
            load: Script::new(LOAD),
        }
    }
}
