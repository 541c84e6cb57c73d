//! The data folder as someone who seizes the disk or a backup sees it: tips
//! with and without large attachments arrive seconds apart, investigators
//! act on them, the server stops, and then every file time, inode, mode,
//! byte and stored value is inspected. None may pin a tip or an action to
//! anything finer than its day, nothing may be readable by other users, and
//! a candidate receipt must not be confirmable from the copy alone.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{client, ok, run_with_stdin, Env, Server};
use peluit::crypto::{self, DeploymentSecret};
use peluit::receipt::Receipt;
use reqwest::blocking::multipart::{Form, Part};

/// Seconds and nanoseconds since the epoch, now.
fn now() -> (i64, u32) {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    (d.as_secs() as i64, d.subsec_nanos())
}

/// Every path under `dir`, `dir` itself included.
fn paths(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    let mut i = 0;
    while i < out.len() {
        if out[i].is_dir() {
            let mut more: Vec<PathBuf> = fs::read_dir(&out[i]).unwrap().flatten().map(|e| e.path()).collect();
            more.sort();
            out.extend(more);
        }
        i += 1;
    }
    out
}

/// The four times of a path (birth only where the file system records it).
fn times(p: &Path) -> Vec<(&'static str, i64, u32)> {
    use rustix::fs::{statx, AtFlags, StatxFlags, CWD};
    let s = statx(CWD, p, AtFlags::SYMLINK_NOFOLLOW, StatxFlags::BASIC_STATS | StatxFlags::BTIME).unwrap();
    let mut t = vec![
        ("atime", s.stx_atime.tv_sec, s.stx_atime.tv_nsec),
        ("mtime", s.stx_mtime.tv_sec, s.stx_mtime.tv_nsec),
        ("ctime", s.stx_ctime.tv_sec, s.stx_ctime.tv_nsec),
    ];
    if StatxFlags::from_bits_retain(s.stx_mask).contains(StatxFlags::BTIME) {
        t.push(("birth", s.stx_btime.tv_sec, s.stx_btime.tv_nsec));
    }
    t
}

/// Sends a tip with `files` attachments of `size` bytes each; returns its receipt.
fn tip(s: &Server, what: &str, files: usize, size: usize) -> String {
    let mut form = Form::new().text("what", what.to_string());
    for i in 0..files {
        let body: Vec<u8> = (0..size).map(|j| (j * 7 + i) as u8).collect();
        form = form.part("file", Part::bytes(body).file_name(format!("bukti-{i}.pdf")));
    }
    let r = client().post(s.url("/api/v1/reports")).multipart(form).send().unwrap();
    assert_eq!(r.status().as_u16(), 201);
    r.json::<serde_json::Value>().unwrap()["receipt"].as_str().unwrap().to_string()
}

/// Byte strings that would give away a second in `window`: its decimal
/// digits and its 8-byte big- and little-endian forms.
fn second_patterns(window: std::ops::RangeInclusive<i64>) -> Vec<Vec<u8>> {
    window
        .flat_map(|t| {
            [t.to_string().into_bytes(), (t as u64).to_be_bytes().to_vec(), (t as u64).to_le_bytes().to_vec()]
        })
        .collect()
}

/// Every string inside a stored value, and what base64 strings decode to
/// (signed payloads are kept base64-encoded).
fn strings_in(v: &serde_json::Value, out: &mut Vec<Vec<u8>>) {
    match v {
        serde_json::Value::String(s) => {
            out.push(s.as_bytes().to_vec());
            if let Some(raw) = peluit::crypto::ed25519::unb64(s) {
                if let Ok(inner) = serde_json::from_slice::<serde_json::Value>(&raw) {
                    strings_in(&inner, out);
                }
                out.push(raw);
            }
        }
        serde_json::Value::Number(n) => out.push(n.to_string().into_bytes()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| strings_in(x, out)),
        serde_json::Value::Object(o) => o.values().for_each(|x| strings_in(x, out)),
        _ => {}
    }
}

