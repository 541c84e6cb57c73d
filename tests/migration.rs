//! A data folder written by an older peluit (the deployment secret in `meta`,
//! reply recipients in the clear, replies the receipt's key opens, an
//! attachment as a file under `files/`, nonces with the second of signing):
//! `serve` refuses it with the way out, `compact --secret` rewrites it into
//! the current layout, the server then finds every receipt and shows the
//! reply, and the new folder keeps no readable copy of what was moved.
#![allow(clippy::unwrap_used)]

mod common;

use std::fs;
use std::path::Path;

use common::{api_status, ok, Env, Server};
use peluit::crypto::{self, DeploymentSecret, Pad, Recipients};
use peluit::lifecycle::Opening;
use peluit::model::{
    AttachmentInfo, BlobRef, Event, Manifest, Reply, ReplyText, Report, SealedBy, Status, Submission, SubmissionKind,
    MANIFEST_FORMAT,
};

/// Writes `bytes` as blob `id` the way the older layout did: one chunk in
/// the `blobs` tree, or a file under `files/` when larger than a chunk.
fn old_blob(blobs: &sled::Tree, data: &Path, bytes: &[u8]) -> BlobRef {
    let id = crypto::random_id();
    if bytes.len() > peluit::store::CHUNK {
        fs::create_dir_all(data.join("files")).unwrap();
        fs::write(data.join("files").join(crypto::hex(&id)), bytes).unwrap();
    } else {
        let mut key = id.to_vec();
        key.extend_from_slice(&0u32.to_be_bytes());
        blobs.insert(key, bytes).unwrap();
    }
    BlobRef { id: crypto::hex(&id), len: bytes.len() as u64 }
}

