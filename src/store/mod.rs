//! The one module that touches sled. Holds only ciphertext and the non-secret
//! [`Report`] records; never sees plaintext.
//!
//! Trees: `reports` (id → record JSON), `lookup` (HMAC of receipt → id),
//! `blobs` (blob id ‖ chunk number → ciphertext chunk), `log` (sequence →
//! report id, for incremental export), `meta` (deployment id and secret,
//! current recipients, audit head), `nonces` (applied action nonces),
//! `audit` (the hash-chained log of applied actions).
//! A blob's chunks are written first and are invisible until a record that
//! names them commits in one transaction; a crash in between leaves only
//! unreferenced ciphertext, which `check` reports and `compact` drops.

use std::io::{self, Write};
use std::path::Path;

use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};

use crate::crypto::{self, DeploymentSecret, LookupKey};
use crate::flusher::Flusher;
use crate::model::{BlobRef, Report, Submission};

mod actions;
mod maintenance;
pub use actions::{Applied, ApplyError};
pub use maintenance::CheckReport;

/// Ciphertext chunk size in the `blobs` tree.
pub const CHUNK: usize = 64 * 1024;

/// Errors of the storage boundary.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process (usually the running server) holds the database.
    #[error("the data folder is in use by another peluit process (sled allows one); stop the server first or use `peluit pull`")]
    Locked,
    /// The disk is full or the database failed.
    #[error("storage failed: {0}")]
    Db(String),
    /// A record could not be decoded: the database is damaged.
    #[error("damaged record: {0}")]
    Corrupt(String),
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
            other => StoreError::Db(other.to_string()),
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
    /// blob id ‖ chunk number (u32 BE) → ciphertext.
    blobs: sled::Tree,
    /// sequence (u64 BE) → report id.
    log: sled::Tree,
    /// deployment id, secret, recipients, audit head.
    meta: sled::Tree,
    /// applied action nonce → signing time (u64 BE).
    nonces: sled::Tree,
    /// position (u64 BE) → audit entry JSON.
    audit: sled::Tree,
    /// Group commit.
    flusher: Flusher,
    /// HMAC key for lookup keys.
    secret: DeploymentSecret,
    /// Public random id of this deployment (hex), named in signed actions.
    deployment_id: String,
    /// Added to sled's id counter (see [`Store::next_seq`]).
    seq_floor: u64,
}

