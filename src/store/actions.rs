//! Applying verified actions, the audit chain, and purging reports.
//!
//! An actions file applies in one sled transaction: every nonce is new, every
//! report exists, every action follows the report's last one and was decided
//! on its current submissions (`actions::order`), or nothing changes. Sealed
//! replies and notes are stored first, as blobs that no record names until
//! the transaction commits.

use sled::transaction::{
    ConflictableTransactionError as Abort, Transactional, TransactionalTree, UnabortableTransactionError,
};

use super::{tx_error, Store, StoreError};
use crate::actions::{ActionError, AuditEntry, Verified, GENESIS};
use crate::crypto;
use crate::lifecycle::{Outcome, Recorded};
use crate::model::{BlobRef, Report, Signed};

/// Why applying failed. Nothing was changed in either case.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// An action was refused (replay, unknown report).
    #[error(transparent)]
    Rejected(#[from] ActionError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an apply did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Actions applied.
    pub actions: usize,
    /// Actions skipped because they were applied before (re-pushing a file
    /// is harmless: each signed line takes effect once).
    pub skipped: usize,
    /// Reports purged by delete actions.
    pub deleted: usize,
    /// The audit log's head hash afterwards.
    pub head: String,
}

/// Removes a report's record, lookup key, follow-ups and log entries:
/// afterwards its receipt answers like one never issued. Returns the
/// follow-ups stored apart from the record (their blobs go too).
fn unlink(
    (reports, lookup, log, followups): (&TransactionalTree, &TransactionalTree, &TransactionalTree, &TransactionalTree),
    id: &[u8; 16],
    r: &Report,
) -> Result<Vec<crate::model::Submission>, UnabortableTransactionError> {
    reports.remove(&id[..])?;
    if let Some(k) = crypto::unhex::<32>(&r.lookup) {
        lookup.remove(&k[..])?;
    }
    for seq in r.log_positions() {
        log.remove(&seq.to_be_bytes()[..])?;
    }
    super::followups::unlink_followups(followups, log, id)
}

/// The export log value that records a deletion: the report's id and the
/// day, so that the next incremental export tells the offline machine.
pub(super) fn tombstone(id: &[u8; 16], day: &str) -> Vec<u8> {
    let mut v = id.to_vec();
    v.extend_from_slice(day.as_bytes());
    v
}

/// Failure inside the transaction: an action error or a store error.
enum TxFail {
    /// Refused action.
    Action(ActionError),
    /// Damaged record.
    Store(StoreError),
}

impl Store {
    /// Applies verified actions all-or-nothing and makes them durable.
    /// Deleted reports lose their blobs only once the deletion is durable,
    /// so a crash can never leave a record that names a removed blob.
    pub async fn apply(&self, actions: &[Verified], today: &str) -> Result<Applied, ApplyError> {
        let (applied, purged) = self.apply_now(actions, today)?;
        self.durable().await?;
        self.discard_all(purged.iter().flat_map(Report::blobs));
        Ok(applied)
    }

    /// The same, for command-line tools.
    pub fn apply_blocking(&self, actions: &[Verified], today: &str) -> Result<Applied, ApplyError> {
        let (applied, purged) = self.apply_now(actions, today)?;
        self.durable_blocking()?;
        self.discard_all(purged.iter().flat_map(Report::blobs));
        Ok(applied)
    }