#[test]
fn an_older_folder_is_refused_then_compacted_into_the_current_layout() {
    let env = Env::new();
    let recipients = peluit::keys::load_recipients(&env.keys).unwrap();
    let secret = DeploymentSecret::generate();
    let receipt = crypto::new_receipt();
    let reply_id = crypto::reply_identity(&receipt);
    let reply_key = reply_id.recipient().to_string();
    let reply_text = "Terima kasih, laporan Anda kami periksa.";

    // The older layout, written with sled directly (default 512 KiB segments).
    let old = env.path("old");
    {
        let db = sled::open(&old).unwrap();
        let (meta, blobs) = (db.open_tree("meta").unwrap(), db.open_tree("blobs").unwrap());
        meta.insert("secret", &secret.as_bytes()[..]).unwrap();
        meta.insert("deployment_id", &b"c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0"[..]).unwrap();
        meta.insert("recipients", serde_json::to_vec(&recipients.to_strings()).unwrap()).unwrap();
        let mut m = Manifest::default();
        m.format = MANIFEST_FORMAT.into();
        m.kind = "tip".into();
        m.category = "lainnya".into();
        m.text = "laporan lama".into();
        m.attachments = vec![AttachmentInfo { name: "bukti.bin".into(), size: 200_000, content_type: String::new() }];
        let m = serde_json::to_vec(&m).unwrap();
        let manifest = old_blob(&blobs, &old, &crypto::seal_bytes(&recipients, &m, Pad::Spaces).unwrap());
        let big = old_blob(&blobs, &old, &crypto::seal_bytes(&recipients, &[7u8; 200_000], Pad::Zeros).unwrap());
        let both = Recipients::parse(&format!("{}\n{reply_key}\n", recipients.to_strings().join("\n"))).unwrap();
        let plain =
            serde_json::to_vec(&ReplyText { format: "peluit-reply/1".into(), text: reply_text.into() }).unwrap();
        let reply = old_blob(&blobs, &old, &crypto::seal_bytes(&both, &plain, Pad::Spaces).unwrap());
        let key = crypto::lookup_key(&secret, &receipt);
        let sub = Submission {
            seq: 1,
            day: "2026-11-01".into(),
            kind: SubmissionKind::Tip,
            sealed_by: SealedBy::Server,
            manifest,
            attachments: vec![big],
            tags: Vec::new(),
        };
        let id = crypto::random_id();
        let opening = Opening { id: crypto::hex(&id), lookup: crypto::hex(&key.0), reply_sealed: String::new() };
        let mut r = Report::open(opening, sub);
        r.reply_recipient = reply_key.clone();
        r.status = Status::Investigating;
        r.timeline.push(Event {
            day: "2026-11-02".into(),
            status: Status::Investigating,
            note: None,
            signed: Default::default(),
        });
        r.replies.push(Reply { day: "2026-11-02".into(), blob: reply, signed: Default::default() });
        db.open_tree("reports").unwrap().insert(id, serde_json::to_vec(&r).unwrap()).unwrap();
        db.open_tree("lookup").unwrap().insert(key.0, &id[..]).unwrap();
        db.open_tree("log").unwrap().insert(1u64.to_be_bytes(), &id[..]).unwrap();
        db.open_tree("nonces").unwrap().insert(b"ab".repeat(16), &1_795_976_890u64.to_be_bytes()[..]).unwrap();
        db.flush().unwrap();
    }
    let exposed =
        |dir: &Path| fs::metadata(dir).map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o077 != 0);
    // sled made it with the test's umask: refused for that first.
    assert!(exposed(&old).unwrap());
    fs::rename(&old, &env.data).unwrap();
    let data = env.data.to_str().unwrap();
    let o = env.run(&["serve", "--listen", "127.0.0.1:0", "--data", data, "--keys", env.keys.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("other users can reach it"), "{o:?}");
    ok(&std::process::Command::new("chmod").args(["-R", "go=", data]).output().unwrap());
    let o = env.run(&["serve", "--listen", "127.0.0.1:0", "--data", data, "--keys", env.keys.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("peluit compact") && err.contains("--secret"), "{err}");

    // compact asks where the secret goes, then moves it there.
    let new = env.path("new");
    let o = env.run(&["compact", "--data", data, "--out", new.to_str().unwrap()]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("--secret FILE"));
    let secret_file = env.keys.join("deployment.secret");
    let said = ok(&env.run(&[
        "compact",
        "--data",
        data,
        "--out",
        new.to_str().unwrap(),
        "--secret",
        secret_file.to_str().unwrap(),
    ]));
    assert!(said.contains("1 report(s), 3 blob(s)") && said.contains("intact"), "{said}");
    let mode = std::os::unix::fs::PermissionsExt::mode(&fs::metadata(&secret_file).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);

    // The new folder: nothing that confirms the receipt or tells a second.
    let hex_secret = crypto::hex(secret.as_bytes());
    for p in common::files_under(&new) {
        let bytes = fs::read(&p).unwrap();
        let has = |n: &[u8]| bytes.windows(n.len()).any(|w| w == n);
        assert!(!has(secret.as_bytes()) && !has(hex_secret.as_bytes()), "{} holds the secret", p.display());
        assert!(!has(reply_key.as_bytes()), "{} names the reply key", p.display());
        assert!(!has(&1_795_976_890u64.to_be_bytes()), "{} holds a nonce's second", p.display());
    }
    assert!(!new.join("files").exists(), "attachments moved into sled");
    let db = sled::Config::new().path(&new).segment_size(peluit::store::layout::SEGMENT_SIZE).open().unwrap();
    for name in db.tree_names() {
        for v in db.open_tree(name).unwrap().iter().values() {
            let v = v.unwrap();
            if v.starts_with(b"age-encryption.org/v1") {
                assert!(reply_id.open(v.as_ref()).is_err(), "a stored blob opens with the receipt's key");
            }
        }
    }
    drop(db);

    // Served from the new folder, with the secret from its file.
    fs::rename(&env.data, env.path("old-data")).unwrap();
    fs::rename(&new, &env.data).unwrap();
    let s = Server::start(&env, &[]);
    let (code, v) = api_status(&s, receipt.grouped().as_str());
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["status"], "investigating");
    assert_eq!(v["replies"][0]["text"], reply_text);
    s.stop();

    // Investigators still get the reply key, sealed, and decrypt opens it.
    let cases = env.export_and_decrypt(&env.identity, "cases");
    let case = common::files_under(&cases).into_iter().find(|p| p.ends_with("case.json")).unwrap();
    let case: serde_json::Value = serde_json::from_slice(&fs::read(case).unwrap()).unwrap();
    assert_eq!(case["reply_recipient"], reply_key.as_str());
    let file = common::files_under(&cases).into_iter().find(|p| p.ends_with("bukti.bin")).unwrap();
    assert_eq!(fs::read(file).unwrap(), vec![7u8; 200_000], "the attachment file came through");
}
