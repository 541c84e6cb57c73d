//! Unit tests of decryption on bundles built here: the order rules, the
//! format checks, reruns and leftovers of interrupted runs.

use super::*;
use crate::crypto::{self, Pad, Recipients};
use crate::export::{Index, IndexReport, IndexSubmission, INDEX_FORMAT};
use crate::model::{AttachmentInfo, Manifest, SealedBy, Status, SubmissionKind};
use crate::private_fs::make_dir;
use std::fs;
use std::os::unix::fs::PermissionsExt;

/// Tar entries, in order.
type Entries = Vec<(String, Vec<u8>)>;
/// A submission for [`report`]: seq, text, attachments as (name, bytes).
type Sub<'a> = (u64, &'a str, &'a [(&'a str, &'a [u8])]);

/// An investigator identity and its recipient.
fn keys() -> (Identities, Recipients) {
    let (secret, recipient) = crypto::new_identity();
    let ids = Identities::parse(&secret).unwrap_or_else(|e| panic!("{e}"));
    (ids, Recipients::parse(&recipient).unwrap_or_else(|e| panic!("{e}")))
}

/// `index.json` and an empty audit log for the range (`since`, `cursor`].
fn head(format: &str, since: u64, cursor: u64) -> Entries {
    let idx =
        Index { format: format.into(), deployment_id: "d".repeat(32), since, cursor, recipients: vec!["age1x".into()] };
    let json = serde_json::to_vec(&idx).unwrap_or_default();
    vec![("index.json".into(), json), (AUDIT_PATH.into(), Vec::new())]
}

/// One report's entry and its blobs in export order; each submission is
/// (seq, text, attachments as (name, bytes)).
fn report(r: &Recipients, id: &str, subs: &[Sub<'_>]) -> Entries {
    let subs = subs.iter().map(|(seq, text, files)| {
        let mut m = Manifest::default();
        m.format = crate::model::MANIFEST_FORMAT.into();
        m.text = (*text).into();
        let mut bytes = Vec::new();
        for (name, data) in *files {
            let mut info = AttachmentInfo::default();
            info.name = (*name).into();
            info.size = data.len() as u64;
            m.attachments.push(info);
            bytes.push(data.to_vec());
        }
        (*seq, m, bytes)
    });
    report_of(r, id, subs.collect())
}

/// One report's entry and its blobs, from whole manifests and their files.
fn report_of(r: &Recipients, id: &str, subs: Vec<(u64, Manifest, Vec<Vec<u8>>)>) -> Entries {
    let mut blobs = Vec::new();
    let mut submissions = Vec::new();
    for (seq, m, files) in subs {
        let blob_path = || format!("blobs/{}.age", crypto::hex(&crypto::random_id()));
        let (manifest, mut attachments) = (blob_path(), Vec::new());
        let mut sealed_files = Vec::new();
        for bytes in files {
            let p = blob_path();
            attachments.push(p.clone());
            sealed_files.push((p, crypto::seal_bytes(r, &bytes, Pad::Zeros).unwrap_or_default()));
        }
        let json = serde_json::to_vec(&m).unwrap_or_default();
        blobs.push((manifest.clone(), crypto::seal_bytes(r, &json, Pad::Spaces).unwrap_or_default()));
        blobs.extend(sealed_files);
        submissions.push(IndexSubmission {
            seq,
            day: "2026-11-26".into(),
            kind: if submissions.is_empty() { SubmissionKind::Tip } else { SubmissionKind::FollowUp },
            sealed_by: SealedBy::Server,
            manifest,
            attachments,
            tags: Vec::new(),
        });
    }
    let entry = IndexReport {
        id: id.into(),
        created: "2026-11-26".into(),
        status: Status::Received,
        timeline: Vec::new(),
        reply_recipient: "age1reply".into(),
        reply_sealed: String::new(),
        reply_key: String::new(),
        submissions,
        messages: Vec::new(),
        deleted: None,
        head: String::new(),
        known: Vec::new(),
        unverified: Vec::new(),
        unsigned: Vec::new(),
    };
    let mut out = vec![(format!("reports/{id}.json"), serde_json::to_vec(&entry).unwrap_or_default())];
    out.extend(blobs);
    out
}

/// The server key of these tests: the same for every bundle, as a
/// folder pins the first one it sees.
fn server_key() -> &'static crate::crypto::ed25519::SecretKey {
    static KEY: std::sync::OnceLock<crate::crypto::ed25519::SecretKey> = std::sync::OnceLock::new();
    KEY.get_or_init(|| crate::crypto::ed25519::SecretKey::generate("server").unwrap_or_else(|e| panic!("{e}")).0)
}