impl Store {
    /// Opens (or creates) the database in `dir`; creates the deployment id and
    /// secret on first use and makes them durable before returning.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let db = sled::Config::new().path(dir).cache_capacity(32 * 1024 * 1024).flush_every_ms(Some(1000)).open()?;
        let meta = db.open_tree("meta")?;
        let secret = match meta.get("secret")? {
            Some(v) => {
                DeploymentSecret::from_bytes(&v).ok_or_else(|| StoreError::Corrupt("deployment secret".into()))?
            }
            None => {
                let s = DeploymentSecret::generate();
                meta.insert("secret", &s.as_bytes()[..])?;
                meta.insert("deployment_id", crypto::hex(&crypto::random_id()).as_bytes())?;
                db.flush()?;
                s
            }
        };
        let deployment_id = meta
            .get("deployment_id")?
            .and_then(|v| String::from_utf8(v.to_vec()).ok())
            .ok_or_else(|| StoreError::Corrupt("deployment id".into()))?;
        let seq_floor = meta
            .get("seq_floor")?
            .and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok())
            .map(u64::from_be_bytes)
            .unwrap_or(0);
        let flusher = Flusher::start(db.clone()).map_err(|e| StoreError::Db(e.to_string()))?;
        Ok(Store {
            seq_floor,
            reports: db.open_tree("reports")?,
            lookup: db.open_tree("lookup")?,
            blobs: db.open_tree("blobs")?,
            log: db.open_tree("log")?,
            nonces: db.open_tree("nonces")?,
            audit: db.open_tree("audit")?,
            meta,
            db,
            flusher,
            secret,
            deployment_id,
        })
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

    /// Starts a new blob; write ciphertext into it, then [`BlobWriter::finish`].
    pub fn blob_writer(&self) -> BlobWriter {
        BlobWriter {
            tree: self.blobs.clone(),
            id: crypto::random_id(),
            buf: Vec::with_capacity(CHUNK),
            next: 0,
            len: 0,
        }
    }

    /// Removes a blob's chunks (an abandoned submission).
    pub fn discard_blob(&self, id: &[u8; 16]) -> Result<(), StoreError> {
        for key in self.blobs.scan_prefix(id).keys() {
            self.blobs.remove(key?)?;
        }
        Ok(())
    }

    /// Commits a new report and its lookup key in one transaction. Not yet
    /// durable: call [`Store::durable`] before showing the receipt.
    pub fn insert_report(&self, report: &Report, key: &LookupKey) -> Result<(), StoreError> {
        let id = crypto::unhex::<16>(&report.id).ok_or_else(|| StoreError::Corrupt("report id".into()))?;
        let json = serde_json::to_vec(report).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let seqs: Vec<u64> = report.submissions.iter().map(|s| s.seq).collect();
        (&self.reports, &self.lookup, &self.log)
            .transaction(|(reports, lookup, log)| {
                if lookup.get(key.0)?.is_some() {
                    // 2^-100 per pair; refuse rather than overwrite.
                    return Err(ConflictableTransactionError::Abort(StoreError::Db("lookup key collision".into())));
                }
                lookup.insert(&key.0[..], &id[..])?;
                reports.insert(&id[..], json.as_slice())?;
                for s in &seqs {
                    log.insert(&s.to_be_bytes()[..], &id[..])?;
                }
                Ok(())
            })
            .map_err(tx_error)
    }

    /// Opens a report for its first submission under a fresh receipt: derives
    /// the lookup key and the reply recipient, and commits the record. Not yet
    /// durable: call [`Store::durable`] before showing the receipt.
    pub fn open_report(&self, first: Submission) -> Result<crate::receipt::Receipt, StoreError> {
        let receipt = crypto::new_receipt();
        let key = crypto::lookup_key(&self.secret, &receipt);
        let reply = crypto::reply_identity(&receipt).recipient().to_string();
        let report = Report::new(crypto::hex(&crypto::random_id()), crypto::hex(&key.0), reply, first);
        self.insert_report(&report, &key)?;
        Ok(receipt)
    }

    /// Appends a submission to an existing report (a follow-up).
    pub fn append_submission(&self, report_id: &str, sub: Submission) -> Result<(), StoreError> {
        let id = crypto::unhex::<16>(report_id).ok_or_else(|| StoreError::Corrupt("report id".into()))?;
        let seq = sub.seq;
        (&self.reports, &self.log)
            .transaction(|(reports, log)| {
                let raw = reports.get(id)?.ok_or_else(|| {
                    ConflictableTransactionError::Abort(StoreError::Corrupt("report vanished".into()))
                })?;
                let mut report: Report = serde_json::from_slice(&raw)
                    .map_err(|e| ConflictableTransactionError::Abort(StoreError::Corrupt(e.to_string())))?;
                report.submissions.push(sub.clone());
                let json = serde_json::to_vec(&report)
                    .map_err(|e| ConflictableTransactionError::Abort(StoreError::Corrupt(e.to_string())))?;
                reports.insert(&id[..], json)?;
                log.insert(&seq.to_be_bytes()[..], &id[..])?;
                Ok(())
            })
            .map_err(tx_error)
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
            Some(raw) => serde_json::from_slice(&raw).map(Some).map_err(|e| StoreError::Corrupt(e.to_string())),
            None => Ok(None),
        }
    }

    /// The highest sequence in the export log, 0 when it is empty. An export
    /// fixes its cursor with this before it scans, so that tips arriving
    /// during the export go into the next one.
    pub fn last_seq(&self) -> Result<u64, StoreError> {
        match self.log.last()? {
            Some((k, _)) => Self::log_seq(&k),
            None => Ok(0),
        }
    }

    /// The reports with a submission in `(since, cursor]`, each once, in log
    /// order, each holding only its submissions in that range.
    ///
    /// Constant memory: no set of ids already seen. A report is yielded at
    /// its first log entry in the range, the one of the smallest of its
    /// submissions in the range, and skipped at the others.
    pub fn changed_between(&self, since: u64, cursor: u64) -> impl Iterator<Item = Result<Report, StoreError>> + '_ {
        let entries =
            (since < cursor).then(|| self.log.range(since.saturating_add(1).to_be_bytes()..=cursor.to_be_bytes()));
        entries.into_iter().flatten().filter_map(move |item| {
            item.map_err(StoreError::from).and_then(|(k, id)| self.at_first_entry(&k, &id, since, cursor)).transpose()
        })
    }

    /// The report of log entry (`key`, `id`) with only its submissions in
    /// `(since, cursor]`, if this entry is the report's first in that range.
    fn at_first_entry(&self, key: &[u8], id: &[u8], since: u64, cursor: u64) -> Result<Option<Report>, StoreError> {
        let seq = Self::log_seq(key)?;
        // A report purged while the export runs is simply absent.
        let Some(mut report) = self.report_by_raw_id(id)? else { return Ok(None) };
        report.submissions.retain(|s| since < s.seq && s.seq <= cursor);
        let mut seqs: Vec<u64> = report.submissions.iter().map(|s| s.seq).collect();
        seqs.sort_unstable();
        for s in seqs {
            if s == seq {
                return Ok(Some(report));
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

    /// Every report changed after `since`, collected, and the cursor. Only the
    /// unit tests want all of them at once; export streams `changed_between`.
    #[cfg(test)]
    pub fn changed_since(&self, since: u64) -> Result<(Vec<Report>, u64), StoreError> {
        let cursor = self.last_seq()?.max(since);
        let reports = self.changed_between(since, cursor).collect::<Result<_, _>>()?;
        Ok((reports, cursor))
    }

    /// Every report record (for `check`).
    pub fn all_reports(&self) -> impl Iterator<Item = Result<Report, StoreError>> + '_ {
        self.reports.iter().values().map(|v| {
            let v = v?;
            serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt(e.to_string()))
        })
    }

    /// A reader over a blob's ciphertext, chunk by chunk (constant memory).
    pub fn blob_reader(&self, blob: &BlobRef) -> Result<BlobReader, StoreError> {
        let id = crypto::unhex::<16>(&blob.id).ok_or_else(|| StoreError::Corrupt("blob id".into()))?;
        Ok(BlobReader { chunks: self.blobs.scan_prefix(id), current: sled::IVec::default(), pos: 0, left: blob.len })
    }

    /// Streams a blob's ciphertext into `out`; checks its length.
    pub fn read_blob(&self, blob: &BlobRef, out: &mut dyn Write) -> Result<(), StoreError> {
        let id = crypto::unhex::<16>(&blob.id).ok_or_else(|| StoreError::Corrupt("blob id".into()))?;
        let mut n = 0u64;
        for chunk in self.blobs.scan_prefix(id).values() {
            let chunk = chunk?;
            out.write_all(&chunk).map_err(|e| StoreError::Db(e.to_string()))?;
            n += chunk.len() as u64;
        }
        if n != blob.len {
            return Err(StoreError::Corrupt(format!("blob {} has {n} bytes, expected {}", blob.id, blob.len)));
        }
        Ok(())
    }
}

