//! The case lifecycle: what opening a report and each signed action do to
//! it. Every rule about a report's status, replies, notes, deletion and
//! retention lives here, so that the store only persists what was decided.
//! Pure: no I/O, no clock (the day is given), no randomness but the
//! generator the caller passes in.
//!
//! Must never apply an action out of turn: [`Report::apply`] refuses one
//! that does not follow the report's last action or was decided on other
//! submissions than the report holds, and then changes nothing.

use rand::{CryptoRng, Rng};

use crate::actions::{order, ActionError, ActionKind, Verified};
use crate::model::{BlobRef, Event, Reply, Report, Signed, Status, Submission};
use crate::receipt::Receipt;

/// What a new report starts from: its id, and the two things derived from
/// its receipt (the lookup key, and the reply recipient as stored).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opening {
    /// Random report id (hex).
    pub id: String,
    /// The receipt's lookup key (hex).
    pub lookup: String,
    /// The reporter's reply recipient, locked for the investigators.
    pub reply_sealed: String,
}

/// A new receipt and report id from `rng`: 100 and 128 random bits.
pub fn draw<R: Rng + CryptoRng + ?Sized>(rng: &mut R) -> (Receipt, [u8; 16]) {
    let receipt = Receipt::generate(rng);
    let mut id = [0u8; 16];
    rng.fill_bytes(&mut id);
    (receipt, id)
}

/// What an action did to its report, for the store to persist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The report changed and stays: write it back.
    Kept,
    /// The report is to be purged with its receipt, follow-ups and blobs.
    Purged,
}

/// One verified action as the store records it: the sealed text it carries,
/// once stored, and where it stands in the export and audit logs.
#[derive(Clone, Debug)]
pub struct Recorded<'a> {
    /// The verified action.
    pub action: &'a Verified,
    /// The stored sealed reply or status note, if the line carried one.
    pub text: Option<BlobRef>,
    /// Its place in the logs and its signer.
    pub signed: Signed,
}

impl Report {
    /// A new report opened by its first submission, acknowledged as
    /// `received` on the day of that submission.
    pub fn open(o: Opening, first: Submission) -> Report {
        let day = first.day.clone();
        Report {
            id: o.id,
            created: day.clone(),
            status: Status::Received,
            timeline: vec![Event { day, status: Status::Received, note: None, signed: Signed::default() }],
            reply_recipient: String::new(),
            reply_sealed: o.reply_sealed,
            submissions: vec![first],
            replies: Vec::new(),
            lookup: o.lookup,
            head: String::new(),
        }
    }

    /// The digest of the report's submissions (those in the record and the
    /// follow-ups stored apart), which every action names as what it was
    /// decided on ([`order::state_digest`]).
    pub fn state(&self, followups: &[Submission]) -> String {
        order::state_digest(self.submissions.iter().chain(followups).map(|s| (s.seq, s.manifest.id.as_str())))
    }

    /// Applies one verified action on `day`. Refused, and nothing changed,
    /// when it does not follow the report's last action or was decided on
    /// other submissions (`followups`: those stored apart).
    pub fn apply(&mut self, r: Recorded<'_>, followups: &[Submission], day: &str) -> Result<Outcome, ActionError> {
        let a = r.action;
        order::check_place(&a.payload, a.number, &self.head, &self.state(followups))?;
        self.head = a.id.clone();
        let day = day.to_string();
        match &a.payload.kind {
            ActionKind::Status { status, .. } => {
                self.status = *status;
                self.timeline.push(Event { day, status: *status, note: r.text, signed: r.signed });
            }
            ActionKind::Reply { .. } => {
                // Verification made sure a reply carries its sealed text.
                if let Some(blob) = r.text {
                    self.replies.push(Reply { day, blob, signed: r.signed });
                }
            }
            ActionKind::Delete => return Ok(Outcome::Purged),
        }
        Ok(Outcome::Kept)
    }

    /// Retention: a report closed on or before `cutoff` (`YYYY-MM-DD`), and
    /// not reopened since, is purged.
    pub fn expired(&self, cutoff: &str) -> bool {
        self.closed_on().is_some_and(|day| day <= cutoff)
    }

    /// The day the report was last closed, if it is closed now.
    pub fn closed_on(&self) -> Option<&str> {
        if self.status != Status::Closed {
            return None;
        }
        self.timeline.iter().rev().find(|e| e.status == Status::Closed).map(|e| e.day.as_str())
    }
}

#[cfg(test)]
mod tests;