    /// Stores the blobs, then commits everything in one transaction. Returns
    /// the deleted reports, whose blobs the caller removes once durable.
    fn apply_now(&self, actions: &[Verified], today: &str) -> Result<(Applied, Vec<Report>), ApplyError> {
        let mut blobs: Vec<Option<BlobRef>> = Vec::new();
        for a in actions {
            blobs.push(match &a.blob {
                Some(bytes) => match self.put_wrapped(bytes) {
                    Ok(b) => Some(b),
                    Err(e) => {
                        self.discard_all(blobs.iter().flatten());
                        return Err(e.into());
                    }
                },
                None => None,
            });
        }
        // Log positions are drawn before the transaction (sled's id
        // generator must not run inside one), under the turn that keeps an
        // export from fixing its cursor between drawing and committing them
        // (see `with_next_seq`). Unused ones (a retry, a skipped action) are
        // gaps, which the log allows.
        let _turn = self.seq_turn.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let seqs = actions.iter().map(|_| self.next_seq()).collect::<Result<Vec<u64>, StoreError>>();
        let seqs = match seqs {
            Ok(s) => s,
            Err(e) => {
                self.discard_all(blobs.iter().flatten());
                return Err(e.into());
            }
        };
        let trees = (&self.reports, &self.lookup, &self.log, &self.nonces, &self.audit, &self.meta, &self.followups);
        let result = trees.transaction(|(reports, lookup, log, nonces, audit, meta, followups)| {
            let fail = |f: TxFail| Abort::Abort(f);
            let (mut n, mut prev) = match meta.get("audit_head")? {
                Some(v) => serde_json::from_slice::<(u64, String)>(&v)
                    .map_err(|e| fail(TxFail::Store(StoreError::Corrupt(e.to_string()))))?,
                None => (0, GENESIS.to_string()),
            };
            let mut purged = Vec::new();
            let mut skipped = Vec::new();
            for (i, ((a, blob), &seq)) in actions.iter().zip(&blobs).zip(&seqs).enumerate() {
                let p = &a.payload;
                // A nonce is drawn at random for each signed action, so a
                // known one is this very action again: applied once, it is
                // skipped, which lets an outgoing file be pushed again.
                if nonces.get(p.nonce.as_bytes())?.is_some() {
                    skipped.push(i);
                    continue;
                }
                let unknown = || fail(TxFail::Action(ActionError::UnknownReport(a.number)));
                let id = crypto::unhex::<16>(&p.report).ok_or_else(unknown)?;
                let raw = reports.get(id)?.ok_or_else(unknown)?;
                let mut r: Report = serde_json::from_slice(&raw)
                    .map_err(|e| fail(TxFail::Store(StoreError::Corrupt(e.to_string()))))?;
                let apart = super::followups::followups_in_tx(followups, &id).map_err(|e| match e {
                    Abort::Abort(s) => fail(TxFail::Store(s)),
                    Abort::Conflict => Abort::Conflict,
                    Abort::Storage(s) => Abort::Storage(s),
                })?;
                // The rules are the core's; what it decided is written here.
                let signed = Signed { seq, by: a.signer.clone(), audit: n + 1 };
                let recorded = Recorded { action: a, text: blob.clone(), signed };
                match r.apply(recorded, &apart, today).map_err(|e| fail(TxFail::Action(e)))? {
                    Outcome::Purged => {
                        let apart = unlink((reports, lookup, log, followups), &id, &r)?;
                        r.submissions.extend(apart);
                        // The deletion takes a place in the export log too, so
                        // that an incremental export tells the offline machine.
                        log.insert(&seq.to_be_bytes()[..], tombstone(&id, today))?;
                        purged.push(r);
                    }
                    Outcome::Kept => {
                        log.insert(&seq.to_be_bytes()[..], &id[..])?;
                        let json = serde_json::to_vec(&r)
                            .map_err(|e| fail(TxFail::Store(StoreError::Corrupt(e.to_string()))))?;
                        reports.insert(&id[..], json)?;
                    }
                }
                nonces.insert(p.nonce.as_bytes(), p.day.as_bytes())?;
                n += 1;
                let entry = AuditEntry::next(n, &prev, &a.line, today);
                prev = entry.hash.clone();
                audit.insert(&n.to_be_bytes()[..], serde_json::to_vec(&entry).unwrap_or_default())?;
            }
            meta.insert("audit_head", serde_json::to_vec(&(n, &prev)).unwrap_or_default())?;
            Ok((purged, prev, skipped))
        });
        match result {
            Ok((purged, head, skipped)) => {
                // The sealed texts of skipped actions are stored already.
                self.discard_all(skipped.iter().filter_map(|&i| blobs[i].as_ref()));
                let applied = Applied {
                    actions: actions.len() - skipped.len(),
                    skipped: skipped.len(),
                    deleted: purged.len(),
                    head,
                };
                Ok((applied, purged))
            }
            Err(e) => {
                self.discard_all(blobs.iter().flatten());
                Err(match e {
                    sled::transaction::TransactionError::Abort(TxFail::Action(a)) => ApplyError::Rejected(a),
                    sled::transaction::TransactionError::Abort(TxFail::Store(s)) => ApplyError::Store(s),
                    sled::transaction::TransactionError::Storage(s) => ApplyError::Store(s.into()),
                })
            }
        }
    }

