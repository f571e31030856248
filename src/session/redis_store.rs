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

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Script, ScriptInvocation};
use serde_json::Value;

use super::{finite, now, Rotation, SessionRecord, SessionStore, StoreError};
use crate::revocation::Entry;
use crate::Revocations;

/// Settings of [`RedisStore`].
#[derive(Clone, Debug)]
pub struct RedisOptions {
    prefix: String,
    cap: usize,
    timeout: Duration,
    reconcile: Duration,
    max_staleness: Option<Duration>,
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            prefix: "tower-jwt-auth:".to_owned(),
            cap: 100_000,
            timeout: Duration::from_secs(2),
            reconcile: Duration::from_secs(1),
            max_staleness: None,
        }
    }
}

impl RedisOptions {
    /// The prefix of every key and of the pub/sub channel (default `tower-jwt-auth:`); set one per
    /// application sharing a Redis.
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The most revocations held (default 100,000); a revocation past it is refused with
    /// [`StoreError::Full`].
    #[must_use]
    pub fn cap(mut self, cap: usize) -> Self {
        self.cap = cap;
        self
    }

    /// How long a store operation may take before it fails with [`StoreError::Unavailable`]
    /// (default 2 s).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How often the mirror compares its sequence number with Redis's (default 1 s).
    #[must_use]
    pub fn reconcile_interval(mut self, interval: Duration) -> Self {
        self.reconcile = interval.max(Duration::from_millis(10));
        self
    }

    /// Fail closed when the mirror has not been confirmed current for longer than `bound` (at
    /// least twice the reconcile interval; a smaller bound is raised to that): the layer then
    /// answers 503 to token-bearing requests until Redis answers again. The mirror is confirmed
    /// every reconcile interval, so after Redis goes away the 503s start between `bound` minus
    /// one interval and `bound`.
    ///
    /// Default: none, the last mirror is enforced however old it is. Revocations are written
    /// through Redis, so while Redis is down for the whole fleet the mirror misses nothing, and
    /// failing closed would turn a Redis outage into an outage of every API. The risk is one
    /// instance cut off from a Redis the others still reach: it misses revocations made
    /// meanwhile, for at most the access tokens' lifetime (15 minutes). Set a bound (say, 30 s)
    /// where serving a revoked token for that long is worse than refusing everyone.
    #[must_use]
    pub fn max_staleness(mut self, bound: Duration) -> Self {
        self.max_staleness = Some(bound);
        self
    }
}

/// Where things live in Redis.
#[derive(Debug)]
struct Keys {
    session: String,
    subject: String,
    rev: String,
    rev_exp: String,
    rev_seq: String,
    channel: String,
}

impl Keys {
    fn new(prefix: &str) -> Self {
        Self {
            session: format!("{prefix}session:"),
            subject: format!("{prefix}subject-sessions:"),
            rev: format!("{prefix}rev"),
            rev_exp: format!("{prefix}rev:exp"),
            rev_seq: format!("{prefix}rev:seq"),
            channel: format!("{prefix}revocations"),
        }
    }
}

/// Records a revocation: skips one that has already ended, purges a few expired entries,
/// refuses growth past the cap (counting live entries), keeps the latest end and cutoff of an
/// existing entry, bumps the sequence number and publishes.
const REVOKE_FN: &str = r"
local function revoke(rev, exp, seq, channel, cap, now, member, until_, cutoff)
  if tonumber(until_) <= tonumber(now) then return true end
  local expired = redis.call('ZRANGEBYSCORE', exp, '-inf', now, 'LIMIT', 0, 100)
  for _, m in ipairs(expired) do
    redis.call('HDEL', rev, m)
    redis.call('ZREM', exp, m)
  end
  local old = redis.call('HGET', rev, member)
  if not old then
    local live = redis.call('HLEN', rev) - redis.call('ZCOUNT', exp, '-inf', now)
    if live >= tonumber(cap) then return false end
  end
  if old then
    local _, ountil, ocut = string.match(old, '^(%d+) (%S+) (%S+)$')
    if ountil and tonumber(ountil) > tonumber(until_) then until_ = ountil end
    if ocut and tonumber(ocut) > tonumber(cutoff) then cutoff = ocut end
  end
  local n = redis.call('INCR', seq)
  local value = string.format('%d', n) .. ' ' .. until_ .. ' ' .. cutoff
  redis.call('HSET', rev, member, value)
  redis.call('ZADD', exp, until_, member)
  redis.call('PUBLISH', channel, value .. ' ' .. member)
  return true
