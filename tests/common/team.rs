//! Two investigators against one server: registering a colleague, pulling,
//! pushing, and a tip to act on.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use peluit::crypto::ed25519::SecretKey;

use super::{bin, client, ok, Env, Server};

/// Registers the first investigator's (`env.identity`'s) signing and
/// transfer keys as "ani"; returns their folder.
pub fn register_first(env: &Env) -> PathBuf {
    let ani = env.identity.parent().unwrap().to_path_buf();
    let key = |f: &str| SecretKey::parse(&fs::read_to_string(ani.join(f)).unwrap()).unwrap().public().to_text();
    let text = format!("{} sign ani\n{} transfer ani-laptop\n", key("signing.key"), key("transfer.key"));
    fs::write(env.keys.join("investigators.txt"), text).unwrap();
    ani
}

/// A second investigator's keys, registered on the server beside the first.
pub fn add_investigator(env: &Env, name: &str) -> PathBuf {
    let dir = env.path(name);
    let out = env.run(&["keygen", "--out", dir.to_str().unwrap()]);
    let text = String::from_utf8(out.stdout).unwrap();
    let recipient = text.lines().find(|l| l.starts_with("age1")).unwrap();
    let mut r = fs::OpenOptions::new().append(true).open(env.keys.join("recipients.txt")).unwrap();
    writeln!(r, "{recipient}").unwrap();
    let mut k = fs::OpenOptions::new().create(true).append(true).open(env.keys.join("investigators.txt")).unwrap();
    for l in text.lines().filter(|l| l.starts_with("ed25519:")) {
        writeln!(k, "{}", l.replace("investigator", name)).unwrap();
    }
    dir
}

/// `peluit pull`; returns the cursor for the next `--since`.
pub fn pull(s: &Server, key: &Path, out: &Path, since: &str) -> String {
    let o = Command::new(bin())
        .args(["pull", "--server", &s.base, "--key", key.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .args(["--since", since])
        .output()
        .unwrap();
    let text = ok(&o);
    text.split("--since ").nth(1).unwrap().trim().to_string()
}

/// `peluit push`.
pub fn push(s: &Server, key: &Path, file: &Path) -> std::process::Output {
    Command::new(bin())
        .args(["push", "--server", &s.base, "--key", key.to_str().unwrap(), file.to_str().unwrap()])
        .output()
        .unwrap()
}

/// `peluit decrypt`, which must succeed.
pub fn decrypt(bundle: &Path, identity: &Path, out: &Path) {
    ok(&super::decrypt(bundle, identity, out));
}

/// Submits a tip; returns its receipt.
pub fn tip(s: &Server, what: &str) -> String {
    let r = client().post(s.url("/api/v1/reports")).json(&serde_json::json!({ "what": what })).send().unwrap();
    r.json::<serde_json::Value>().unwrap()["receipt"].as_str().unwrap().to_string()
}

/// Signs a reply to case `id` in `cases` with `env`'s investigator, then
/// checks that the investigators open it and `attacker_secret` does not.
pub fn reply_is_not_theirs(env: &Env, cases: &Path, id: &str, attacker_secret: &str) {
    let sk = env.identity.parent().unwrap().join("signing.key");
    let case = ["case", "--cases", cases.to_str().unwrap(), "--key", sk.to_str().unwrap(), "reply", id];
    ok(&super::run_with_stdin(&case, "Mohon kirim bukti tambahan."));
    let actions = fs::read_to_string(cases.join("actions.jsonl")).unwrap();
    let line: serde_json::Value = serde_json::from_str(actions.lines().last().unwrap()).unwrap();
    let blob = peluit::crypto::ed25519::unb64(line["blob"].as_str().unwrap()).unwrap();
    let mine = peluit::crypto::Identities::parse(&fs::read_to_string(&env.identity).unwrap()).unwrap();
    assert!(mine.open(blob.as_slice()).is_ok(), "the investigators read their reply");
    let theirs = peluit::crypto::Identities::parse(attacker_secret).unwrap();
    assert!(theirs.open(blob.as_slice()).is_err(), "the attacker's key does not open it");
}
