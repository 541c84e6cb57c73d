//! End-to-end encryption from the reporter's machine: `peluit submit` and
//! `peluit check` against the real server, with a pinned, signed key set.
#![allow(clippy::unwrap_used)]

mod common;

use std::fs;
use std::path::Path;

use common::{ok, run_with_stdin, Env, Server};
use peluit::crypto::ed25519::SecretKey;
use peluit::i18n::{Catalog, Lang};

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

/// A server that publishes a key set signed by the investigator of `env`
/// (started, signed, restarted, as an operator does); returns it and the pin.
fn published_server(env: &Env, vars: &[(&str, &Path)]) -> (Server, String) {
    let inv = env.identity.parent().unwrap().to_path_buf();
    let sign = SecretKey::parse(&fs::read_to_string(inv.join("signing.key")).unwrap()).unwrap();
    let transfer = SecretKey::parse(&fs::read_to_string(inv.join("transfer.key")).unwrap()).unwrap();
    fs::write(
        env.keys.join("investigators.txt"),
        format!("{} sign ani\n{} transfer ani-t\n", sign.public().to_text(), transfer.public().to_text()),
    )
    .unwrap();
    let s = Server::start_with(env, &[], vars);
    let dep = deployment_of(&s);
    s.stop();
    sign_keyset(env, &dep, &inv.join("signing.key"));
    (Server::start_with(env, &[], vars), sign.public().fingerprint())
}

/// A message of the reporter's catalogue.
fn msg(lang: Lang, key: &str) -> String {
    Catalog::load().unwrap().tr(lang).get(key)
}

