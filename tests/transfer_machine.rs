//! The offline pin behind the bundle signature, through the real binary: a
//! transfer machine's rewrites are refused by the signature already
//! (`tests/signed_bundle.rs`), so these bundles are rewritten and signed
//! again with the server's own key, as a compromised server would. Once the
//! cases folder is pinned, one with an extra recipient or another deployment
//! is refused before anything is written, the pin stays, and a reply signed
//! afterwards is sealed only to the pinned recipients and the reporter.
#![allow(clippy::unwrap_used)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::team::{decrypt, tip};
use common::{ok, Env, Server};
use peluit::crypto;

/// `entries` signed again with `env`'s server key, written at `to`.
fn resign(env: &Env, entries: &[(String, Vec<u8>)], to: &Path) {
    let key = peluit::server_key::load(&env.keys.join(peluit::server_key::SERVER_KEY_FILE)).unwrap();
    fs::write(to, common::signed_tar_by(entries, &key)).unwrap();
}

/// `bundle` with its `index.json` changed by `edit`, signed again, written at `to`.
fn rewrite_index(env: &Env, bundle: &Path, to: &Path, edit: impl Fn(&mut serde_json::Value)) {
    let mut entries = common::untar(bundle);
    let mut index: serde_json::Value = serde_json::from_slice(&entries[0].1).unwrap();
    edit(&mut index);
    entries[0].1 = serde_json::to_vec(&index).unwrap();
    resign(env, &entries, to);
}

/// A server's bundle of one tip, decrypted into a new cases folder (the
/// first contact, which pins it): the env, the bundle, the folder, the case id.
fn first_contact(what: &str) -> (Env, PathBuf, PathBuf, String) {
    let env = Env::new();
    let s = Server::start(&env, &[]);
    tip(&s, what);
    s.stop();
    let bundle = env.path("b.tar");
    ok(&env.run(&["export", "--data", env.data.to_str().unwrap(), "--out", bundle.to_str().unwrap()]));
    let cases = env.path("cases");
    decrypt(&bundle, &env.identity, &cases);
    let id = fs::read_dir(&cases).unwrap().flatten().find(|e| e.path().is_dir()).unwrap().file_name();
    (env, bundle, cases, id.to_string_lossy().into_owned())
}

#[test]
fn a_bundle_rewritten_in_transit_cannot_add_a_recipient_to_replies() {
    let (env, bundle, cases, id) = first_contact("pungutan liar di kantor kecamatan");
    let pin = cases.join("deployment.json");
    let pinned = fs::read(&pin).unwrap();

    // The server adds a recipient of its own to the next bundle.
    let (attacker_secret, attacker) = crypto::new_identity();
    let added = env.path("added.tar");
    rewrite_index(&env, &bundle, &added, |i| i["recipients"].as_array_mut().unwrap().push(attacker.clone().into()));
    let before = common::files_under(&cases);
    let out = common::decrypt(&added, &env.identity, &cases);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a bundle with an extra recipient is refused");
    assert!(err.contains(&attacker), "the refusal names the recipient that differs: {err}");
    assert_eq!(fs::read(&pin).unwrap(), pinned, "the pin is not changed");
    assert_eq!(common::files_under(&cases), before, "nothing is written");

    // Or swaps the deployment.
    let other = env.path("other.tar");
    rewrite_index(&env, &bundle, &other, |i| i["deployment_id"] = "e".repeat(32).into());
    let out = common::decrypt(&other, &env.identity, &cases);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains(&"e".repeat(32)), "{err}");
    assert_eq!(fs::read(&pin).unwrap(), pinned);

    // A reply signed now is sealed to the pinned recipients and the reporter only.
    common::team::reply_is_not_theirs(&env, &cases, &id, &attacker_secret);
}

#[test]
fn a_bundle_cannot_change_the_reply_key_of_a_known_case() {
    let (env, bundle, cases, id) = first_contact("suap di dinas perizinan");
    let case_json = cases.join(id).join("case.json");
    let before = fs::read(&case_json).unwrap();

    // The server points the case's replies at a key of its own.
    let (_, attacker) = crypto::new_identity();
    let mut entries = common::untar(&bundle);
    let entry = entries.iter_mut().find(|(p, _)| p.starts_with("reports/")).unwrap();
    let mut report: serde_json::Value = serde_json::from_slice(&entry.1).unwrap();
    report["reply_recipient"] = attacker.clone().into();
    entry.1 = serde_json::to_vec(&report).unwrap();
    let altered = env.path("altered.tar");
    resign(&env, &entries, &altered);
    let out = common::decrypt(&altered, &env.identity, &cases);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("reply key"), "refused as altered: {err}");
    assert_eq!(fs::read(&case_json).unwrap(), before, "the case keeps the reporter's reply key");
}