end
";

/// KEYS: session, the subject's sessions (a sorted set by end). ARGV: sub, claims, generation,
/// rotated_at, last_used, expires_at, expires_at in ms, sid, ms left, revoked, now in ms.
const CREATE: &str = r"
redis.call('HSET', KEYS[1], 'sub', ARGV[1], 'claims', ARGV[2], 'generation', ARGV[3],
  'rotated_at', ARGV[4], 'last_used', ARGV[5], 'expires_at', ARGV[6], 'revoked', ARGV[10])
redis.call('PEXPIREAT', KEYS[1], ARGV[7])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[11])
redis.call('ZADD', KEYS[2], ARGV[7], ARGV[8])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[9]) then
  redis.call('PEXPIREAT', KEYS[2], ARGV[7])
end
return 1
";

/// KEYS: session, rev, rev:exp, rev:seq. ARGV: generation, now, grace, idle, revoke_until,
/// channel, cap, member, generation + 1.
const ROTATE: &str = r"
local f = redis.call('HMGET', KEYS[1], 'generation', 'rotated_at', 'last_used', 'expires_at',
  'revoked', 'sub', 'claims')
if not f[1] then return {'unknown'} end
if f[5] == '1' then return {'revoked'} end
local now = tonumber(ARGV[2])
if now >= tonumber(f[4]) or now - tonumber(f[3]) > tonumber(ARGV[4]) then
  return {'expired'}
end
if ARGV[1] == f[1] then
  local g = redis.call('HINCRBY', KEYS[1], 'generation', 1)
  redis.call('HSET', KEYS[1], 'rotated_at', ARGV[2], 'last_used', ARGV[2])
  return {'rotated', string.format('%d', g), ARGV[2], ARGV[2], f[4], f[6], f[7]}
end
if ARGV[9] == f[1] and now - tonumber(f[2]) <= tonumber(ARGV[3]) then
  return {'converged', f[1], f[2], f[3], f[4], f[6], f[7]}
end
redis.call('HSET', KEYS[1], 'revoked', '1')
if not revoke(KEYS[2], KEYS[3], KEYS[4], ARGV[6], ARGV[7], ARGV[2], ARGV[8], ARGV[5], '0') then
  return {'reused', 'full'}
end
return {'reused'}
";

/// KEYS: session, rev, rev:exp, rev:seq. ARGV: until, channel, cap, member, now. The session
/// is marked revoked even when the list is full (-1 then).
const REVOKE_SESSION: &str = r"
local found = 0
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'revoked', '1')
  found = 1
end
if not revoke(KEYS[2], KEYS[3], KEYS[4], ARGV[2], ARGV[3], ARGV[5], ARGV[4], ARGV[1], '0') then
  return -1
end
return found
";

