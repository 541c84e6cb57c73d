//! The one module that touches sled. Holds only ciphertext and the non-secret
//! [`Report`] records; never sees plaintext.
//!
//! Trees: `reports` (id → record JSON), `lookup` (HMAC of receipt → id),
//! `blobs` (blob id ‖ chunk number → ciphertext of a small blob), `log`
//! (sequence → report id, or a deletion's tombstone, for incremental
//! export), `meta` (deployment id, the secret's fingerprint, current
//! recipients, audit head), `nonces` (applied action nonces → day), `audit`
//! (the hash-chained log of applied actions), `followups` (see
//! [`followups`]), `wrapped` (replies and notes sealed again at rest, see
//! [`crate::crypto::at_rest`]), `extents` (where an attachment lies in the
//! day packs, see [`blobs`]). What the folder's modes and file times say is
//! [`layout`]'s business.
//! A blob is written first and is invisible until a record that names it
//! commits in one transaction; a crash in between leaves only unreferenced
//! ciphertext, which `check` reports and `compact` drops.

use std::io;
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use sled::transaction::TransactionError;

use crate::crypto::{self, DeploymentSecret, LookupKey};
use crate::flusher::Flusher;
use crate::model::{Report, Submission};

mod actions;
mod audit_disk;
mod blobs;
mod followups;
pub mod layout;
mod maintenance;
mod packs;
mod sealing;
pub use actions::{Applied, ApplyError};
pub use audit_disk::audit_disk;
pub use blobs::{BlobReader, BlobWriter, CHUNK, FILES_DIR};
pub use followups::MAX_FOLLOWUPS;
pub use maintenance::CheckReport;

/// sled's page cache by default (command-line tools; the server has `--cache-mib`).
pub const DEFAULT_CACHE: u64 = 32 * 1024 * 1024;

/// Free space kept by default: submissions are refused below it.
pub const DEFAULT_KEEP_FREE: u64 = 64 * 1024 * 1024;

/// Errors of the storage boundary.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process (usually the running server) holds the database.
    #[error("the data folder is in use by another peluit process (sled allows one): stop the server first")]
    Locked,
    /// The disk is full or the database failed.
    #[error("storage failed: {0}")]
    Db(String),
    /// Writing would leave less free space than the reserve.
    #[error("the disk is nearly full: new submissions are refused until space is freed")]
    Full,
    /// A record could not be decoded: the database is damaged.
    #[error("damaged record: {0}")]
    Corrupt(String),
    /// The report has received the most follow-ups allowed.
    #[error("the report has received the most follow-ups allowed")]
    FollowUpLimit,
    /// The data folder is open to other users, or the secret does not fit it.
    #[error("{0}")]
    Exposed(String),
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        match e {
            // sled wraps the flock failure in an `Other` error with this text.
            sled::Error::Io(ref io)
                if io.kind() == io::ErrorKind::WouldBlock || io.to_string().contains("could not acquire lock") =>
            {
                StoreError::Locked
            }
            sled::Error::Io(io) if is_full(&io) => StoreError::Full,
            other => StoreError::Db(other.to_string()),
        }
    }
}

/// Whether an I/O error means the disk (or the quota) is full.
fn is_full(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded)
}

impl StoreError {
    /// Classifies an I/O error: a full disk is [`StoreError::Full`].
    pub fn from_io(e: io::Error) -> StoreError {
        if is_full(&e) {
            StoreError::Full
        } else {
            StoreError::Db(e.to_string())
        }
    }

    /// The reverse, for errors that must travel through `io::Write`.
    pub fn into_io(self) -> io::Error {
        match self {
            StoreError::Full => io::Error::new(io::ErrorKind::StorageFull, StoreError::Full.to_string()),
            other => io::Error::other(other.to_string()),
        }
    }
}

/// One item of an incremental export (see [`Store::changed_between`]).
#[derive(Debug)]
pub enum Change {
    /// A report with something new: its submissions in the range, and its
    /// whole status, timeline and replies.
    Report(Report),
    /// A report deleted (by an investigator, or by retention).
    Deleted {
        /// Its id (hex).
        id: String,
        /// The day it was deleted.
        day: String,
    },
}

