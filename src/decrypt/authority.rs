//! What the bundle's audit log proves, and what a bundle may change in a
//! case folder. For each log position: the report and the status that an
//! action signed by one of the pinned investigators' signing keys set; and
//! the SHA-256 of every reply and status note such an action carried. A
//! report entry's timeline and message list are the server's word; only
//! these lines are the investigators'. A status change, reply or note that
//! none proves is marked unsigned in `case.json` and the conversation.
//!
//! Must never count a line as proof unless its signature verifies with a key
//! of the offline pin (`deployment.json`), whatever the bundle claims.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, Read};

use super::pin::Pinned;
use super::DecryptError;
use crate::actions::{ActionKind, AuditEntry, Payload, ACTION_CONTEXT};
use crate::crypto::ed25519::{unb64, PublicKey};
use crate::export::{IndexReport, AUDIT_PATH};
use crate::model::{Event, Status};

/// The longest line read (an entry is under 1 KiB: it has no blob).
const MAX_LINE: u64 = 64 * 1024;

/// What the audit log proves, by audit position and by sealed text.
#[derive(Debug, Default)]
pub struct Authority {
    /// The pin's signing keys (none in a folder pinned by its first bundle,
    /// without `peluit trust`: then nothing can be checked, nor marked).
    keys: Vec<PublicKey>,
    /// Audit position → (report id, status set).
    proven: HashMap<u64, (String, Status)>,
    /// (report id, SHA-256 hex of the sealed text) of every reply and note.
    sealed: HashSet<(String, String)>,
}

impl Authority {
    /// Nothing proven yet, against the signing keys of `pin`.
    pub fn for_pin(pin: &Pinned) -> Authority {
        let keys = pin.signers.iter().filter_map(|s| PublicKey::parse(s)).collect();
        Authority { keys, ..Authority::default() }
    }

    /// Reads `audit.jsonl` (`entry`), keeping the status changes, replies and
    /// notes of this deployment signed by one of the pin's keys.
    pub fn read_log(&mut self, entry: impl Read, deployment: &str) -> Result<(), DecryptError> {
        if self.keys.is_empty() {
            return Ok(());
        }
        let mut lines = std::io::BufReader::new(entry);
        let mut line = Vec::new();
        loop {
            line.clear();
            if (&mut lines).take(MAX_LINE + 1).read_until(b'\n', &mut line)? == 0 {
                return Ok(());
            }
            if line.len() as u64 > MAX_LINE {
                return Err(DecryptError::Limit(format!("{AUDIT_PATH} has a line over {MAX_LINE} bytes")));
            }
            // A line that is not a well-formed, well-signed action proves nothing.
            let Ok(e) = serde_json::from_slice::<AuditEntry>(&line) else { continue };
            let Some(p) = proof(&e, deployment, &self.keys) else { continue };
            match p.kind {
                ActionKind::Status { status, note_sha256 } => {
                    if let Some(h) = note_sha256 {
                        self.sealed.insert((p.report.clone(), h));
                    }
                    self.proven.insert(e.n, (p.report, status));
                }
                ActionKind::Reply { blob_sha256 } => {
                    self.sealed.insert((p.report, blob_sha256));
                }
                ActionKind::Delete => {}
            }
        }
    }

    /// Whether the pin names signing keys, so that unsigned changes can be told.
    fn checked(&self) -> bool {
        !self.keys.is_empty()
    }

    /// The log positions of `timeline`'s status changes on `report` that no
    /// signed line proves (none when nothing could be checked). The
    /// acknowledgement made at submission (position 0, `received`) is the
    /// server's own and needs none.
    pub fn unsigned(&self, report: &str, timeline: &[Event]) -> Vec<u64> {
        if !self.checked() {
            return Vec::new();
        }
        let acknowledgement = |e: &Event| e.signed.seq == 0 && e.signed.audit == 0 && e.status == Status::Received;
        timeline
            .iter()
            .enumerate()
            .filter(|(i, e)| !(*i == 0 && acknowledgement(e)))
            .filter(|(_, e)| self.proven.get(&e.signed.audit) != Some(&(report.to_string(), e.status)))
            .map(|(_, e)| e.signed.seq)
            .collect()
    }

    /// Whether a reply or note on `report` whose sealed text hashes to
    /// `sha256` is one that no pinned investigator signed (never, when
    /// nothing could be checked).
    pub fn unsigned_text(&self, report: &str, sha256: &[u8; 32]) -> bool {
        self.checked() && !self.sealed.contains(&(report.to_string(), crate::crypto::hex(sha256)))
    }
}

/// The payload of entry `e`, if its line is an action for `deployment`
/// signed by one of `keys`.
fn proof(e: &AuditEntry, deployment: &str, keys: &[PublicKey]) -> Option<Payload> {
    let key = PublicKey::parse(&e.line.key).filter(|k| keys.contains(k))?;
    let (bytes, sig) = (unb64(&e.line.payload)?, unb64(&e.line.sig)?);
    if !key.verify(ACTION_CONTEXT, &bytes, &sig) {
        return None;
    }
    let p: Payload = serde_json::from_slice(&bytes).ok()?;
    (p.deployment == deployment).then_some(p)
}

/// What a bundle's entry for a case may change, given what the folder held
/// (`earlier`, its `case.json`) and what the audit log proves: decrypt's
/// verdicts, never the bundle's.
pub fn settle(report: &mut IndexReport, earlier: Option<IndexReport>, authority: &Authority) {
    // An earlier bundle given again (by a transfer machine, or by mistake)
    // never sets a case back: when the folder has seen a newer change, or
    // the deletion, the case keeps its status, timeline, last action and
    // deletion; only submissions it lacked are added.
    if let Some(e) = earlier.as_ref().filter(|e| newest_change(e) > newest_change(report) || e.deleted.is_some()) {
        report.status = e.status;
        report.timeline.clone_from(&e.timeline);
        report.head.clone_from(&e.head);
        report.deleted.clone_from(&e.deleted);
    }
    // Which changes no pinned investigator signed: the status changes from
    // the timeline, the replies and notes opened by earlier runs from their
    // marks (this run checks its own as it opens them).
    let timeline: Vec<u64> = report.timeline.iter().map(|e| e.signed.seq).collect();
    let earlier_texts = earlier.as_ref().map(|e| e.unsigned.clone()).unwrap_or_default();
    report.unsigned = authority.unsigned(&report.id, &report.timeline);
    report.unsigned.extend(earlier_texts.into_iter().filter(|s| !timeline.contains(s)));
    // Only decrypt marks a follow-up unverified, and every submission
    // received so far stays known, whatever the bundle says.
    report.unverified = earlier.as_ref().map(|e| e.unverified.clone()).unwrap_or_default();
    report.known = earlier.map(|e| e.known).unwrap_or_default();
    let new = report.submissions.iter().map(|s| (s.seq, crate::export::blob_id(&s.manifest).to_string()));
    report.known.extend(new);
    report.known.sort_unstable();
    report.known.dedup();
}

/// The newest export-log position of a case's changes: its status changes
/// (the whole timeline) and the replies and notes of its last bundle.
fn newest_change(r: &IndexReport) -> u64 {
    r.timeline.iter().map(|e| e.signed.seq).chain(r.messages.iter().map(|m| m.seq)).max().unwrap_or(0)
}
