//! Where things live in Redis: the key of every session, subject and revocation structure, and
//! the pub/sub channel, all under the store's prefix.

/// Where things live in Redis.
#[derive(Debug)]
pub(super) struct Keys {
    /// The prefix of a session's hash (the session id follows).
    pub(super) session_prefix: String,
    /// The prefix of a subject's sessions, a sorted set by end (the subject follows).
    subject_prefix: String,
    /// The revocations: member → sequence number, end, cutoff.
    pub(super) rev: String,
    /// The revocations by end (their TTL).
    pub(super) rev_exp: String,
    /// The sequence number of the last revocation.
    pub(super) rev_seq: String,
    /// Where every revocation is published.
    pub(super) channel: String,
}

impl Keys {
    pub(super) fn new(prefix: &str) -> Self {
        Self {
            session_prefix: format!("{prefix}session:"),
            subject_prefix: format!("{prefix}subject-sessions:"),
            rev: format!("{prefix}rev"),
            rev_exp: format!("{prefix}rev:exp"),
            rev_seq: format!("{prefix}rev:seq"),
            channel: format!("{prefix}revocations"),
        }
    }

    /// The hash of session `sid`.
    pub(super) fn session(&self, sid: &str) -> String {
        format!("{}{sid}", self.session_prefix)
    }

    /// The sessions of subject `sub`.
    pub(super) fn subject(&self, sub: &str) -> String {
        format!("{}{sub}", self.subject_prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_live_under_the_prefix() {
        let keys = Keys::new("app:");
        assert_eq!(keys.session("abc"), "app:session:abc");
        assert_eq!(keys.subject("alice"), "app:subject-sessions:alice");
        assert_eq!(keys.rev, "app:rev");
        assert_eq!(keys.rev_exp, "app:rev:exp");
        assert_eq!(keys.rev_seq, "app:rev:seq");
        assert_eq!(keys.channel, "app:revocations");
    }
}