/// An open peluit database.
#[derive(Clone)]
pub struct Store {
    /// The sled database.
    db: sled::Db,
    /// id → report record JSON.
    reports: sled::Tree,
    /// lookup key → report id.
    lookup: sled::Tree,
    /// blob id ‖ chunk number (u32 BE) → ciphertext (blobs of one chunk).
    blobs: sled::Tree,
    /// The data folder (for the free space, and blob files of data folders
    /// written before the day packs).
    dir: Arc<Path>,
    /// blob id → a reply or note sealed again to the at-rest key.
    wrapped: sled::Tree,
    /// blob id → its day pack and ranges there (attachments).
    extents: sled::Tree,
    /// The day packs.
    packs: Arc<packs::Packs>,
    /// Free bytes to keep on the disk (0: no reserve).
    keep_free: Arc<AtomicU64>,
    /// sequence (u64 BE) → report id.
    log: sled::Tree,
    /// deployment id, the secret's fingerprint, recipients, audit head.
    meta: sled::Tree,
    /// applied action nonce → the day it was signed (`YYYY-MM-DD`).
    nonces: sled::Tree,
    /// position (u64 BE) → audit entry JSON.
    audit: sled::Tree,
    /// Follow-ups, each under its own key (see [`followups`]).
    followups: sled::Tree,
    /// Group commit.
    flusher: Flusher,
    /// HMAC key for lookup keys; a throwaway one until [`Store::with_secret`].
    secret: DeploymentSecret,
    /// What only a holder of the secret may do: seal replies at rest, open them.
    at_rest: Option<Arc<crate::crypto::at_rest::AtRestKey>>,
    /// This run's key for locking reply recipients (made by [`Store::set_recipients`]).
    reply_lock: Arc<std::sync::RwLock<Option<Arc<crate::crypto::reply_lock::ReplyLock>>>>,
    /// Public random id of this deployment (hex), named in signed actions.
    deployment_id: Arc<str>,
    /// Added to sled's id counter (see [`Store::next_seq`]).
    seq_floor: u64,
    /// Taken while a sequence number is drawn and its log entry written,
    /// and while an export reads the last one.
    seq_turn: Arc<std::sync::Mutex<()>>,
    /// Blurs the folder's times when the last handle closes (declared last,
    /// so it drops after the flusher has closed the database).
    _closing: Arc<sealing::Closing>,
}

