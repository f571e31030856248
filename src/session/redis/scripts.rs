//! The Lua scripts, one per atomic step, each in `scripts/<name>.lua` (whose header names its
//! KEYS and ARGV).

use redis::Script;

/// Records a revocation, never refusing one and with bounded work: skips one that has already
/// ended, purges a few ended entries, keeps the latest end and cutoff of an existing entry,
/// attributes it to its subject, compacts a subject past the per-subject bound into one cutoff,
/// makes room at the cap (the largest subject compacted, else one cutoff for everyone), bumps
/// the sequence number and publishes.
const REVOKE_FN: &str = include_str!("scripts/revoke.lua");

/// KEYS: session, the subject's sessions (a sorted set by end), rev, rev:exp, rev:seq. ARGV:
/// sub, claims, generation, rotated_at, last_used, expires_at, expires_at in ms, sid, ms left,
/// revoked, now in ms, revoke_until, channel, cap, per-subject bound, now, sessions per
/// subject, session key prefix. Removes (and lists) the subject's oldest sessions past the
/// cap; answers the sessions listed.
const CREATE: &str = include_str!("scripts/create.lua");

/// KEYS: session, rev, rev:exp, rev:seq. ARGV: generation, now, grace, idle, revoke_until,
/// channel, cap, member, generation + 1, per-subject bound.
const ROTATE: &str = include_str!("scripts/rotate.lua");

/// KEYS: session, rev, rev:exp, rev:seq. ARGV: until, channel, cap, member, now, per-subject
/// bound. Answers whether the session was found, and its subject.
const REVOKE_SESSION: &str = include_str!("scripts/revoke_session.lua");

/// KEYS: the subject's sessions, rev, rev:exp, rev:seq. ARGV: cutoff, until, channel, cap,
/// member, now, session key prefix, now in ms, per-subject bound, subject. Marks every live
/// session of the subject revoked and lists it (so that a token minted by a refresh that
/// committed just before the cutoff is caught by its `sid`), then writes the cutoff. Answers
/// `ok` and the sessions revoked.
const REVOKE_SUBJECT: &str = include_str!("scripts/revoke_subject.lua");

/// KEYS: rev, rev:exp, rev:seq. ARGV: until, channel, cap, member, now, per-subject bound,
/// subject.
const REVOKE_TOKEN: &str = include_str!("scripts/revoke_token.lua");

/// KEYS: rev, rev:exp, rev:seq. ARGV: now. Purges up to 1000 ended entries; returns the
/// sequence number and every entry.
const LOAD: &str = include_str!("scripts/load.lua");

/// The scripts, hashed once; each starts with [`REVOKE_FN`].
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
            create: with_revoke(CREATE),
            rotate: with_revoke(ROTATE),
            revoke_session: with_revoke(REVOKE_SESSION),
            revoke_subject: with_revoke(REVOKE_SUBJECT),
            revoke_token: with_revoke(REVOKE_TOKEN),
            load: with_revoke(LOAD),
        }
    }
}