#[test]
fn a_cli_tip_is_sealed_before_it_leaves_and_replies_open_locally() {
    let env = Env::new();
    let inv = env.identity.parent().unwrap().to_path_buf();
    let tmp = env.path("tmp");
    fs::create_dir_all(&tmp).unwrap();
    let (s, pin) = published_server(&env, &[("TMPDIR", &tmp)]);

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
    assert!(shown.contains(&format!("{}: {}", msg(Lang::Id, "status-current"), msg(Lang::Id, "status-received"))));
    let shown = ok(&run_with_stdin(&["check", "--server", &s.base, "--lang", "en"], &format!("{receipt}\n")));
    assert!(shown.contains("Current status: Received"), "{shown}");

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
    // With the pin, the reply is verified against the signed action the
    // server hands over with it; without, it is marked as not verified.
    let check = ["check", "--server", &s.base, "--pin", &pin];
    let shown = ok(&run_with_stdin(&check, &format!("{}\n", receipt.to_lowercase())));
    assert!(shown.contains("Kami sudah menerima berkas Anda."), "{shown}");
    assert!(shown.contains(&msg(Lang::Id, "cli-verified")), "{shown}");
    assert!(!shown.contains(&msg(Lang::Id, "cli-unverified")), "{shown}");
    let shown = ok(&run_with_stdin(&["check", "--server", &s.base], &format!("{receipt}\n")));
    assert!(shown.contains(&msg(Lang::Id, "cli-unverified")) && shown.contains("--pin"), "{shown}");
    assert!(!shown.contains(&msg(Lang::Id, "cli-verified")), "{shown}");

    // A sealed follow-up from the CLI.
    let added = ok(&run_with_stdin(
        &["check", "--server", &s.base, "--add", "--pin", &pin],
        &format!("{receipt}\nTambahan {canary}\n"),
    ));
    assert!(added.contains(&msg(Lang::Id, "followup-sent")), "{added}");
    // Its tags, made on this computer from the receipt, verify offline.
    let again = env.path("b2.tar");
    let transfer = inv.join("transfer.key");
    let pull = ["pull", "--server", &s.base, "--key", transfer.to_str().unwrap(), "--out", again.to_str().unwrap()];
    ok(&env.run(&pull));
    ok(&common::decrypt(&again, &env.identity, &cases));
    let followup = common::files_under(&case)
        .into_iter()
        .find(|p| p.ends_with("report.json") && p.to_string_lossy().contains("followup"))
        .unwrap();
    let followup: serde_json::Value = serde_json::from_slice(&fs::read(followup).unwrap()).unwrap();
    assert_eq!(followup["from_receipt_holder"], true, "{followup}");

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
    fs::write(env.keys.join("investigators.txt"), format!("{} sign ani\n", sign.public().to_text())).unwrap();
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

/// What the reporter sees of `submit` (stdout, stderr).
fn texts(o: &std::process::Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
fn the_cli_asks_in_indonesian_offers_identity_reviews_and_checks_the_category() {
    let env = Env::new();
    let (s, pin) = published_server(&env, &[]);
    let submit = ["submit", "--server", &s.base, "--pin", &pin];
    // An unknown category is asked again, in Indonesian, with the list; a
    // number picks from the numbered list; the identity section is offered
    // (off unless asked for) with the form's warning; the review comes last.
    let answers = "bribery\n2\nPetugas minta uang\nKepala seksi\nKantor camat\nMaret\nTunai\n\nya\nBudi 0812\nya\n";
    let o = run_with_stdin(&submit, answers);
    let (out, err) = texts(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains(&msg(Lang::Id, "identity-warning")), "{err}");
    assert!(err.contains("\"bribery\" tidak ada dalam daftar") && err.contains("pungli, suap"), "{err}");
    assert!(err.contains(&msg(Lang::Id, "cli-review-title")) && err.contains("Budi 0812"), "{err}");
    assert!(err.contains("  Jenis pelanggaran: Suap\n"), "the review names the category: {err}");
    assert!(out.contains(&msg(Lang::Id, "cli-sent")) && out.contains(&msg(Lang::Id, "receipt-write-down")), "{out}");
    assert!(!out.contains("has been received"), "no English by default: {out}");
    // The investigators get the category and the identity as given.
    let bundle = env.path("b.tar");
    let inv = env.identity.parent().unwrap();
    let key = inv.join("transfer.key");
    ok(&env.run(&["pull", "--server", &s.base, "--key", key.to_str().unwrap(), "--out", bundle.to_str().unwrap()]));
    let cases = env.path("cases");
    ok(&common::decrypt(&bundle, &env.identity, &cases));
    let report = common::files_under(&cases).into_iter().find(|p| p.ends_with("report.json")).unwrap();
    let report = fs::read_to_string(report).unwrap();
    assert!(report.contains("\"suap\"") && report.contains("Budi 0812"), "{report}");

    // Declining the identity and then the review sends nothing.
    let o = run_with_stdin(&submit, "\nApa\n\n\n\n\n\n\n\n");
    let (out, err) = texts(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains(&msg(Lang::Id, "cli-cancelled")), "{out}");
    assert!(!out.contains(&msg(Lang::Id, "receipt-code-label")), "{out}");
    assert!(err.contains(&msg(Lang::Id, "cli-review-anonymous")), "{err}");

    // A template is checked against the same list as the form, in English with --lang en.
    let template = env.path("t.json");
    for bad in ["2", "bribery"] {
        fs::write(&template, format!(r#"{{"category": "{bad}", "what": "x"}}"#)).unwrap();
        let o =
            run_with_stdin(&[&submit[..], &["--template", template.to_str().unwrap(), "--lang", "en"]].concat(), "");
        let (_, err) = texts(&o);
        assert!(!o.status.success());
        assert!(err.contains(&format!("The category \"{bad}\" is not on the list")), "{err}");
    }
    // A server address without a scheme is named as such.
    let o = run_with_stdin(&["submit", "--server", "ALAMAT.onion", "--pin", &pin, "--template", "/dev/null"], "");
    let (_, err) = texts(&o);
    assert!(err.contains("harus diawali http://") && !err.contains("builder error"), "{err}");
    // A pin cut short is a malformed fingerprint, found before the server is asked.
    let o = run_with_stdin(
        &["submit", "--server", "http://127.0.0.1:9", "--pin", &pin[..20], "--template", "/dev/null"],
        "",
    );
    let (_, err) = texts(&o);
    assert!(err.contains("malformed fingerprint") && !err.contains("not signed by"), "{err}");
    // One report stored in all.
    let log = s.stop();
    assert!(!log.contains("Budi"));
    let b = env.path("all.tar");
    let out = ok(&env.run(&["export", "--data", env.data.to_str().unwrap(), "--out", b.to_str().unwrap()]));
    assert!(out.contains("Exported 1 report(s)"), "{out}");
}