    /// Removes blobs, best effort (leftovers are unreferenced ciphertext).
    fn discard_all<'a>(&self, blobs: impl Iterator<Item = &'a BlobRef>) {
        for b in blobs {
            if let Some(id) = crypto::unhex::<16>(&b.id) {
                let _ = self.discard_blob(&id);
            }
        }
    }

    /// One audit entry, by position.
    pub fn audit_entry(&self, n: u64) -> Result<Option<AuditEntry>, StoreError> {
        match self.audit.get(n.to_be_bytes())? {
            Some(v) => serde_json::from_slice(&v).map(Some).map_err(|e| StoreError::Corrupt(e.to_string())),
            None => Ok(None),
        }
    }

    /// The whole audit chain, oldest first.
    pub fn audit_entries(&self) -> Result<Vec<AuditEntry>, StoreError> {
        self.audit
            .iter()
            .values()
            .map(|v| serde_json::from_slice(&v?).map_err(|e| StoreError::Corrupt(e.to_string())))
            .collect()
    }

    /// Purges one report: record, lookup key, log entries, then (once that
    /// is durable) its blobs.
    pub fn purge(&self, r: &Report, today: &str) -> Result<(), StoreError> {
        let id = crypto::unhex::<16>(&r.id).ok_or_else(|| StoreError::Corrupt("report id".into()))?;
        self.with_next_seq(|seq| {
            (&self.reports, &self.lookup, &self.log, &self.followups)
                .transaction(|(reports, lookup, log, followups)| {
                    // `r` was read with its follow-ups: their blobs go below.
                    unlink((reports, lookup, log, followups), &id, r)?;
                    log.insert(&seq.to_be_bytes()[..], tombstone(&id, today))?;
                    Ok::<(), Abort<StoreError>>(())
                })
                .map_err(tx_error)
        })?;
        self.durable_blocking()?;
        self.discard_all(r.blobs());
        Ok(())
    }

    /// Purges reports closed on or before `cutoff` (a `YYYY-MM-DD` day), and
    /// forgets action nonces signed on a day before that of `nonce_cutoff`
    /// (Unix seconds): older actions are refused as stale anyway. Returns the
    /// number purged.
    pub fn purge_closed(&self, cutoff: &str, nonce_cutoff: u64, today: &str) -> Result<usize, StoreError> {
        let mut doomed = Vec::new();
        for r in self.all_reports() {
            let r = r?;
            if r.expired(cutoff) {
                doomed.push(r);
            }
        }
        for r in &doomed {
            self.purge(r, today)?;
        }
        let nonce_day = crate::actions::day_of(nonce_cutoff);
        for item in self.nonces.iter() {
            let (k, v) = item?;
            if v.as_ref() < nonce_day.as_bytes() {
                self.nonces.remove(k)?;
            }
        }
        if !doomed.is_empty() {
            self.durable_blocking()?;
        }
        Ok(doomed.len())
    }

    /// Records the recipients the server seals to, for exports.
    pub fn set_recipients(&self, recipients: &[String]) -> Result<(), StoreError> {
        let json = serde_json::to_vec(recipients).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.meta.insert("recipients", json)?;
        let parsed =
            crate::crypto::Recipients::parse(&recipients.join("\n")).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.new_reply_lock(&parsed)
    }

    /// The recipients last recorded by the server.
    pub fn recipients(&self) -> Result<Vec<String>, StoreError> {
        match self.meta.get("recipients")? {
            Some(v) => serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt(e.to_string())),
            None => Ok(Vec::new()),
        }
    }
}