/// KEYS: the subject's sessions, rev, rev:exp, rev:seq. ARGV: cutoff, until, channel, cap,
/// member, now, session key prefix, now in ms. Marks every live session of the subject revoked
/// and lists it (so that a token minted by a refresh that committed just before the cutoff is
/// caught by its `sid`), then writes the cutoff. Answers `ok` and the sessions revoked, or
/// `full`.
const REVOKE_SUBJECT: &str = r"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[8])
local revoked = {}
for _, sid in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local k = ARGV[7] .. sid
  if redis.call('HGET', k, 'revoked') == '0' then
    redis.call('HSET', k, 'revoked', '1')
    revoked[#revoked + 1] = sid
  end
end
local full = not revoke(KEYS[2], KEYS[3], KEYS[4], ARGV[3], ARGV[4], ARGV[6], ARGV[5], ARGV[2], ARGV[1])
for _, sid in ipairs(revoked) do
  if not revoke(KEYS[2], KEYS[3], KEYS[4], ARGV[3], ARGV[4], ARGV[6], 's:' .. sid, ARGV[2], '0') then
    full = true
  end
end
if full then return {'full'} end
table.insert(revoked, 1, 'ok')
return revoked
";

/// KEYS: rev, rev:exp, rev:seq. ARGV: until, channel, cap, member, now.
const REVOKE_TOKEN: &str = r"
if not revoke(KEYS[1], KEYS[2], KEYS[3], ARGV[2], ARGV[3], ARGV[5], ARGV[4], ARGV[1], '0') then
  return -1
end
return 1
";

/// KEYS: rev, rev:exp, rev:seq. ARGV: now. Purges expired entries; returns the sequence number
/// and every live entry.
const LOAD: &str = r"
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
for _, m in ipairs(expired) do redis.call('HDEL', KEYS[1], m) end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
local seq = redis.call('GET', KEYS[3]) or '0'
return {seq, redis.call('HGETALL', KEYS[1])}
";

#[derive(Debug)]
struct Scripts {
    create: Script,
    rotate: Script,
    revoke_session: Script,
    revoke_subject: Script,
    revoke_token: Script,
    load: Script,
}

impl Scripts {
    fn new() -> Self {
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

/// What the store and its mirror task share.
struct Shared {
    conn: ConnectionManager,
    keys: Keys,
    scripts: Scripts,
    options: RedisOptions,
    revocations: Revocations,
    /// When the mirror was last confirmed current, in ms since the store started.
    synced_ms: AtomicU64,
    /// The mirror's sequence number.
    seq: AtomicU64,
    started: Instant,
}

impl Shared {
    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn mark_synced(&self) {
        self.synced_ms.store(self.elapsed_ms(), Ordering::Relaxed);
        self.revocations.set_stale(false);
    }

    /// Runs `f` within the store's timeout; failures are [`StoreError::Unavailable`].
    async fn run<T>(&self, f: impl Future<Output = redis::RedisResult<T>>) -> Result<T, StoreError> {
        match tokio::time::timeout(self.options.timeout, f).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(unavailable(&e)),
            Err(_) => Err(StoreError::Unavailable("timed out".to_owned())),
        }
    }

    /// Runs a script within the store's timeout. A connection error is tried once more: the
    /// connection manager answers the first request after an outage with the old connection's
    /// error while it reconnects. Every script leaves the same state when run twice (a rotation
    /// that did happen is answered from the grace window, revocations keep the latest values);
    /// the second answer may differ (a repeated reuse answers `revoked`, a repeated "log out
    /// everywhere" counts no session), never in a way that accepts a refused token.
    async fn eval<T: redis::FromRedisValue>(
        &self,
        invocation: &ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        let attempt = async {
            let mut conn = self.conn.clone();
            match invocation.invoke_async(&mut conn).await {
                Err(e) if e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    invocation.invoke_async(&mut conn).await
                }
                other => other,
            }
        };
        self.run(attempt).await
    }

    /// A full load: Redis's list is merged into the mirror, and entries that have ended are
    /// dropped. (Merged, not replaced: entries leave only when they end, so a Redis that lost
    /// data cannot bring a revoked token back on an instance that saw its revocation.)
    async fn load(&self) -> Result<u64, StoreError> {
        let now = now();
        let mut conn = self.conn.clone();
        let (seq, flat): (String, Vec<String>) = self
            .run(
                self.scripts
                    .load
                    .key(&self.keys.rev)
                    .key(&self.keys.rev_exp)
                    .key(&self.keys.rev_seq)
                    .arg(now.to_string())
                    .invoke_async(&mut conn),
            )
            .await?;
        let seq = seq.parse::<u64>().map_err(|_| corrupt("sequence number"))?;
        let mut entries = Vec::with_capacity(flat.len() / 2);
        for pair in flat.chunks_exact(2) {
            if let [member, value] = pair {
                let mut parts = value.splitn(3, ' ');
                let (_seq, until, cutoff) = (parts.next(), parts.next(), parts.next());
                if let Some(entry) = entry(member, until, cutoff) {
                    entries.push(entry);
                }
            }
        }
        self.revocations.mirror(entries, now);
        self.revocations.purge(now, f64::INFINITY);
        self.seq.store(seq, Ordering::Relaxed);
        self.mark_synced();
        Ok(seq)
    }

    fn refuse_if_full(&self, code: i64) -> Result<i64, StoreError> {
        if code < 0 {
            Err(StoreError::Full {
                cap: self.options.cap,
            })
        } else {
            Ok(code)
        }
    }
}

fn unavailable(e: &redis::RedisError) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Unavailable(format!("unreadable {what} in Redis"))
}

