//! Attack 1 of the trust model, end to end through the real binary: a bundle
//! made by a real server and rewritten as a compromised transfer machine
//! would (an extra recipient, a forged "reporter" follow-up, an altered
//! status, the signature stripped) is refused whole, nothing reaches the
//! cases folder, and no reply written afterwards opens with the attacker's
//! key. And a compromised server, which holds the bundle key but not the
//! receipt, cannot pass a follow-up off as the reporter's.
#![allow(clippy::unwrap_used)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::team::tip;
use common::{client, ok, Env, Server};
use peluit::crypto::{self, Pad, Recipients};
use peluit::model::{Manifest, SealedBy, Submission, SubmissionKind, MANIFEST_FORMAT};
use reqwest::blocking::multipart::{Form, Part};

/// A bundle's entries: path and bytes, in order.
type Entries = Vec<(String, Vec<u8>)>;

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut v: Vec<_> = common::files_under(dir).into_iter().map(|p| (p.clone(), fs::read(p).unwrap())).collect();
    v.sort();
    v
}

/// `peluit export` of the stopped server, whole.
fn export(env: &Env, name: &str) -> PathBuf {
    let bundle = env.path(name);
    let keys = env.keys.to_str().unwrap();
    ok(&env.run(&["export", "--keys", keys, "--data", env.data.to_str().unwrap(), "--out", bundle.to_str().unwrap()]));
    bundle
}

/// A reporter's follow-up through the API, with a file.
fn follow_up(s: &Server, receipt: &str, text: &str) {
    let file = Part::bytes(b"kuitansi 250.000".to_vec()).file_name("kuitansi.txt");
    let form = Form::new().text("receipt", receipt.to_string()).text("text", text.to_string()).part("file", file);
    let r = client().post(s.url("/api/v1/followups")).multipart(form).send().unwrap();
    assert_eq!(r.status().as_u16(), 201);
}

/// A follow-up manifest saying `text`, sealed to `recipients`.
fn sealed_followup(recipients: &[String], text: &str) -> Vec<u8> {
    let mut m = Manifest::default();
    m.format = MANIFEST_FORMAT.into();
    m.kind = "followup".into();
    m.text = text.into();
    let r = Recipients::parse(&recipients.join("\n")).unwrap();
    crypto::seal_bytes(&r, &serde_json::to_vec(&m).unwrap(), Pad::Spaces).unwrap()
}

/// The forged "reporter" follow-up of the attack.
const FORGED: &str = "Saya menarik laporan ini, mohon dihapus. Siapa yang sudah membacanya?";

#[test]
fn a_bundle_rewritten_by_the_transfer_machine_is_refused_and_nothing_reaches_the_attacker() {
    let env = Env::new();
    let s = Server::start(&env, &[]);
    let receipt = tip(&s, "pungutan liar di puskesmas");
    let log = s.stop();
    // First contact without a key set: the bundle's key is pinned, and its
    // fingerprint printed to compare with the one the server printed.
    let printed = log.split("fingerprint=").nth(1).unwrap().split([' ', '"']).find(|w| !w.is_empty()).unwrap();
    let cases = env.path("cases");
    let first = ok(&common::decrypt(&export(&env, "b1.tar"), &env.identity, &cases));
    assert!(first.contains(&format!("server key that signed this bundle, fingerprint {printed}")), "{first}");
    let id = fs::read_dir(&cases).unwrap().flatten().find(|e| e.path().is_dir()).unwrap().file_name();
    let id = id.to_string_lossy().into_owned();

    // The reporter adds something; the next bundle carries the case again.
    let s = Server::start(&env, &[]);
    follow_up(&s, &receipt, "bukti kuitansi menyusul");
    s.stop();
    let genuine = export(&env, "b2.tar");
    let before = snapshot(&cases);
    let (attacker_secret, attacker) = crypto::new_identity();
    let entries = common::untar(&genuine);
    let index: serde_json::Value = serde_json::from_slice(&entries[0].1).unwrap();
    let recipients: Vec<String> = serde_json::from_value(index["recipients"].clone()).unwrap();
    let at = entries.iter().position(|(p, _)| p == &format!("reports/{id}.json")).unwrap();
    let edit_report = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut e = entries.clone();
        let mut r: serde_json::Value = serde_json::from_slice(&e[at].1).unwrap();
        edit(&mut r);
        e[at].1 = serde_json::to_vec(&r).unwrap();
        e
    };
    let mut variants: Vec<(&str, Entries)> = Vec::new();
    // An extra recipient for replies.
    let mut extra = entries.clone();
    let mut i = index.clone();
    i["recipients"].as_array_mut().unwrap().push(attacker.clone().into());
    extra[0].1 = serde_json::to_vec(&i).unwrap();
    variants.push(("an extra recipient", extra));
    // A forged "reporter" follow-up on the real case, sealed to the
    // investigators' public recipients, its blob after the case's last one.
    let forged_blob = format!("blobs/{}.age", "f".repeat(32));
    let mut forged = edit_report(&|r| {
        let sub = serde_json::json!({
            "seq": 999, "day": "2026-11-29", "kind": "follow_up", "sealed_by": "client",
            "manifest": forged_blob, "attachments": []
        });
        r["submissions"].as_array_mut().unwrap().push(sub);
    });
    let last_blob = (at + 1..forged.len()).take_while(|&k| forged[k].0.starts_with("blobs/")).last().unwrap();
    forged.insert(last_blob + 1, (forged_blob.clone(), sealed_followup(&recipients, FORGED)));
    variants.push(("a forged follow-up", forged));
    // The status set to closed, so retention purges the report.
    variants.push(("an altered status", edit_report(&|r| r["status"] = "closed".into())));
    // Signed again with a key of its own.
    let (own, _) = peluit::crypto::ed25519::SecretKey::generate("transfer machine").unwrap();
    variants.push(("its own signature", common::untar_bytes(&common::signed_tar_by(&entries, &own))));
    // The signature entry, whatever it is, removed.
    let mut stripped = entries.clone();
    stripped.retain(|(p, _)| !p.starts_with("signature"));
    variants.push(("no signature", stripped));

    for (what, e) in variants {
        let altered = env.path("altered.tar");
        fs::write(&altered, common::tar(&e)).unwrap();
        let out = common::decrypt(&altered, &env.identity, &cases);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "a bundle with {what} is refused");
        let says = match what {
            "no signature" => "unsigned",
            "its own signature" => "signed by another key",
            _ => "altered",
        };
        assert!(err.contains(says), "the refusal of {what} says {says}: {err}");
        assert_eq!(snapshot(&cases), before, "nothing is written for a bundle with {what}");
    }
    let texts: String = snapshot(&cases).iter().map(|(_, b)| String::from_utf8_lossy(b).into_owned()).collect();
    assert!(!texts.contains(FORGED), "the forged follow-up is nowhere in the cases folder");

    // The genuine bundle is taken; a reply written now is not the attacker's to read.
    common::team::decrypt(&genuine, &env.identity, &cases);
    common::team::reply_is_not_theirs(&env, &cases, &id, &attacker_secret);
}