/// Every key and value of every tree of a copy of the database, with the
/// strings decoded from JSON values.
fn stored_values(copy: &Path) -> BTreeMap<String, Vec<Vec<u8>>> {
    let db = sled::Config::new().path(copy).segment_size(peluit::store::layout::SEGMENT_SIZE).open().unwrap();
    let mut out = BTreeMap::new();
    for name in db.tree_names() {
        let tree = db.open_tree(&name).unwrap();
        let mut values = Vec::new();
        for item in tree.iter() {
            let (k, v) = item.unwrap();
            values.push(k.to_vec());
            if let Ok(json) = serde_json::from_slice::<serde_json::Value>(&v) {
                strings_in(&json, &mut values);
            }
            values.push(v.to_vec());
        }
        out.insert(String::from_utf8_lossy(&name).into_owned(), values);
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Copies a folder as a backup tool would (contents only, no times).
fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn a_seized_folder_reveals_days_and_cannot_confirm_a_receipt() {
    let env = Env::new();
    let inv = env.identity.parent().unwrap().to_path_buf();
    let key = |f: &str| peluit::crypto::ed25519::SecretKey::parse(&fs::read_to_string(inv.join(f)).unwrap()).unwrap();
    fs::write(
        env.keys.join("investigators.txt"),
        format!(
            "{} sign ani\n{} transfer ani-laptop\n",
            key("signing.key").public().to_text(),
            key("transfer.key").public().to_text()
        ),
    )
    .unwrap();
    let s = Server::start(&env, &["--blur-secs", "1"]);
    // Whatever the folder holds from before the first tip (its creation at
    // start) is allowed to show the start; only the tips' and actions'
    // window must not show.
    let before: Vec<(PathBuf, u64)> =
        paths(&env.data).into_iter().map(|p| (p.clone(), fs::symlink_metadata(&p).unwrap().ino())).collect();
    std::thread::sleep(Duration::from_millis(2100));

    let (first, _) = now();
    let mut receipts = vec![tip(&s, "tip tanpa lampiran", 0, 0)];
    std::thread::sleep(Duration::from_millis(2100));
    receipts.push(tip(&s, "tip dengan satu lampiran besar", 1, 300_000));
    std::thread::sleep(Duration::from_millis(2100));
    receipts.push(tip(&s, "tip dengan dua lampiran besar", 2, 200_000));
    std::thread::sleep(Duration::from_millis(2100));
    receipts.push(tip(&s, "tip kecil", 1, 2_000));

    // Investigators pull, decrypt, and push a status, a note and a reply.
    let bundle = env.path("b.tar");
    let transfer = inv.join("transfer.key");
    ok(&Command::new(common::bin())
        .args(["pull", "--server", &s.base, "--key", transfer.to_str().unwrap(), "--out", bundle.to_str().unwrap()])
        .output()
        .unwrap());
    let cases = env.path("cases");
    ok(&common::decrypt(&bundle, &env.identity, &cases));
    let (c, sk) = (cases.to_str().unwrap(), inv.join("signing.key"));
    let sk = sk.to_str().unwrap();
    let ids: Vec<String> = fs::read_dir(&cases)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(ids.len(), 4);
    ok(&run_with_stdin(
        &["case", "--cases", c, "--key", sk, "status", &ids[0], "investigating", "--note"],
        "Diperiksa.",
    ));
    ok(&run_with_stdin(&["case", "--cases", c, "--key", sk, "reply", &ids[1]], "Terima kasih."));
    ok(&env.run(&["case", "--cases", c, "--key", sk, "delete", &ids[2]]));
    let pushed = Command::new(common::bin())
        .args([
            "push",
            "--server",
            &s.base,
            "--key",
            transfer.to_str().unwrap(),
            cases.join("actions.jsonl").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(ok(&pushed).contains("Applied 3 action(s)"));
    let (last, _) = now();
    // Three ticks of --blur-secs: the last reset before the copy is then at
    // least two whole seconds after the last write, so that its own second
    // (which the change time shows) falls outside the window below even when
    // a busy machine delays a tick.
    std::thread::sleep(Duration::from_millis(3100));
    // A hot copy, more than --blur-secs after the last write: its times are
    // already reset by the running server, not only by its stop.
    let window = (first - 1)..=(last + 1);
    let mut hot: Vec<String> = Vec::new();
    for p in paths(&env.data) {
        for (what, sec, _) in times(&p) {
            if window.contains(&sec) {
                hot.push(format!("while running, {}: {what} {sec}", p.display()));
            }
        }
    }
    s.stop();
    // A copy that keeps the files' times, as a careful seizer makes first
    // (reading the folder sets its access times), for audit-disk below.
    let kept = env.path("kept");
    assert!(Command::new("cp").arg("-a").arg(&env.data).arg(&kept).status().unwrap().success());

    let mut found: Vec<String> = hot;
    // 1. File times: none falls in the window of the tips and actions.
    for p in paths(&env.data) {
        for (what, sec, nsec) in times(&p) {
            if window.contains(&sec) {
                found.push(format!(
                    "{}: {what} {sec}.{nsec:09} falls among the tips and actions {window:?}",
                    p.display()
                ));
            }
        }
    }
    // 2. Inodes: no file or folder was made after the first tip, so
    //    neither inode numbers nor birth times can order the tips.
    let after: Vec<(PathBuf, u64)> =
        paths(&env.data).into_iter().map(|p| (p.clone(), fs::symlink_metadata(&p).unwrap().ino())).collect();
    for entry in &after {
        if !before.contains(entry) {
            found.push(format!("{} appeared after the server started", entry.0.display()));
        }
    }
    // 3. Modes: nothing readable, writable or searchable by anyone else.
    for p in paths(&env.data) {
        let mode = fs::symlink_metadata(&p).unwrap().mode();
        if mode & 0o077 != 0 {
            found.push(format!("{} has mode {:o}", p.display(), mode & 0o7777));
        }
    }

    // Now read everything, from a backup copy.
    let copy = env.path("backup");
    copy_dir(&env.data, &copy);
    let seconds = second_patterns((first - 1)..=(last + 1));
    let raw: Vec<(PathBuf, Vec<u8>)> =
        common::files_under(&copy).into_iter().map(|p| (p.clone(), fs::read(&p).unwrap())).collect();
    // 4. Bytes and stored values: no second of the window, in any form.
    for (p, bytes) in &raw {
        for pat in &seconds {
            if contains(bytes, pat) {
                found.push(format!("{} holds {:?}", p.display(), String::from_utf8_lossy(pat)));
            }
        }
    }
    let values = stored_values(&copy);
    for (tree, vals) in &values {
        for v in vals {
            for pat in &seconds {
                if contains(v, pat) {
                    found.push(format!("tree {tree} holds a second of the window: {}", String::from_utf8_lossy(v)));
                }
            }
        }
    }

    // 5. Receipts: nothing in the copy derives a lookup key that is stored,
    //    names the reply key, or opens a stored blob with it.
    for r in &receipts {
        let receipt = Receipt::parse(r).ok().unwrap();
        let reply = crypto::reply_identity(&receipt);
        let recipient = reply.recipient().to_string();
        for (p, bytes) in &raw {
            if contains(bytes, recipient.as_bytes()) {
                found.push(format!("{} names a receipt's reply key", p.display()));
            }
        }
        let lookups = &values["lookup"];
        for (tree, vals) in &values {
            for v in vals {
                if contains(v, recipient.as_bytes()) {
                    found.push(format!("tree {tree} names a receipt's reply key"));
                }
                if let Some(secret) = DeploymentSecret::from_bytes(v) {
                    let k = crypto::lookup_key(&secret, &receipt);
                    if lookups.iter().any(|l| l == &k.0) {
                        found.push(format!("tree {tree} holds the secret that finds a receipt"));
                    }
                }
                if v.starts_with(b"age-encryption.org/v1") && reply.open(v.as_slice()).is_ok() {
                    {
                        found.push(format!("tree {tree} holds a blob the receipt opens"));
                    }
                }
            }
        }
    }

    found.dedup();
    assert!(found.is_empty(), "the copy reveals:\n{}", found.join("\n"));

    // 6. audit-disk says the same, and sees the three live reports.
    let audit = ok(&env.run(&["audit-disk", "--data", kept.to_str().unwrap()]));
    assert!(audit.contains("3 report(s)"), "{audit}");
    assert!(audit.contains("\nfinest time: day\n"), "{audit}");
}