/// Unwraps a sled transaction error into ours.
fn tx_error(e: TransactionError<StoreError>) -> StoreError {
    match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => e.into(),
    }
}

/// Reads a blob's chunks in order; fails if the stored length differs from
/// the record's.
pub struct BlobReader {
    /// Remaining chunks.
    chunks: sled::Iter,
    /// The chunk being read.
    current: sled::IVec,
    /// Position in `current`.
    pos: usize,
    /// Bytes the record says are still to come.
    left: u64,
}

impl io::Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.current.len() {
            match self.chunks.next() {
                Some(item) => {
                    self.current = item.map_err(io::Error::other)?.1;
                    self.pos = 0;
                }
                None if self.left == 0 => return Ok(0),
                None => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "blob is shorter than its record")),
            }
        }
        let n = buf.len().min(self.current.len() - self.pos);
        if n as u64 > self.left {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "blob is longer than its record"));
        }
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        self.left -= n as u64;
        Ok(n)
    }
}

/// Writes one blob's ciphertext into chunks. Invisible until a record names it.
pub struct BlobWriter {
    /// The `blobs` tree.
    tree: sled::Tree,
    /// This blob's id.
    id: [u8; 16],
    /// Bytes not yet stored (less than one chunk).
    buf: Vec<u8>,
    /// Next chunk number.
    next: u32,
    /// Bytes accepted so far.
    len: u64,
}

