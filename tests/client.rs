//! End-to-end encryption from the reporter's machine: `peluit submit` and
//! `peluit check` against the real server, with a pinned, signed key set.
#![allow(clippy::unwrap_used)]

mod common;

use std::fs;
use std::path::Path;

use common::{ok, run_with_stdin, Env, Server};
use peluit::crypto::ed25519::SecretKey;

/// The deployment id the server printed at start.
fn deployment_of(s: &Server) -> String {
    let out = s.output();
    out.split("deployment=").nth(1).unwrap().split_whitespace().next().unwrap().trim_matches('"').to_string()
}

/// Signs the keys folder's recipients for `deployment` with `key_file`.
fn sign_keyset(env: &Env, deployment: &str, key_file: &Path) {
    let out = env.keys.join("keyset.json");
    let _ = fs::remove_file(&out);
    ok(&env.run(&[
        "keys",
        "sign",
        "--recipients",
        env.keys.join("recipients.txt").to_str().unwrap(),
        "--deployment",
        deployment,
        "--key",
        key_file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]));
}

#[test]
fn a_cli_tip_is_sealed_before_it_leaves_and_replies_open_locally() {
    let env = Env::new();
    let inv = env.identity.parent().unwrap().to_path_buf();
    let sign = SecretKey::parse(&fs::read_to_string(inv.join("signing.key")).unwrap()).unwrap();
    let transfer = SecretKey::parse(&fs::read_to_string(inv.join("transfer.key")).unwrap()).unwrap();
    fs::write(
        env.keys.join("investigators.txt"),
        format!("{} sign ani\n{} transfer ani-t\n", sign.public().to_text(), transfer.public().to_text()),
    )
    .unwrap();
    let tmp = env.path("tmp");
    fs::create_dir_all(&tmp).unwrap();
    let s = Server::start_with(&env, &[], &[("TMPDIR", &tmp)]);
    let dep = deployment_of(&s);
    s.stop();
    sign_keyset(&env, &dep, &inv.join("signing.key"));
    let s = Server::start_with(&env, &[], &[("TMPDIR", &tmp)]);
    let pin = sign.public().fingerprint();

    // A tip with a file, from a filled-in template; the canary is everywhere.
    let canary = "CLI-CANARY-3f9e";
    let template = env.path("tip.json");
    fs::write(&template, format!(r#"{{"category": "suap", "what": "{canary} in the what", "text": "{canary}"}}"#))
        .unwrap();
    let file = env.path(&format!("{canary}.txt"));
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    fs::write(&file, &big).unwrap();
    let out = ok(&run_with_stdin(
        &[
            "submit",
            "--server",
            &s.base,
            "--pin",
            &pin,
            "--template",
            template.to_str().unwrap(),
            "--file",
            file.to_str().unwrap(),
        ],
        "",
    ));
    let receipt =
        out.lines().map(str::trim).find(|l| l.len() == 25 && l.matches('-').count() == 4).unwrap().to_string();

    // check: the receipt on stdin, never in argv.
    let shown = ok(&run_with_stdin(&["check", "--server", &s.base], &format!("{receipt}\n")));
    assert!(shown.contains("Status: received"), "{shown}");

    // The investigator replies through the offline flow.
    let bundle = env.path("b.tar");
    ok(&env.run(&[
        "pull",
        "--server",
        &s.base,
        "--key",
        inv.join("transfer.key").to_str().unwrap(),
        "--out",
        bundle.to_str().unwrap(),
    ]));
    let cases = env.path("cases");
    ok(&common::decrypt(&bundle, &env.identity, &cases));
    let case = fs::read_dir(&cases).unwrap().flatten().map(|e| e.path()).find(|p| p.is_dir()).unwrap();
    let id = case.file_name().unwrap().to_str().unwrap().to_string();
    let manifest = common::files_under(&case).into_iter().find(|p| p.ends_with("report.json")).unwrap();
    assert!(fs::read_to_string(manifest).unwrap().contains(canary), "decrypts offline like a web tip");
    let got = common::files_under(&case)
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with(&format!("{canary}.txt")))
        .unwrap();
    assert_eq!(fs::read(got).unwrap(), big);
    let sk = inv.join("signing.key");
    ok(&run_with_stdin(
        &["case", "--cases", cases.to_str().unwrap(), "--key", sk.to_str().unwrap(), "reply", &id],
        "Kami sudah menerima berkas Anda.",
    ));
    ok(&env.run(&[
        "push",
        "--server",
        &s.base,
        "--key",
        inv.join("transfer.key").to_str().unwrap(),
        cases.join("actions.jsonl").to_str().unwrap(),
    ]));
    let shown = ok(&run_with_stdin(&["check", "--server", &s.base], &format!("{}\n", receipt.to_lowercase())));
    assert!(shown.contains("Kami sudah menerima berkas Anda."), "{shown}");

    // A sealed follow-up from the CLI.
    let added = ok(&run_with_stdin(
        &["check", "--server", &s.base, "--add", "--pin", &pin],
        &format!("{receipt}\nTambahan {canary}\n"),
    ));
    assert!(added.contains("additional information was encrypted"), "{added}");

    // The server never had the plaintext: not in its data, its temp folder or its output.
    let log = s.stop();
    assert!(!log.contains(canary) && !log.contains(&receipt));
    assert_eq!(common::found_under(&env.data, canary.as_bytes()), None);
    assert!(fs::read_dir(&tmp).unwrap().next().is_none());
    // And it holds no identity that could decrypt anything.
    assert!(common::files_under(&env.keys)
        .iter()
        .all(|p| !fs::read_to_string(p).unwrap_or_default().contains("AGE-SECRET-KEY")));
}

#[test]
fn key_sets_from_another_key_or_deployment_are_refused() {
    let env = Env::new();
    let inv = env.identity.parent().unwrap().to_path_buf();
    let sign = SecretKey::parse(&fs::read_to_string(inv.join("signing.key")).unwrap()).unwrap();
    let s = Server::start(&env, &[]);
    let dep = deployment_of(&s);
    // No key set published yet: the client says so and sends nothing.
    let o = run_with_stdin(
        &["submit", "--server", &s.base, "--pin", &sign.public().fingerprint(), "--template", "/dev/null"],
        "",
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no signed key set"));
    s.stop();
    let template = env.path("t.json");
    fs::write(&template, r#"{"what": "x"}"#).unwrap();
    let submit = |pin: &str| {
        let s = Server::start(&env, &[]);
        let o = run_with_stdin(
            &["submit", "--server", &s.base, "--pin", pin, "--template", template.to_str().unwrap()],
            "",
        );
        s.stop();
        o
    };
    // Signed by a key that is not the pinned one.
    let other = env.path("other");
    ok(&env.run(&["keygen", "--out", other.to_str().unwrap()]));
    sign_keyset(&env, &dep, &other.join("signing.key"));
    let o = submit(&sign.public().fingerprint());
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not signed by the pinned key"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // Signed by the pinned key, but for another deployment.
    sign_keyset(&env, "00000000000000000000000000000000", &inv.join("signing.key"));
    let o = submit(&sign.public().fingerprint());
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("another deployment"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // The right one works.
    sign_keyset(&env, &dep, &inv.join("signing.key"));
    let o = submit(&sign.public().fingerprint());
    ok(&o);
    // Nothing reached the server from the refused attempts: one report in all.
    let b = env.path("b.tar");
    let out = ok(&env.run(&["export", "--data", env.data.to_str().unwrap(), "--out", b.to_str().unwrap()]));
    assert!(out.contains("Exported 1 report(s)"), "{out}");
}
