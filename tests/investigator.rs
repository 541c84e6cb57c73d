//! The investigators' loop against the real server: pull, decrypt offline,
//! sign a status and a reply, push, the reporter reads them and adds a
//! follow-up, the next pull carries only that; and every way an actions file
//! can be refused.
#![allow(clippy::unwrap_used)]

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use common::team::{add_investigator, decrypt, pull, push, register_first, tip};
use common::{api_status, client, ok, run_with_stdin, Env, Server};
use peluit::actions::{self, ActionKind, Payload};
use peluit::crypto::ed25519::SecretKey;
use peluit::model::Status;
use reqwest::blocking::multipart::{Form, Part};

/// A signed line made with the library, for the rejection cases (each
/// refused before its place in the report's history is looked at).
fn line(key: &SecretKey, deployment: &str, report: &str, time: u64, kind: ActionKind) -> String {
    let p = Payload {
        v: actions::VERSION,
        seen: String::new(),
        prev: String::new(),
        deployment: deployment.into(),
        nonce: peluit::crypto::hex(&peluit::crypto::random_id()),
        day: actions::day_of(time),
        report: report.into(),
        kind,
    };
    actions::sign(key, &p, None)
}

fn key(dir: &Path, file: &str) -> SecretKey {
    SecretKey::parse(&fs::read_to_string(dir.join(file)).unwrap()).unwrap()
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

#[test]
fn the_whole_loop_two_investigators_and_every_rejection() {
    let env = Env::new();
    let ani = env.identity.parent().unwrap().to_path_buf();
    // Register the first investigator's Ed25519 keys too, then a second one.
    let ani_sign = key(&ani, "signing.key");
    let ani_transfer = key(&ani, "transfer.key");
    fs::write(
        env.keys.join("investigators.txt"),
        format!("{} sign ani\n{} transfer ani-laptop\n", ani_sign.public().to_text(), ani_transfer.public().to_text()),
    )
    .unwrap();
    let budi = add_investigator(&env, "budi");
    let tmp = env.path("tmp");
    fs::create_dir_all(&tmp).unwrap();
    let s = Server::start_with(&env, &[], &[("TMPDIR", &tmp)]);

    // The reporter submits a tip with a file.
    let form = Form::new()
        .text("what", "mark-up pengadaan laptop")
        .part("file", Part::bytes(b"faktur".to_vec()).file_name("faktur.pdf"));
    let r = client().post(s.url("/api/v1/reports")).multipart(form).send().unwrap();
    let receipt = r.json::<serde_json::Value>().unwrap()["receipt"].as_str().unwrap().to_string();

    // Pull with the transfer key; both investigators decrypt the same case.
    let b1 = env.path("b1.tar");
    let cursor = pull(&s, &ani.join("transfer.key"), &b1, "0");
    let cases = env.path("cases");
    decrypt(&b1, &ani.join("identity.txt"), &cases);
    decrypt(&b1, &budi.join("identity.txt"), &env.path("cases-budi"));
    let id = fs::read_dir(&cases).unwrap().flatten().map(|e| e.path()).find(|p| p.is_dir()).unwrap();
    let id = id.file_name().unwrap().to_str().unwrap().to_string();
    for dir in [&cases, &env.path("cases-budi")] {
        let md = common::files_under(&dir.join(&id)).into_iter().find(|p| p.ends_with("report.md")).unwrap();
        assert!(fs::read_to_string(md).unwrap().contains("mark-up pengadaan laptop"));
    }

    // Offline: a status with a note and a reply, signed by Ani.
    let c = cases.to_str().unwrap();
    let sk = ani.join("signing.key");
    let sk = sk.to_str().unwrap();
    ok(&run_with_stdin(
        &["case", "--cases", c, "--key", sk, "status", &id, "investigating", "--note"],
        "Sedang kami periksa.",
    ));
    let reply = "Terima kasih. Mohon kirim foto kuitansi jika ada.";
    ok(&run_with_stdin(&["case", "--cases", c, "--key", sk, "reply", &id], reply));
    let actions_file = cases.join("actions.jsonl");
    let pushed = ok(&push(&s, &ani.join("transfer.key"), &actions_file));
    assert!(pushed.contains("Applied 2 action(s)"), "{pushed}");
    // The pushed lines left the outgoing file, so the next push carries only
    // what is signed after it; pushing them again changes nothing.
    let applied_file = cases.join("actions.applied.jsonl");
    assert!(pushed.contains("Moved the 2 applied line(s)"), "{pushed}");
    assert_eq!(fs::read_to_string(&actions_file).unwrap().trim(), "");
    assert_eq!(fs::read_to_string(&applied_file).unwrap().lines().count(), 2);
    let empty = push(&s, &ani.join("transfer.key"), &actions_file);
    assert!(String::from_utf8_lossy(&empty.stderr).contains("holds no action"), "{empty:?}");
    fs::copy(&applied_file, env.path("again.jsonl")).unwrap();
    let again = ok(&push(&s, &ani.join("transfer.key"), &env.path("again.jsonl")));
    assert!(again.contains("Applied 0 action(s) (2 applied before, skipped)"), "{again}");

    // The reporter sees the status, the note and the reply.
    let (code, v) = api_status(&s, &receipt);
    assert_eq!(code, 200);
    assert_eq!(v["status"], "investigating");
    assert_eq!(v["timeline"][1]["note"], "Sedang kami periksa.");
    assert_eq!(v["replies"][0]["text"], reply);
    let page = client().post(s.url("/status")).form(&[("receipt", receipt.as_str())]).send().unwrap().text().unwrap();
    assert!(page.contains("Tindak lanjut") && page.contains("Mohon kirim foto kuitansi"));

    // The stored reply opens with the reference age tool: with the key derived
    // from the receipt, and with each investigator's identity.
    let reply_line = fs::read_to_string(&applied_file).unwrap().lines().nth(1).unwrap().to_string();
    let blob = peluit::crypto::ed25519::unb64(
        serde_json::from_str::<serde_json::Value>(&reply_line).unwrap()["blob"].as_str().unwrap(),
    )
    .unwrap();
    fs::write(env.path("reply.age"), &blob).unwrap();
    let derived = peluit::crypto::reply_identity(&peluit::receipt::Receipt::parse(&receipt).ok().unwrap());
    fs::write(env.path("reply-id.txt"), derived.to_age_string().as_bytes()).unwrap();
    for id_file in [env.path("reply-id.txt"), ani.join("identity.txt"), budi.join("identity.txt")] {
        let o = Command::new("age").arg("-d").arg("-i").arg(&id_file).arg(env.path("reply.age")).output().unwrap();
        assert!(o.status.success(), "age -d with {}", id_file.display());
        assert!(String::from_utf8_lossy(&o.stdout).contains("Mohon kirim foto kuitansi"));
    }

    // The reporter adds a follow-up; the next pull carries only it.
    let form = Form::new()
        .text("receipt", receipt.clone())
        .text("text", "Foto kuitansi terlampir.")
        .part("file", Part::bytes(b"jpeg bytes".to_vec()).file_name("kuitansi.jpg"));
    let page = client().post(s.url("/status/add")).multipart(form).send().unwrap().text().unwrap();
    assert!(page.contains("Informasi tambahan Anda sudah diterima"), "{page}");
    let b2 = env.path("b2.tar");
    pull(&s, &ani.join("transfer.key"), &b2, &cursor);
    let index = peluit::decrypt::read_bundle_index(fs::File::open(&b2).unwrap()).unwrap();
    let mut reports = Vec::new();
    peluit::decrypt::read_bundle_reports(fs::File::open(&b2).unwrap(), |r| reports.push(r)).unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].submissions.len(), 1, "only the new item");
    decrypt(&b2, &ani.join("identity.txt"), &cases);
    let followup = common::files_under(&cases.join(&id)).into_iter().find(|p| p.ends_with("kuitansi.jpg")).unwrap();
    assert_eq!(fs::read(followup).unwrap(), b"jpeg bytes");
    let table = ok(&env.run(&["cases", "--dir", c]));
    assert!(table.contains(&id) && table.contains("investigating") && table.contains("new"), "{table}");

    // A second round from the same outgoing file, with no file edited.
    ok(&run_with_stdin(&["case", "--cases", c, "--key", sk, "status", &id, "reviewing"], ""));
    let second = ok(&push(&s, &ani.join("transfer.key"), &actions_file));
    assert!(second.contains("Applied 1 action(s);"), "{second}");
    assert_eq!(api_status(&s, &receipt).1["status"], "reviewing");
    // A transfer key cannot sign, and a signing key is not carried to pull.
    let o = run_with_stdin(
        &["case", "--cases", c, "--key", ani.join("transfer.key").to_str().unwrap(), "status", &id, "closed"],
        "",
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("is a transfer key"), "{o:?}");
    let o = push(&s, &ani.join("signing.key"), &actions_file);
    assert!(String::from_utf8_lossy(&o.stderr).contains("is a signing key"), "{o:?}");

    // Rejections: nothing half-applied, a clear reason each time.
    let dep = index.deployment_id.clone();
    let t = now();
    let reject = |name: &str, file_text: String, want: &str| {
        let f = env.path(name);
        fs::write(&f, file_text).unwrap();
        let o = push(&s, &ani.join("transfer.key"), &f);
        assert!(!o.status.success(), "{name} was accepted");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(want), "{name}: {err}");
    };
    let twice = line(&ani_sign, &dep, &id, t, ActionKind::Status { status: Status::Verifying, note_sha256: None });
    reject("replay", format!("{twice}\n{twice}"), "replay");
    let (stranger, _) = SecretKey::generate("x").unwrap();
    let closed = || ActionKind::Status { status: Status::Closed, note_sha256: None };
    reject("unknown", line(&stranger, &dep, &id, t, closed()), "not registered");
    reject("role", line(&ani_transfer, &dep, &id, t, closed()), "transfer key");
    reject("stale", line(&ani_sign, &dep, &id, t - 15 * 86_400, closed()), "stale");
    reject("other", line(&ani_sign, "ffffffffffffffffffffffffffffffff", &id, t, closed()), "another deployment");
    reject("noreport", line(&ani_sign, &dep, "00000000000000000000000000000000", t, closed()), "no such report");
    let mut tampered: serde_json::Value = serde_json::from_str(&line(&ani_sign, &dep, &id, t, closed())).unwrap();
    tampered["sig"] = serde_json::Value::String(peluit::crypto::ed25519::b64(&[0u8; 64]));
    reject("badsig", tampered.to_string(), "bad signature");
    // All or nothing: a good line followed by a bad one changes nothing.
    let g = env.path("good.jsonl");
    ok(&run_with_stdin(
        &["case", "--cases", c, "--key", sk, "--actions", g.to_str().unwrap(), "status", &id, "closed"],
        "",
    ));
    let good = fs::read_to_string(&g).unwrap().trim().to_string();
    reject(
        "mixed",
        format!("{good}\n{}", line(&ani_sign, &dep, "00000000000000000000000000000000", t, closed())),
        "line 2",
    );
    assert_eq!(api_status(&s, &receipt).1["status"], "reviewing");
    // Only a registered transfer key may push at all.
    let outsider = env.path("outsider");
    ok(&env.run(&["keygen", "--out", outsider.to_str().unwrap()]));
    let o = push(&s, &outsider.join("transfer.key"), &env.path("replay"));
    assert!(String::from_utf8_lossy(&o.stderr).contains("401"), "{o:?}");
    let r = client().post(s.url("/api/v1/actions")).body(good.clone()).send().unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let r = client().get(s.url("/api/v1/export")).send().unwrap();
    assert_eq!(r.status().as_u16(), 401);

    // Budi deletes the case: the receipt then answers like an unknown one.
    let bk = budi.join("signing.key");
    ok(&run_with_stdin(
        &[
            "case",
            "--cases",
            c,
            "--key",
            bk.to_str().unwrap(),
            "--actions",
            env.path("del.jsonl").to_str().unwrap(),
            "delete",
            &id,
        ],
        "",
    ));
    ok(&push(&s, &budi.join("transfer.key"), &env.path("del.jsonl")));
    let (code, v) = api_status(&s, &receipt);
    assert_eq!((code, v["error"].as_str()), (404, Some("unknown_receipt")));

    // The tamper-evident log holds the four applied actions and verifies.
    let b3 = env.path("b3.tar");
    pull(&s, &ani.join("transfer.key"), &b3, "0");
    let keys_file = env.keys.join("investigators.txt");
    let out = ok(&env.run(&["verify-log", b3.to_str().unwrap(), "--keys", keys_file.to_str().unwrap()]));
    assert!(out.contains("log of 4 applied action(s) is intact"), "{out}");
    let head = out.split("Head: ").nth(1).unwrap().lines().next().unwrap().trim().to_string();
    ok(&env.run(&["verify-log", b3.to_str().unwrap(), "--keys", keys_file.to_str().unwrap(), "--after", &head]));
    let bad = env.run(&[
        "verify-log",
        b3.to_str().unwrap(),
        "--keys",
        keys_file.to_str().unwrap(),
        "--after",
        &"1".repeat(64),
    ]);
    assert!(!bad.status.success());
    // The server's output never held the receipt, the reply or the note.
    let log = s.stop();
    assert!(!log.contains(&receipt) && !log.contains("kuitansi") && !log.contains("Sedang kami"));
    // Neither the reply, the note nor the follow-up is anywhere on the
    // server's disk, and no temp file was ever written.
    for canary in [&b"Mohon kirim"[..], b"Sedang kami periksa", b"Foto kuitansi terlampir", b"mark-up pengadaan"] {
        assert_eq!(common::found_under(&env.data, canary), None);
    }
    assert!(fs::read_dir(&tmp).unwrap().next().is_none(), "temp folder must stay empty");
}

