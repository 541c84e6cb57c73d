//! `peluit check` (is every record and blob intact and consistent?) and
//! `peluit compact` (rewrite the database so that deleted data is gone, and
//! bring a folder of an older layout up to date). Both run with the server
//! stopped; neither decrypts anything but replies sealed at rest.

use std::collections::HashSet;
use std::io::Read;
use std::path::Path;

use super::{Store, StoreError};
use crate::crypto::at_rest::AtRestKey;
use crate::crypto::{self, DeploymentSecret};

/// What `check` found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// Report records read.
    pub reports: usize,
    /// Blobs referenced and read in full.
    pub blobs: usize,
    /// Ciphertext bytes read.
    pub bytes: u64,
    /// Chunks and blob files that no record references (left by a crash).
    pub orphan_chunks: usize,
    /// Everything wrong, one line each.
    pub problems: Vec<String>,
}

impl Store {
    /// Reads every record and every blob it names; checks lengths, age
    /// headers, lookup keys and log entries; counts unreferenced chunks.
    pub fn check(&self) -> Result<CheckReport, StoreError> {
        let mut rep = CheckReport::default();
        let mut referenced = HashSet::new();
        for r in self.all_reports() {
            let r = match r {
                Ok(r) => r,
                Err(e) => {
                    rep.problems.push(format!("unreadable record: {e}"));
                    continue;
                }
            };
            rep.reports += 1;
            match crypto::unhex::<32>(&r.lookup) {
                Some(k) if self.lookup.get(k)?.as_deref() == crypto::unhex::<16>(&r.id).as_ref().map(|i| &i[..]) => {}
                _ => rep.problems.push(format!("report {}: its receipt does not find it", r.id)),
            }
            for s in &r.submissions {
                if self.log.get(s.seq.to_be_bytes())?.is_none() {
                    rep.problems.push(format!("report {}: submission {} missing from the export log", r.id, s.seq));
                }
            }
            for b in r.blobs() {
                referenced.insert(b.id.clone());
                // Without the secret a reply sealed at rest can only be found, not read.
                if self.at_rest.is_none()
                    && crypto::unhex::<16>(&b.id).is_some_and(|id| self.wrapped.contains_key(id).unwrap_or(false))
                {
                    rep.blobs += 1;
                    continue;
                }
                let mut head = [0u8; 21];
                let mut n = 0u64;
                let result = self.blob_reader(b).and_then(|mut rd| {
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        let k = rd.read(&mut buf).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                        if k == 0 {
                            break Ok(());
                        }
                        let start = usize::try_from(n).unwrap_or(usize::MAX);
                        if start < head.len() {
                            let take = (head.len() - start).min(k);
                            head[start..start + take].copy_from_slice(&buf[..take]);
                        }
                        n += k as u64;
                    }
                });
                match result {
                    Ok(()) if &head == b"age-encryption.org/v1" => {
                        rep.blobs += 1;
                        rep.bytes += n;
                    }
                    Ok(()) => rep.problems.push(format!("report {}: blob {} is not an age file", r.id, b.id)),
                    Err(e) => rep.problems.push(format!("report {}: blob {}: {e}", r.id, b.id)),
                }
            }
        }
        for k in self.blobs.iter().keys() {
            let k = k?;
            if !referenced.contains(&crypto::hex(&k[..16.min(k.len())])) {
                rep.orphan_chunks += 1;
            }
        }
        for k in self.wrapped.iter().keys().chain(self.extents.iter().keys()) {
            if !referenced.contains(&crypto::hex(&k?)) {
                rep.orphan_chunks += 1;
            }
        }
        for entry in std::fs::read_dir(self.dir.join(super::FILES_DIR)).into_iter().flatten() {
            let name = entry.map_err(StoreError::from_io)?.file_name();
            if !referenced.contains(name.to_string_lossy().as_ref()) {
                rep.orphan_chunks += 1;
            }
        }
        for item in self.lookup.iter() {
            let (_, id) = item?;
            if self.reports.get(&id)?.is_none() {
                rep.problems.push(format!("a lookup key points to a missing report {}", crypto::hex(&id)));
            }
        }
        Ok(rep)
    }

    /// Writes a fresh database at `out` holding everything that is live here,
    /// and nothing else: no purged report, no orphan chunk, no old log
    /// segment. A folder of an older layout comes out in the current one
    /// (see [`Store::copy_live_into`]); `secret` is needed only for that, and
    /// then only when the folder does not hold it itself. Returns what the
    /// new database holds.
    pub fn compact_into(&self, out: &Path, secret: Option<&DeploymentSecret>) -> Result<CheckReport, StoreError> {
        if out.exists() && std::fs::read_dir(out).map(|mut d| d.next().is_some()).unwrap_or(true) {
            return Err(StoreError::Db(format!("{} must be a new, empty folder", out.display())));
        }
        let legacy = self.legacy_secret()?;
        let key = legacy.as_ref().or(secret).map(AtRestKey::derive);
        self.copy_live_into(out, key.as_ref())?;
        let copy = Store::open(out)?;
        let copy = match legacy.as_ref().or(secret) {
            Some(s) => copy.with_secret(s.clone())?,
            None => copy,
        };
        copy.check()
    }

    /// Copies every live record and referenced blob into a new database at
    /// `out`, then closes it (every tree handle is dropped before returning,
    /// which releases sled's lock). On the way, what an older layout kept
    /// is brought up to date: the deployment secret is left out, clear reply
    /// recipients are locked for the investigators, replies and notes are
    /// sealed to the at-rest key (`key`), blob files move into the day pack, and
    /// action nonces keep only their day.
    fn copy_live_into(&self, out: &Path, key: Option<&AtRestKey>) -> Result<(), StoreError> {
        let new = Store::open(out)?;
        new.meta.clear()?;
        for item in self.meta.iter() {
            let (k, v) = item?;
            if k.as_ref() != b"secret" {
                new.meta.insert(k, v)?;
            }
        }
        // Sequences in the new database continue above every one issued here.
        let floor = self.db.generate_id()? + 1 + self.seq_floor;
        new.meta.insert("seq_floor", &floor.to_be_bytes()[..])?;
        // A key to lock the reply recipients that an older folder kept clear.
        let recipients = self.recipients()?;
        if !recipients.is_empty() {
            new.set_recipients(&recipients)?;
        }
        for (from, to) in [(&self.lookup, &new.lookup), (&self.log, &new.log), (&self.audit, &new.audit)] {
            for item in from.iter() {
                let (k, v) = item?;
                to.insert(k, v)?;
            }
        }
        for item in self.nonces.iter() {
            let (k, v) = item?;
            match <[u8; 8]>::try_from(v.as_ref()) {
                Ok(secs) => new.nonces.insert(k, crate::actions::day_of(u64::from_be_bytes(secs)).as_bytes())?,
                Err(_) => new.nonces.insert(k, v)?,
            };
        }
        for r in self.all_reports() {
            let mut r = r?;
            if !r.reply_recipient.is_empty() {
                r.reply_sealed = new.seal_reply_recipient(&r.reply_recipient)?;
                r.reply_recipient.clear();
            }
            let id = crypto::unhex::<16>(&r.id).ok_or_else(|| StoreError::Corrupt("report id".into()))?;
            new.reports.insert(id, serde_json::to_vec(&r).map_err(|e| StoreError::Corrupt(e.to_string()))?)?;
            let for_reporter: HashSet<&str> = r
                .replies
                .iter()
                .map(|x| x.blob.id.as_str())
                .chain(r.timeline.iter().filter_map(|e| e.note.as_ref()).map(|b| b.id.as_str()))
                .collect();
            for b in r.blobs() {
                let id = crypto::unhex::<16>(&b.id).ok_or_else(|| StoreError::Corrupt("blob id".into()))?;
                if let Some(v) = self.wrapped.get(id)? {
                    new.wrapped.insert(id, v)?;
                } else if for_reporter.contains(b.id.as_str()) {
                    let key =
                        key.ok_or_else(|| StoreError::Db("the deployment secret is needed to seal replies".into()))?;
                    let mut inner = Vec::new();
                    self.read_blob(b, &mut inner)?;
                    new.wrapped.insert(id, key.seal(&inner).map_err(|e| StoreError::Db(e.to_string()))?)?;
                } else {
                    let mut w = new.writer_for(id)?;
                    std::io::copy(&mut self.blob_reader(b)?, &mut w).map_err(StoreError::from_io)?;
                    w.finish().map_err(StoreError::from_io)?;
                }
            }
        }
        new.db.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Report, SealedBy, Submission, SubmissionKind};

    fn add(store: &Store, marker: &[u8]) -> (crypto::LookupKey, Report) {
        let blob = |bytes: &[u8]| {
            store.put_blob(&[&b"age-encryption.org/v1\n"[..], bytes].concat()).unwrap_or_else(|e| panic!("{e}"))
        };
        let sub = Submission {
            seq: store.next_seq().unwrap_or(0),
            day: "2026-11-26".into(),
            kind: SubmissionKind::Tip,
            sealed_by: SealedBy::Server,
            manifest: blob(b"m"),
            attachments: vec![blob(marker)],
            tags: Vec::new(),
        };
        let (key, r) = store.report_for_tests(sub);
        store.insert_report(&r, &key).unwrap_or_else(|e| panic!("{e}"));
        (key, r)
    }

    #[test]
    fn check_finds_damage_and_compact_drops_deleted_data() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let old = dir.path().join("old");
        let store = Store::open(&old).unwrap_or_else(|e| panic!("{e}"));
        // One attachment large enough to be a file, one small enough for sled.
        let mut big = b"KEEP-MARKER-1".repeat(20_000);
        big.extend_from_slice(b"KEEP-MARKER-1");
        let (k1, r1) = add(&store, &big);
        let (_, r2) = add(&store, &b"GONE-MARKER-2".repeat(20_000));
        let clean = store.check().unwrap_or_default();
        assert_eq!((clean.reports, clean.blobs, clean.problems.len()), (2, 4, 0));
        store.purge(&r2, "2026-11-29").unwrap_or_else(|e| panic!("{e}"));
        store.durable_blocking().unwrap_or_else(|e| panic!("{e}"));
        // Damage: a blob of the kept report loses its chunks.
        let (_, r3) = add(&store, b"x");
        let id = crypto::unhex::<16>(&r3.submissions[0].attachments[0].id).unwrap_or_default();
        store.discard_blob(&id).unwrap_or_else(|e| panic!("{e}"));
        let damaged = store.check().unwrap_or_default();
        assert_eq!(damaged.problems.len(), 1, "{:?}", damaged.problems);
        store.purge(&r3, "2026-11-29").unwrap_or_else(|e| panic!("{e}"));

        let new = dir.path().join("new");
        let seq_before = store.next_seq().unwrap_or(0);
        let rep = store.compact_into(&new, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((rep.reports, rep.blobs, rep.orphan_chunks, rep.problems.len()), (1, 2, 0, 0));
        assert!(store.compact_into(&new, None).is_err(), "never into a used folder");
        drop(store);
        let compacted = Store::open(&new).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(compacted.find(&k1).ok().flatten().map(|r| r.id), Some(r1.id));
        assert!(compacted.next_seq().unwrap_or(0) > seq_before);
        drop(compacted);
        let on_disk = |d: &Path, needle: &[u8]| {
            walk(d)
                .iter()
                .any(|p| std::fs::read(p).map(|b| b.windows(needle.len()).any(|w| w == needle)).unwrap_or(false))
        };
        assert!(on_disk(&new, b"KEEP-MARKER-1"));
        assert!(!on_disk(&new, b"GONE-MARKER-2"), "the purged report's data is gone");
    }

    fn walk(d: &Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
        out
    }
}