/// One entry from its member (`t:`, `s:` or `u:` and the id), end and cutoff.
fn entry(member: &str, until: Option<&str>, cutoff: Option<&str>) -> Option<Entry> {
    let (kind, id) = member.split_once(':')?;
    let until = until?.parse::<f64>().ok()?;
    let cutoff = cutoff?.parse::<f64>().ok()?;
    match kind {
        "t" => Some(Entry::Token(id.into(), until)),
        "s" => Some(Entry::Session(id.into(), until)),
        "u" => Some(Entry::Subject(id.into(), cutoff, until)),
        _ => None,
    }
}

/// Aborts the mirror tasks when the last handle to the store goes. The list is then no longer
/// kept current: with `max_staleness` set it fails closed at once.
struct Tasks {
    handles: Vec<tokio::task::AbortHandle>,
    revocations: Revocations,
    fail_closed: bool,
}

impl Drop for Tasks {
    fn drop(&mut self) {
        for task in &self.handles {
            task.abort();
        }
        if self.fail_closed {
            self.revocations.set_stale(true);
        }
        tracing::debug!(target: "tower_jwt_auth::session", "RedisStore dropped: its revocation list is no longer kept current");
    }
}

/// Sessions and revocations in Redis, shared by every instance; clones share the connection
/// and the mirror.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use tower_jwt_auth::session::{RedisOptions, RedisStore, SessionOptions, SessionStore, Sessions};
/// use tower_jwt_auth::Validation;
///
/// let store = RedisStore::connect("redis://127.0.0.1:6379", RedisOptions::default()).await?;
/// let validation = Validation::new().revocations(store.revocations().clone());
/// let sessions = Sessions::new(b"a refresh-token secret shared by the fleet!", store, SessionOptions::default())?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    shared: Arc<Shared>,
    _tasks: Arc<Tasks>,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("options", &self.shared.options)
            .field("revocations", &self.shared.revocations)
            .field("mirror_age", &self.mirror_age())
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects to Redis at `url` (`redis://[user:password@]host:port[/db]`, or `rediss://` for
    /// TLS where the `redis` crate is built with it), loads the revocation list and starts the
    /// mirror (tasks on the current Tokio runtime, stopped when the last clone is dropped).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the URL is invalid or Redis cannot be reached.
    pub async fn connect(url: &str, options: RedisOptions) -> Result<Self, StoreError> {
        let client = Client::open(url).map_err(|e| unavailable(&e))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.timeout))
            .set_response_timeout(Some(options.timeout))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let conn = tokio::time::timeout(
            options.timeout,
            ConnectionManager::new_with_config(client.clone(), config),
        )
        .await
        .map_err(|_| StoreError::Unavailable("timed out".to_owned()))?
        .map_err(|e| unavailable(&e))?;
        let shared = Arc::new(Shared {
            conn,
            keys: Keys::new(&options.prefix),
            scripts: Scripts::new(),
            revocations: Revocations::new(options.cap),
            options,
            synced_ms: AtomicU64::new(0),
            seq: AtomicU64::new(0),
            started: Instant::now(),
        });
        shared.load().await?;
        let mirror = tokio::spawn(mirror(Arc::clone(&shared), client)).abort_handle();
        let watchdog = tokio::spawn(watchdog(Arc::clone(&shared))).abort_handle();
        let tasks = Tasks {
            handles: vec![mirror, watchdog],
            revocations: shared.revocations.clone(),
            fail_closed: shared.options.max_staleness.is_some(),
        };
        Ok(Self {
            shared,
            _tasks: Arc::new(tasks),
        })
    }

    /// Reloads the revocation list from Redis now (dropping expired entries, in Redis too), as
    /// the mirror does after a reconnect and at least every minute.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when Redis cannot answer.
    pub async fn resync(&self) -> Result<(), StoreError> {
        self.shared.load().await.map(|_| ())
    }

    /// How long ago the mirror was last confirmed current.
    #[must_use]
    pub fn mirror_age(&self) -> Duration {
        let synced = self.shared.synced_ms.load(Ordering::Relaxed);
        Duration::from_millis(self.shared.elapsed_ms().saturating_sub(synced))
    }

    /// The sequence number of the last revocation the mirror holds.
    #[must_use]
    pub fn mirror_sequence(&self) -> u64 {
        self.shared.seq.load(Ordering::Relaxed)
    }

    fn session_key(&self, sid: &str) -> String {
        format!("{}{sid}", self.shared.keys.session)
    }
}