#[test]
fn apply_on_the_server_and_passphrase_protected_keys() {
    let env = Env::new();
    let inv = env.path("inv");
    let o = Command::new(common::bin())
        .args(["keygen", "--passphrase", "--out", inv.to_str().unwrap()])
        .env("PELUIT_PASSPHRASE", "kuda lumping menari")
        .output()
        .unwrap();
    let text = ok(&o);
    assert!(fs::read(inv.join("signing.key")).unwrap().starts_with(b"age-encryption.org/v1"));
    // The protected identity is still a standard age file.
    let recipient = text.lines().find(|l| l.starts_with("age1")).unwrap();
    fs::write(env.keys.join("recipients.txt"), format!("{recipient}\n")).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("ed25519:")).collect();
    fs::write(env.keys.join("investigators.txt"), lines.join("\n")).unwrap();
    let s = Server::start(&env, &[]);
    let r = client().post(s.url("/api/v1/reports")).json(&serde_json::json!({"what": "x"})).send().unwrap();
    let receipt = r.json::<serde_json::Value>().unwrap()["receipt"].as_str().unwrap().to_string();
    s.stop();
    let bundle = env.path("b.tar");
    ok(&env.run(&["export", "--data", env.data.to_str().unwrap(), "--out", bundle.to_str().unwrap()]));
    let cases = env.path("cases");
    let decrypt_with = |passphrase: &str| {
        Command::new(common::bin())
            .args(["decrypt", bundle.to_str().unwrap(), "--identity", inv.join("identity.txt").to_str().unwrap()])
            .args(["--out", cases.to_str().unwrap()])
            .env("PELUIT_PASSPHRASE", passphrase)
            .output()
            .unwrap()
    };
    let wrong = decrypt_with("wrong passphrase");
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("passphrase does not open"), "{wrong:?}");
    // No variable and no terminal (a new session has none): say what is
    // missing, not "decryption failed".
    let o = Command::new("setsid")
        .args([common::bin(), "decrypt", bundle.to_str().unwrap()])
        .args(["--identity", inv.join("identity.txt").to_str().unwrap(), "--out", cases.to_str().unwrap()])
        .env_remove("PELUIT_PASSPHRASE")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("protected by a passphrase"), "{o:?}");
    ok(&decrypt_with("kuda lumping menari"));
    let id = fs::read_dir(&cases).unwrap().flatten().map(|e| e.path()).find(|p| p.is_dir()).unwrap();
    let id = id.file_name().unwrap().to_str().unwrap().to_string();
    let mut c = Command::new(common::bin())
        .args([
            "case",
            "--cases",
            cases.to_str().unwrap(),
            "--key",
            inv.join("signing.key").to_str().unwrap(),
            "status",
            &id,
            "closed",
        ])
        .env("PELUIT_PASSPHRASE", "kuda lumping menari")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    ok(&c);
    let actions_file = cases.join("actions.jsonl");
    c = env.run(&[
        "apply",
        "--data",
        env.data.to_str().unwrap(),
        "--keys",
        env.keys.to_str().unwrap(),
        actions_file.to_str().unwrap(),
    ]);
    assert!(ok(&c).contains("Applied 1 action(s)"));
    let again = env.run(&[
        "apply",
        "--data",
        env.data.to_str().unwrap(),
        "--keys",
        env.keys.to_str().unwrap(),
        cases.join("actions.applied.jsonl").to_str().unwrap(),
    ]);
    assert!(ok(&again).contains("Applied 0 action(s) (1 applied before, skipped)"));
    let s = Server::start(&env, &[]);
    assert_eq!(api_status(&s, &receipt).1["status"], "closed");
}

