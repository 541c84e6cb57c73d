//! Export and decrypt of a few hundred reports through the real binary: the
//! bundle holds each report once, its entry right before its blobs; every case
//! folder is complete; a second decrypt skips everything; `--since` brings
//! only what came after the cursor.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::io::Read;
use std::path::Path;

use common::{ok, Env};
use peluit::crypto::{self, Pad, Recipients};
use peluit::model::{AttachmentInfo, Manifest, SealedBy, Submission, SubmissionKind, MANIFEST_FORMAT};
use peluit::store::Store;

/// Reports in the test: enough to cross several decrypt batches.
const REPORTS: usize = 300;

/// Seals `plain` into a new blob.
fn blob(store: &Store, r: &Recipients, plain: &[u8], pad: Pad) -> peluit::model::BlobRef {
    store.put_blob(&crypto::seal_bytes(r, plain, pad).unwrap()).unwrap()
}

/// A sealed submission whose text is `text`, with `files` attached.
fn submission(store: &Store, r: &Recipients, kind: SubmissionKind, text: &str, files: &[(&str, &[u8])]) -> Submission {
    let mut m = Manifest::default();
    m.format = MANIFEST_FORMAT.into();
    m.text = text.into();
    let mut attachments = Vec::new();
    for (name, bytes) in files {
        let mut info = AttachmentInfo::default();
        info.name = (*name).into();
        info.size = bytes.len() as u64;
        m.attachments.push(info);
        attachments.push(blob(store, r, bytes, Pad::Zeros));
    }
    let manifest = blob(store, r, &serde_json::to_vec(&m).unwrap(), Pad::Spaces);
    Submission {
        seq: store.next_seq().unwrap(),
        day: "2026-11-26".into(),
        kind,
        sealed_by: SealedBy::Server,
        manifest,
        attachments,
        tags: Vec::new(),
    }
}

/// Opens the data folder as the server would: with its secret and recipients.
fn open(env: &Env, r: &Recipients) -> Store {
    let store = Store::open(&env.data).unwrap();
    let empty = store.is_empty().unwrap();
    let secret = peluit::keys::load_or_create_secret(&env.keys.join(peluit::keys::SECRET_FILE), empty).unwrap();
    let store = store.with_secret(secret).unwrap();
    store.set_recipients(&r.to_strings()).unwrap();
    // The key that signs bundles, made as the server makes it at start.
    peluit::server_key::load_or_create(&env.keys.join(peluit::server_key::SERVER_KEY_FILE)).unwrap();
    store
}

/// Opens a report with one tip; returns its id.
fn tip(store: &Store, r: &Recipients, i: usize) -> String {
    let files: Vec<(&str, &[u8])> = if i.is_multiple_of(10) { vec![("../bukti.txt", b"bukti")] } else { Vec::new() };
    let (receipt, id) = peluit::lifecycle::draw(&mut rand::rand_core::UnwrapErr(rand::rngs::SysRng));
    store.open_report(&receipt, id, submission(store, r, SubmissionKind::Tip, &format!("tip {i}"), &files)).unwrap();
    store.find(&store.lookup_key(&receipt).unwrap()).unwrap().unwrap().id
}

/// Adds a follow-up to report `id`.
fn follow_up(store: &Store, r: &Recipients, id: &str, text: &str) {
    store
        .append_submission(id, submission(store, r, SubmissionKind::FollowUp, text, &[]), peluit::store::MAX_FOLLOWUPS)
        .unwrap();
}

/// Runs `peluit export`; returns the printed cursor.
fn export(env: &Env, bundle: &Path, since: &str) -> String {
    let out = ok(&env.run(&[
        "export",
        "--data",
        env.data.to_str().unwrap(),
        "--out",
        bundle.to_str().unwrap(),
        "--since",
        since,
    ]));
    out.split("--since ").nth(1).unwrap().trim().to_string()
}

/// Runs `peluit decrypt`; returns what it printed.
fn decrypt(env: &Env, bundle: &Path, cases: &Path) -> String {
    ok(&common::decrypt(bundle, &env.identity, cases))
}

/// The ids in `last-run.json`.
fn last_run(cases: &Path) -> Vec<String> {
    serde_json::from_slice(&fs::read(cases.join("last-run.json")).unwrap()).unwrap()
}