/// The mirror: subscribe, load, then follow pub/sub and reconcile, reconnecting with backoff.
async fn mirror(shared: Arc<Shared>, client: Client) {
    const FIRST: Duration = Duration::from_millis(100);
    let mut backoff = FIRST;
    loop {
        let error = follow(&shared, &client, &mut backoff).await;
        // Said once per outage; the watchdog then reports the mirror's age every 10 s.
        if backoff == FIRST {
            tracing::warn!(target: "tower_jwt_auth::session", error = %error, "revocation mirror lost Redis; enforcing the last list");
        } else {
            tracing::debug!(target: "tower_jwt_auth::session", error = %error, retry_in = ?backoff, "revocation mirror: Redis still unreachable");
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_millis(250));
    }
}

/// Follows Redis until something fails; returns what failed.
async fn follow(shared: &Shared, client: &Client, backoff: &mut Duration) -> StoreError {
    let timeout = shared.options.timeout;
    let mut pubsub = match tokio::time::timeout(timeout, client.get_async_pubsub()).await {
        Ok(Ok(pubsub)) => pubsub,
        Ok(Err(e)) => return unavailable(&e),
        Err(_) => return StoreError::Unavailable("pub/sub connection timed out".to_owned()),
    };
    match tokio::time::timeout(timeout, pubsub.subscribe(&shared.keys.channel)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return unavailable(&e),
        Err(_) => return StoreError::Unavailable("subscribe timed out".to_owned()),
    }
    // Subscribed first, then loaded: nothing published in between is lost.
    let mut seq = match shared.load().await {
        Ok(seq) => seq,
        Err(e) => return e,
    };
    tracing::debug!(target: "tower_jwt_auth::session", seq, entries = shared.revocations.len(), "revocation mirror loaded");
    *backoff = Duration::from_millis(100);
    // A sequence number Redis had at the last reconcile, not yet seen through pub/sub.
    let mut behind: Option<u64> = None;
    let mut messages = std::pin::pin!(pubsub.into_on_message());
    let mut tick = tokio::time::interval(shared.options.reconcile);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_full = Instant::now();
    loop {
        tokio::select! {
            message = futures_util::StreamExt::next(&mut messages) => {
                let Some(message) = message else {
                    return StoreError::Unavailable("pub/sub connection closed".to_owned());
                };
                // Everything already received is applied in one copy of the list (a "log out
                // everywhere" publishes one message per session).
                let mut batch = vec![message];
                let mut closed = false;
                while batch.len() < 1024 {
                    match futures_util::FutureExt::now_or_never(futures_util::StreamExt::next(&mut messages)) {
                        Some(Some(message)) => batch.push(message),
                        Some(None) => {
                            closed = true;
                            break;
                        }
                        None => break,
                    }
                }
                let mut entries = Vec::with_capacity(batch.len());
                let mut gap = false;
                for message in &batch {
                    let payload: String = message.get_payload().unwrap_or_default();
                    let mut parts = payload.splitn(4, ' ');
                    let (n, until, cutoff, member) = (parts.next(), parts.next(), parts.next(), parts.next());
                    let n = n.and_then(|n| n.parse::<u64>().ok()).unwrap_or(u64::MAX);
                    let parsed = member.and_then(|m| entry(m, until, cutoff));
                    // At or below `seq`: already applied, or numbered again after Redis lost
                    // data; merging is harmless either way (the later end wins), skipping could
                    // lose a revocation.
                    if n > seq {
                        if n == seq + 1 && parsed.is_some() {
                            seq = n;
                        } else {
                            // A gap (a message lost) or a message we cannot read: reload.
                            gap = true;
                        }
                    }
                    entries.extend(parsed);
                }
                shared.revocations.mirror(entries, now());
                shared.seq.store(seq, Ordering::Relaxed);
                if gap {
                    match shared.load().await {
                        Ok(loaded) => seq = loaded,
                        Err(e) => return e,
                    }
                }
                if closed {
                    return StoreError::Unavailable("pub/sub connection closed".to_owned());
                }
            }
            _ = tick.tick() => {
                let mut conn = shared.conn.clone();
                let remote: Option<u64> = match shared
                    .run(redis::cmd("GET").arg(&shared.keys.rev_seq).query_async(&mut conn))
                    .await
                {
                    Ok(remote) => remote,
                    Err(e) => return e,
                };
                let remote = remote.unwrap_or(0);
                // Redis lost data (flushed, restarted without persistence, failed over to a
                // lagging replica): keep every entry held here, follow its new sequence.
                let lost = remote < seq;
                if lost {
                    tracing::error!(target: "tower_jwt_auth::session", remote, local = seq, "Redis's revocation sequence went backwards (data lost?); this instance keeps the revocations it holds");
                }
                // A message still missing a whole tick later was dropped.
                let dropped = behind.is_some_and(|b| b > seq);
                if lost || dropped || last_full.elapsed() >= Duration::from_secs(60) {
                    match shared.load().await {
                        Ok(loaded) => seq = loaded,
                        Err(e) => return e,
                    }
                    last_full = Instant::now();
                    behind = None;
                } else {
                    behind = (remote > seq).then_some(remote);
                    shared.mark_synced();
                }
            }
        }
    }
}

