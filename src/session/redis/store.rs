//! [`RedisStore`]: the [`SessionStore`] whose sessions and revocations live in Redis, each
//! change one Lua script.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::Client;
use serde_json::Value;

use super::mirror::{self, Tasks};
use super::options::RedisOptions;
use super::parse::{corrupt, record};
use super::shared::{unavailable, Shared};
use crate::revocation::Entry;
use crate::session::{finite, now, RotateRequest, Rotation, SessionRecord, SessionStore, StoreError};
use crate::Revocations;

/// Sessions and revocations in Redis, shared by every instance; clones share the connection
/// and the mirror.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use tower_jwt_auth::session::{RedisOptions, RedisStore, SessionOptions, Sessions};
/// use tower_jwt_auth::JwtAuthLayer;
///
/// #[derive(Clone, serde::Deserialize)]
/// struct MyClaims { sub: String }
///
/// let refresh_secret = b"a refresh-token secret shared by the fleet!";
/// let access_secret = b"an access-token secret shared by the fleet!";
/// let store = RedisStore::connect("redis://127.0.0.1:6379", RedisOptions::default()).await?;
/// let sessions = Sessions::new(refresh_secret, store, SessionOptions::default())?;
/// // Every instance refuses what any instance revoked.
/// let auth = JwtAuthLayer::<MyClaims>::hs256(access_secret)?.sessions(&sessions);
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
        let shared = Arc::new(Shared::new(conn, options));
        mirror::load(&shared).await?;
        let tasks = mirror::start(&shared, client);
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
        mirror::load(&self.shared).await.map(|_| ())
    }

    /// How long ago the mirror was last confirmed current.
    #[must_use]
    pub fn mirror_age(&self) -> Duration {
        self.shared.mirror_age()
    }

    /// The sequence number of the last revocation the mirror holds.
    #[must_use]
    pub fn mirror_sequence(&self) -> u64 {
        self.shared.seq.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl SessionStore for RedisStore {
    async fn create(&self, record: SessionRecord, revoke_until: f64) -> Result<(), StoreError> {
        let shared = &self.shared;
        finite(&[
            record.rotated_at,
            record.last_used,
            record.expires_at,
            revoke_until,
        ])?;
        let claims = Value::Object(record.claims.clone()).to_string();
        let now = now();
        let end_ms = (record.expires_at * 1000.0).ceil().max(0.0) as u64;
        let left_ms = ((record.expires_at - now) * 1000.0).ceil().max(1.0) as u64;
        let mut invocation = shared.scripts.create.prepare_invoke();
        invocation
            .key(shared.keys.session(&record.sid))
            .key(shared.keys.subject(&record.sub))
            .key(&shared.keys.rev)
            .key(&shared.keys.rev_exp)
            .key(&shared.keys.rev_seq)
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
            .arg((now * 1000.0) as u64)
            .arg(revoke_until.to_string())
            .arg(&shared.keys.channel)
            .arg(shared.options.cap)
            .arg(shared.options.per_subject)
            .arg(now.to_string())
            .arg(shared.options.sessions_per_subject)
            .arg(&shared.keys.session_prefix);
        let removed: Vec<String> = shared.eval(&invocation).await?;
        // The sessions removed past the cap: enforced here at once; the mirror confirms.
        let sub = &record.sub;
        let entries = removed
            .iter()
            .map(|sid| Entry::Session(sid.as_str().into(), revoke_until, Some(sub.as_str().into())));
        shared.revocations.mirror(entries, now);
        Ok(())
    }

    async fn rotate(&self, request: RotateRequest<'_>) -> Result<Rotation, StoreError> {
        let RotateRequest {
            sid,
            generation,
            now,
            grace,
            idle,
            revoke_until,
        } = request;
        let shared = &self.shared;
        finite(&[now, revoke_until])?;
        let next = generation
            .checked_add(1)
            .map_or_else(String::new, |n| n.to_string());
        let mut invocation = shared.scripts.rotate.prepare_invoke();
        invocation
            .key(shared.keys.session(sid))
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
            .arg(next)
            .arg(shared.options.per_subject);
        let answer: Vec<String> = shared.eval(&invocation).await?;
        let (outcome, fields) = answer.split_first().ok_or_else(|| corrupt("rotation answer"))?;
        Ok(match outcome.as_str() {
            "rotated" => Rotation::Rotated(record(sid, fields)?),
            "converged" => Rotation::Converged(record(sid, fields)?),
            "reused" => {
                // Enforced here at once; the mirror confirms within a second.
                let sub = fields
                    .first()
                    .filter(|s| !s.is_empty())
                    .map(|s| s.as_str().into());
                shared
                    .revocations
                    .mirror([Entry::Session(sid.into(), revoke_until, sub)], now);
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
            .key(shared.keys.session(sid))
            .key(&shared.keys.rev)
            .key(&shared.keys.rev_exp)
            .key(&shared.keys.rev_seq)
            .arg(until.to_string())
            .arg(&shared.keys.channel)
            .arg(shared.options.cap)
            .arg(format!("s:{sid}"))
            .arg(now().to_string())
            .arg(shared.options.per_subject);
        let (found, sub): (i64, String) = shared.eval(&invocation).await?;
        let sub = (!sub.is_empty()).then(|| sub.into_boxed_str());
        shared
            .revocations
            .mirror([Entry::Session(sid.into(), until, sub)], now());
        Ok(found == 1)
    }

    async fn revoke_subject(&self, sub: &str, cutoff: f64, until: f64) -> Result<usize, StoreError> {
        let shared = &self.shared;
        finite(&[cutoff, until])?;
        let now = now();
        let mut invocation = shared.scripts.revoke_subject.prepare_invoke();
        invocation
            .key(shared.keys.subject(sub))
            .key(&shared.keys.rev)
            .key(&shared.keys.rev_exp)
            .key(&shared.keys.rev_seq)
            .arg(cutoff.to_string())
            .arg(until.to_string())
            .arg(&shared.keys.channel)
            .arg(shared.options.cap)
            .arg(format!("u:{sub}"))
            .arg(now.to_string())
            .arg(&shared.keys.session_prefix)
            .arg((now * 1000.0) as u64)
            .arg(shared.options.per_subject)
            .arg(sub);
        let answer: Vec<String> = shared.eval(&invocation).await?;
        let Some(("ok", sids)) = answer.split_first().map(|(a, rest)| (a.as_str(), rest)) else {
            return Err(corrupt("revocation answer"));
        };
        // Enforced here at once; the mirror confirms within a second.
        let sessions = sids
            .iter()
            .map(|sid| Entry::Session(sid.as_str().into(), until, Some(sub.into())));
        shared
            .revocations
            .mirror(sessions.chain([Entry::Subject(sub.into(), cutoff, until)]), now);
        Ok(sids.len())
    }

    async fn revoke_token(&self, sub: Option<&str>, jti: &str, exp: f64) -> Result<(), StoreError> {
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
            .arg(now().to_string())
            .arg(shared.options.per_subject)
            .arg(sub.unwrap_or_default());
        let _: i64 = shared.eval(&invocation).await?;
        shared
            .revocations
            .mirror([Entry::Token(jti.into(), exp, sub.map(Box::from))], now());
        Ok(())
    }

    fn revocations(&self) -> &Revocations {
        &self.shared.revocations
    }
}