/// `keygen --passphrase` at a terminal asks twice, and two different entries
/// write nothing: a mistyped passphrase typed once would lock the identity,
/// and every tip sealed to it, away for ever. `script` gives the command a
/// real terminal; the answers are typed into it.
#[test]
fn keygen_asks_for_the_passphrase_twice_and_refuses_a_typo() {
    let env = Env::new();
    let keygen_at_a_terminal = |dir: &Path, typed: &str| {
        let cmd = format!("{} keygen --passphrase --out {}", common::bin(), dir.display());
        common::feed(Command::new("script").args(["-qec", &cmd, "/dev/null"]).env_remove("PELUIT_PASSPHRASE"), typed)
    };
    let typo = env.path("typo");
    let o = keygen_at_a_terminal(&typo, "kuda lumping menari\nkuda lumping menri\n");
    let all = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(!o.status.success(), "{all}");
    assert!(all.contains("differ"), "{all}");
    assert!(fs::read_dir(&typo).map(|d| d.count()).unwrap_or(0) == 0, "nothing may be written");
    let good = env.path("good");
    let o = keygen_at_a_terminal(&good, "kuda lumping menari\nkuda lumping menari\n");
    assert!(o.status.success(), "{o:?}");
    assert!(fs::read(good.join("identity.txt")).unwrap().starts_with(b"age-encryption.org/v1"));
}

