//! Follow-ups, each under its own key, so that adding one costs the same
//! however many came before (the report record is never rewritten for it),
//! and at most [`MAX_FOLLOWUPS`] per report, so that a report's bundle entry
//! stays far below what `decrypt` reads.
//!
//! Tree `followups`: report id (16 bytes) → how many follow-ups the report
//! has received (u32 BE); report id ‖ n (u32 BE) → the n-th follow-up's
//! [`Submission`] JSON. Records written before this layout keep their
//! follow-ups inside the record; they are read as before, and the count of a
//! report starts at the number its record holds.
//!
//! Never sees plaintext.

use sled::transaction::{ConflictableTransactionError as Abort, Transactional, TransactionalTree};

use super::{tx_error, Store, StoreError};
use crate::model::{Report, Submission};

/// Follow-ups one report may receive by default (`--max-followups`). A
/// reporter adding something every week for ten years stays below it; a
/// report at the cap, each follow-up with 100 files, is a bundle entry of
/// about 4 MiB, a quarter of what `decrypt` reads.
pub const MAX_FOLLOWUPS: u32 = 500;

/// The key of the `n`-th follow-up of report `id`.
fn key(id: &[u8; 16], n: u32) -> [u8; 20] {
    let mut k = [0u8; 20];
    k[..16].copy_from_slice(id);
    k[16..].copy_from_slice(&n.to_be_bytes());
    k
}

/// A stored count.
fn count_of(raw: &[u8]) -> Result<u32, StoreError> {
    raw.try_into().map(u32::from_be_bytes).map_err(|_| StoreError::Corrupt("follow-up count".into()))
}

/// Turns a decoding error into a transaction abort.
fn corrupt<E: std::fmt::Display>(e: E) -> Abort<StoreError> {
    Abort::Abort(StoreError::Corrupt(e.to_string()))
}

impl Store {
    /// Appends a follow-up to report `id` under sequence `sub.seq`, unless
    /// the report has `max` already ([`StoreError::FollowUpLimit`]).
    pub(super) fn append_followup(&self, id: &[u8; 16], sub: &Submission, max: u32) -> Result<(), StoreError> {
        let json = serde_json::to_vec(sub).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        (&self.reports, &self.log, &self.followups)
            .transaction(|(reports, log, followups)| {
                let raw = reports.get(id)?.ok_or_else(|| corrupt("report vanished"))?;
                let count = match followups.get(id)? {
                    Some(c) => count_of(&c).map_err(Abort::Abort)?,
                    // The first follow-up stored apart: count those the
                    // record itself holds (a record of the earlier layout).
                    None => {
                        let r: Report = serde_json::from_slice(&raw).map_err(corrupt)?;
                        u32::try_from(r.submissions.len().saturating_sub(1)).unwrap_or(u32::MAX)
                    }
                };
                if count >= max {
                    return Err(Abort::Abort(StoreError::FollowUpLimit));
                }
                followups.insert(&id[..], &(count + 1).to_be_bytes()[..])?;
                followups.insert(&key(id, count + 1)[..], json.as_slice())?;
                log.insert(&sub.seq.to_be_bytes()[..], &id[..])?;
                Ok(())
            })
            .map_err(tx_error)
    }

    /// Adds the follow-ups stored apart to a report just read, in order.
    pub(super) fn attach_followups(&self, id: &[u8], report: &mut Report) -> Result<(), StoreError> {
        for item in self.followups.scan_prefix(id) {
            let (k, v) = item?;
            if k.len() == 20 {
                report.submissions.push(serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt(e.to_string()))?);
            }
        }
        Ok(())
    }
}

/// Inside a transaction: the follow-ups of report `id` stored apart, in order
/// (an action's place is checked against every submission).
pub(super) fn followups_in_tx(
    followups: &TransactionalTree,
    id: &[u8; 16],
) -> Result<Vec<Submission>, Abort<StoreError>> {
    let Some(count) = followups.get(&id[..])? else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for n in 1..=count_of(&count).map_err(Abort::Abort)? {
        // Below the count of an earlier-layout record there is nothing.
        if let Some(raw) = followups.get(&key(id, n)[..])? {
            out.push(serde_json::from_slice(&raw).map_err(corrupt)?);
        }
    }
    Ok(out)
}

