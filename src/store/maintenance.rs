//! `peluit check` (is every record and blob intact and consistent?) and
//! `peluit compact` (rewrite the database so that deleted data is gone).
//! Both run with the server stopped; neither decrypts anything.

use std::collections::HashSet;
use std::io::Read;
use std::path::Path;

use super::{Store, StoreError};
use crate::crypto;

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
        for entry in std::fs::read_dir(&*self.files).map_err(StoreError::from_io)? {
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
    /// segment. Returns what the new database holds.
    pub fn compact_into(&self, out: &Path) -> Result<CheckReport, StoreError> {
        if out.exists() && std::fs::read_dir(out).map(|mut d| d.next().is_some()).unwrap_or(true) {
            return Err(StoreError::Db(format!("{} must be a new, empty folder", out.display())));
        }
        self.copy_live_into(out)?;
        Store::open(out)?.check()
    }

    /// Copies every live record and referenced chunk into a new database at
    /// `out`, then closes it (every tree handle is dropped before returning,
    /// which releases sled's lock).
    fn copy_live_into(&self, out: &Path) -> Result<(), StoreError> {
        let db = sled::Config::new().path(out).cache_capacity(super::DEFAULT_CACHE).open()?;
        let meta = db.open_tree("meta")?;
        for item in self.meta.iter() {
            let (k, v) = item?;
            meta.insert(k, v)?;
        }
        // Sequences in the new database continue above every one issued here.
        let floor = self.db.generate_id()? + 1 + self.seq_floor;
        meta.insert("seq_floor", &floor.to_be_bytes()[..])?;
        for (name, tree) in [
            ("reports", &self.reports),
            ("lookup", &self.lookup),
            ("log", &self.log),
            ("nonces", &self.nonces),
            ("audit", &self.audit),
            ("followups", &self.followups),
        ] {
            let t = db.open_tree(name)?;
            for item in tree.iter() {
                let (k, v) = item?;
                t.insert(k, v)?;
            }
        }
        let blobs = db.open_tree("blobs")?;
        let files = out.join(super::FILES_DIR);
        super::blobs::prepare_dir(&files).map_err(StoreError::from_io)?;
        for r in self.all_reports() {
            for b in r?.blobs() {
                let id = crypto::unhex::<16>(&b.id).ok_or_else(|| StoreError::Corrupt("blob id".into()))?;
                for item in self.blobs.scan_prefix(id) {
                    let (k, v) = item?;
                    blobs.insert(k, v)?;
                }
                if let Some(src) = self.blob_file_if_any(&id) {
                    let dst = files.join(&b.id);
                    std::fs::copy(&src, &dst)
                        .and_then(|_| std::fs::File::open(&dst)?.sync_all())
                        .map_err(StoreError::from_io)?;
                }
            }
        }
        super::blobs::sync_dir(&files).map_err(StoreError::from_io)?;
        db.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Report, SealedBy, Submission, SubmissionKind};
    use crate::receipt::Receipt;

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
        };
        let receipt = Receipt::generate(&mut rand::rand_core::UnwrapErr(rand::rngs::SysRng));
        let key = crypto::lookup_key(store.secret(), &receipt);
        let r = Report::new(crypto::hex(&crypto::random_id()), crypto::hex(&key.0), "age1x".into(), sub);
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
        assert!(old.join(crate::store::FILES_DIR).join(&r1.submissions[0].attachments[0].id).exists());
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
        let rep = store.compact_into(&new).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((rep.reports, rep.blobs, rep.orphan_chunks, rep.problems.len()), (1, 2, 0, 0));
        assert!(store.compact_into(&new).is_err(), "never into a used folder");
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
