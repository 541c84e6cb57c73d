//! The case lifecycle without any I/O: opening, the order of actions, status
//! changes, replies, notes, deletion and retention.

use proptest::prelude::*;

use super::*;
use crate::actions::{ActionError, ActionKind, Line, Payload, VERSION};
use crate::model::{SealedBy, SubmissionKind};

fn blob(id: &str) -> BlobRef {
    BlobRef { id: id.into(), len: 512 }
}

fn submission(seq: u64, day: &str, kind: SubmissionKind) -> Submission {
    Submission {
        seq,
        day: day.into(),
        kind,
        sealed_by: SealedBy::Server,
        manifest: blob(&format!("m{seq}")),
        attachments: Vec::new(),
        tags: Vec::new(),
    }
}

fn report() -> Report {
    let opening = Opening { id: "ab".repeat(16), lookup: "cd".repeat(32), reply_sealed: "locked".into() };
    Report::open(opening, submission(1, "2026-11-01", SubmissionKind::Tip))
}

/// A verified action on `r` as its signer saw it (`prev`, `seen`), with id `id`.
fn action(r: &Report, followups: &[Submission], kind: ActionKind, id: &str) -> Verified {
    Verified {
        payload: Payload {
            v: VERSION,
            deployment: "d".into(),
            nonce: format!("n-{id}"),
            day: "2026-11-02".into(),
            report: r.id.clone(),
            seen: r.state(followups),
            prev: r.head.clone(),
            kind,
        },
        line: Line { payload: String::new(), key: String::new(), sig: String::new(), blob: None },
        blob: None,
        signer: "ani".into(),
        number: 1,
        id: id.into(),
    }
}

fn signed(seq: u64) -> Signed {
    Signed { seq, by: "ani".into(), audit: seq }
}

fn status(s: Status) -> ActionKind {
    ActionKind::Status { status: s, note_sha256: None }
}

fn apply(r: &mut Report, a: &Verified, text: Option<BlobRef>, day: &str) -> Result<Outcome, ActionError> {
    r.apply(Recorded { action: a, text, signed: signed(10) }, &[], day)
}

#[test]
fn a_new_report_is_received_on_the_day_of_its_first_submission() {
    let r = report();
    assert_eq!(r.status, Status::Received);
    assert_eq!(r.created, "2026-11-01");
    assert_eq!(r.timeline.len(), 1);
    assert_eq!((r.timeline[0].day.as_str(), r.timeline[0].status), ("2026-11-01", Status::Received));
    assert_eq!((r.lookup.as_str(), r.reply_sealed.as_str()), (&*"cd".repeat(32), "locked"));
    assert!(r.head.is_empty() && r.replies.is_empty());
}

#[test]
fn draw_takes_the_receipt_and_the_id_from_the_generator_given() {
    use rand::SeedableRng;
    let a = draw(&mut rand::rngs::StdRng::seed_from_u64(7));
    let b = draw(&mut rand::rngs::StdRng::seed_from_u64(7));
    let c = draw(&mut rand::rngs::StdRng::seed_from_u64(8));
    assert!(a.0 == b.0 && a.1 == b.1, "the same generator state gives the same draw");
    assert!(a.0 != c.0 && a.1 != c.1);
}

#[test]
fn a_status_change_moves_the_status_records_the_note_and_the_signer() {
    let mut r = report();
    let a = action(&r, &[], status(Status::Investigating), "a1");
    assert_eq!(apply(&mut r, &a, Some(blob("note")), "2026-11-03"), Ok(Outcome::Kept));
    assert_eq!(r.status, Status::Investigating);
    let last = r.timeline.last().cloned();
    assert_eq!(last.as_ref().map(|e| (e.day.as_str(), e.status)), Some(("2026-11-03", Status::Investigating)));
    assert_eq!(last.as_ref().and_then(|e| e.note.clone()), Some(blob("note")));
    assert_eq!(last.map(|e| e.signed.by), Some("ani".to_string()));
    assert_eq!(r.head, "a1", "the next action must follow this one");
}

#[test]
fn a_reply_is_kept_with_its_day_and_leaves_the_status_alone() {
    let mut r = report();
    let a = action(&r, &[], ActionKind::Reply { blob_sha256: String::new() }, "a1");
    assert_eq!(apply(&mut r, &a, Some(blob("reply")), "2026-11-04"), Ok(Outcome::Kept));
    assert_eq!(r.status, Status::Received);
    assert_eq!(r.replies.len(), 1);
    assert_eq!((r.replies[0].day.as_str(), &r.replies[0].blob), ("2026-11-04", &blob("reply")));
}