impl Store {
    /// Opens (or creates) the database in `dir`; creates the deployment id on
    /// first use and makes it durable before returning. Refuses a folder that
    /// other users can reach. The lookup secret is set with
    /// [`Store::with_secret`]; command-line tools that do not derive lookup
    /// keys never need it.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        Store::open_with_cache(dir, DEFAULT_CACHE)
    }

    /// A store for unit tests: a private folder inside `dir`, a fresh secret
    /// and one recipient.
    #[cfg(test)]
    pub(crate) fn open_for_tests(dir: &Path) -> Store {
        let store = Store::open(&dir.join("data")).and_then(|s| s.with_secret(DeploymentSecret::generate()));
        let store = store.unwrap_or_else(|e| panic!("{e}"));
        store.set_recipients(&[crypto::new_identity().1]).unwrap_or_else(|e| panic!("{e}"));
        store
    }

    /// The same with a sled page cache of `cache` bytes.
    pub fn open_with_cache(dir: &Path, cache: u64) -> Result<Store, StoreError> {
        layout::ensure_private_dir(dir)?;
        let db = layout::sled_config(dir, cache).open()?;
        layout::make_private(dir).map_err(StoreError::from_io)?;
        let meta = db.open_tree("meta")?;
        if meta.get("deployment_id")?.is_none() {
            meta.insert("deployment_id", crypto::hex(&crypto::random_id()).as_bytes())?;
            db.flush()?;
        }
        let deployment_id = meta
            .get("deployment_id")?
            .and_then(|v| String::from_utf8(v.to_vec()).ok())
            .ok_or_else(|| StoreError::Corrupt("deployment id".into()))?;
        let seq_floor = meta
            .get("seq_floor")?
            .and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok())
            .map(u64::from_be_bytes)
            .unwrap_or(0);
        let files = dir.join(FILES_DIR);
        if files.exists() {
            blobs::prepare_dir(&files).map_err(StoreError::from_io)?;
        }
        let flusher = Flusher::start(db.clone()).map_err(|e| StoreError::Db(e.to_string()))?;
        Ok(Store {
            dir: dir.into(),
            wrapped: db.open_tree("wrapped")?,
            extents: db.open_tree("extents")?,
            packs: Arc::new(packs::Packs::open(dir).map_err(StoreError::from_io)?),
            keep_free: Arc::new(AtomicU64::new(DEFAULT_KEEP_FREE)),
            seq_turn: Arc::default(),
            seq_floor,
            reports: db.open_tree("reports")?,
            lookup: db.open_tree("lookup")?,
            blobs: db.open_tree("blobs")?,
            log: db.open_tree("log")?,
            nonces: db.open_tree("nonces")?,
            audit: db.open_tree("audit")?,
            followups: db.open_tree("followups")?,
            meta,
            db,
            flusher,
            secret: DeploymentSecret::generate(),
            at_rest: None,
            reply_lock: Arc::default(),
            deployment_id: deployment_id.into(),
            _closing: Arc::new(sealing::Closing(dir.into())),
        })
    }

    /// Sets the free space to keep: writes that would leave less are refused
    /// with [`StoreError::Full`] (0 turns the check off).
    pub fn set_keep_free(&self, bytes: u64) {
        self.keep_free.store(bytes, std::sync::atomic::Ordering::Relaxed);
    }

    /// The deployment's public id.
    pub fn deployment_id(&self) -> &str {
        &self.deployment_id
    }

    /// The lookup-key secret.
    pub fn secret(&self) -> &DeploymentSecret {
        &self.secret
    }

    /// A fresh, unique, monotonic sequence number for the export log.
    pub fn next_seq(&self) -> Result<u64, StoreError> {
        // A compacted database starts sled's counter again at zero; the floor
        // carried over in `meta` keeps sequences above every earlier one.
        Ok(self.db.generate_id()? + 1 + self.seq_floor)
    }

    /// Commits a new report, its export log entries and, last, its lookup
    /// key. Not yet durable: call [`Store::durable`] before showing the
    /// receipt.
    ///
    /// No transaction is needed, and none is used (a sled transaction over
    /// three trees cost about a quarter of a tip's CPU and serialised
    /// concurrent tips on sled's global transaction lock): sled has one log
    /// for all trees and recovers it up to the first write that did not
    /// complete, so a crash between these inserts leaves at most a record
    /// that no lookup key points to. Its receipt was never shown (that waits
    /// for the commit); investigators still receive the tip.
    pub fn insert_report(&self, report: &Report, key: &LookupKey) -> Result<(), StoreError> {
        let id = crypto::unhex::<16>(&report.id).ok_or_else(|| StoreError::Corrupt("report id".into()))?;
        let json = serde_json::to_vec(report).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        if self.reports.compare_and_swap(id, None as Option<&[u8]>, Some(json))?.is_err() {
            return Err(StoreError::Db("report id collision".into()));
        }
        for s in &report.submissions {
            self.log.insert(s.seq.to_be_bytes(), &id[..])?;
        }
        // Neither an id nor a lookup key is ever overwritten (random, 128
        // and 100 bits): on a collision what was added is taken back and the
        // tip refused.
        if self.lookup.compare_and_swap(key.0, None as Option<&[u8]>, Some(&id[..]))?.is_err() {
            for s in &report.submissions {
                self.log.remove(s.seq.to_be_bytes())?;
            }
            self.reports.remove(&id[..])?;
            return Err(StoreError::Db("lookup key collision".into()));
        }
        Ok(())
    }

    /// Opens a report for its first submission under a fresh receipt: derives
    /// the lookup key and the reply recipient, and commits the record. Not yet
    /// durable: call [`Store::durable`] before showing the receipt.
    /// The submission's sequence number is assigned here (see
    /// [`Store::with_next_seq`]); whatever `first.seq` held is replaced.
    pub fn open_report(&self, mut first: Submission) -> Result<crate::receipt::Receipt, StoreError> {
        let receipt = crypto::new_receipt();
        let key = crypto::lookup_key(self.secret_for_receipts()?, &receipt);
        let reply = self.seal_reply_recipient(&crypto::reply_identity(&receipt).recipient().to_string())?;
        let id = crypto::hex(&crypto::random_id());
        self.with_next_seq(|seq| {
            first.seq = seq;
            self.insert_report(&Report::new(id, crypto::hex(&key.0), reply, first), &key)
        })?;
        Ok(receipt)
    }

    /// Runs `commit` with a fresh sequence number while no other sequence
    /// number is handed out and no export fixes its cursor. Without this, a
    /// submission could take number 10, another take 11 and commit, an
    /// export stop its cursor at 11, and then 10 commit: every later
    /// incremental export (`--since 11`) would miss it for good.
    fn with_next_seq<T>(&self, commit: impl FnOnce(u64) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let _turn = self.seq_turn.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        commit(self.next_seq()?)
    }

    /// Appends a submission to an existing report (a follow-up), under a
    /// fresh sequence number (whatever `sub.seq` held is replaced), unless
    /// the report has received `max` follow-ups already.
    pub fn append_submission(&self, report_id: &str, mut sub: Submission, max: u32) -> Result<(), StoreError> {
        let id = crypto::unhex::<16>(report_id).ok_or_else(|| StoreError::Corrupt("report id".into()))?;
        self.with_next_seq(|seq| {
            sub.seq = seq;
            self.append_followup(&id, &sub, max)
        })
    }

    /// Waits until every earlier write is on disk (group commit).
    pub async fn durable(&self) -> Result<(), StoreError> {
        self.flusher.wait().await.map_err(StoreError::Db)
    }

    /// The same, for command-line tools.
    pub fn durable_blocking(&self) -> Result<(), StoreError> {
        self.flusher.wait_blocking().map_err(StoreError::Db)
    }

    /// Finds a report by lookup key.
    pub fn find(&self, key: &LookupKey) -> Result<Option<Report>, StoreError> {
        match self.lookup.get(key.0)? {
            Some(id) => self.report_by_raw_id(&id),
            None => Ok(None),
        }
    }

    /// Reads one report record by its raw id bytes.
    fn report_by_raw_id(&self, id: &[u8]) -> Result<Option<Report>, StoreError> {
        match self.reports.get(id)? {
            Some(raw) => self.parse_report(id, &raw).map(Some),
            None => Ok(None),
        }
    }

    /// The highest sequence in the export log, 0 when it is empty. An export
    /// fixes its cursor with this before it scans, so that tips arriving
    /// during the export go into the next one.
    pub fn last_seq(&self) -> Result<u64, StoreError> {
        // Waits for a submission between taking its number and writing its
        // log entry (see `with_next_seq`).
        let _turn = self.seq_turn.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match self.log.last()? {
            Some((k, _)) => Self::log_seq(&k),
            None => Ok(0),
        }
    }

    /// What changed in `(since, cursor]`, in log order: each report with a
    /// submission, a status change or a reply in the range once, holding
    /// only its submissions in that range (status, timeline and replies are
    /// whole); and each report deleted in the range.
    ///
    /// Constant memory: no set of ids already seen. A report is yielded at
    /// its first log entry in the range, the smallest of its positions in the
    /// range, and skipped at the others.
    pub fn changed_between(&self, since: u64, cursor: u64) -> impl Iterator<Item = Result<Change, StoreError>> + '_ {
        let entries =
            (since < cursor).then(|| self.log.range(since.saturating_add(1).to_be_bytes()..=cursor.to_be_bytes()));
        entries.into_iter().flatten().filter_map(move |item| {
            item.map_err(StoreError::from).and_then(|(k, id)| self.at_first_entry(&k, &id, since, cursor)).transpose()
        })
    }

    /// The change at log entry (`key`, `value`): a deletion, or the report
    /// with only its submissions in `(since, cursor]` if this entry is the
    /// report's first in that range.
    fn at_first_entry(&self, key: &[u8], value: &[u8], since: u64, cursor: u64) -> Result<Option<Change>, StoreError> {
        let seq = Self::log_seq(key)?;
        if let Some((id, day)) = value.split_first_chunk::<16>().filter(|(_, day)| !day.is_empty()) {
            let day = std::str::from_utf8(day).map_err(|_| StoreError::Corrupt("log entry".into()))?;
            return Ok(Some(Change::Deleted { id: crypto::hex(id), day: day.to_string() }));
        }
        let id = value;
        // A report purged while the export runs is simply absent (its
        // deletion is carried by the next export).
        let Some(mut report) = self.report_by_raw_id(id)? else { return Ok(None) };
        let in_range = |s: &u64| since < *s && *s <= cursor;
        report.submissions.retain(|s| in_range(&s.seq));
        let mut seqs: Vec<u64> = report.log_positions().filter(in_range).collect();
        seqs.sort_unstable();
        for s in seqs {
            if s == seq {
                return Ok(Some(Change::Report(report)));
            }
            // A smaller submission is yielded at its own entry; in a damaged
            // database (`check` reports it) it may have none, so look.
            if self.log.get(s.to_be_bytes())?.is_some_and(|other| other == id) {
                return Ok(None);
            }
        }
        Ok(None)
    }

    /// The sequence number of a `log` key (u64 big-endian).
    fn log_seq(key: &[u8]) -> Result<u64, StoreError> {
        key.try_into().map(u64::from_be_bytes).map_err(|_| StoreError::Corrupt("log key".into()))
    }

    /// Every report changed after `since`, collected, and the cursor (the
    /// deletions left out). Only the unit tests want all of them at once;
    /// export streams `changed_between`.
    #[cfg(test)]
    pub fn changed_since(&self, since: u64) -> Result<(Vec<Report>, u64), StoreError> {
        let cursor = self.last_seq()?.max(since);
        let mut reports = Vec::new();
        for c in self.changed_between(since, cursor) {
            if let Change::Report(r) = c? {
                reports.push(r);
            }
        }
        Ok((reports, cursor))
    }

    /// A record read from the `reports` tree, with its follow-ups.
    fn parse_report(&self, id: &[u8], raw: &[u8]) -> Result<Report, StoreError> {
        let mut report: Report = serde_json::from_slice(raw).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.attach_followups(id, &mut report)?;
        Ok(report)
    }

    /// Every report record (for `check`).
    pub fn all_reports(&self) -> impl Iterator<Item = Result<Report, StoreError>> + '_ {
        self.reports.iter().map(|item| {
            let (id, raw) = item?;
            self.parse_report(&id, &raw)
        })
    }
}

