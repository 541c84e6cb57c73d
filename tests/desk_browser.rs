//! The investigator's whole day at `peluit desk` in a real browser: a real
//! server takes two tips (one with an attachment), a bundle is pulled, then
//! headless Chromium (JavaScript off, driven by `tests/browser/desk.mjs`)
//! imports it in the desk, reads a case, downloads the attachment, replies,
//! changes the status and deletes the other case; the actions file is pushed
//! and the reporter's status page shows the reply and the status. A browser
//! without the token is refused, a form posted from another site is refused,
//! and an HTML attachment only ever downloads, even with JavaScript on. Runs when
//! `PELUIT_BROWSER_TESTS=1`, and then fails on anything missing; without the
//! variable it says it was skipped.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::team::{pull, push};
use common::{bin, client, ok, receipt_from_html, Env, Server};
use reqwest::blocking::multipart::{Form, Part};

/// budi's passphrase (to the browser through the environment, never argv).
const PASSPHRASE: &str = "kopi tubruk pagi hari";

/// Bytes that are not text, to show the download is byte-exact.
fn attachment() -> Vec<u8> {
    (0..3000u32).map(|i| (i.wrapping_mul(37) % 251) as u8).collect()
}

/// A web-form tip; returns its receipt.
fn tip(s: &Server, what: &str, identity: &str, files: &[(&str, Vec<u8>)]) -> String {
    let mut form =
        Form::new().text("category", "pengadaan").text("what", what.to_string()).text("identity", identity.to_string());
    for (name, bytes) in files {
        form = form.part("file", Part::bytes(bytes.clone()).file_name(name.to_string()));
    }
    let r = client().post(s.url("/submit")).multipart(form).send().unwrap();
    assert_eq!(r.status().as_u16(), 200);
    receipt_from_html(&r.text().unwrap())
}

/// The reporter's status page for `receipt` (the code in the body only).
fn status_page(s: &Server, receipt: &str) -> String {
    client().post(s.url("/status")).form(&[("receipt", receipt)]).send().unwrap().text().unwrap()
}

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("browser")
}

#[test]
fn investigator_day_at_the_desk_in_chromium() {
    if std::env::var("PELUIT_BROWSER_TESTS").as_deref() != Ok("1") {
        let _ = writeln!(std::io::stderr(), "desk browser test skipped: set PELUIT_BROWSER_TESTS=1 to run it");
        return;
    }
    assert!(Path::new("/usr/bin/chromium").exists(), "apt-get install -y chromium");
    assert!(browser_dir().join("node_modules/playwright-core").is_dir(), "cd tests/browser && npm ci");
    let env = Env::new();
    // Two investigators on one offline machine; budi's keys have a passphrase.
    let keygen = |name: &str, pass: Option<&str>| {
        let dir = env.path(name);
        let mut cmd = Command::new(bin());
        cmd.args(["keygen", "--out", dir.to_str().unwrap(), "--server-keys", env.keys.to_str().unwrap()]);
        if let Some(p) = pass {
            cmd.arg("--passphrase").env("PELUIT_PASSPHRASE", p);
        }
        ok(&cmd.output().unwrap());
        dir
    };
    let ani = keygen("ani", None);
    let budi = keygen("budi", Some(PASSPHRASE));
    let server = Server::start(&env, &[]);
    let second = tip(&server, "Pungutan kedua di loket", "", &[]);
    // An HTML file that would change the page if it ever ran in the desk.
    let html = b"<script>document.title='pwned'</script><h1 id=pwned>pwned</h1>".to_vec();
    let files = [("kuitansi.bin", attachment()), ("catatan.html", html)];
    let first = tip(&server, "Harga laptop dinaikkan <b>tiga kali</b>", "Budi, 0812", &files);
    let bundle = env.path("b.tar");
    let cursor = pull(&server, &ani.join("transfer.key"), &bundle, "0");
    let expected = env.path("expected.bin");
    std::fs::write(&expected, attachment()).unwrap();

    let cases = env.path("cases");
    let mut desk = Command::new(bin())
        .args(["desk", "--cases", cases.to_str().unwrap(), "--key", ani.to_str().unwrap()])
        .args(["--key", budi.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(desk.stdout.take().unwrap()).lines();
    let address =
        lines.by_ref().map_while(Result::ok).find_map(|l| l.trim().strip_prefix("http://").map(str::to_string));
    let address = format!("http://{}", address.expect("the desk printed no address"));
    let shots = std::env::var_os("PELUIT_SCREENSHOTS").map_or_else(|| env.path("shots"), PathBuf::from);
    let node = |script: &str, args: &[&str]| {
        let mut cmd = Command::new("node");
        cmd.arg(browser_dir().join(script)).args(args).current_dir(browser_dir());
        cmd.env("DESK_PASSPHRASE", PASSPHRASE).output().unwrap()
    };
    let (b, e, sh) = (bundle.to_str().unwrap(), expected.to_str().unwrap(), shots.to_str().unwrap());
    let out = node("desk.mjs", &[&address, b, e, sh]);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && stdout.contains("desk ok"), "desk journey failed:\n{stdout}\n{stderr}");
    for name in ["list", "import", "case", "identity", "signed", "delete", "outgoing", "keys"] {
        let png = std::fs::read(shots.join(format!("desk-{name}.png"))).unwrap_or_default();
        assert!(png.starts_with(b"\x89PNG"), "no screenshot desk-{name}.png");
    }

    // Carry the file: three signed lines, applied by the server.
    let actions = cases.join("actions.jsonl");
    assert_eq!(std::fs::read_to_string(&actions).unwrap().lines().count(), 3);
    let pushed = ok(&push(&server, &ani.join("transfer.key"), &actions));
    assert!(pushed.contains("Applied 3 action(s)") && pushed.contains("1 report(s) purged"), "{pushed}");
    let page = status_page(&server, &first);
    assert!(page.contains("Terima kasih, kami sedang memeriksanya."), "the reply is not on the status page");
    assert!(page.contains("data-status=\"investigating\""), "the status is not on the status page");
    assert!(!status_page(&server, &second).contains("data-status="), "the deleted case still shows");

    // Round two: what changed since comes back, uploaded in the page; the
    // conversation names who signed the reply and the status.
    let next = env.path("b2.tar");
    pull(&server, &ani.join("transfer.key"), &next, &cursor);
    let out = node("desk-round2.mjs", &[&address, next.to_str().unwrap(), shots.to_str().unwrap()]);
    let _ = desk.kill();
    let _ = desk.wait();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && stdout.contains("round2 ok"), "round two failed:\n{stdout}\n{stderr}");
    assert!(std::fs::read(shots.join("desk-conversation.png")).unwrap_or_default().starts_with(b"\x89PNG"));
    let leftovers = std::fs::read_dir(&cases).unwrap().flatten().map(|e| e.file_name()).collect::<Vec<_>>();
    assert!(!leftovers.iter().any(|n| n.to_string_lossy().starts_with(".desk-")), "{leftovers:?}");
}