#[test]
fn a_delete_asks_for_the_purge() {
    let mut r = report();
    let a = action(&r, &[], ActionKind::Delete, "a1");
    assert_eq!(apply(&mut r, &a, None, "2026-11-04"), Ok(Outcome::Purged));
}

#[test]
fn an_action_out_of_turn_or_on_an_older_state_changes_nothing() {
    let mut r = report();
    let first = action(&r, &[], status(Status::Closed), "a1");
    let second = action(&r, &[], status(Status::Investigating), "a2");
    // A follow-up arrived after the signer pulled.
    let followup = [submission(5, "2026-11-02", SubmissionKind::FollowUp)];
    let before = r.clone();
    let outdated = r.apply(Recorded { action: &first, text: None, signed: signed(10) }, &followup, "2026-11-03");
    assert_eq!(outdated, Err(ActionError::Outdated(1)));
    assert_eq!(r, before, "a refused action leaves the report as it was");
    assert_eq!(apply(&mut r, &first, None, "2026-11-03"), Ok(Outcome::Kept));
    // `second` was signed against the same head as `first`: it no longer follows.
    let before = r.clone();
    assert_eq!(apply(&mut r, &second, None, "2026-11-03"), Err(ActionError::OutOfOrder(1)));
    assert_eq!(r, before);
    assert_eq!(r.status, Status::Closed);
}

#[test]
fn retention_takes_reports_closed_on_or_before_the_cutoff_and_not_reopened() {
    let mut r = report();
    assert!(!r.expired("2030-01-01"), "an open report is never purged");
    let close = action(&r, &[], status(Status::Closed), "a1");
    assert_eq!(apply(&mut r, &close, None, "2026-11-05"), Ok(Outcome::Kept));
    assert_eq!(r.closed_on(), Some("2026-11-05"));
    assert!(r.expired("2026-11-05") && r.expired("2026-12-01"));
    assert!(!r.expired("2026-11-04"));
    let reopen = action(&r, &[], status(Status::NeedsInfo), "a2");
    assert_eq!(apply(&mut r, &reopen, None, "2026-11-06"), Ok(Outcome::Kept));
    assert!(!r.expired("2030-01-01"), "reopened");
    let again = action(&r, &[], status(Status::Closed), "a3");
    assert_eq!(apply(&mut r, &again, None, "2026-11-20"), Ok(Outcome::Kept));
    assert_eq!(r.closed_on(), Some("2026-11-20"), "the last closing counts");
    assert!(!r.expired("2026-11-19"));
}

fn kinds() -> impl Strategy<Value = ActionKind> {
    prop_oneof![
        proptest::sample::select(Status::ALL.to_vec()).prop_map(status),
        Just(ActionKind::Reply { blob_sha256: String::new() }),
    ]
}

proptest! {
    /// Any sequence of actions signed one after the other applies in that
    /// order: the status is the last one set, every reply is kept, the
    /// timeline grows by one per status change; replayed in any other order
    /// (a line withheld), the first one out of turn is refused.
    #[test]
    fn signed_in_turn_applies_in_turn(seq in proptest::collection::vec(kinds(), 1..12), skip in 0usize..11) {
        let mut r = report();
        let mut signed_lines = Vec::new();
        for (i, kind) in seq.iter().enumerate() {
            let a = action(&r, &[], kind.clone(), &format!("a{i}"));
            prop_assert_eq!(apply(&mut r, &a, Some(blob(&format!("b{i}"))), "2026-11-02"), Ok(Outcome::Kept));
            signed_lines.push(a);
        }
        let statuses: Vec<Status> = seq.iter().filter_map(|k| match k {
            ActionKind::Status { status, .. } => Some(*status),
            _ => None,
        }).collect();
        prop_assert_eq!(r.status, statuses.last().copied().unwrap_or(Status::Received));
        prop_assert_eq!(r.timeline.len(), 1 + statuses.len());
        prop_assert_eq!(r.replies.len(), seq.len() - statuses.len());

        // The same lines with one withheld: everything after it is refused.
        let skip = skip % signed_lines.len();
        let mut other = report();
        for (i, a) in signed_lines.iter().enumerate().filter(|(i, _)| *i != skip) {
            let got = apply(&mut other, a, Some(blob("x")), "2026-11-02");
            if i < skip {
                prop_assert_eq!(got, Ok(Outcome::Kept));
            } else {
                prop_assert_eq!(got, Err(ActionError::OutOfOrder(1)));
            }
        }
    }
}