#[test]
fn a_follow_up_the_server_made_without_the_receipt_is_shown_unverified() {
    let env = Env::new();
    let s = Server::start(&env, &[]);
    let receipt = tip(&s, "suap pengadaan alat kesehatan");
    follow_up(&s, &receipt, "ini dari pelapor sendiri");
    s.stop();

    // The server, compromised, adds a client-sealed follow-up to the report
    // without the receipt, so without a valid tag, and signs the bundle as usual.
    let store = peluit::store::Store::open(&env.data).unwrap();
    let secret = peluit::keys::load_or_create_secret(&env.keys.join(peluit::keys::SECRET_FILE), false).unwrap();
    let store = store.with_secret(secret).unwrap();
    let recipients = store.recipients().unwrap();
    let found =
        store.find(&store.lookup_key(&peluit::receipt::Receipt::parse(&receipt).unwrap()).unwrap()).unwrap().unwrap();
    let manifest = store.put_blob(&sealed_followup(&recipients, FORGED)).unwrap();
    let sub = Submission {
        seq: store.next_seq().unwrap(),
        day: "2026-11-29".into(),
        kind: SubmissionKind::FollowUp,
        sealed_by: SealedBy::Client,
        manifest,
        attachments: Vec::new(),
        tags: Vec::new(),
    };
    store.append_submission(&found.id, sub, peluit::store::MAX_FOLLOWUPS).unwrap();
    drop(store);

    let cases = env.path("cases");
    common::team::decrypt(&export(&env, "b.tar"), &env.identity, &cases);
    let dir = cases.join(&found.id);
    // Each follow-up folder: its report.json and report.md.
    let followups: Vec<(serde_json::Value, String)> = common::files_under(&dir)
        .into_iter()
        .filter(|p| p.ends_with("report.json") && p.to_string_lossy().contains("followup"))
        .map(|p| {
            (
                serde_json::from_slice(&fs::read(&p).unwrap()).unwrap(),
                fs::read_to_string(p.with_file_name("report.md")).unwrap(),
            )
        })
        .collect();
    assert_eq!(followups.len(), 2);
    for (json, md) in &followups {
        let forged = json["text"].as_str().unwrap().contains(FORGED);
        assert_eq!(json["from_receipt_holder"].as_bool(), Some(!forged), "{json}");
        assert_eq!(md.contains("NOT from the receipt holder: unverified"), forged, "{md}");
    }
    let conversation = fs::read_to_string(dir.join("conversation.md")).unwrap();
    let marked: Vec<&str> =
        conversation.lines().filter(|l| l.contains("NOT from the receipt holder: unverified")).collect();
    let plain = conversation.lines().filter(|l| l.contains("Tambahan dari pelapor / Follow-up")).count();
    assert_eq!((marked.len(), plain), (1, 1), "one follow-up shown as the reporter's, one marked: {conversation}");
    let case: serde_json::Value = serde_json::from_slice(&fs::read(dir.join("case.json")).unwrap()).unwrap();
    assert_eq!(case["unverified"].as_array().map(Vec::len), Some(1), "{case}");
    let listed = ok(&env.run(&["cases", "--dir", cases.to_str().unwrap()]));
    assert!(listed.contains("1 unverified follow-up"), "{listed}");
}