/// Inside a transaction that removes report `id`: removes its follow-ups
/// stored apart and their export log entries; returns them (their blobs are
/// the caller's to discard).
pub(super) fn unlink_followups(
    followups: &TransactionalTree,
    log: &TransactionalTree,
    id: &[u8; 16],
) -> Result<Vec<Submission>, sled::transaction::UnabortableTransactionError> {
    let Some(count) = followups.remove(&id[..])? else { return Ok(Vec::new()) };
    let count = count_of(&count).unwrap_or(0);
    let mut removed = Vec::new();
    for n in 1..=count {
        // Below the count of an earlier-layout record there is nothing.
        let Some(raw) = followups.remove(&key(id, n)[..])? else { continue };
        if let Ok(sub) = serde_json::from_slice::<Submission>(&raw) {
            log.remove(&sub.seq.to_be_bytes()[..])?;
            removed.push(sub);
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto;
    use crate::model::{BlobRef, SealedBy, SubmissionKind};

    fn sub(store: &Store, kind: SubmissionKind, files: usize) -> Submission {
        let blob = || BlobRef { id: crypto::hex(&crypto::random_id()), len: 1 };
        Submission {
            seq: store.next_seq().unwrap_or(0),
            day: "2026-11-29".into(),
            kind,
            sealed_by: SealedBy::Server,
            manifest: blob(),
            attachments: (0..files).map(|_| blob()).collect(),
            tags: Vec::new(),
        }
    }

    fn open() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = Store::open_for_tests(dir.path());
        (dir, store)
    }

    /// A report as the earlier layout stored it: `inline` follow-ups inside.
    fn old_report(store: &Store, inline: usize) -> (crypto::LookupKey, Report) {
        let (key, mut r) = store.report_for_tests(sub(store, SubmissionKind::Tip, 1));
        r.submissions.extend((0..inline).map(|_| sub(store, SubmissionKind::FollowUp, 1)));
        store.insert_report(&r, &key).unwrap_or_else(|e| panic!("{e}"));
        (key, r)
    }

    #[test]
    fn a_followup_never_rewrites_the_report_record() {
        let (_d, store) = open();
        let (key, r) = old_report(&store, 0);
        let id = crypto::unhex::<16>(&r.id).unwrap_or_default();
        let size = || store.reports.get(id).ok().flatten().map(|v| v.len()).unwrap_or(0);
        let before = size();
        for _ in 0..50 {
            store
                .append_submission(&r.id, sub(&store, SubmissionKind::FollowUp, 20), 500)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(size(), before, "the record stays the same size");
        let back = store.find(&key).ok().flatten().map(|r| r.submissions.len());
        assert_eq!(back, Some(51));
    }

    #[test]
    fn earlier_records_keep_their_followups_count_toward_the_cap_and_export_in_order() {
        let (_d, store) = open();
        let (key, r) = old_report(&store, 2);
        store.append_submission(&r.id, sub(&store, SubmissionKind::FollowUp, 0), 3).unwrap_or_else(|e| panic!("{e}"));
        let refused = store.append_submission(&r.id, sub(&store, SubmissionKind::FollowUp, 0), 3);
        assert!(matches!(refused, Err(StoreError::FollowUpLimit)), "{refused:?}");
        let found = store.find(&key).ok().flatten().unwrap_or_else(|| panic!("report lost"));
        let seqs: Vec<u64> = found.submissions.iter().map(|s| s.seq).collect();
        assert_eq!(seqs.len(), 4);
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order: {seqs:?}");
        let exported: Vec<usize> = store
            .changed_between(0, store.last_seq().unwrap_or(0))
            .map(|c| match c {
                Ok(crate::store::Change::Report(r)) => r.submissions.len(),
                _ => 0,
            })
            .collect();
        assert_eq!(exported, vec![4]);
        // A deletion removes the follow-ups stored apart and their log entries.
        store.purge(&found, "2026-11-29").unwrap_or_else(|e| panic!("{e}"));
        assert!(store.followups.is_empty());
        // What is left in the log is the deletion, for the next export.
        assert_eq!(store.log.len(), 1);
        let after = store.changed_between(0, store.last_seq().unwrap_or(0)).collect::<Vec<_>>();
        assert!(matches!(after.as_slice(), [Ok(crate::store::Change::Deleted { .. })]), "{after:?}");
    }

    #[test]
    fn a_report_at_the_cap_with_the_most_files_stays_far_below_decrypts_entry_limit() {
        let (_d, store) = open();
        let first = sub(&store, SubmissionKind::Tip, 100);
        let mut r = store.report_for_tests(first).1;
        r.submissions.extend((0..MAX_FOLLOWUPS).map(|_| sub(&store, SubmissionKind::FollowUp, 100)));
        let bundle =
            serde_json::to_vec_pretty(&crate::export::report_entry(&r, String::new(), Vec::new())).unwrap_or_default();
        // decrypt reads a report entry of up to 16 MiB (src/decrypt/bundle.rs).
        assert!(bundle.len() < 16 * 1024 * 1024 / 2, "{} bytes", bundle.len());
    }
}