/// Flags the list stale past `max_staleness`, and reports the mirror's age while it lags.
async fn watchdog(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let lagging = shared
        .options
        .reconcile
        .saturating_mul(3)
        .saturating_add(shared.options.timeout);
    // A healthy mirror is confirmed every reconcile interval: a bound under two would flap.
    let confirmable = shared.options.reconcile.saturating_mul(2);
    let mut last_report: Option<Instant> = None;
    loop {
        tick.tick().await;
        let age = Duration::from_millis(
            shared
                .elapsed_ms()
                .saturating_sub(shared.synced_ms.load(Ordering::Relaxed)),
        );
        if let Some(bound) = shared.options.max_staleness {
            shared.revocations.set_stale(age > bound.max(confirmable));
        }
        if age > lagging {
            if last_report.map_or(true, |at| at.elapsed() >= Duration::from_secs(10)) {
                tracing::warn!(
                    target: "tower_jwt_auth::session",
                    age_secs = age.as_secs_f64(),
                    fail_closed = shared.revocations.is_stale(),
                    "revocation mirror is out of date: Redis unreachable"
                );
                last_report = Some(Instant::now());
            }
        } else if last_report.take().is_some() {
            tracing::info!(target: "tower_jwt_auth::session", "revocation mirror resynchronized with Redis");
        }
    }
}

fn parse_f64(s: Option<&String>, what: &str) -> Result<f64, StoreError> {
    s.and_then(|s| s.parse::<f64>().ok()).ok_or_else(|| corrupt(what))
}

