//! The place of an action in its report's history: each signed action names
//! the report's submissions as its signer saw them (`seen`, a digest both the
//! server and the offline machine compute from what they hold) and the action
//! it follows (`prev`, the id of the last action applied to the report, as
//! the signer's machine knows it). Pure: no I/O.
//!
//! Must never accept an action that follows anything but the report's last
//! applied action, nor one decided on a report that has changed since: a
//! withheld, reordered or late line is refused, never applied out of turn.

use super::{ActionError, Line, Payload, VERSION};
use crate::crypto::ed25519::{sha256_hex, unb64};

/// Domain separation of the state digest.
const STATE_CONTEXT: &[u8] = b"peluit/v2/state\n";

/// The digest of a report's submissions: SHA-256 over its `(sequence,
/// manifest blob id)` pairs, sorted and without repeats, so that the order in
/// which they were read or stored does not matter.
pub fn state_digest<'a>(submissions: impl IntoIterator<Item = (u64, &'a str)>) -> String {
    let mut subs: Vec<(u64, &str)> = submissions.into_iter().collect();
    subs.sort_unstable();
    subs.dedup();
    let mut bytes = STATE_CONTEXT.to_vec();
    for (seq, manifest) in subs {
        bytes.extend_from_slice(format!("{seq} {manifest}\n").as_bytes());
    }
    sha256_hex(&bytes)
}

/// An action's id: SHA-256 of its signed payload bytes. The next action on
/// the same report names it as `prev`.
pub fn action_id(payload_bytes: &[u8]) -> String {
    sha256_hex(payload_bytes)
}

/// Checks that action `p` (line `n`) follows the report's last applied action
/// `head` and was decided on the report's current submissions `state`.
pub fn check_place(p: &Payload, n: usize, head: &str, state: &str) -> Result<(), ActionError> {
    if p.prev != head {
        return Err(ActionError::OutOfOrder(n));
    }
    if p.seen != state {
        return Err(ActionError::Outdated(n));
    }
    Ok(())
}

/// Where a line of an actions file stands, read without checking its
/// signature (the offline machine reads its own files).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The report.
    pub report: String,
    /// The action it follows.
    pub prev: String,
    /// The state it was decided on.
    pub seen: String,
    /// Its own id.
    pub id: String,
    /// Signed in the current format (older lines are refused by the server).
    pub current: bool,
}

impl Place {
    /// The place of one raw line; `None` for anything that is not an action.
    pub fn of(raw: &str) -> Option<Place> {
        let line: Line = serde_json::from_str(raw.trim()).ok()?;
        let bytes = unb64(&line.payload)?;
        let p: Payload = serde_json::from_slice(&bytes).ok()?;
        Some(Place { report: p.report, prev: p.prev, seen: p.seen, id: action_id(&bytes), current: p.v == VERSION })
    }
}

/// The head of `report`'s chain as this machine knows it, and the pending
/// lines of `report` that can never apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Walk {
    /// The id the next action names as `prev`.
    pub head: String,
    /// Ids of pending lines that are off the chain, signed before `state`,
    /// or in an older format: the server would refuse them.
    pub dead: Vec<String>,
}

/// Follows `report`'s chain from `head` (the last applied action the last
/// bundle showed) through lines the server has applied since (whatever they
/// saw then) and lines signed here but not yet applied (only those decided on
/// `state`, the submissions this machine holds now).
pub fn walk(report: &str, head: &str, state: &str, applied: &[Place], pending: &[Place]) -> Walk {
    let mine = |p: &&Place| p.report == report && p.current;
    let mut head = head.to_string();
    let mut followed: Vec<&str> = Vec::new();
    // Each step moves to a line not yet followed, so this ends.
    for _ in 0..=applied.len() + pending.len() {
        let next = applied.iter().filter(mine).find(|p| p.prev == head).or_else(|| {
            pending
                .iter()
                .filter(mine)
                .find(|p| p.prev == head && p.seen == state && !followed.contains(&p.id.as_str()))
        });
        match next {
            Some(p) => {
                followed.push(&p.id);
                head = p.id.clone();
            }
            None => break,
        }
    }
    let dead = pending
        .iter()
        .filter(|p| p.report == report && !followed.contains(&p.id.as_str()))
        .filter(|p| !applied.iter().any(|a| a.id == p.id))
        .map(|p| p.id.clone())
        .collect();
    Walk { head, dead }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::tests::{payload, setup};
    use crate::actions::{sign, ActionKind};
    use crate::model::Status;

    fn status(s: Status) -> ActionKind {
        ActionKind::Status { status: s, note_sha256: None }
    }

    #[test]
    fn the_state_digest_ignores_order_and_repeats_but_not_content() {
        let a = state_digest([(3, "m3"), (7, "m7")]);
        assert_eq!(a, state_digest([(7, "m7"), (3, "m3"), (3, "m3")]));
        assert_ne!(a, state_digest([(3, "m3")]), "a follow-up changes it");
        assert_ne!(a, state_digest([(3, "m3"), (7, "mX")]), "another manifest changes it");
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn an_action_must_follow_the_head_and_name_the_current_state() {
        let mut p = payload(1, 1, status(Status::Closed));
        p.prev = "h1".into();
        p.seen = "s1".into();
        assert_eq!(check_place(&p, 4, "h1", "s1"), Ok(()));
        assert_eq!(check_place(&p, 4, "h0", "s1"), Err(ActionError::OutOfOrder(4)));
        assert_eq!(check_place(&p, 4, "h1", "s2"), Err(ActionError::Outdated(4)));
        // Out of order is the first thing said: the signer missed an action.
        assert_eq!(check_place(&p, 4, "h0", "s2"), Err(ActionError::OutOfOrder(4)));
    }

    /// A place for `report` after `prev`, decided on `seen`.
    fn place(id: &str, prev: &str, seen: &str) -> Place {
        Place { report: "r".into(), prev: prev.into(), seen: seen.into(), id: id.into(), current: true }
    }

    #[test]
    fn the_walk_follows_applied_then_pending_lines_and_names_the_dead() {
        let applied = [place("a2", "a1", "s0"), place("a1", "", "s0")];
        let pending = [
            place("p1", "a2", "s1"),
            place("stale", "a2", "s0"),
            place("fork", "a1", "s1"),
            place("p2", "p1", "s1"),
            Place { report: "other".into(), ..place("o", "a2", "s1") },
            Place { current: false, ..place("old", "p2", "s1") },
        ];
        let w = walk("r", "", "s1", &applied, &pending);
        assert_eq!(w.head, "p2");
        assert_eq!(w.dead, vec!["stale", "fork", "old"]);
        // A bundle that already shows a2 applied starts there.
        assert_eq!(walk("r", "a2", "s1", &[], &pending).head, "p2");
        // Nothing signed yet: the head is the bundle's.
        assert_eq!(walk("r", "h", "s1", &[], &[]), Walk { head: "h".into(), dead: vec![] });
    }

    #[test]
    fn a_place_is_read_from_a_signed_line() {
        let (key, _, _) = setup();
        let mut p = payload(1, 1, status(Status::Closed));
        p.prev = "h".into();
        p.seen = "s".into();
        let line = sign(&key, &p, None);
        let place = Place::of(&line).unwrap_or_else(|| panic!("no place"));
        let bytes = serde_json::to_vec(&p).unwrap_or_default();
        assert_eq!(
            place,
            Place {
                report: p.report.clone(),
                prev: "h".into(),
                seen: "s".into(),
                id: action_id(&bytes),
                current: true
            }
        );
        assert_eq!(Place::of("not json"), None);
    }
}
