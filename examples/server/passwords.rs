//! Password hashing and checking on a small fixed pool of threads, with a bounded queue.
//!
//! Argon2 is slow and memory-hard by design (the defaults: 19 MiB and about 30 ms per check).
//! Run on `spawn_blocking`, every login in flight had its own thread and its own 19 MiB, and the
//! allocator kept the memory afterwards: 200 parallel logins took a server to 3.9 GB. Here
//! [`WORKERS`] threads each allocate their Argon2 memory once, at start-up, and reuse it for
//! every check, so memory does not grow with load, with the core count or with the threads the
//! allocator keeps arenas for. At most [`QUEUE`] checks wait; past that [`PasswordPool::verify`]
//! answers [`Busy`] at once (the handler answers 503 with `Retry-After`), and a check whose
//! client hung up while it waited is skipped.

use std::fmt;
use std::sync::Arc;

use argon2::{Argon2, Block};
use subtle::ConstantTimeEq;
use tokio::sync::{mpsc, oneshot};

/// The pool's threads: fixed, whatever the core count (each holds 19 MiB).
pub(crate) const WORKERS: usize = 2;
/// Checks that may wait for a worker: enough for a burst of 50 logins.
pub(crate) const QUEUE: usize = 64;

const SALT_LEN: usize = 16;
const HASH_LEN: usize = 32;

/// A password hash: Argon2id with the default parameters, a random salt.
#[derive(Clone)]
pub(crate) struct PasswordHash {
    salt: [u8; SALT_LEN],
    hash: [u8; HASH_LEN],
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(..)")
    }
}

/// The queue is full (or the pool has stopped): try again shortly.
#[derive(Debug)]
pub(crate) struct Busy;

type Job = Box<dyn FnOnce(&mut [Block]) + Send>;

/// The pool; cheap to share (`Arc`). Its threads stop when it is dropped.
pub(crate) struct PasswordPool {
    jobs: mpsc::Sender<Job>,
}

impl fmt::Debug for PasswordPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordPool")
            .field("workers", &WORKERS)
            .field("queue", &QUEUE)
            .finish()
    }
}

impl PasswordPool {
    /// Starts the workers.
    pub(crate) fn start() -> std::io::Result<Arc<Self>> {
        let (jobs, receiver) = mpsc::channel::<Job>(QUEUE);
        let receiver = Arc::new(std::sync::Mutex::new(receiver));
        for i in 0..WORKERS {
            let receiver = Arc::clone(&receiver);
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    let mut memory = vec![Block::default(); argon2::Params::default().block_count()];
                    loop {
                        // One worker waits on the queue at a time; the others wait for the lock.
                        let job = match receiver.lock() {
                            Ok(mut queue) => queue.blocking_recv(),
                            Err(_) => None,
                        };
                        match job {
                            Some(job) => job(&mut memory),
                            None => return,
                        }
                    }
                })?;
        }
        Ok(Arc::new(Self { jobs }))
    }

    /// Hashes `password` with a fresh salt (at start-up: blocks the calling thread).
    pub(crate) fn hash(
        &self,
        password: &str,
    ) -> Result<PasswordHash, Box<dyn std::error::Error + Send + Sync>> {
        let mut salt = [0u8; SALT_LEN];
        getrandom::getrandom(&mut salt)?;
        let password = password.to_owned();
        let (reply, answer) = std::sync::mpsc::sync_channel(1);
        self.jobs
            .try_send(Box::new(move |memory: &mut [Block]| {
                let _ = reply.send(compute(password.as_bytes(), &salt, memory));
            }))
            .map_err(|_| "the password pool is busy")?;
        let hash = answer.recv()?.ok_or("Argon2 failed")?;
        Ok(PasswordHash { salt, hash })
    }

    /// Checks `password` against `hash` on a worker.
    pub(crate) async fn verify(&self, password: String, hash: PasswordHash) -> Result<bool, Busy> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .try_send(Box::new(move |memory: &mut [Block]| {
                // The client hung up while the check waited: skip it.
                if reply.is_closed() {
                    return;
                }
                let ok = compute(password.as_bytes(), &hash.salt, memory)
                    .is_some_and(|computed| bool::from(computed.ct_eq(&hash.hash)));
                let _ = reply.send(ok);
            }))
            .map_err(|_| Busy)?;
        answer.await.map_err(|_| Busy)
    }
}

fn compute(password: &[u8], salt: &[u8], memory: &mut [Block]) -> Option<[u8; HASH_LEN]> {
    let mut out = [0u8; HASH_LEN];
    Argon2::default()
        .hash_password_into_with_memory(password, salt, &mut out, memory)
        .ok()?;
    Some(out)
}
