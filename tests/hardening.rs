//! A hostile network against the real server: slow headers, trickling
//! bodies, many slow connections, floods (rate limits), and a log that must
//! stay free of request metadata under all of it.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{api_status, client, Env, Server};
use reqwest::blocking::multipart::{Form, Part};

/// Connects with a read timeout.
fn connect(s: &Server) -> TcpStream {
    let c = TcpStream::connect(s.addr()).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    c
}

/// Reads until the server closes; returns what it sent.
fn read_all(c: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn headers_sent_one_byte_at_a_time_are_cut_off() {
    let env = Env::new();
    let s = Server::start(&env, &["--header-timeout", "2"]);
    let mut c = connect(&s);
    let start = Instant::now();
    let request = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
    let mut cut = false;
    for b in request {
        if c.write_all(&[*b]).is_err() {
            cut = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
        if start.elapsed() > Duration::from_secs(12) {
            break;
        }
    }
    if !cut {
        let _ = read_all(&mut c);
    }
    let took = start.elapsed();
    assert!(took < Duration::from_secs(8), "the slow client held the connection for {took:?}");
    assert!(took >= Duration::from_secs(2), "cut before the timeout: {took:?}");
    // A normal client is still served.
    assert_eq!(client().get(s.url("/")).send().unwrap().status().as_u16(), 200);
}

#[test]
fn a_trickling_body_is_cut_off_and_nothing_is_stored() {
    let env = Env::new();
    let s = Server::start(&env, &["--body-idle-timeout", "2", "--request-deadline", "5"]);
    let body_start = "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"slow.bin\"\r\n\r\n";
    let head = format!(
        "POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=B\r\nContent-Length: 100000\r\n\r\n{body_start}"
    );
    // Silence after a few bytes: the idle timeout ends it.
    let mut c = connect(&s);
    let start = Instant::now();
    c.write_all(head.as_bytes()).unwrap();
    c.write_all(b"some bytes").unwrap();
    let resp = read_all(&mut c);
    let took = start.elapsed();
    assert!(took < Duration::from_secs(6), "idle body held for {took:?}");
    assert!(resp.starts_with("HTTP/1.1 4"), "{resp}");
    // One byte a second never trips the idle timeout, but is far below the
    // minimum rate averaged over each window: cut with 408 too.
    let mut c = connect(&s);
    let start = Instant::now();
    c.write_all(head.as_bytes()).unwrap();
    while start.elapsed() < Duration::from_secs(12) {
        if c.write_all(b"x").is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(700));
        c.set_nonblocking(true).unwrap();
        let mut probe = [0u8; 1];
        let answered = matches!(c.peek(&mut probe), Ok(n) if n > 0);
        c.set_nonblocking(false).unwrap();
        if answered {
            break;
        }
    }
    let resp = read_all(&mut c);
    let took = start.elapsed();
    assert!(took < Duration::from_secs(9), "trickling body held for {took:?}");
    assert!(resp.starts_with("HTTP/1.1 408"), "{resp}");
    let out = s.stop();
    // Nothing was stored: an export holds no report.
    let b = env.path("b.tar");
    let o = env.run(&["export", "--data", env.data.to_str().unwrap(), "--out", b.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("Exported 0 report(s)"), "{out}");
}

#[test]
fn hundreds_of_slow_connections_do_not_stop_a_submission() {
    let env = Env::new();
    let s = Server::start(&env, &["--header-timeout", "10"]);
    let mut slow = Vec::new();
    for _ in 0..300 {
        let mut c = TcpStream::connect(s.addr()).unwrap();
        c.write_all(b"POST /api/v1/reports HTTP/1.1\r\nHost: x\r\n").unwrap();
        slow.push(c);
    }
    let start = Instant::now();
    let r = client().post(s.url("/api/v1/reports")).json(&serde_json::json!({"what": "still here"})).send().unwrap();
    assert_eq!(r.status().as_u16(), 201);
    assert!(start.elapsed() < Duration::from_secs(5));
    let receipt = r.json::<serde_json::Value>().unwrap()["receipt"].as_str().unwrap().to_string();
    assert_eq!(api_status(&s, &receipt).1["status"], "received");
    drop(slow);
}

#[test]
fn slowhttptest_does_not_stop_a_submission() {
    // Runs the real attack tool when asked to (CI installs it); without the
    // variable it says so and stops, and the test above covers the same ground.
    if std::env::var("PELUIT_SLOWHTTPTEST").as_deref() != Ok("1") {
        eprintln!("skipped: set PELUIT_SLOWHTTPTEST=1 (needs the Debian package slowhttptest)");
        return;
    }
    let env = Env::new();
    let s = Server::start(&env, &["--header-timeout", "10"]);
    let mut attack = std::process::Command::new("slowhttptest")
        .args(["-c", "500", "-H", "-i", "5", "-r", "200", "-t", "POST", "-x", "20", "-p", "3", "-l", "20"])
        .arg("-u")
        .arg(s.url("/api/v1/reports"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("slowhttptest is needed (apt-get install -y slowhttptest)");
    std::thread::sleep(Duration::from_secs(5));
    let start = Instant::now();
    let r = client().post(s.url("/api/v1/reports")).json(&serde_json::json!({"what": "during attack"})).send().unwrap();
    let took = start.elapsed();
    let _ = attack.kill();
    let _ = attack.wait();
    assert_eq!(r.status().as_u16(), 201);
    assert!(took < Duration::from_secs(5), "submission took {took:?} under attack");
}

#[test]
fn rate_limits_answer_429_with_headers_and_recover() {
    let env = Env::new();
    let s = Server::start(
        &env,
        &["--submit-rate", "1", "--submit-burst", "2", "--lookup-rate", "1", "--lookup-burst", "1"],
    );
    let submit = || client().post(s.url("/api/v1/reports")).json(&serde_json::json!({"what": "x"})).send().unwrap();
    let first = submit();
    assert_eq!(first.status().as_u16(), 201);
    let receipt = first.json::<serde_json::Value>().unwrap()["receipt"].as_str().unwrap().to_string();
    assert_eq!(submit().status().as_u16(), 201);
    let third = submit();
    assert_eq!(third.status().as_u16(), 429);
    assert_eq!(third.headers()["retry-after"], "1");
    assert!(third.headers().contains_key("content-security-policy"));
    // The page form is limited by the same bucket, with a page in the reporter's language.
    let page = client().post(s.url("/submit")).multipart(Form::new().text("what", "x")).send().unwrap();
    assert_eq!(page.status().as_u16(), 429);
    assert!(page.text().unwrap().contains("Terlalu banyak permintaan"));
    assert_eq!(api_status(&s, &receipt).0, 200);
    assert_eq!(api_status(&s, &receipt).0, 429);
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(submit().status().as_u16(), 201, "recovers at the rate");
    assert_eq!(api_status(&s, &receipt).0, 200);
}

#[test]
fn the_log_holds_no_request_metadata_under_load_and_bad_input() {
    let env = Env::new();
    let s = Server::start(&env, &[]);
    let ua = "UA-CANARY-9d1e Mozilla/5.0";
    let http = reqwest::blocking::Client::builder().user_agent(ua).build().unwrap();
    let content = "CONTENT-CANARY-51ab";
    let fname = "FILENAME-CANARY-77c2.pdf";
    let mut receipts = Vec::new();
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (http, url) = (http.clone(), s.url("/api/v1/reports"));
            std::thread::spawn(move || {
                (0..10)
                    .map(|_| {
                        let form = Form::new()
                            .text("what", content)
                            .part("file", Part::bytes(content.as_bytes().to_vec()).file_name(fname));
                        let r = http.post(&url).multipart(form).send().unwrap();
                        r.json::<serde_json::Value>().unwrap()["receipt"].as_str().unwrap().to_string()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for h in handles {
        receipts.extend(h.join().unwrap());
    }
    // Bad input of every kind.
    for body in ["{", "{\"receipt\": \"CONTENT-CANARY\"}", "{\"receipt\": 5}"] {
        http.post(s.url("/api/v1/status")).header("content-type", "application/json").body(body).send().unwrap();
    }
    http.post(s.url("/api/v1/reports")).header("content-type", "text/plain").body(content).send().unwrap();
    http.post(s.url("/status")).form(&[("receipt", receipts[0].as_str())]).send().unwrap();
    http.get(s.url(&format!("/{content}"))).send().unwrap();
    let log = s.stop();
    assert!(!log.is_empty());
    for needle in [ua, "UA-CANARY", content, "CONTENT-CANARY", fname, "FILENAME-CANARY", "Mozilla"] {
        assert!(!log.contains(needle), "{needle} in the log:\n{log}");
    }
    for r in &receipts {
        assert!(!log.contains(r.as_str()) && !log.contains(&r.replace('-', "")));
    }
    assert_eq!(log.matches("127.0.0.1").count(), 1, "only the listen line names an address:\n{log}");
}
