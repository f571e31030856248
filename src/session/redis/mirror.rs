//! The mirror: the in-memory copy of Redis's revocation list on every instance. A full load at
//! start and after every reconnect, pub/sub as the low-latency path, a reconcile every interval,
//! and a watchdog that flags the copy stale (and says so) when Redis stops confirming it.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{FutureExt, Stream, StreamExt};
use redis::aio::PubSub;
use redis::Client;

use super::parse::{self, corrupt};
use super::shared::{unavailable, Shared};
use crate::revocation::Entry;
use crate::session::{now, StoreError};
use crate::Revocations;

/// The first wait before reconnecting, and the wait after a connection that worked.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// The longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_millis(250);
/// A full load at least this often, whatever the sequence numbers say.
const FULL_LOAD_EVERY: Duration = Duration::from_secs(60);
/// The most pub/sub messages applied in one write to the list.
const MAX_BATCH: usize = 1024;

/// Aborts the mirror tasks when the last handle to the store goes. The list is then no longer
/// kept current: with `max_staleness` set it fails closed at once.
pub(super) struct Tasks {
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

/// Starts the mirror and its watchdog on the current Tokio runtime, for a store whose list was
/// just loaded; they stop when the returned [`Tasks`] is dropped.
pub(super) fn start(shared: &Arc<Shared>, client: Client) -> Tasks {
    let mirror = tokio::spawn(mirror(Arc::clone(shared), client)).abort_handle();
    let watchdog = tokio::spawn(watchdog(Arc::clone(shared))).abort_handle();
    Tasks {
        handles: vec![mirror, watchdog],
        revocations: shared.revocations.clone(),
        fail_closed: shared.options.max_staleness.is_some(),
    }
}

/// A full load: Redis's list is merged into the mirror, and entries that have ended are
/// dropped. (Merged, not replaced: entries leave only when they end, so a Redis that lost
/// data cannot bring a revoked token back on an instance that saw its revocation.)
pub(super) async fn load(shared: &Shared) -> Result<u64, StoreError> {
    let now = now();
    let mut conn = shared.conn.clone();
    let (seq, flat): (String, Vec<String>) = shared
        .run(
            shared
                .scripts
                .load
                .key(&shared.keys.rev)
                .key(&shared.keys.rev_exp)
                .key(&shared.keys.rev_seq)
                .arg(now.to_string())
                .invoke_async(&mut conn),
        )
        .await?;
    let seq = seq.parse::<u64>().map_err(|_| corrupt("sequence number"))?;
    let mut entries = Vec::with_capacity(flat.len() / 2);
    for pair in flat.chunks_exact(2) {
        if let [member, value] = pair {
            entries.extend(parse::listed(member, value));
        }
    }
    shared.revocations.mirror(entries, now);
    shared.revocations.purge(now, f64::INFINITY);
    shared.seq.store(seq, Ordering::Relaxed);
    shared.mark_synced();
    Ok(seq)
}

/// The mirror: subscribe, load, then follow pub/sub and reconcile, reconnecting with backoff.
async fn mirror(shared: Arc<Shared>, client: Client) {
    let mut backoff = FIRST_BACKOFF;
    loop {
        let error = follow(&shared, &client, &mut backoff).await;
        // Said once per outage; the watchdog then reports the mirror's age every 10 s.
        if backoff == FIRST_BACKOFF {
            tracing::warn!(target: "tower_jwt_auth::session", error = %error, "revocation mirror lost Redis; enforcing the last list");
        } else {
            tracing::debug!(target: "tower_jwt_auth::session", error = %error, retry_in = ?backoff, "revocation mirror: Redis still unreachable");
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Follows Redis until something fails; returns what failed.
async fn follow(shared: &Shared, client: &Client, backoff: &mut Duration) -> StoreError {
    let pubsub = match subscribe(shared, client).await {
        Ok(pubsub) => pubsub,
        Err(e) => return e,
    };
    // Subscribed first, then loaded: nothing published in between is lost.
    let mut follower = match load(shared).await {
        Ok(seq) => Follower::new(seq),
        Err(e) => return e,
    };
    tracing::debug!(target: "tower_jwt_auth::session", seq = follower.seq, entries = shared.revocations.len(), "revocation mirror loaded");
    *backoff = FIRST_BACKOFF;
    let mut messages = std::pin::pin!(pubsub.into_on_message());
    let mut tick = tokio::time::interval(shared.options.reconcile);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let step = tokio::select! {
            message = messages.next() => match message {
                Some(first) => {
                    let (payloads, closed) = batch(first, &mut messages);
                    follower.apply(shared, &payloads, closed).await
                }
                None => Err(connection_closed()),
            },
            _ = tick.tick() => follower.reconcile(shared).await,
        };
        if let Err(e) = step {
            return e;
        }
    }
}

/// A pub/sub connection subscribed to the revocation channel, within the store's timeout.
async fn subscribe(shared: &Shared, client: &Client) -> Result<PubSub, StoreError> {
    let timeout = shared.options.timeout;
    let mut pubsub = match tokio::time::timeout(timeout, client.get_async_pubsub()).await {
        Ok(Ok(pubsub)) => pubsub,
        Ok(Err(e)) => return Err(unavailable(&e)),
        Err(_) => return Err(StoreError::Unavailable("pub/sub connection timed out".to_owned())),
    };
    match tokio::time::timeout(timeout, pubsub.subscribe(&shared.keys.channel)).await {
        Ok(Ok(())) => Ok(pubsub),
        Ok(Err(e)) => Err(unavailable(&e)),
        Err(_) => Err(StoreError::Unavailable("subscribe timed out".to_owned())),
    }
}

/// The payloads of `first` and of every message already received after it (at most
/// [`MAX_BATCH`]), and whether the stream ended meanwhile. Everything already received is
/// applied in one write to the list (a "log out everywhere" publishes one message per session).
fn batch(first: redis::Msg, messages: &mut (impl Stream<Item = redis::Msg> + Unpin)) -> (Vec<String>, bool) {
    let mut batch = vec![first];
    let mut closed = false;
    while batch.len() < MAX_BATCH {
        match messages.next().now_or_never() {
            Some(Some(message)) => batch.push(message),
            Some(None) => {
                closed = true;
                break;
            }
            None => break,
        }
    }
    let payloads = batch
        .iter()
        .map(|message| message.get_payload().unwrap_or_default())
        .collect();
    (payloads, closed)
}

fn connection_closed() -> StoreError {
    StoreError::Unavailable("pub/sub connection closed".to_owned())
}

/// Where the mirror stands while it follows Redis.
#[derive(Debug)]
struct Follower {
    /// The sequence number of the last revocation applied in order.
    seq: u64,
    /// A sequence number Redis had at the last reconcile, not yet seen through pub/sub.
    behind: Option<u64>,
    /// When the last full load happened.
    last_full: Instant,
}

impl Follower {
    /// Following from `seq`, the sequence number a full load just returned.
    fn new(seq: u64) -> Self {
        Self {
            seq,
            behind: None,
            last_full: Instant::now(),
        }
    }

    /// The entries of published revocations, and whether one is missing (a gap in the sequence
    /// numbers, or a message that cannot be read); moves past the messages that follow in order.
    fn advance(&mut self, payloads: &[String]) -> (Vec<Entry>, bool) {
        let mut entries = Vec::with_capacity(payloads.len());
        let mut gap = false;
        for payload in payloads {
            let (n, parsed) = parse::published(payload);
            // At or below `seq`: already applied, or numbered again after Redis lost
            // data; merging is harmless either way (the later end wins), skipping could
            // lose a revocation.
            if n > self.seq {
                if n == self.seq + 1 && parsed.is_some() {
                    self.seq = n;
                } else {
                    // A gap (a message lost) or a message we cannot read: reload.
                    gap = true;
                }
            }
            entries.extend(parsed);
        }
        (entries, gap)
    }

    /// Applies messages received together, reloads on a gap, and fails when the stream ended.
    async fn apply(&mut self, shared: &Shared, payloads: &[String], closed: bool) -> Result<(), StoreError> {
        let (entries, gap) = self.advance(payloads);
        shared.revocations.mirror(entries, now());
        shared.seq.store(self.seq, Ordering::Relaxed);
        if gap {
            self.seq = load(shared).await?;
        }
        if closed {
            return Err(connection_closed());
        }
        Ok(())
    }

    /// The reconcile tick: compares the sequence number with Redis's, since pub/sub drops
    /// messages while disconnected; loads in full when Redis lost data, when a message is still
    /// missing a whole tick later, and at least every minute; else confirms the mirror current.
    async fn reconcile(&mut self, shared: &Shared) -> Result<(), StoreError> {
        let mut conn = shared.conn.clone();
        let remote: Option<u64> = shared
            .run(redis::cmd("GET").arg(&shared.keys.rev_seq).query_async(&mut conn))
            .await?;
        let remote = remote.unwrap_or(0);
        let seq = self.seq;
        // Redis lost data (flushed, restarted without persistence, failed over to a
        // lagging replica): keep every entry held here, follow its new sequence.
        let lost = remote < seq;
        if lost {
            tracing::error!(target: "tower_jwt_auth::session", remote, local = seq, "Redis's revocation sequence went backwards (data lost?); this instance keeps the revocations it holds");
        }
        // A message still missing a whole tick later was dropped.
        let dropped = self.behind.is_some_and(|b| b > seq);
        if lost || dropped || self.last_full.elapsed() >= FULL_LOAD_EVERY {
            self.seq = load(shared).await?;
            self.last_full = Instant::now();
            self.behind = None;
        } else {
            self.behind = (remote > seq).then_some(remote);
            shared.mark_synced();
        }
        Ok(())
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
        let age = shared.mirror_age();
        if let Some(bound) = shared.options.max_staleness {
            shared.revocations.set_stale(age > bound.max(confirmable));
        }
        if age > lagging {
            if last_report.is_none_or(|at| at.elapsed() >= Duration::from_secs(10)) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn payloads(messages: &[&str]) -> Vec<String> {
        messages.iter().map(|m| (*m).to_owned()).collect()
    }

    #[test]
    fn messages_in_order_advance_the_sequence() {
        let mut follower = Follower::new(4);
        let (entries, gap) = follower.advance(&payloads(&["5 10 0 t:a", "6 10 0 s:b"]));
        assert!(!gap);
        assert_eq!(follower.seq, 6);
        assert_eq!(
            entries,
            [
                Entry::Token("a".into(), 10.0, None),
                Entry::Session("b".into(), 10.0, None)
            ]
        );
    }

    #[test]
    fn a_gap_or_an_unreadable_message_asks_for_a_load() {
        let mut follower = Follower::new(4);
        let (entries, gap) = follower.advance(&payloads(&["6 10 0 t:a"]));
        assert!(gap);
        assert_eq!(follower.seq, 4);
        // Applied all the same: merging is harmless.
        assert_eq!(entries, [Entry::Token("a".into(), 10.0, None)]);
        let (entries, gap) = follower.advance(&payloads(&["5 10 0 x:a"]));
        assert!(gap);
        assert!(entries.is_empty());
    }

    #[test]
    fn old_messages_are_merged_without_a_load() {
        let mut follower = Follower::new(4);
        let (entries, gap) = follower.advance(&payloads(&["3 10 0 t:a"]));
        assert!(!gap);
        assert_eq!(follower.seq, 4);
        assert_eq!(entries, [Entry::Token("a".into(), 10.0, None)]);
    }
}