impl BlobWriter {
    /// This blob's id (to discard it if the submission fails).
    pub fn id(&self) -> [u8; 16] {
        self.id
    }

    /// Stores the last chunk and returns the reference.
    pub fn finish(mut self) -> io::Result<BlobRef> {
        self.store_chunk()?;
        Ok(BlobRef { id: crypto::hex(&self.id), len: self.len })
    }

    /// Moves the buffer into the tree as the next chunk.
    fn store_chunk(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let mut key = [0u8; 20];
        key[..16].copy_from_slice(&self.id);
        key[16..].copy_from_slice(&self.next.to_be_bytes());
        let value = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.tree.insert(key, value).map_err(io::Error::other)?;
        self.next += 1;
        Ok(())
    }
}

impl Write for BlobWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(CHUNK - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        self.len += n as u64;
        if self.buf.len() == CHUNK {
            self.store_chunk()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{SealedBy, SubmissionKind};
    use crate::receipt::Receipt;
    use std::io::Read;

    fn open() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = Store::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        (dir, store)
    }

    fn blob(store: &Store, bytes: &[u8]) -> BlobRef {
        let mut w = store.blob_writer();
        w.write_all(bytes).unwrap_or_else(|e| panic!("{e}"));
        w.finish().unwrap_or_else(|e| panic!("{e}"))
    }

    fn submission(store: &Store, seq: u64, kind: SubmissionKind) -> Submission {
        Submission {
            seq,
            day: "2026-11-26".into(),
            kind,
            sealed_by: SealedBy::Server,
            manifest: blob(store, b"m"),
            attachments: vec![blob(store, &vec![9u8; 3 * CHUNK + 5])],
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
        let s2 = submission(&store, store.next_seq().unwrap_or(0), SubmissionKind::FollowUp);
        store.append_submission(&report.id, s2.clone()).unwrap_or_else(|e| panic!("{e}"));
        let (changed, c2) = store.changed_since(cursor).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c2, s2.seq);
        assert_eq!(changed[0].submissions, vec![s2.clone()], "only the submission after the cursor");

        // Each report comes once, at its first log entry in the range, with
        // only its submissions in the range; a cursor fixed earlier leaves
        // later entries to the next export. The log is now a a, then b a c b.
        let changed = |since: u64, cursor: u64| -> Vec<(String, Vec<u64>)> {
            store
                .changed_between(since, cursor)
                .map(|r| r.map(|r| (r.id, r.submissions.iter().map(|s| s.seq).collect())))
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
            let s = submission(&store, store.next_seq().unwrap_or(0), SubmissionKind::FollowUp);
            store.append_submission(id, s.clone()).unwrap_or_else(|e| panic!("{e}"));
            s.seq
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
            });
            store.insert_report(&report, &k).unwrap_or_else(|e| panic!("{e}"));
            keys.push((k, report));
        }
        assert_eq!(store.purge_closed("2025-11-26", 0).unwrap_or(99), 1);
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