/// A tar of `entries`, signed by [`server_key`] as export signs.
fn tar(entries: &Entries) -> Vec<u8> {
    let mut b = tar::Builder::new(crate::crypto::bundle_sig::Hashing::new(Vec::new()));
    for (path, data) in entries {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o600);
        b.append_data(&mut h, path, data.as_slice()).unwrap_or_else(|e| panic!("{e}"));
    }
    crate::export::append_signature(&mut b, server_key()).unwrap_or_else(|e| panic!("{e}"));
    b.into_inner().map(|h| h.into_inner()).unwrap_or_default()
}

/// The error text of a decrypt that must fail with a format error.
fn format_error(entries: &Entries, ids: &Identities, out: &Path) -> String {
    match decrypt(io::Cursor::new(tar(entries)), ids, out) {
        Err(DecryptError::Format(m)) => m,
        other => panic!("expected a format error, got {other:?}"),
    }
}

/// The names in a folder, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

#[test]
fn reports_decrypt_one_at_a_time_and_a_rerun_skips_them() {
    let (ids, r) = keys();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("cases");
    let mut entries = head(INDEX_FORMAT, 0, 9);
    entries.extend(report(
        &r,
        A,
        &[(3, "tip a", &[("../../.bashrc", b"x=1"), ("bukti.jpg", b"jpg")]), (7, "more a", &[])],
    ));
    entries.extend(report(&r, B, &[(5, "tip b", &[("bukti.jpg", b"one"), ("bukti.jpg", b"two")])]));
    let s = decrypt(io::Cursor::new(tar(&entries)), &ids, &out).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        s,
        DecryptSummary { cases: 2, submissions: 3, files: 4, skipped: 0, set_aside: 0, ..Default::default() }
    );
    assert_eq!(names(&out), vec![A, B, DEPLOYMENT_FILE, LAST_RUN_FILE]);
    assert_eq!(names(&out.join(A)), vec!["000000000003-tip", "000000000007-followup", "case.json", CONVERSATION_FILE]);
    let files = out.join(A).join("000000000003-tip").join("files");
    assert_eq!(names(&files), vec!["bashrc", "bukti.jpg"]);
    assert_eq!(fs::read(files.join("bashrc")).unwrap_or_default(), b"x=1");
    let b_files = out.join(B).join("000000000005-tip").join("files");
    assert_eq!(names(&b_files), vec!["2-bukti.jpg", "bukti.jpg"]);
    let md = fs::read_to_string(out.join(A).join("000000000007-followup").join("report.md")).unwrap_or_default();
    assert!(md.contains("more a"), "{md}");
    let mode = |p: &Path| fs::metadata(p).map(|m| m.permissions().mode() & 0o777).unwrap_or(0);
    assert_eq!((mode(&out.join(A)), mode(&files), mode(&files.join("bashrc"))), (0o700, 0o700, 0o600));
    assert_eq!(mode(&out.join(A).join("case.json")), 0o600);
    let last: Vec<String> =
        serde_json::from_slice(&fs::read(out.join(LAST_RUN_FILE)).unwrap_or_default()).unwrap_or_default();
    assert_eq!(last, vec![A, B]);
    // The same bundle again: everything is there already.
    let again = decrypt(io::Cursor::new(tar(&entries)), &ids, &out).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        again,
        DecryptSummary { cases: 2, submissions: 0, files: 0, skipped: 3, set_aside: 0, ..Default::default() }
    );
    assert_eq!(fs::read(out.join(LAST_RUN_FILE)).unwrap_or_default(), b"[]");
    assert_eq!(names(&files), vec!["bashrc", "bukti.jpg"]);
}

