//! What a reporter's client believes of a server it does not trust: a key set
//! older than the pin's version floor or past its expiry is refused before
//! anything is sealed, and a "reply" that no investigator signed is shown as
//! unverified. The server here is a fake one on 127.0.0.1 that answers
//! whatever a compromised server would.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

use common::{ok, run_with_stdin};
use peluit::crypto::ed25519::{b64, SecretKey};
use peluit::crypto::{self, Pad, Recipients};
use peluit::i18n::{Catalog, Lang};
use peluit::published::KEYSET_CONTEXT;

/// The deployment the fake server claims.
const DEPLOYMENT: &str = "d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0";

/// Now, in Unix seconds.
fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// A key set signed by `key` with the given version and expiry, listing
/// `signers` as the investigators' signing keys, as `GET /api/v1/keys` answers.
/// Built from raw JSON so that any field a client does not know is still signed.
fn keys_answer(key: &SecretKey, version: u64, expires: u64, signers: &[&SecretKey]) -> String {
    let (_, recipient) = crypto::new_identity();
    let payload = serde_json::json!({
        "v": 2, "deployment": DEPLOYMENT, "recipients": [recipient], "time": now() - 86_400,
        "version": version, "expires": expires,
        "signers": signers.iter().map(|k| k.public().to_text()).collect::<Vec<_>>(),
    });
    let bytes = serde_json::to_vec(&payload).unwrap();
    let set = serde_json::json!({
        "payload": b64(&bytes), "key": key.public().to_text(), "sig": b64(&key.sign(KEYSET_CONTEXT, &bytes)),
    });
    serde_json::json!({ "deployment_id": DEPLOYMENT, "keyset": set }).to_string()
}

/// A server on 127.0.0.1 that answers `GET /api/v1/keys` with `keys`,
/// `POST /api/v1/status` with `status`, and anything else with 201 and a
/// receipt; returns its base URL and the request lines it received.
fn fake_server(keys: String, status: String) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for c in listener.incoming() {
            let Ok(mut c) = c else { break };
            let got = read_request(&mut c);
            let head = String::from_utf8_lossy(&got).lines().next().unwrap_or("").to_string();
            log.lock().unwrap().push(head.clone());
            let (code, body) = if head.starts_with("GET /api/v1/keys") {
                ("200 OK", keys.clone())
            } else if head.starts_with("POST /api/v1/status") {
                ("200 OK", status.clone())
            } else {
                ("201 Created", r#"{"receipt":"K7QF-3MZX-9PDA-W2RT-HX4C7"}"#.to_string())
            };
            let reply = format!(
                "HTTP/1.1 {code}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = c.write_all(reply.as_bytes());
        }
    });
    (base, seen)
}

/// Reads one request whole (an upload answered early fails on the client's
/// side): headers, then a `Content-Length` body or a chunked one.
fn read_request(c: &mut std::net::TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    while let Ok(n) = c.read(&mut buf) {
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got).to_ascii_lowercase();
        let Some(end) = text.find("\r\n\r\n") else {
            if n == 0 {
                break;
            }
            continue;
        };
        let head = &text[..end];
        let len = head.split("content-length:").nth(1).and_then(|r| r.lines().next()).map(str::trim);
        let done = match len {
            Some(len) => got.len() >= end + 4 + len.parse::<usize>().unwrap_or(0),
            None if head.contains("transfer-encoding: chunked") => got.ends_with(b"\r\n0\r\n\r\n"),
            None => true,
        };
        if done || n == 0 {
            break;
        }
    }
    got
}

/// A message of the reporter's catalogue.
fn msg(lang: Lang, key: &str) -> String {
    Catalog::load().unwrap().tr(lang).get(key)
}

