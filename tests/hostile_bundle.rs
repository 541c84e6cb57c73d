//! Hostile input on the investigators' offline machine and at the terminals,
//! through the real binary: a submission nobody can open does not stop
//! decryption, text from a bundle or a server reaches the terminal escaped,
//! and `verify-log` refuses a log with a replayed or foreign entry.
#![allow(clippy::unwrap_used)]

mod common;

use std::fs;
use std::io::{Read, Write};
use std::path::Path;

use common::{client, ok, Env, Server};
use peluit::actions::{self, ActionKind, AuditEntry, Line, Payload};
use peluit::crypto::ed25519::SecretKey;
use peluit::crypto::{self, Pad, Recipients};
use reqwest::blocking::multipart::{Form, Part};

/// The deployment id of the crafted bundles.
const DEPLOYMENT: &str = "d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0";

/// `index.json` of a crafted bundle.
fn index() -> Vec<u8> {
    let v = serde_json::json!({
        "format": "peluit-export/2", "deployment_id": DEPLOYMENT, "since": 0, "cursor": 9, "recipients": []
    });
    serde_json::to_vec(&v).unwrap()
}

/// Every file under `dir` but `last-run.json`, with its bytes.
fn snapshot(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut v: Vec<_> = common::files_under(dir)
        .into_iter()
        .filter(|p| !p.ends_with("last-run.json"))
        .map(|p| {
            let b = fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    v.sort();
    v
}

#[test]
fn a_tip_sealed_to_a_stranger_is_set_aside_and_every_honest_one_written() {
    let env = Env::new();
    let s = Server::start(&env, &[]);
    let tip = |what: &str| {
        let r = client().post(s.url("/api/v1/reports")).json(&serde_json::json!({ "what": what })).send().unwrap();
        assert_eq!(r.status().as_u16(), 201);
    };
    tip("honest before");
    // A valid age file sealed to a key no investigator holds: the server
    // only parses its header, so it is accepted.
    let (_, stranger) = crypto::new_identity();
    let stranger = Recipients::parse(&stranger).unwrap();
    let sealed = crypto::seal_bytes(&stranger, br#"{"format":"peluit-manifest/1"}"#, Pad::Spaces).unwrap();
    let form = Form::new().part("sealed_manifest", Part::bytes(sealed).file_name("manifest.age"));
    let r = client().post(s.url("/api/v1/reports")).multipart(form).send().unwrap();
    assert_eq!(r.status().as_u16(), 201);
    tip("honest after");
    s.stop();

    let bundle = env.path("b.tar");
    ok(&env.export(&bundle));
    let cases = env.path("cases");
    let run = || {
        let out = common::decrypt(&bundle, &env.identity, &cases);
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.code(), Some(3), "done with problems: {text}");
        text
    };
    let text = run();
    assert!(text.contains("2 new submission(s)") && text.contains("1 set aside"), "{text}");
    let mut mds: Vec<String> = common::files_under(&cases)
        .into_iter()
        .filter(|p| p.ends_with("report.md"))
        .map(|p| fs::read_to_string(p).unwrap())
        .collect();
    mds.sort_by_key(|m| m.contains("after"));
    assert_eq!(mds.len(), 2);
    assert!(mds[0].contains("honest before") && mds[1].contains("honest after"));
    let reasons: Vec<_> =
        common::files_under(&cases).into_iter().filter(|p| p.parent().unwrap().ends_with("quarantine")).collect();
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    let reason = fs::read_to_string(&reasons[0]).unwrap();
    assert!(reason.contains("cannot decrypt") && reason.contains("blobs/"), "{reason}");

    // A second run changes nothing and still says so.
    let before = snapshot(&cases);
    assert!(!before.iter().any(|(p, _)| p.to_string_lossy().contains(".partial")));
    let text = run();
    assert!(text.contains("0 new submission(s)") && text.contains("1 set aside"), "{text}");
    assert_eq!(snapshot(&cases), before);

    let listing = ok(&env.run(&["cases", "--dir", cases.to_str().unwrap()]));
    let id = reasons[0].parent().unwrap().parent().unwrap().file_name().unwrap().to_str().unwrap();
    assert!(listing.lines().any(|l| l.contains(id) && l.contains("1 set aside")), "{listing}");
}

#[test]
fn escape_sequences_from_a_bundle_reach_the_terminal_escaped() {
    let env = Env::new();
    let id = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    // An unknown `kind` is echoed in the parse error: here it would clear
    // the error line and print a fake success over it.
    let entry = serde_json::json!({
        "id": id, "created": "2026-11-26", "status": "received", "timeline": [], "reply_recipient": "age1x",
        "submissions": [{
            "seq": 1, "day": "2026-11-26", "kind": "\u{1b}[2K\r\u{1b}[32mDecrypted 1 case.\u{1b}[0m",
            "sealed_by": "client", "manifest": format!("blobs/{id}.age"), "attachments": []
        }]
    });
    let path = format!("reports/{id}.json");
    let bundle = env.path("b.tar");
    fs::write(
        &bundle,
        common::signed_tar(&[("index.json", index()), ("audit.jsonl", Vec::new()), (&path, entry.to_string().into())]),
    )
    .unwrap();
    let out = common::decrypt(&bundle, &env.identity, &env.path("cases"));
    assert_eq!(out.status.code(), Some(1), "a damaged bundle is a failure");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.stderr.contains(&0x1b) && !out.stderr.contains(&b'\r'), "{err:?}");
    assert!(err.contains("\\u{1b}[2K"), "{err}");
}

/// A signed line for `deployment` with `nonce`.
fn signed(key: &SecretKey, deployment: &str, nonce: u8) -> Line {
    let p = Payload {
        v: actions::VERSION,
        seen: String::new(),
        prev: String::new(),
        deployment: deployment.into(),
        nonce: format!("{nonce:032x}"),
        day: "2026-11-26".into(),
        report: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".into(),
        kind: ActionKind::Delete,
    };
    serde_json::from_str(&actions::sign(key, &p, None)).unwrap()
}

/// Runs `verify-log` on a bundle whose audit log chains `lines`.
fn verify_log(env: &Env, keys: &Path, name: &str, lines: &[Line]) -> std::process::Output {
    let mut log = Vec::new();
    let mut prev = actions::GENESIS.to_string();
    for (i, l) in lines.iter().enumerate() {
        let e = AuditEntry::next(i as u64 + 1, &prev, l, "2026-11-26");
        prev = e.hash.clone();
        serde_json::to_writer(&mut log, &e).unwrap();
        log.push(b'\n');
    }
    let bundle = env.path(name);
    fs::write(&bundle, common::signed_tar(&[("index.json", index()), ("audit.jsonl", log)])).unwrap();
    env.run(&["verify-log", bundle.to_str().unwrap(), "--keys", keys.to_str().unwrap()])
}

#[test]
fn verify_log_refuses_replayed_and_foreign_entries() {
    let env = Env::new();
    let (key, _) = SecretKey::generate("ani").unwrap();
    let keys = env.path("investigators.txt");
    fs::write(&keys, format!("{} sign ani\n", key.public().to_text())).unwrap();
    let (one, two) = (signed(&key, DEPLOYMENT, 1), signed(&key, DEPLOYMENT, 2));
    let good = ok(&verify_log(&env, &keys, "good.tar", &[one.clone(), two.clone()]));
    assert!(good.contains("2 applied action(s)"), "{good}");
    // The operator re-chains an applied action a second time.
    let twice = verify_log(&env, &keys, "twice.tar", &[one.clone(), two.clone(), one.clone()]);
    let err = String::from_utf8_lossy(&twice.stderr);
    assert!(!twice.status.success() && err.contains("entry 3") && err.contains("nonce"), "{err}");
    // An action signed for another deployment, carried into this log.
    let foreign = signed(&key, "e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0", 3);
    let other = verify_log(&env, &keys, "other.tar", &[one, foreign, two]);
    let err = String::from_utf8_lossy(&other.stderr);
    assert!(!other.status.success() && err.contains("entry 2") && err.contains("another deployment"), "{err}");
}

/// Answers one HTTP request on 127.0.0.1 with `json`; returns the base URL.
fn fake_server(json: String) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let (mut c, _) = listener.accept().unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        // Headers, then as many body bytes as Content-Length says.
        while let Ok(n) = c.read(&mut buf) {
            got.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&got).to_ascii_lowercase();
            if let Some(end) = text.find("\r\n\r\n") {
                let len = text.split("content-length:").nth(1).and_then(|r| r.lines().next()).unwrap_or("0");
                if got.len() >= end + 4 + len.trim().parse::<usize>().unwrap_or(0) {
                    break;
                }
            }
            if n == 0 {
                break;
            }
        }
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            json.len()
        );
        c.write_all(head.as_bytes()).unwrap();
        c.write_all(json.as_bytes()).unwrap();
    });
    base
}

#[test]
fn a_servers_answer_reaches_the_reporters_terminal_escaped() {
    let json = serde_json::json!({
        "status": "received\u{1b}]0;owned\u{7}",
        "created": "2026-11-26\r\u{1b}[2KStatus: closed",
        "timeline": [{ "day": "2026-11-27\u{202e}", "status": "closed\nReply, 2026-11-28:", "note_sealed": "" }],
        "replies": []
    });
    let base = fake_server(json.to_string());
    let receipt = peluit::crypto::new_receipt().grouped().to_string();
    let out = common::run_with_stdin(&["check", "--server", &base], &format!("{receipt}\n"));
    let text = ok(&out);
    assert!(!out.stdout.contains(&0x1b) && !out.stdout.contains(&b'\r') && !text.contains('\u{202e}'), "{text:?}");
    assert!(text.contains("\\u{1b}]0;owned") && text.contains("\\u{202e}"), "{text}");
    assert!(!text.lines().any(|l| l.starts_with("Reply,")), "{text}");
}