#[test]
fn blobs_must_follow_their_own_report_entry() {
    let (ids, r) = keys();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let a = report(&r, A, &[(3, "tip a", &[("a.txt", b"a")])]);
    let b = report(&r, B, &[(5, "tip b", &[])]);
    // A's blobs after B's entry: decrypt would have to remember A.
    let mut late = head(INDEX_FORMAT, 0, 9);
    late.push(a[0].clone());
    late.push(b[0].clone());
    late.extend(a[1..].iter().cloned());
    late.extend(b[1..].iter().cloned());
    let m = format_error(&late, &ids, &dir.path().join("late"));
    assert!(m.contains(&format!("{A}.json")) || m.contains(A), "{m}");
    // A blob before any report entry.
    let mut early = head(INDEX_FORMAT, 0, 9);
    early.push(a[1].clone());
    early.extend(a.iter().cloned());
    assert!(format_error(&early, &ids, &dir.path().join("early")).contains("before any report"));
    // An attachment before its manifest.
    let mut swapped = head(INDEX_FORMAT, 0, 9);
    swapped.extend([a[0].clone(), a[2].clone(), a[1].clone()]);
    assert!(format_error(&swapped, &ids, &dir.path().join("swapped")).contains("unexpected entry"));
    // A's attachment missing: refused, and no final-named folder for it.
    let mut missing = head(INDEX_FORMAT, 0, 9);
    missing.extend([a[0].clone(), a[1].clone()]);
    missing.extend(b.iter().cloned());
    let out = dir.path().join("missing");
    assert!(format_error(&missing, &ids, &out).contains("is missing"));
    assert!(!out.join(A).join("000000000003-tip").exists());
    // The same at the end of the archive.
    let mut cut = head(INDEX_FORMAT, 0, 9);
    cut.extend([a[0].clone(), a[1].clone()]);
    assert!(format_error(&cut, &ids, &dir.path().join("cut")).contains("is missing"));
}

#[test]
fn other_formats_and_bad_report_entries_are_refused() {
    let (ids, r) = keys();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let a = report(&r, A, &[(3, "tip a", &[])]);
    let with = |format: &str, entries: &[(String, Vec<u8>)]| {
        let mut e = head(format, 0, 9);
        e.extend(entries.iter().cloned());
        e
    };
    let m = format_error(&with("peluit-export/1", &a), &ids, &dir.path().join("v1"));
    assert!(m.contains("peluit-export/1") && m.contains(INDEX_FORMAT), "{m}");
    for bad in [
        "reports/x/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.json",
        "reports/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.json",
        "reports/a.json",
    ] {
        let entries = with(INDEX_FORMAT, &[(bad.to_string(), a[0].1.clone())]);
        assert!(format_error(&entries, &ids, &dir.path().join("bad")).contains("bad report entry"), "{bad}");
    }
    // An entry whose path and id disagree.
    let entries = with(INDEX_FORMAT, &[(format!("reports/{B}.json"), a[0].1.clone())]);
    assert!(format_error(&entries, &ids, &dir.path().join("other")).contains("names another report"));
    // A blob name that is not one export writes.
    let mut entry: IndexReport = serde_json::from_slice(&a[0].1).unwrap_or_else(|e| panic!("{e}"));
    entry.submissions[0].manifest = "blobs/\u{1b}[2J.age".into();
    let entries = with(INDEX_FORMAT, &[(format!("reports/{A}.json"), serde_json::to_vec(&entry).unwrap_or_default())]);
    assert!(format_error(&entries, &ids, &dir.path().join("blob")).contains("bad blob name"));
    // A submission outside the index's range.
    let mut outside = head(INDEX_FORMAT, 3, 9);
    outside.extend(a.iter().cloned());
    assert!(format_error(&outside, &ids, &dir.path().join("outside")).contains("outside the bundle's range"));
}

