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
use crate::lifecycle::Opening;
use crate::model::{Report, Submission};

mod actions;
mod audit_disk;
mod blobs;
mod followups;
pub mod layout;
mod log;
mod maintenance;
mod packs;
mod sealing;
#[cfg(test)]
mod test_support;
pub use actions::{Applied, ApplyError};
pub use audit_disk::audit_disk;
pub use blobs::{BlobReader, BlobWriter, CHUNK, FILES_DIR};
pub use followups::MAX_FOLLOWUPS;
pub use log::Change;
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

    /// The lookup key of `receipt`: HMAC under the deployment secret, which
    /// never leaves the store. Refused while the store holds no secret.
    pub fn lookup_key(&self, receipt: &crate::receipt::Receipt) -> Result<crypto::LookupKey, StoreError> {
        Ok(crypto::lookup_key(self.secret_for_receipts()?, receipt))
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

    /// Opens a report for its first submission under `receipt` (drawn by the
    /// caller, with `id`, from [`crate::lifecycle::draw`]): derives the
    /// lookup key and the reply recipient, and commits the record that
    /// [`Report::open`] makes. Not yet durable: call [`Store::durable`]
    /// before showing the receipt. The submission's sequence number is
    /// assigned here (see [`Store::with_next_seq`]); whatever `first.seq`
    /// held is replaced.
    pub fn open_report(
        &self,
        receipt: &crate::receipt::Receipt,
        id: [u8; 16],
        mut first: Submission,
    ) -> Result<(), StoreError> {
        let key = self.lookup_key(receipt)?;
        let reply_sealed = self.seal_reply_recipient(&crypto::reply_identity(receipt).recipient().to_string())?;
        let opening = Opening { id: crypto::hex(&id), lookup: crypto::hex(&key.0), reply_sealed };
        self.with_next_seq(|seq| {
            first.seq = seq;
            self.insert_report(&Report::open(opening, first), &key)
        })
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
mod tests;
