//! Reading what Redis holds and answers: session records from the rotation script, revocation
//! entries from the list and from pub/sub messages.

use serde_json::Value;

use crate::revocation::Entry;
use crate::session::{SessionRecord, StoreError};

pub(super) fn corrupt(what: &str) -> StoreError {
    StoreError::Unavailable(format!("unreadable {what} in Redis"))
}

fn parse_f64(s: Option<&String>, what: &str) -> Result<f64, StoreError> {
    s.and_then(|s| s.parse::<f64>().ok()).ok_or_else(|| corrupt(what))
}

/// A record from the rotation script's answer: generation, rotated_at, last_used, expires_at,
/// sub, claims.
pub(super) fn record(sid: &str, f: &[String]) -> Result<SessionRecord, StoreError> {
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

/// One entry from its member (`t:`, `s:`, `u:` or `g:` and the id), end, cutoff and owner (the
/// subject a token or session entry is attributed to).
pub(super) fn entry(
    member: &str,
    until: Option<&str>,
    cutoff: Option<&str>,
    owner: Option<&str>,
) -> Option<Entry> {
    let (kind, id) = member.split_once(':')?;
    let until = until?.parse::<f64>().ok()?;
    let cutoff = cutoff?.parse::<f64>().ok()?;
    let owner = owner.filter(|o| !o.is_empty()).map(Box::from);
    match kind {
        "t" => Some(Entry::Token(id.into(), until, owner)),
        "s" => Some(Entry::Session(id.into(), until, owner)),
        "u" => Some(Entry::Subject(id.into(), cutoff, until)),
        "g" => Some(Entry::Global(cutoff, until)),
        _ => None,
    }
}

/// One entry of the list as the load script answers it: its member and its value (sequence
/// number, end, cutoff, and the owner when there is one: the rest of the value).
pub(super) fn listed(member: &str, value: &str) -> Option<Entry> {
    let mut parts = value.splitn(4, ' ');
    let (_seq, until, cutoff, owner) = (parts.next(), parts.next(), parts.next(), parts.next());
    entry(member, until, cutoff, owner)
}

/// A published revocation (sequence number, end, cutoff, then the owner's length in bytes, `:`,
/// the owner and the member; or, from an older instance, the member alone): its sequence number
/// (`u64::MAX` when unreadable, which reads as a gap) and its entry (`None` when unreadable).
pub(super) fn published(payload: &str) -> (u64, Option<Entry>) {
    let mut parts = payload.splitn(4, ' ');
    let (n, until, cutoff, rest) = (parts.next(), parts.next(), parts.next(), parts.next());
    let n = n.and_then(|n| n.parse::<u64>().ok()).unwrap_or(u64::MAX);
    let parsed = rest.and_then(|rest| {
        let (owner, member) = match rest.split_once(':') {
            Some((len, tail)) if !len.is_empty() && len.bytes().all(|b| b.is_ascii_digit()) => {
                let len = len.parse::<usize>().ok()?;
                (Some(tail.get(..len)?), tail.get(len..)?)
            }
            _ => (None, rest),
        };
        entry(member, until, cutoff, owner)
    });
    (n, parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_parse_from_members() {
        assert_eq!(
            entry("t:abc", Some("10.5"), Some("0"), None),
            Some(Entry::Token("abc".into(), 10.5, None))
        );
        assert_eq!(
            entry("s:a:b c", Some("10"), Some("0"), Some("al ice")),
            Some(Entry::Session("a:b c".into(), 10.0, Some("al ice".into())))
        );
        assert_eq!(
            entry("u:alice", Some("900"), Some("12.25"), None),
            Some(Entry::Subject("alice".into(), 12.25, 900.0))
        );
        assert_eq!(
            entry("g:", Some("900"), Some("12.25"), None),
            Some(Entry::Global(12.25, 900.0))
        );
        assert_eq!(entry("x:alice", Some("1"), Some("1"), None), None);
        assert_eq!(entry("t:abc", Some("nan?"), Some("0"), None), None);
        assert_eq!(entry("noseparator", Some("1"), Some("0"), None), None);
    }

    #[test]
    fn listed_entries_and_messages_parse() {
        assert_eq!(
            listed("u:alice", "7 900 12.25"),
            Some(Entry::Subject("alice".into(), 12.25, 900.0))
        );
        assert_eq!(listed("t:abc", "7 900"), None);
        assert_eq!(
            listed("t:abc", "7 900 0 bob smith"),
            Some(Entry::Token("abc".into(), 900.0, Some("bob smith".into())))
        );
        // From an older instance: no owner.
        assert_eq!(
            published("8 10 0 s:a:b c"),
            (8, Some(Entry::Session("a:b c".into(), 10.0, None)))
        );
        assert_eq!(
            published("8 10 0 0:s:a:b c"),
            (8, Some(Entry::Session("a:b c".into(), 10.0, None)))
        );
        // The owner is counted in bytes, and may hold spaces and colons.
        assert_eq!(
            published("9 10 0 7:é b:1:t:abc"),
            (9, Some(Entry::Token("abc".into(), 10.0, Some("é b:1:".into()))))
        );
        assert_eq!(published("9 10 0 99:t:abc"), (9, None));
        assert_eq!(
            published("x 10 0 t:abc"),
            (u64::MAX, Some(Entry::Token("abc".into(), 10.0, None)))
        );
        assert_eq!(published("9 10 0"), (9, None));
        assert_eq!(published(""), (u64::MAX, None));
    }
}