#[test]
fn a_report_twice_in_one_bundle_lands_once() {
    let (ids, r) = keys();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("cases");
    let a = report(&r, A, &[(3, "tip a", &[("a.txt", b"a")])]);
    let mut entries = head(INDEX_FORMAT, 0, 9);
    entries.extend(a.iter().cloned());
    entries.extend(a.iter().cloned());
    let s = decrypt(io::Cursor::new(tar(&entries)), &ids, &out).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        s,
        DecryptSummary { cases: 2, submissions: 1, files: 1, skipped: 1, set_aside: 0, ..Default::default() }
    );
    assert_eq!(names(&out.join(A)), vec!["000000000003-tip", "case.json", CONVERSATION_FILE]);
    assert_eq!(names(&out.join(A).join("000000000003-tip").join("files")), vec!["a.txt"]);
}

#[test]
fn a_wrong_identity_sets_everything_aside() {
    let (right, r) = keys();
    let (other, _) = keys();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut entries = head(INDEX_FORMAT, 0, 9);
    entries.extend(report(&r, A, &[(3, "tip a", &[])]));
    let out = dir.path().join("cases");
    // Left by an interrupted run that had the right key.
    make_dir(&out.join(A).join("000000000003-tip.partial").join("files")).unwrap_or_else(|e| panic!("{e}"));
    let s = decrypt(io::Cursor::new(tar(&entries)), &other, &out).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((s.submissions, s.set_aside), (0, 1));
    assert_eq!(names(&out.join(A)), vec!["case.json", CONVERSATION_FILE, QUARANTINE_DIR]);
    // With the right identity the submission lands and its reason goes.
    let s = decrypt(io::Cursor::new(tar(&entries)), &right, &out).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((s.submissions, s.set_aside), (1, 0));
    assert_eq!(names(&out.join(A)), vec!["000000000003-tip", "case.json", CONVERSATION_FILE]);
}

#[test]
fn leftovers_of_an_interrupted_run_are_replaced() {
    let (ids, r) = keys();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("cases");
    let partial = out.join(A).join("000000000003-tip.partial");
    make_dir(&partial.join("files")).unwrap_or_else(|e| panic!("{e}"));
    for junk in [partial.join("files").join("a.txt"), out.join(A).join("case.tmp"), out.join("last-run.tmp")] {
        fs::write(junk, b"half").unwrap_or_else(|e| panic!("{e}"));
    }
    let mut entries = head(INDEX_FORMAT, 0, 9);
    entries.extend(report(&r, A, &[(3, "tip a", &[("a.txt", b"whole")])]));
    decrypt(io::Cursor::new(tar(&entries)), &ids, &out).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(names(&out.join(A)), vec!["000000000003-tip", "case.json", CONVERSATION_FILE]);
    let file = out.join(A).join("000000000003-tip").join("files").join("a.txt");
    assert_eq!(fs::read(file).unwrap_or_default(), b"whole");
    assert_eq!(names(&out), vec![A, DEPLOYMENT_FILE, LAST_RUN_FILE]);
}

const C: &str = "cccccccccccccccccccccccccccccccc";
const D: &str = "dddddddddddddddddddddddddddddddd";