/// Checks the tar's order: index, audit log, then per report its entry and
/// right after it exactly the blobs it names. Returns the report ids.
fn report_order(bundle: &Path) -> Vec<String> {
    let mut archive = tar::Archive::new(fs::File::open(bundle).unwrap());
    let mut paths = Vec::new();
    let mut expected: Vec<String> = Vec::new();
    let mut ids = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        paths.push(path.clone());
        if let Some(id) = path.strip_prefix("reports/").and_then(|p| p.strip_suffix(".json")) {
            assert!(expected.is_empty(), "report {id} starts before the blobs {expected:?}");
            let mut raw = Vec::new();
            entry.read_to_end(&mut raw).unwrap();
            let r: peluit::export::IndexReport = serde_json::from_slice(&raw).unwrap();
            for s in &r.submissions {
                expected.push(s.manifest.clone());
                expected.extend(s.attachments.iter().cloned());
            }
            expected.reverse();
            ids.push(id.to_string());
        } else if path.starts_with("blobs/") {
            assert_eq!(Some(path), expected.pop(), "a blob out of its report's order");
        }
    }
    assert!(expected.is_empty(), "blobs missing: {expected:?}");
    assert_eq!(&paths[..2], ["index.json", "audit.jsonl"]);
    ids
}

#[test]
fn many_reports_export_and_decrypt_one_at_a_time() {
    let env = Env::new();
    let r = peluit::keys::load_recipients(&env.keys).unwrap();
    let store = open(&env, &r);
    let ids: Vec<String> = (0..REPORTS).map(|i| tip(&store, &r, i)).collect();
    // Follow-ups after every tip: such a report still comes once, with both.
    for id in ids.iter().step_by(7) {
        follow_up(&store, &r, id, "follow-up one");
    }
    store.durable_blocking().unwrap();
    drop(store);

    let b1 = env.path("b1.tar");
    let cursor = export(&env, &b1, "0");
    let index = peluit::decrypt::read_bundle_index(fs::File::open(&b1).unwrap()).unwrap();
    assert_eq!((index.format.as_str(), index.cursor.to_string()), (peluit::export::INDEX_FORMAT, cursor.clone()));
    assert_eq!(report_order(&b1), ids, "each report once, in log order");

    let cases = env.path("cases");
    let said = decrypt(&env, &b1, &cases);
    let followed = REPORTS.div_ceil(7);
    assert!(
        said.starts_with(&format!("{REPORTS} case(s), {} new submission(s), 30 file(s)", REPORTS + followed)),
        "{said}"
    );
    for (i, id) in ids.iter().enumerate() {
        let dir = cases.join(id);
        let case: peluit::export::IndexReport =
            serde_json::from_slice(&fs::read(dir.join("case.json")).unwrap()).unwrap();
        assert_eq!(case.id, *id);
        let subs: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != "case.json" && n != peluit::decrypt::CONVERSATION_FILE)
            .collect();
        assert_eq!(subs.len(), if i.is_multiple_of(7) { 2 } else { 1 }, "{id}: {subs:?}");
        assert!(subs.iter().all(|n| !n.ends_with(".partial") && !n.ends_with(".tmp")), "{subs:?}");
        let tip_dir = dir.join(subs.iter().find(|n| n.ends_with("-tip")).unwrap());
        assert!(fs::read_to_string(tip_dir.join("report.md")).unwrap().contains(&format!("tip {i}\n")));
        if i.is_multiple_of(10) {
            assert_eq!(fs::read(tip_dir.join("files").join("bukti.txt")).unwrap(), b"bukti");
        }
    }
    let all: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(last_run(&cases).into_iter().collect::<BTreeSet<_>>(), all);
    assert_eq!(last_run(&cases).len(), REPORTS, "each id once");

    // The same bundle again: nothing new, everything skipped.
    let said = decrypt(&env, &b1, &cases);
    let skipped = format!("({} already there, skipped)", REPORTS + followed);
    assert!(said.contains("0 new submission(s), 0 file(s)") && said.contains(&skipped), "{said}");
    assert!(last_run(&cases).is_empty());

    // New follow-ups after the cursor: the next bundle holds only them.
    let store = open(&env, &r);
    let later: Vec<String> = (3..REPORTS).step_by(50).map(|i| ids[i].clone()).collect();
    for id in &later {
        follow_up(&store, &r, id, "follow-up two");
    }
    store.durable_blocking().unwrap();
    drop(store);
    let b2 = env.path("b2.tar");
    export(&env, &b2, &cursor);
    let mut entries = Vec::new();
    peluit::decrypt::read_bundle_reports(fs::File::open(&b2).unwrap(), |r| entries.push(r)).unwrap();
    assert_eq!(entries.iter().map(|r| r.id.clone()).collect::<Vec<_>>(), later);
    assert!(entries.iter().all(|r| r.submissions.len() == 1 && r.submissions[0].kind == SubmissionKind::FollowUp));
    decrypt(&env, &b2, &cases);
    assert_eq!(last_run(&cases), later);
    for i in (3..REPORTS).step_by(50) {
        let n = fs::read_dir(cases.join(&ids[i])).unwrap().flatten().filter(|e| e.path().is_dir()).count();
        assert_eq!(n, if i.is_multiple_of(7) { 3 } else { 2 }, "{}", ids[i]);
    }
}