/// After a first pull, an incremental pull carries status changes, replies,
/// notes and deletions, not only new submissions; every investigator's case
/// folder shows the whole conversation with who signed what; a deleted case
/// is marked and loses its deadlines.
#[test]
fn every_change_reaches_the_offline_machine_and_colleagues_see_the_conversation() {
    let env = Env::new();
    let ani = register_first(&env);
    let budi = add_investigator(&env, "budi");
    let s = Server::start(&env, &[]);
    let tip = |what: &str| tip(&s, what);
    let (kept, doomed) = (tip("pungli di loket"), tip("laporan yang akan dihapus"));
    let b1 = env.path("b1.tar");
    let cursor = pull(&s, &ani.join("transfer.key"), &b1, "0");
    let (ani_cases, budi_cases) = (env.path("cases-ani"), env.path("cases-budi"));
    decrypt(&b1, &ani.join("identity.txt"), &ani_cases);
    decrypt(&b1, &budi.join("identity.txt"), &budi_cases);
    let case_of = |dir: &Path, needle: &str| {
        fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| common::files_under(p).iter().any(|f| fs::read_to_string(f).is_ok_and(|t| t.contains(needle))))
            .map(|p| p.file_name().unwrap().to_str().unwrap().to_string())
            .unwrap()
    };
    let (kept_id, doomed_id) = (case_of(&ani_cases, "pungli di loket"), case_of(&ani_cases, "akan dihapus"));

    // Ani acts on one case, Budi deletes the other; nothing new is submitted.
    let c = ani_cases.to_str().unwrap();
    let sk = ani.join("signing.key");
    let sk = sk.to_str().unwrap();
    ok(&run_with_stdin(
        &["case", "--cases", c, "--key", sk, "status", &kept_id, "needs_info", "--note"],
        "Mohon foto.",
    ));
    ok(&run_with_stdin(&["case", "--cases", c, "--key", sk, "reply", &kept_id], "Terima kasih atas laporannya."));
    ok(&push(&s, &ani.join("transfer.key"), &ani_cases.join("actions.jsonl")));
    let bc = budi_cases.to_str().unwrap();
    let bk = budi.join("signing.key");
    ok(&run_with_stdin(&["case", "--cases", bc, "--key", bk.to_str().unwrap(), "delete", &doomed_id], ""));
    ok(&push(&s, &budi.join("transfer.key"), &budi_cases.join("actions.jsonl")));
    assert_eq!(api_status(&s, &doomed).0, 404);
    assert_eq!(api_status(&s, &kept).1["status"], "needs_info");

    // Budi pulls only what changed since the first pull.
    let b2 = env.path("b2.tar");
    pull(&s, &budi.join("transfer.key"), &b2, &cursor);
    let out = ok(&common::decrypt(&b2, &budi.join("identity.txt"), &budi_cases));
    assert!(out.contains("2 reply(ies) and status note(s)") && out.contains("1 case(s) deleted"), "{out}");
    let case: serde_json::Value =
        serde_json::from_slice(&fs::read(budi_cases.join(&kept_id).join("case.json")).unwrap()).unwrap();
    assert_eq!(case["status"], "needs_info");
    let talk = fs::read_to_string(budi_cases.join(&kept_id).join("conversation.md")).unwrap();
    for want in ["Laporan / Report", "Mohon foto.", "Terima kasih atas laporannya.", "Oleh / By: ani", "needs_info"] {
        assert!(talk.contains(want), "{want:?} missing from:\n{talk}");
    }
    assert!(talk.find("Mohon foto.") < talk.find("Terima kasih atas"), "in the order they were applied:\n{talk}");
    assert!(talk.find("Laporan / Report") < talk.find("Diterima / Received"), "acknowledged after the tip:\n{talk}");
    let gone = fs::read_to_string(budi_cases.join(&doomed_id).join("conversation.md")).unwrap();
    assert!(gone.contains("Deleted on the server"), "{gone}");
    let table = ok(&env.run(&["cases", "--dir", bc]));
    let row = |id: &str| table.lines().find(|l| l.starts_with(id)).unwrap().to_string();
    assert!(row(&kept_id).contains("needs_info"), "{table}");
    assert!(row(&doomed_id).contains("deleted") && !row(&doomed_id).contains("OVERDUE"), "{table}");
    // A second run of the same bundle changes nothing and fails on nothing.
    let again = ok(&common::decrypt(&b2, &budi.join("identity.txt"), &budi_cases));
    assert!(!again.contains("reply(ies)"), "{again}");
    // Nothing of the conversation reached the server's disk in the clear.
    s.stop();
    assert_eq!(common::found_under(&env.data, b"Terima kasih atas laporannya"), None);
}