/// Unwraps a sled transaction error into ours.
fn tx_error(e: TransactionError<StoreError>) -> StoreError {
    match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => e.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BlobRef, SealedBy, SubmissionKind};
    use crate::receipt::Receipt;
    use std::io::{Read, Write};

    fn open() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = Store::open_for_tests(dir.path());
        (dir, store)
    }

    fn blob(store: &Store, bytes: &[u8]) -> BlobRef {
        store.put_blob(bytes).unwrap_or_else(|e| panic!("{e}"))
    }

    fn submission(store: &Store, seq: u64, kind: SubmissionKind) -> Submission {
        Submission {
            seq,
            day: "2026-11-26".into(),
            kind,
            sealed_by: SealedBy::Server,
            manifest: blob(store, b"m"),
            attachments: vec![blob(store, &vec![9u8; 3 * CHUNK + 5])],
            tags: Vec::new(),
        }
    }

    #[test]
    fn blobs_round_trip_across_chunks_and_discard() {
        let (_d, store) = open();
        let data: Vec<u8> = (0..(2 * CHUNK + 77)).map(|i| (i % 251) as u8).collect();
        let b = blob(&store, &data);
        let mut back = Vec::new();
        store
            .blob_reader(&b)
            .and_then(|mut r| r.read_to_end(&mut back).map_err(|e| StoreError::Db(e.to_string())))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, data);
        // A record that claims another length is caught.
        let wrong = BlobRef { id: b.id.clone(), len: b.len + 1 };
        assert!(store.read_blob(&wrong, &mut Vec::new()).is_err());
        store.discard_blob(&crypto::unhex::<16>(&b.id).unwrap_or_default()).unwrap_or_else(|e| panic!("{e}"));
        assert!(store.read_blob(&b, &mut Vec::new()).is_err());
    }

    #[test]
    fn large_blobs_go_to_the_day_pack_never_a_file_of_their_own_and_the_reserve_refuses_writes() {
        let (dir, store) = open();
        let folder = dir.path().join("data");
        let count = |d: &Path| std::fs::read_dir(d).map(|d| d.count()).unwrap_or(0);
        let before = (count(&folder), count(&folder.join("packs")));
        assert_eq!(before.1, 2, "today's and tomorrow's packs are made when the store opens");
        let data: Vec<u8> = (0..(5 * CHUNK + 1)).map(|i| (i % 253) as u8).collect();
        let mut data = data;
        data[3 * CHUNK..3 * CHUNK + 16].copy_from_slice(b"PUNCH-ME-OUT-123");
        let big = blob(&store, &data);
        for n in [CHUNK, 2 * CHUNK, 0] {
            let exact = blob(&store, &data[..n]);
            let mut back = Vec::new();
            store.read_blob(&exact, &mut back).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(back, &data[..n]);
        }
        store.durable_blocking().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((count(&folder), count(&folder.join("packs"))), before, "no new file");
        assert!(store.extents.get(crypto::unhex::<16>(&big.id).unwrap_or_default()).ok().flatten().is_some());
        assert!(std::fs::read_dir(folder.join("blobs")).map(|mut d| d.next().is_none()).unwrap_or(true));
        let mut back = Vec::new();
        store.read_blob(&big, &mut back).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, data);
        let short = BlobRef { id: big.id.clone(), len: big.len - 1 };
        assert!(store.read_blob(&short, &mut Vec::new()).is_err(), "length is checked");

        // A writer made before the reserve is reached stops at its next check.
        let mut w = store.blob_writer().unwrap_or_else(|e| panic!("{e}"));
        store.set_keep_free(u64::MAX);
        assert!(matches!(store.ensure_room(0), Err(StoreError::Full)));
        assert!(matches!(store.blob_writer(), Err(StoreError::Full)), "no new blob below the reserve");
        // In 64 KiB pieces, as the sealer writes.
        let err = (0..32).find_map(|_| w.write_all(&[0u8; CHUNK]).err()).map(|e| e.kind());
        assert_eq!(err, Some(io::ErrorKind::StorageFull));
        store.set_keep_free(0);

        let id = crypto::unhex::<16>(&big.id).unwrap_or_default();
        let in_packs = || {
            let packs: Vec<u8> = std::fs::read_dir(folder.join("packs"))
                .into_iter()
                .flatten()
                .flatten()
                .flat_map(|e| std::fs::read(e.path()).unwrap_or_default())
                .collect();
            packs.windows(16).any(|w| w == b"PUNCH-ME-OUT-123")
        };
        assert!(in_packs());
        // An upload abandoned half-way leaves nothing readable in the pack.
        let mut w = store.blob_writer().unwrap_or_else(|e| panic!("{e}"));
        w.write_all(&[b'Q'; 2 * CHUNK]).unwrap_or_else(|e| panic!("{e}"));
        drop(w);
        let packs_hold_q = std::fs::read_dir(folder.join("packs"))
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| std::fs::read(e.path()).unwrap_or_default().windows(64).any(|x| x == [b'Q'; 64]));
        assert!(!packs_hold_q, "an unfinished writer's ranges are punched out");
        store.discard_blob(&id).unwrap_or_else(|e| panic!("{e}"));
        assert!(store.read_blob(&big, &mut Vec::new()).is_err(), "discard removes the blob");
        assert!(!in_packs(), "its ranges are punched out");
    }

    #[test]
    fn incremental_exports_miss_nothing_committed_while_they_run() {
        let (_d, store) = open();
        let writers: Vec<_> = (0..4)
            .map(|_| {
                let store = store.clone();
                std::thread::spawn(move || {
                    for _ in 0..150 {
                        let sub = submission(&store, 0, SubmissionKind::Tip);
                        store.open_report(sub).unwrap_or_else(|e| panic!("{e}"));
                    }
                })
            })
            .collect();
        // An investigator exporting with --since CURSOR again and again.
        let mut seen = std::collections::BTreeSet::new();
        let mut cursor = 0;
        let pull = |seen: &mut std::collections::BTreeSet<u64>, cursor: &mut u64| {
            let next = store.last_seq().unwrap_or(0).max(*cursor);
            for r in store.changed_between(*cursor, next) {
                if let Change::Report(r) = r.unwrap_or_else(|e| panic!("{e}")) {
                    seen.extend(r.submissions.iter().map(|s| s.seq));
                }
            }
            *cursor = next;
        };
        while !writers.iter().all(|w| w.is_finished()) {
            pull(&mut seen, &mut cursor);
        }
        for w in writers {
            w.join().unwrap_or_else(|_| panic!("writer failed"));
        }
        pull(&mut seen, &mut cursor);
        let logged: std::collections::BTreeSet<u64> =
            store.log.iter().keys().map(|k| Store::log_seq(&k.unwrap_or_default()).unwrap_or(0)).collect();
        assert_eq!(logged.len(), 600);
        assert_eq!(seen, logged, "every submission reaches some incremental export");
    }

    #[test]
    fn reports_are_found_by_lookup_key_and_exported_since_a_cursor() {
        let (_d, store) = open();
        let r1 = Receipt::generate(&mut rand::rand_core::UnwrapErr(rand::rngs::SysRng));
        let k1 = crypto::lookup_key(store.secret(), &r1);
        let s1 = submission(&store, store.next_seq().unwrap_or(0), SubmissionKind::Tip);
        let report = Report::new(crypto::hex(&crypto::random_id()), crypto::hex(&k1.0), "age1x".into(), s1.clone());
        store.insert_report(&report, &k1).unwrap_or_else(|e| panic!("{e}"));
        assert!(store.insert_report(&report, &k1).is_err(), "a lookup key is never overwritten");
        assert_eq!(store.find(&k1).ok().flatten().map(|r| r.id), Some(report.id.clone()));
        let other = crypto::lookup_key(&DeploymentSecret::generate(), &r1);
        assert!(store.find(&other).ok().flatten().is_none());
        assert_eq!(store.last_seq().ok(), Some(s1.seq));
        let (all, cursor) = store.changed_since(0).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((all.len(), cursor), (1, s1.seq));
        assert!(store.changed_since(cursor).map(|(r, _)| r.is_empty()).unwrap_or(false));
        let s2 = submission(&store, 0, SubmissionKind::FollowUp);
        store.append_submission(&report.id, s2.clone(), MAX_FOLLOWUPS).unwrap_or_else(|e| panic!("{e}"));
        let (changed, c2) = store.changed_since(cursor).unwrap_or_else(|e| panic!("{e}"));
        assert!(c2 > cursor, "the store numbers the follow-up after everything before it");
        let s2 = Submission { seq: c2, ..s2 };
        assert_eq!(changed[0].submissions, vec![s2.clone()], "only the submission after the cursor");

        // Each report comes once, at its first log entry in the range, with
        // only its submissions in the range; a cursor fixed earlier leaves
        // later entries to the next export. The log is now a a, then b a c b.
        let changed = |since: u64, cursor: u64| -> Vec<(String, Vec<u64>)> {
            store
                .changed_between(since, cursor)
                .map(|c| match c {
                    Ok(Change::Report(r)) => Ok((r.id, r.submissions.iter().map(|s| s.seq).collect())),
                    Ok(Change::Deleted { id, .. }) => Ok((id, Vec::new())),
                    Err(e) => Err(e),
                })
                .collect::<Result<_, _>>()
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let new_report = || {
            let k = crypto::lookup_key(
                store.secret(),
                &Receipt::generate(&mut rand::rand_core::UnwrapErr(rand::rngs::SysRng)),
            );
            let s = submission(&store, store.next_seq().unwrap_or(0), SubmissionKind::Tip);
            let r = Report::new(crypto::hex(&crypto::random_id()), crypto::hex(&k.0), "age1x".into(), s.clone());
            store.insert_report(&r, &k).unwrap_or_else(|e| panic!("{e}"));
            (r.id, s.seq)
        };
        let follow_up = |id: &str| {
            store
                .append_submission(id, submission(&store, 0, SubmissionKind::FollowUp), MAX_FOLLOWUPS)
                .unwrap_or_else(|e| panic!("{e}"));
            store.last_seq().unwrap_or(0)
        };
        let a = report.id.clone();
        let (b, b1) = new_report();
        let a3 = follow_up(&a);
        let (c, c1) = new_report();
        let b2 = follow_up(&b);
        assert_eq!(store.last_seq().ok(), Some(b2));
        let (s1, s2) = (s1.seq, s2.seq);
        assert_eq!(
            changed(0, b2),
            vec![(a.clone(), vec![s1, s2, a3]), (b.clone(), vec![b1, b2]), (c.clone(), vec![c1])]
        );
        assert_eq!(changed(s2, b2), vec![(b.clone(), vec![b1, b2]), (a.clone(), vec![a3]), (c.clone(), vec![c1])]);
        assert_eq!(changed(b1, b2), vec![(a.clone(), vec![a3]), (c.clone(), vec![c1]), (b.clone(), vec![b2])]);
        assert_eq!(changed(0, c1), vec![(a.clone(), vec![s1, s2, a3]), (b.clone(), vec![b1]), (c, vec![c1])]);
        assert_eq!(changed(c1, b2), vec![(b, vec![b2])]);
        assert!(changed(b2, b2).is_empty() && changed(b2 + 5, b2).is_empty());
        store.durable_blocking().unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn retention_purges_reports_closed_long_enough_and_their_receipts() {
        let (_d, store) = open();
        let mut keys = Vec::new();
        for closed_on in ["2025-01-01", "2026-11-20"] {
            let r = Receipt::generate(&mut rand::rand_core::UnwrapErr(rand::rngs::SysRng));
            let k = crypto::lookup_key(store.secret(), &r);
            let s = submission(&store, store.next_seq().unwrap_or(0), SubmissionKind::Tip);
            let mut report = Report::new(crypto::hex(&crypto::random_id()), crypto::hex(&k.0), "age1x".into(), s);
            report.status = crate::model::Status::Closed;
            report.timeline.push(crate::model::Event {
                day: closed_on.into(),
                status: crate::model::Status::Closed,
                note: None,
                signed: Default::default(),
            });
            store.insert_report(&report, &k).unwrap_or_else(|e| panic!("{e}"));
            keys.push((k, report));
        }
        assert_eq!(store.purge_closed("2025-11-26", 0, "2026-11-29").unwrap_or(99), 1);
        assert!(store.find(&keys[0].0).ok().flatten().is_none(), "purged receipt is unknown");
        assert!(store.read_blob(&keys[0].1.submissions[0].manifest, &mut Vec::new()).is_err(), "blobs removed");
        assert!(store.find(&keys[1].0).ok().flatten().is_some(), "recently closed report kept");
        assert_eq!(store.changed_since(0).map(|(r, _)| r.len()).unwrap_or(0), 1);
    }

    #[test]
    fn a_lock_failure_reads_as_folder_in_use() {
        // The two-process case runs in tests/tip_line.rs; this pins the text
        // sled 0.34 uses, so an upgrade that changes it is noticed here.
        let e: StoreError = sled::Error::Io(io::Error::other("could not acquire lock on \"db\"")).into();
        assert!(matches!(e, StoreError::Locked));
        let other: StoreError = sled::Error::Io(io::Error::other("disk full")).into();
        assert!(matches!(other, StoreError::Db(_)));
    }
}
