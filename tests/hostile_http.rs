//! Anonymous HTTP attacks on the real server that once stopped it for
//! everyone: huge bodies read whole before any check, slow bodies holding
//! every slot, follow-ups without a rate limit or a cap, an actions push read
//! before its signature, and a transfer request replayed after a restart.
#![allow(clippy::unwrap_used)]

mod common;

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{api_status, client, Env, Server};
use peluit::crypto::ed25519::SecretKey;
use reqwest::blocking::multipart::Form;

/// 200 MiB, the size an attacker declares.
const HUGE: u64 = 200 << 20;

/// What one hostile connection saw.
struct Outcome {
    /// The server's answer (empty when it never answered).
    answer: String,
    /// How long until the answer (or the reader gave up).
    took: Duration,
}

/// Sends `head`, then `first`, then `filler` bytes up to `push` in all, while
/// another thread reads the answer; the writer stops at the first error (the
/// server closed) or when the answer has come.
fn push_body(addr: &str, head: &str, first: &[u8], push: usize) -> Outcome {
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(6))).unwrap();
    let mut reader = c.try_clone().unwrap();
    let start = Instant::now();
    let read = std::thread::spawn(move || {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        (String::from_utf8_lossy(&out).into_owned(), start.elapsed())
    });
    let filler = vec![b'a'; 64 * 1024];
    if c.write_all(head.as_bytes()).is_ok() && c.write_all(first).is_ok() {
        let mut sent = first.len();
        while sent < push && !read.is_finished() {
            if c.write_all(&filler).is_err() {
                break;
            }
            sent += filler.len();
        }
    }
    let (answer, took) = read.join().unwrap();
    Outcome { answer, took }
}

/// Headers of a POST with a declared length.
fn post_head(path: &str, ctype: &str, len: u64) -> String {
    format!("POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\nContent-Length: {len}\r\n\r\n")
}

/// A multipart part header that never ends: the parser would buffer it all.
const ENDLESS_PART_HEAD: &[u8] = b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"";

#[test]
fn huge_bodies_are_refused_before_they_are_read_and_memory_stays_small() {
    let env = Env::new();
    let s = Server::start(&env, &[]);
    let attacks: [(&str, &str, &[u8]); 4] = [
        ("/status", "application/x-www-form-urlencoded", b"receipt="),
        ("/api/v1/status", "application/json", b"{\"receipt\": \""),
        ("/api/v1/reports", "multipart/form-data; boundary=B", ENDLESS_PART_HEAD),
        ("/status/add", "multipart/form-data; boundary=B", ENDLESS_PART_HEAD),
    ];
    for (path, ctype, first) in attacks {
        // Eight connections at once, each pushing up to 24 MiB of a 200 MiB body.
        let runs: Vec<_> = (0..8)
            .map(|_| {
                let (addr, head) = (s.addr(), post_head(path, ctype, HUGE));
                std::thread::spawn(move || push_body(&addr, &head, first, 24 << 20))
            })
            .collect();
        for r in runs {
            let o = r.join().unwrap();
            assert!(o.answer.starts_with("HTTP/1.1 413"), "{path}: {:?} after {:?}", o.answer, o.took);
            assert!(o.took < Duration::from_secs(3), "{path}: answered after {:?}", o.took);
        }
    }
    let peak = s.peak_rss_kib();
    assert!(peak < 64 * 1024, "peak RSS {peak} KiB under 8 x 200 MiB bodies");
    // The server still serves.
    assert_eq!(client().get(s.url("/")).send().unwrap().status().as_u16(), 200);
}

#[test]
fn a_chunked_lookup_body_stops_at_a_few_kib() {
    let env = Env::new();
    let s = Server::start(&env, &[]);
    let head = "POST /api/v1/status HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    let mut first = b"10000\r\n".to_vec();
    first.extend(std::iter::repeat_n(b' ', 0x10000));
    first.extend_from_slice(b"\r\n");
    let o = push_body(&s.addr(), head, &first, 64 << 10);
    assert!(o.answer.starts_with("HTTP/1.1 413"), "{:?}", o.answer);
}