/// A record from the rotation script's answer: generation, rotated_at, last_used, expires_at,
/// sub, claims.
fn record(sid: &str, f: &[String]) -> Result<SessionRecord, StoreError> {
    let generation = f
        .first()
        .and_then(|g| g.parse::<u64>().ok())
        .ok_or_else(|| corrupt("generation"))?;
    let Some(Ok(Value::Object(claims))) = f.get(5).map(|c| serde_json::from_str::<Value>(c)) else {
        return Err(corrupt("claims"));
    };
    Ok(SessionRecord {
        sid: sid.to_owned(),
        sub: f.get(4).cloned().ok_or_else(|| corrupt("subject"))?,
        claims,
        generation,
        rotated_at: parse_f64(f.get(1), "rotation time")?,
        last_used: parse_f64(f.get(2), "last use")?,
        expires_at: parse_f64(f.get(3), "expiry")?,
        revoked: false,
    })
}

impl SessionStore for RedisStore {
    async fn create(&self, record: SessionRecord) -> Result<(), StoreError> {
        let shared = &self.shared;
        finite(&[record.rotated_at, record.last_used, record.expires_at])?;
        let claims = Value::Object(record.claims.clone()).to_string();
        let now = now();
        let end_ms = (record.expires_at * 1000.0).ceil().max(0.0) as u64;
        let left_ms = ((record.expires_at - now) * 1000.0).ceil().max(1.0) as u64;
        let mut invocation = shared.scripts.create.prepare_invoke();
        invocation
            .key(self.session_key(&record.sid))
            .key(format!("{}{}", shared.keys.subject, record.sub))
            .arg(&record.sub)
            .arg(claims)
            .arg(record.generation)
            .arg(record.rotated_at.to_string())
            .arg(record.last_used.to_string())
            .arg(record.expires_at.to_string())
            .arg(end_ms)
            .arg(&record.sid)
            .arg(left_ms)
            .arg(if record.revoked { "1" } else { "0" })
            .arg((now * 1000.0) as u64);
        let _: i64 = shared.eval(&invocation).await?;
        Ok(())
    }

    async fn rotate(
        &self,
        sid: &str,
        generation: u64,
        now: f64,
        grace: Duration,
        idle: Duration,
        revoke_until: f64,
    ) -> Result<Rotation, StoreError> {
        let shared = &self.shared;
        finite(&[now, revoke_until])?;
        let next = generation
            .checked_add(1)
            .map_or_else(String::new, |n| n.to_string());
        let mut invocation = shared.scripts.rotate.prepare_invoke();
        invocation
            .key(self.session_key(sid))
            .key(&shared.keys.rev)
            .key(&shared.keys.rev_exp)
            .key(&shared.keys.rev_seq)
            .arg(generation)
            .arg(now.to_string())
            .arg(grace.as_secs_f64().to_string())
            .arg(idle.as_secs_f64().to_string())
            .arg(revoke_until.to_string())
            .arg(&shared.keys.channel)
            .arg(shared.options.cap)
            .arg(format!("s:{sid}"))
            .arg(next);
        let answer: Vec<String> = shared.eval(&invocation).await?;
        let (outcome, fields) = answer.split_first().ok_or_else(|| corrupt("rotation answer"))?;
        Ok(match outcome.as_str() {
            "rotated" => Rotation::Rotated(record(sid, fields)?),
            "converged" => Rotation::Converged(record(sid, fields)?),
            "reused" => {
                if fields.first().is_some_and(|f| f == "full") {
                    tracing::warn!(target: "tower_jwt_auth::session", cap = shared.options.cap, "refresh-token reuse: session revoked, but the revocation list is full; its access tokens live out their lifetime");
                } else {
                    // Enforce here at once; the mirror confirms within a second.
                    shared
                        .revocations
                        .mirror([Entry::Session(sid.into(), revoke_until)], now);
                }
                Rotation::ReuseDetected
            }
            "expired" => Rotation::Expired,
            "revoked" => Rotation::Revoked,
            "unknown" => Rotation::Unknown,
            _ => return Err(corrupt("rotation answer")),
        })
    }

