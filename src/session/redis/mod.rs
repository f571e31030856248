//! The Redis [`SessionStore`] (feature `redis`): several instances behind a load balancer share
//! sessions and revocations.
//!
//! Redis holds the truth. Each session is one hash with a TTL at the session's absolute end;
//! every rotation is one Lua script on that key (check, compare the generation, increment or
//! answer the predecessor, or on reuse revoke the session and write its revocation, then
//! publish), and logout and revocation go through the same key, so no refresh slips past a
//! concurrent revocation.
//!
//! Revocations live in one hash (member → sequence number, end, cutoff) and a sorted set by end
//! (their TTL); every write increments a sequence number and publishes the entry. Each instance
//! mirrors the list in memory ([`SessionStore::revocations`], checked by the layer without a lock
//! or a network call):
//!
//! * a full load at start and after every reconnect;
//! * pub/sub as the low-latency path (milliseconds; a gap in the sequence numbers triggers a full
//!   load);
//! * a reconcile every `reconcile_interval` (default 1 s) comparing the sequence number, since
//!   pub/sub drops messages while disconnected: a message still missing one interval later is
//!   fetched by a full load (so a dropped message arrives within two intervals), and a full load
//!   at least every minute.
//!
//! Every script does bounded work: a subject keeps at most
//! [`RedisOptions::sessions_per_subject`] sessions (the oldest are removed and their access
//! tokens listed), so "log out everywhere" walks at most that many; a write purges at most 100
//! ended entries; and the list is bounded as [`Revocations`] describes, in Lua: past
//! [`RedisOptions::revocations_per_subject`] a subject's entries become its `u:<sub>` cutoff,
//! and at the cap the largest subject is compacted, or the list becomes one cutoff for everyone
//! (published, so every mirror refuses the same tokens; entries a mirror holds that Redis
//! compacted away stay there until they end, refusing nothing more). Every entry is published
//! with its subject, so each mirror applies the same bounds to its own copy.
//!
//! Entries a program writes directly on the mirrored list ([`Revocations::revoke_subject`],
//! [`Revocations::revoke_all`]) stay local to this instance and are not purged by the mirror.
//!
//! When Redis is unreachable, the store's methods fail with [`StoreError::Unavailable`] within
//! `timeout` (so refresh and logout answer 503, never a silent success), and the request path
//! keeps enforcing the last mirror, logging its age (`tracing`, WARN). With
//! [`RedisOptions::max_staleness`] set, a mirror older than that bound fails closed: the layer
//! answers 503 ([`AuthErrorKind::RevocationsUnavailable`](crate::AuthErrorKind)) to every
//! token-bearing request until Redis answers again. When it does, the mirror reloads without a
//! restart.
//!
//! One Redis server (or a primary with replicas behind one address); Redis Cluster is not
//! supported, since a script touches both a session and the revocation keys (and
//! "log out everywhere" touches the subject's session keys, which it does not declare). Give
//! Redis persistence (AOF) and `maxmemory-policy noeviction`: a Redis that loses data forgets
//! sessions (their users log in again) and revocations. Instances that saw a revocation keep it
//! until it ends (a load merges, never replaces), but a new instance cannot learn it.
//!
//! Times (grace, idle and absolute expiry, ends of revocations) come from the clock of the
//! calling instance: keep the fleet's clocks synchronized (NTP), as JWT validation needs anyway.
//! Keep the store alive as long as its [`SessionStore::revocations`] list is used: the mirror
//! stops with the last clone of the store.
//!
//! [`SessionStore`]: crate::session::SessionStore
//! [`SessionStore::revocations`]: crate::session::SessionStore::revocations
//! [`StoreError::Unavailable`]: crate::session::StoreError::Unavailable
//! [`Revocations::revoke_subject`]: crate::Revocations::revoke_subject
//! [`Revocations::revoke_all`]: crate::Revocations::revoke_all
//! [`Revocations`]: crate::Revocations

mod keys;
mod mirror;
mod options;
mod parse;
mod scripts;
mod shared;
mod store;

pub use self::options::RedisOptions;
pub use self::store::RedisStore;