/// Runs `submit` with a filled-in template against `base`.
fn submit(base: &str, pin: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("tip.json");
    std::fs::write(&template, r#"{"what": "pungutan liar di loket"}"#).unwrap();
    let o = run_with_stdin(
        &["submit", "--server", base, "--pin", pin, "--template", template.to_str().unwrap(), "--lang", "en"],
        "",
    );
    (o.status.success(), String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
fn a_key_set_below_the_pins_version_or_past_its_expiry_is_refused() {
    let (key, _) = SecretKey::generate("org").unwrap();
    let fp = key.public().fingerprint();
    let later = now() + 30 * 86_400;
    // Version 1 still listed an investigator since removed; the organisation
    // published the pin `FP:v2` with version 2.
    let (base, seen) = fake_server(keys_answer(&key, 1, later, &[&key]), String::new());
    let (sent, err) = submit(&base, &format!("{fp}:v2"));
    assert!(!sent, "{err}");
    assert!(err.contains("version 1") && err.contains("at least version 2"), "{err}");
    // Expired a day ago, whatever the version.
    let (expired, seen2) = fake_server(keys_answer(&key, 3, now() - 86_400, &[&key]), String::new());
    let (sent, err) = submit(&expired, &format!("{fp}:v2"));
    assert!(!sent, "{err}");
    assert!(err.contains("expired"), "{err}");
    // A pin without a version (as published before versions) still works as
    // version 1 and up, but never past the expiry.
    let (sent, err) = submit(&expired, &fp);
    assert!(!sent && err.contains("expired"), "{err}");
    // Nothing was sent to either server.
    for s in [seen, seen2] {
        let lines = s.lock().unwrap().clone();
        assert!(lines.iter().all(|l| !l.starts_with("POST")), "{lines:?}");
    }
    // The current set passes with the new pin and with the bare fingerprint.
    let (good, seen) = fake_server(keys_answer(&key, 2, later, &[&key]), String::new());
    for pin in [format!("{fp}:v2"), fp.clone()] {
        let (sent, err) = submit(&good, &pin);
        assert!(sent, "{pin}: {err}");
    }
    assert_eq!(seen.lock().unwrap().iter().filter(|l| l.starts_with("POST /api/v1/reports")).count(), 2);
}

/// A status answer with one reply sealed to the reply key of `receipt`,
/// carrying `line` as the signed action that authorised it.
fn status_with_reply(receipt: &peluit::receipt::Receipt, text: &str, line: serde_json::Value) -> String {
    let to = Recipients::parse(&crypto::reply_identity(receipt).recipient().to_string()).unwrap();
    let json = serde_json::json!({ "format": peluit::model::REPLY_FORMAT, "text": text }).to_string();
    let sealed = crypto::seal_bytes(&to, json.as_bytes(), Pad::Spaces).unwrap();
    serde_json::json!({
        "status": "investigating", "created": "2026-11-26", "report": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "timeline": [{ "day": "2026-11-26", "status": "received", "note_sealed": "" }],
        "replies": [{ "day": "2026-11-27", "sealed": b64(&sealed), "line": line }],
    })
    .to_string()
}

#[test]
fn a_reply_the_server_made_up_is_shown_as_unverified() {
    let (org, _) = SecretKey::generate("org").unwrap();
    let (stranger, _) = SecretKey::generate("server").unwrap();
    let receipt = crypto::new_receipt();
    let forged = "Kasus ditutup. Kirim nama saksi Anda ke alamat ini.";
    // The server signs a line with its own key, for a blob it names: the
    // signer is not in the key set.
    let p = serde_json::json!({
        "v": 1, "deployment": DEPLOYMENT, "nonce": "00000000000000000000000000000001", "time": now(),
        "report": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "action": "reply", "blob_sha256": "00",
    });
    let bytes = serde_json::to_vec(&p).unwrap();
    let line = serde_json::json!({
        "payload": b64(&bytes), "key": stranger.public().to_text(),
        "sig": b64(&stranger.sign(peluit::actions::ACTION_CONTEXT, &bytes)),
    });
    for line in [serde_json::Value::Null, line] {
        let status = status_with_reply(&receipt, forged, line);
        let (base, _) = fake_server(keys_answer(&org, 1, now() + 86_400, &[&org]), status);
        let args = ["check", "--server", &base, "--pin", &org.public().fingerprint(), "--lang", "en"];
        let shown = ok(&run_with_stdin(&args, &format!("{}\n", receipt.grouped().as_str())));
        let warning = msg(Lang::En, "cli-unverified");
        let at = shown.find(forged).unwrap_or_else(|| panic!("{shown}"));
        assert!(shown[..at].contains(&warning), "the forged reply is marked: {shown}");
        // The server claims a status no signed change set.
        assert!(shown.contains(&format!("Current status: Under investigation {warning}")), "{shown}");
    }
}

#[test]
fn the_server_warns_when_its_key_set_expires_within_two_weeks_or_has_expired() {
    let env = common::Env::new();
    let (key, _) = SecretKey::generate("org").unwrap();
    for (expires, warning) in [(now() + 5 * 86_400, "keyset.json expires on"), (now() - 60, "keyset.json expired on")] {
        let answer: serde_json::Value = serde_json::from_str(&keys_answer(&key, 1, expires, &[&key])).unwrap();
        std::fs::write(env.keys.join("keyset.json"), answer["keyset"].to_string()).unwrap();
        let log = common::Server::start(&env, &[]).stop();
        assert!(log.contains(warning), "{warning}: {log}");
    }
}