    async fn revoke(&self, sid: &str, until: f64) -> Result<bool, StoreError> {
        let shared = &self.shared;
        finite(&[until])?;
        let mut invocation = shared.scripts.revoke_session.prepare_invoke();
        invocation
            .key(self.session_key(sid))
            .key(&shared.keys.rev)
            .key(&shared.keys.rev_exp)
            .key(&shared.keys.rev_seq)
            .arg(until.to_string())
            .arg(&shared.keys.channel)
            .arg(shared.options.cap)
            .arg(format!("s:{sid}"))
            .arg(now().to_string());
        let code: i64 = shared.eval(&invocation).await?;
        let found = shared.refuse_if_full(code)? == 1;
        shared
            .revocations
            .mirror([Entry::Session(sid.into(), until)], now());
        Ok(found)
    }

    async fn revoke_subject(&self, sub: &str, cutoff: f64, until: f64) -> Result<usize, StoreError> {
        let shared = &self.shared;
        finite(&[cutoff, until])?;
        let now = now();
        let mut invocation = shared.scripts.revoke_subject.prepare_invoke();
        invocation
            .key(format!("{}{sub}", shared.keys.subject))
            .key(&shared.keys.rev)
            .key(&shared.keys.rev_exp)
            .key(&shared.keys.rev_seq)
            .arg(cutoff.to_string())
            .arg(until.to_string())
            .arg(&shared.keys.channel)
            .arg(shared.options.cap)
            .arg(format!("u:{sub}"))
            .arg(now.to_string())
            .arg(&shared.keys.session)
            .arg((now * 1000.0) as u64);
        let answer: Vec<String> = shared.eval(&invocation).await?;
        let sids = match answer.split_first().map(|(a, rest)| (a.as_str(), rest)) {
            Some(("ok", sids)) => sids,
            Some(("full", _)) => {
                return Err(StoreError::Full {
                    cap: shared.options.cap,
                })
            }
            _ => return Err(corrupt("revocation answer")),
        };
        // Enforced here at once; the mirror confirms within a second.
        let sessions = sids.iter().map(|sid| Entry::Session(sid.as_str().into(), until));
        shared
            .revocations
            .mirror(sessions.chain([Entry::Subject(sub.into(), cutoff, until)]), now);
        Ok(sids.len())
    }

    async fn revoke_token(&self, jti: &str, exp: f64) -> Result<(), StoreError> {
        let shared = &self.shared;
        finite(&[exp])?;
        let mut invocation = shared.scripts.revoke_token.prepare_invoke();
        invocation
            .key(&shared.keys.rev)
            .key(&shared.keys.rev_exp)
            .key(&shared.keys.rev_seq)
            .arg(exp.to_string())
            .arg(&shared.keys.channel)
            .arg(shared.options.cap)
            .arg(format!("t:{jti}"))
            .arg(now().to_string());
        let code: i64 = shared.eval(&invocation).await?;
        shared.refuse_if_full(code)?;
        shared.revocations.mirror([Entry::Token(jti.into(), exp)], now());
        Ok(())
    }

    fn revocations(&self) -> &Revocations {
        &self.shared.revocations
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_parse_from_members() {
        assert_eq!(
            entry("t:abc", Some("10.5"), Some("0")),
            Some(Entry::Token("abc".into(), 10.5))
        );
        assert_eq!(
            entry("s:a:b c", Some("10"), Some("0")),
            Some(Entry::Session("a:b c".into(), 10.0))
        );
        assert_eq!(
            entry("u:alice", Some("900"), Some("12.25")),
            Some(Entry::Subject("alice".into(), 12.25, 900.0))
        );
        assert_eq!(entry("x:alice", Some("1"), Some("1")), None);
        assert_eq!(entry("t:abc", Some("nan?"), Some("0")), None);
        assert_eq!(entry("noseparator", Some("1"), Some("0")), None);
    }
}