#[test]
fn slow_uploads_leave_pages_lookups_and_small_tips_available() {
    let env = Env::new();
    let s = Server::start(&env, &["--max-in-flight", "8", "--body-idle-timeout", "30", "--request-deadline", "60"]);
    let receipt = {
        let r = client().post(s.url("/api/v1/reports")).json(&serde_json::json!({"what": "before"})).send().unwrap();
        r.json::<serde_json::Value>().unwrap()["receipt"].as_str().unwrap().to_string()
    };
    // Eight uploads that send one byte every 300 ms: every upload slot (and,
    // before, every slot at all) is taken.
    let head = post_head("/api/v1/reports", "multipart/form-data; boundary=B", 10 << 20);
    let slow: Vec<TcpStream> = (0..8)
        .map(|_| {
            let mut c = TcpStream::connect(s.addr()).unwrap();
            c.write_all(head.as_bytes()).unwrap();
            c.write_all(b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\n").unwrap();
            c
        })
        .collect();
    let trickle = std::thread::spawn(move || {
        let mut slow = slow;
        for _ in 0..10 {
            for c in &mut slow {
                let _ = c.write_all(b"x");
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        slow
    });
    std::thread::sleep(Duration::from_millis(500));
    let start = Instant::now();
    assert_eq!(client().get(s.url("/")).send().unwrap().status().as_u16(), 200, "GET / while uploads hold slots");
    assert!(start.elapsed() < Duration::from_secs(1), "GET / took {:?}", start.elapsed());
    assert_eq!(api_status(&s, &receipt).0, 200, "a lookup while uploads hold slots");
    let tip = client().post(s.url("/api/v1/reports")).json(&serde_json::json!({"what": "during"})).send().unwrap();
    assert_eq!(tip.status().as_u16(), 201, "a small tip while uploads hold slots");
    let form = Form::new().text("what", "a small form tip");
    assert_eq!(client().post(s.url("/submit")).multipart(form).send().unwrap().status().as_u16(), 200);
    drop(trickle.join().unwrap());
}

#[test]
fn an_upload_slower_than_the_minimum_rate_is_cut_although_never_idle() {
    let env = Env::new();
    // One byte every 200 ms never leaves the body idle for 2 s, but is far
    // below the default minimum rate averaged over 2 s windows.
    let s = Server::start(&env, &["--body-idle-timeout", "2", "--request-deadline", "60"]);
    let mut c = TcpStream::connect(s.addr()).unwrap();
    c.write_all(post_head("/api/v1/reports", "multipart/form-data; boundary=B", 1 << 20).as_bytes()).unwrap();
    c.write_all(b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\n").unwrap();
    let start = Instant::now();
    let mut answered = false;
    while start.elapsed() < Duration::from_secs(12) && !answered {
        if c.write_all(b"x").is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
        c.set_nonblocking(true).unwrap();
        answered = matches!(c.peek(&mut [0u8; 1]), Ok(n) if n > 0);
        c.set_nonblocking(false).unwrap();
    }
    let took = start.elapsed();
    c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut answer = String::new();
    let _ = c.read_to_string(&mut answer);
    assert!(took < Duration::from_secs(6), "a slow upload held its slot for {took:?}");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

/// A tip's receipt, made through the JSON API.
fn tip(s: &Server) -> String {
    let r = client().post(s.url("/api/v1/reports")).json(&serde_json::json!({"what": "tip"})).send().unwrap();
    assert_eq!(r.status().as_u16(), 201);
    r.json::<serde_json::Value>().unwrap()["receipt"].as_str().unwrap().to_string()
}

/// Sends one follow-up through the API; returns the HTTP status and body.
fn followup(s: &Server, receipt: &str) -> (u16, serde_json::Value) {
    let form = Form::new().text("receipt", receipt.to_string()).text("text", "more");
    let r = client().post(s.url("/api/v1/followups")).multipart(form).send().unwrap();
    (r.status().as_u16(), r.json().unwrap_or_default())
}

#[test]
fn followups_share_the_submission_rate_limit() {
    let env = Env::new();
    let s = Server::start(&env, &["--submit-rate", "1", "--submit-burst", "2"]);
    let receipt = tip(&s);
    assert_eq!(followup(&s, &receipt).0, 201);
    assert_eq!(followup(&s, &receipt).0, 429, "a follow-up beyond the burst");
}

#[test]
fn followups_stop_at_the_cap_per_report() {
    let env = Env::new();
    let s = Server::start(&env, &["--max-followups", "3"]);
    let receipt = tip(&s);
    for n in 1..=3 {
        let (code, v) = followup(&s, &receipt);
        assert_eq!((code, v["followups"].as_u64()), (201, Some(n)));
    }
    let (code, v) = followup(&s, &receipt);
    assert_eq!((code, v["error"].as_str()), (400, Some("too_many_followups")), "{v}");
    assert_eq!(api_status(&s, &receipt).1["followups"], 3);
    // Another report is not affected.
    assert_eq!(followup(&s, &tip(&s)).0, 201);
}

/// Registers the investigator's transfer key; returns it.
fn transfer_key(env: &Env) -> SecretKey {
    let dir = env.identity.parent().unwrap();
    let key = SecretKey::parse(&fs::read_to_string(dir.join("transfer.key")).unwrap()).unwrap();
    fs::write(env.keys.join("investigators.txt"), format!("{} transfer laptop\n", key.public().to_text())).unwrap();
    key
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

#[test]
fn an_actions_push_is_refused_on_its_header_before_the_body_is_read() {
    let env = Env::new();
    let key = transfer_key(&env);
    let s = Server::start(&env, &[]);
    let stale = peluit::transfer::header(&key, "POST", "/api/v1/actions", b"", now() - 3600, &"0".repeat(32));
    for auth in ["", "Authorization: Peluit-Transfer key=x\r\n", &format!("Authorization: {stale}\r\n")] {
        let head = format!("POST /api/v1/actions HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: {}\r\n\r\n", 30 << 20);
        let o = push_body(&s.addr(), &head, b"{", 30 << 20);
        assert!(o.answer.starts_with("HTTP/1.1 401"), "{auth}: {:?} after {:?}", o.answer, o.took);
        assert!(o.took < Duration::from_secs(3), "{auth}: answered after {:?}", o.took);
    }
}

/// A signed `GET /api/v1/export` as raw headers.
fn export_request(key: &SecretKey) -> String {
    let nonce = peluit::crypto::hex(&peluit::crypto::random_id());
    let auth = peluit::transfer::header(key, "GET", "/api/v1/export", b"", now(), &nonce);
    format!("GET /api/v1/export HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\nConnection: close\r\n\r\n")
}

/// Sends raw bytes; returns the status line.
fn status_line(s: &Server, raw: &str) -> String {
    let mut c = TcpStream::connect(s.addr()).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(raw.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    String::from_utf8_lossy(&out).lines().next().unwrap_or("").to_string()
}

#[test]
fn a_transfer_request_replayed_after_a_restart_is_refused() {
    let env = Env::new();
    let key = transfer_key(&env);
    let s = Server::start(&env, &[]);
    let captured = export_request(&key);
    assert_eq!(status_line(&s, &captured), "HTTP/1.1 200 OK");
    assert_eq!(status_line(&s, &captured), "HTTP/1.1 401 Unauthorized", "replay in the same run");
    s.stop();
    // systemd starts the service again 5 s later (RestartSec=5s); a second
    // is all the rule needs.
    std::thread::sleep(Duration::from_millis(1100));
    let s = Server::start(&env, &[]);
    assert_eq!(status_line(&s, &captured), "HTTP/1.1 401 Unauthorized", "replay after a restart");
    assert_eq!(status_line(&s, &export_request(&key)), "HTTP/1.1 200 OK", "a fresh request after the restart");
}
