//! The store on a private temporary folder: lookups, the export log under concurrent writers, retention, and refusals.

use super::*;
use crate::model::{BlobRef, SealedBy, SubmissionKind};
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
                    let (receipt, id) = crate::lifecycle::draw(&mut rand::rand_core::UnwrapErr(rand::rngs::SysRng));
                    store.open_report(&receipt, id, sub).unwrap_or_else(|e| panic!("{e}"));
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
    let r1 = crypto::new_receipt();
    let s1 = submission(&store, store.next_seq().unwrap_or(0), SubmissionKind::Tip);
    let (k1, report) = store.report_for_tests_under(&r1, s1.clone());
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
        let s = submission(&store, store.next_seq().unwrap_or(0), SubmissionKind::Tip);
        let (k, r) = store.report_for_tests(s.clone());
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
    assert_eq!(changed(0, b2), vec![(a.clone(), vec![s1, s2, a3]), (b.clone(), vec![b1, b2]), (c.clone(), vec![c1])]);
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
        let s = submission(&store, store.next_seq().unwrap_or(0), SubmissionKind::Tip);
        let (k, mut report) = store.report_for_tests(s);
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