/// Every file under `dir` (but `last-run.json`, which each run rewrites)
/// with its bytes, and every folder, by path relative to `dir`.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            let rel = p.strip_prefix(dir).map(|r| r.to_string_lossy().into_owned()).unwrap_or_default();
            if p.is_dir() {
                stack.push(p);
                out.push((format!("{rel}/"), Vec::new()));
            } else if rel != LAST_RUN_FILE {
                out.push((rel, fs::read(&p).unwrap_or_default()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_submission_that_cannot_be_opened_is_set_aside_and_the_rest_written() {
    let (ids, r) = keys();
    let (_, stranger) = keys();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("cases");
    let mut entries = head(INDEX_FORMAT, 0, 20);
    // A: tip, a follow-up sealed to someone else, another follow-up.
    let mut a = report(&r, A, &[(3, "tip a", &[("a.txt", b"a")]), (4, "bad", &[("b.txt", b"b")]), (6, "after", &[])]);
    a[3].1 = crypto::seal_bytes(&stranger, b"{}", Pad::Spaces).unwrap_or_default();
    entries.extend(a);
    // B: wholly sealed to someone else.
    entries.extend(report(&stranger, B, &[(5, "tip b", &[("x.txt", b"x")])]));
    // C: honest.
    entries.extend(report(&r, C, &[(8, "tip c", &[])]));
    // D: its attachment damaged after its manifest opened.
    let mut d = report(&r, D, &[(9, "tip d", &[("d.txt", b"ddd")])]);
    if let Some(last) = d[2].1.last_mut() {
        *last ^= 1;
    }
    entries.extend(d);
    let s = decrypt(io::Cursor::new(tar(&entries)), &ids, &out).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((s.submissions, s.files, s.set_aside), (3, 1, 3), "{s:?}");
    assert_eq!(
        names(&out.join(A)),
        vec!["000000000003-tip", "000000000006-followup", "case.json", CONVERSATION_FILE, QUARANTINE_DIR]
    );
    assert_eq!(names(&out.join(A).join(QUARANTINE_DIR)), vec!["000000000004-followup.txt"]);
    let reason = fs::read_to_string(out.join(A).join(QUARANTINE_DIR).join("000000000004-followup.txt"));
    let reason = reason.unwrap_or_default();
    assert!(reason.contains("cannot decrypt") && reason.contains(&entries_path(&entries, 5)), "{reason}");
    assert_eq!(names(&out.join(B)), vec!["case.json", CONVERSATION_FILE, QUARANTINE_DIR]);
    assert_eq!(names(&out.join(C)), vec!["000000000008-tip", "case.json", CONVERSATION_FILE]);
    assert_eq!(names(&out.join(D)), vec!["case.json", CONVERSATION_FILE, QUARANTINE_DIR]);
    assert_eq!(names(&out.join(D).join(QUARANTINE_DIR)), vec!["000000000009-tip.txt"]);
    let last: Vec<String> =
        serde_json::from_slice(&fs::read(out.join(LAST_RUN_FILE)).unwrap_or_default()).unwrap_or_default();
    assert_eq!(last, vec![A, B, C, D], "set-aside cases are news too");
    // Again: nothing changes, nothing is duplicated, nothing is left half-done.
    let before = tree(&out);
    assert!(!before.iter().any(|(p, _)| p.contains(".partial") || p.ends_with(".tmp")), "{before:?}");
    let again = decrypt(io::Cursor::new(tar(&entries)), &ids, &out).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((again.submissions, again.skipped, again.set_aside), (0, 3, 3), "{again:?}");
    assert_eq!(tree(&out), before);
}

/// The tar path of entry `i`.
fn entries_path(entries: &Entries, i: usize) -> String {
    entries.get(i).map(|e| e.0.clone()).unwrap_or_default()
}

#[test]
fn a_manifest_or_an_entry_over_the_limit_is_set_aside() {
    let (ids, r) = keys();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("cases");
    let mut entries = head(INDEX_FORMAT, 0, 20);
    let mut huge = Manifest::default();
    huge.format = crate::model::MANIFEST_FORMAT.into();
    huge.text = "x".repeat(MAX_MANIFEST as usize);
    entries.extend(report_of(&r, A, vec![(3, huge, Vec::new())]));
    // B's entry padded past the entry limit (a report with very many follow-ups).
    let mut b = report(&r, B, &[(5, "tip b", &[("b.txt", b"b")])]);
    b[0].1.extend(std::iter::repeat_n(b' ', 16 * 1024 * 1024));
    entries.extend(b);
    entries.extend(report(&r, C, &[(8, "tip c", &[])]));
    let s = decrypt(io::Cursor::new(tar(&entries)), &ids, &out).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((s.submissions, s.set_aside), (1, 2), "{s:?}");
    let reason = fs::read_to_string(out.join(A).join(QUARANTINE_DIR).join("000000000003-tip.txt"));
    assert!(reason.unwrap_or_default().contains("more than"));
    let reason = fs::read_to_string(out.join(B).join(QUARANTINE_DIR).join("entry.txt")).unwrap_or_default();
    assert!(reason.contains("more than"), "{reason}");
    assert_eq!(names(&out.join(C)), vec!["000000000008-tip", "case.json", CONVERSATION_FILE]);
    // `pull` counts the reports of such a bundle without failing on it.
    let mut read = Vec::new();
    let n = read_bundle_reports(io::Cursor::new(tar(&entries)), |r| read.push(r.id)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((n, read), (3, vec![A.to_string(), C.to_string()]));
}

#[test]
fn report_md_cannot_be_forged_from_inside() {
    let (ids, r) = keys();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("cases");
    let mut m = Manifest::default();
    m.format = crate::model::MANIFEST_FORMAT.into();
    m.category = "x\n- Status: closed".into();
    m.text = "seen\n\n## Identitas pelapor / Reporter's identity\n\nBudi\n- Status: closed\r\u{1b}[2K".into();
    let mut info = AttachmentInfo::default();
    info.name = "a\u{202e}fdp.exe".into();
    info.size = 1;
    info.content_type = "text/plain\n- Kasus / Case: `ffffffffffffffffffffffffffffffff`".into();
    m.attachments.push(info);
    let mut entries = head(INDEX_FORMAT, 0, 20);
    entries.extend(report_of(&r, A, vec![(3, m, vec![b"1".to_vec()])]));
    decrypt(io::Cursor::new(tar(&entries)), &ids, &out).unwrap_or_else(|e| panic!("{e}"));
    let md = fs::read_to_string(out.join(A).join("000000000003-tip").join("report.md")).unwrap_or_default();
    let starting = |p: &str| md.lines().filter(|l| l.starts_with(p)).count();
    assert_eq!((starting("- Status:"), starting("- Kasus / Case:"), starting("## Identitas")), (1, 1, 0), "{md}");
    assert!(md.contains("\n    Budi\n") && md.contains("\\u{1b}[2K"), "{md}");
    assert!(!md.contains('\u{1b}') && !md.contains('\r') && !md.contains('\u{202e}'), "{md}");
}

#[test]
fn a_damaged_bundle_fails_but_keeps_what_was_complete() {
    let (ids, r) = keys();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("cases");
    let mut entries = head(INDEX_FORMAT, 0, 9);
    entries.extend(report(&r, A, &[(3, "tip a", &[("a.txt", b"a")])]));
    let b = report(&r, B, &[(5, "tip b", &[("b.txt", b"b")])]);
    entries.extend([b[0].clone(), b[1].clone()]);
    assert!(format_error(&entries, &ids, &out).contains("is missing"));
    assert_eq!(names(&out.join(A)), vec!["000000000003-tip", "case.json", CONVERSATION_FILE]);
    assert!(!out.join(B).join("000000000005-tip").exists());
}

#[test]
fn case_json_keeps_every_submission_received_whatever_a_bundle_claims() {
    let (ids, r) = keys();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("cases");
    let mut first = head(INDEX_FORMAT, 0, 3);
    first.extend(report(&r, A, &[(3, "tip a", &[])]));
    decrypt(io::Cursor::new(tar(&first)), &ids, &out).unwrap_or_else(|e| panic!("{e}"));
    // The next bundle carries only the follow-up, and a forged list.
    let mut second = head(INDEX_FORMAT, 3, 7);
    second.extend(report(&r, A, &[(7, "more a", &[])]));
    let mut entry: serde_json::Value = serde_json::from_slice(&second[2].1).unwrap_or_default();
    entry["known"] = serde_json::json!([[99, "forged"]]);
    second[2].1 = serde_json::to_vec(&entry).unwrap_or_default();
    decrypt(io::Cursor::new(tar(&second)), &ids, &out).unwrap_or_else(|e| panic!("{e}"));
    let case: IndexReport = serde_json::from_slice(&fs::read(out.join(A).join("case.json")).unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}"));
    let seqs: Vec<u64> = case.known.iter().map(|k| k.0).collect();
    assert_eq!(seqs, vec![3, 7]);
    assert_eq!(case.submissions.len(), 1, "case.json's submissions stay the last bundle's");
    let manifest = crate::export::blob_id(&case.submissions[0].manifest);
    assert_eq!(case.known[1].1, manifest);
}

/// The report entry of `entries` (its third entry) with `status` set at
/// log position `seq` by `by`.
fn with_status(mut entries: Entries, status: Status, seq: u64, by: &str) -> Entries {
    let mut entry: IndexReport = serde_json::from_slice(&entries[2].1).unwrap_or_else(|e| panic!("{e}"));
    entry.status = status;
    entry.head = format!("action-{seq}");
    let signed = crate::model::Signed { seq, by: by.into(), audit: seq };
    entry.timeline.push(crate::model::Event { day: "2026-11-27".into(), status, note: None, signed });
    entries[2].1 = serde_json::to_vec(&entry).unwrap_or_default();
    entries
}

fn case_json(out: &Path) -> IndexReport {
    serde_json::from_slice(&fs::read(out.join(A).join("case.json")).unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn an_older_bundle_given_again_never_sets_a_case_back() {
    let (ids, r) = keys();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("cases");
    // Bundle 1: the tip, closed by ani (which retention would purge).
    let mut old = head(INDEX_FORMAT, 0, 5);
    old.extend(report(&r, A, &[(3, "tip a", &[])]));
    let old = with_status(old, Status::Closed, 5, "ani");
    decrypt(io::Cursor::new(tar(&old)), &ids, &out).unwrap_or_else(|e| panic!("{e}"));
    // Bundle 2: budi reopened it; the case asks for more information.
    let mut new = head(INDEX_FORMAT, 5, 9);
    new.extend(report(&r, A, &[]));
    let new = with_status(with_status(new, Status::Closed, 5, "ani"), Status::NeedsInfo, 9, "budi");
    decrypt(io::Cursor::new(tar(&new)), &ids, &out).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(case_json(&out).status, Status::NeedsInfo);
    // The transfer machine hands bundle 1 over again, correctly signed.
    decrypt(io::Cursor::new(tar(&old)), &ids, &out).unwrap_or_else(|e| panic!("{e}"));
    let case = case_json(&out);
    assert_eq!(case.status, Status::NeedsInfo, "an older picture of the case must not set it back");
    assert_eq!(case.head, "action-9", "the next action must follow the newest one");
    assert_eq!(case.timeline.last().map(|e| e.signed.by.as_str()), Some("budi"));
    let conversation = fs::read_to_string(out.join(A).join(CONVERSATION_FILE)).unwrap_or_default();
    assert!(conversation.contains("budi"), "{conversation}");
}

/// An audit log of one action on report [`A`] at position `n`, signed by `key`.
fn audit_line(key: &crate::crypto::ed25519::SecretKey, kind: crate::actions::ActionKind, n: u64) -> Vec<u8> {
    let payload = crate::actions::Payload {
        v: crate::actions::VERSION,
        deployment: "d".repeat(32),
        nonce: crypto::hex(&crypto::random_id()),
        day: "2026-11-27".into(),
        report: A.into(),
        seen: String::new(),
        prev: String::new(),
        kind,
    };
    let line: crate::actions::Line =
        serde_json::from_str(&crate::actions::sign(key, &payload, None)).unwrap_or_else(|e| panic!("{e}"));
    let entry = crate::actions::AuditEntry::next(n, crate::actions::GENESIS, &line, "2026-11-27");
    let mut out = serde_json::to_vec(&entry).unwrap_or_default();
    out.push(b'\n');
    out
}

/// A status change at position 5, where `with_status` puts it.
fn audit_of(key: &crate::crypto::ed25519::SecretKey, status: Status) -> Vec<u8> {
    audit_line(key, crate::actions::ActionKind::Status { status, note_sha256: None }, 5)
}

/// A pin made offline with `signer`'s key, for the bundles of these tests.
fn pinned_with(signer: &crate::crypto::ed25519::SecretKey) -> pin::Pinned {
    pin::Pinned {
        deployment_id: "d".repeat(32),
        recipients: vec!["age1x".into()],
        keyset_version: 1,
        signers: vec![signer.public().to_text()],
        server_key: server_key().public().to_text(),
    }
}

#[test]
fn a_status_no_pinned_investigator_signed_is_marked_unsigned() {
    let (ids, r) = keys();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("cases");
    let (ani, _) = crate::crypto::ed25519::SecretKey::generate("ani").unwrap_or_else(|e| panic!("{e}"));
    let (mallory, _) = crate::crypto::ed25519::SecretKey::generate("m").unwrap_or_else(|e| panic!("{e}"));
    // The folder was pinned offline, with ani's signing key.
    crate::private_fs::make_dir(&out).unwrap_or_else(|e| panic!("{e}"));
    pin::save(&out, &pinned_with(&ani)).unwrap_or_else(|e| panic!("{e}"));
    let bundle = |audit: Vec<u8>| {
        let mut b = head(INDEX_FORMAT, 0, 5);
        b[1].1 = audit;
        b.extend(report(&r, A, &[(3, "tip a", &[])]));
        with_status(b, Status::Closed, 5, "ani")
    };
    // A server that closed the case itself: no line, or one signed by a key
    // the offline machine never pinned.
    for forged in [Vec::new(), audit_of(&mallory, Status::Closed), audit_of(&ani, Status::Forwarded)] {
        decrypt(io::Cursor::new(tar(&bundle(forged))), &ids, &out).unwrap_or_else(|e| panic!("{e}"));
        let case = case_json(&out);
        assert_eq!(case.unsigned, vec![5], "the closing is not proven");
        let md = fs::read_to_string(out.join(A).join(CONVERSATION_FILE)).unwrap_or_default();
        assert!(md.contains(UNSIGNED), "{md}");
    }
    // The genuine line: proven, and the mark goes.
    decrypt(io::Cursor::new(tar(&bundle(audit_of(&ani, Status::Closed)))), &ids, &out)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(case_json(&out).unsigned.is_empty());
    let md = fs::read_to_string(out.join(A).join(CONVERSATION_FILE)).unwrap_or_default();
    assert!(!md.contains(UNSIGNED), "{md}");
}

#[test]
fn a_reply_no_pinned_investigator_signed_is_marked_unsigned() {
    let (ids, r) = keys();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (ani, _) = crate::crypto::ed25519::SecretKey::generate("ani").unwrap_or_else(|e| panic!("{e}"));
    let pin = pinned_with(&ani);
    let reply = crate::model::ReplyText { format: crate::model::REPLY_FORMAT.into(), text: "kami menyelidiki".into() };
    let sealed = crypto::sealed_json::seal(&r, &reply).unwrap_or_else(|e| panic!("{e}"));
    let blob = format!("blobs/{}.age", crypto::hex(&crypto::random_id()));
    let bundle = |audit: Vec<u8>| {
        let mut b = head(INDEX_FORMAT, 0, 6);
        b[1].1 = audit;
        b.extend(report(&r, A, &[(3, "tip a", &[])]));
        let mut entry: IndexReport = serde_json::from_slice(&b[2].1).unwrap_or_else(|e| panic!("{e}"));
        let (by, blob) = ("ani".to_string(), blob.clone());
        entry.messages.push(crate::export::IndexMessage { seq: 6, day: "2026-11-27".into(), status: None, by, blob });
        b[2].1 = serde_json::to_vec(&entry).unwrap_or_default();
        b.push((entry.messages[0].blob.clone(), sealed.clone()));
        b
    };
    let signed = |blob_sha256: String| audit_line(&ani, crate::actions::ActionKind::Reply { blob_sha256 }, 1);
    let genuine = crypto::hex(&crypto::sha256::of(&sealed));
    let runs = [(Vec::new(), true), (signed("00".repeat(32)), true), (signed(genuine), false)];
    for (i, (audit, forged)) in runs.into_iter().enumerate() {
        // Each time a fresh folder: a message already on disk is not read again.
        let out = dir.path().join(format!("cases-{i}"));
        make_dir(&out).unwrap_or_else(|e| panic!("{e}"));
        pin::save(&out, &pin).unwrap_or_else(|e| panic!("{e}"));
        decrypt(io::Cursor::new(tar(&bundle(audit))), &ids, &out).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(case_json(&out).unsigned, if forged { vec![6] } else { vec![] });
        let md = fs::read_to_string(out.join(A).join(CONVERSATION_FILE)).unwrap_or_default();
        assert!(md.contains("kami menyelidiki"), "{md}");
        assert_eq!(md.contains(UNSIGNED), forged, "{md}");
    }
}
