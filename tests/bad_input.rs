//! Bad input gets a clear answer, nothing is stored, and the server keeps
//! serving.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use common::{api_status, client, Env, Server};
use peluit::receipt::Receipt;
use reqwest::blocking::multipart::{Form, Part};

/// Sends raw bytes and returns the whole response as text.
fn raw(s: &Server, request: &[u8]) -> String {
    let mut c = TcpStream::connect(s.addr()).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(request).unwrap();
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Number of report records, via an export of everything.
fn stored_reports(env: &Env) -> usize {
    let b = env.path(&format!("count-{}.tar", rand_suffix()));
    let out = env.run(&["export", "--data", env.data.to_str().unwrap(), "--out", b.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    text.split("Exported ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap()
}

fn rand_suffix() -> String {
    peluit::crypto::hex(&peluit::crypto::random_id()[..4])
}

#[test]
fn receipt_typos_and_unknown_codes() {
    let env = Env::new();
    let s = Server::start(&env, &[]);
    let good = client()
        .post(s.url("/api/v1/reports"))
        .json(&serde_json::json!({"what": "x"}))
        .send()
        .unwrap()
        .json::<serde_json::Value>()
        .unwrap()["receipt"]
        .as_str()
        .unwrap()
        .to_string();
    // One changed symbol: a typo, reported before any lookup.
    let mut typo: Vec<char> = good.chars().collect();
    typo[0] = if typo[0] == 'A' { 'B' } else { 'A' };
    let typo: String = typo.into_iter().collect();
    let (code, v) = api_status(&s, &typo);
    assert_eq!((code, v["error"].as_str()), (400, Some("receipt_typo")));
    let (code, v) = api_status(&s, "too short");
    assert_eq!((code, v["error"].as_str()), (400, Some("receipt_typo")));
    // Well-formed codes that were never issued: one answer, whatever the code.
    let mut rng = rand::rngs::SysRng;
    let a = Receipt::generate(&mut rand::rand_core::UnwrapErr(&mut rng)).grouped().to_string();
    let b = Receipt::generate(&mut rand::rand_core::UnwrapErr(&mut rng)).grouped().to_string();
    let (ca, va) = api_status(&s, &a);
    let (cb, vb) = api_status(&s, &b);
    assert_eq!((ca, cb), (404, 404));
    assert_eq!(va, vb);
    assert_eq!(va["error"], "unknown_receipt");
    // The page says "check the code" in the reporter's language.
    let page = client().post(s.url("/status?lang=en")).form(&[("receipt", typo.as_str())]).send().unwrap();
    assert_eq!(page.status().as_u16(), 400);
    assert!(page.text().unwrap().contains("check your code"));
    let page = client().post(s.url("/status")).form(&[("receipt", a.as_str())]).send().unwrap();
    assert_eq!(page.status().as_u16(), 404);
    assert!(page.text().unwrap().contains("Kode tidak dikenal"));
    // The receipt still works, and no page echoed the typed codes.
    assert_eq!(api_status(&s, &good).1["status"], "received");
    let out = s.stop();
    assert!(!out.contains(&typo) && !out.contains(&a));
}

#[test]
fn empty_and_invalid_forms_come_back_filled_in() {
    let env = Env::new();
    let s = Server::start(&env, &["--max-files", "2"]);
    let empty = client().post(s.url("/submit")).multipart(Form::new().text("category", "suap")).send().unwrap();
    assert_eq!(empty.status().as_u16(), 400);
    let page = empty.text().unwrap();
    assert!(page.contains("Laporan masih kosong") && page.contains("<form"));
    let typed = "Kepala dinas <script>alert(1)</script> minta fee";
    let bad = client()
        .post(s.url("/submit"))
        .multipart(Form::new().text("category", "no-such").text("what", typed).text("identity", "Budi"))
        .send()
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    let page = bad.text().unwrap();
    assert!(
        page.contains("Kepala dinas &#60;script&#62;alert(1)&#60;/script&#62; minta fee")
            || page.contains("Kepala dinas &lt;script&gt;"),
        "{page}"
    );
    assert!(!page.contains("<script>"));
    assert!(page.contains("Budi") && page.contains("<details open>"));
    assert!(page.contains("pilih lagi berkas"), "files must be chosen again");
    let many = Form::new()
        .text("what", "x")
        .part("file", Part::bytes(b"1".to_vec()).file_name("1"))
        .part("file", Part::bytes(b"2".to_vec()).file_name("2"))
        .part("file", Part::bytes(b"3".to_vec()).file_name("3"));
    let r = client().post(s.url("/api/v1/reports")).multipart(many).send().unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(r.json::<serde_json::Value>().unwrap()["error"], "too_many_files");
    let long = "x".repeat(200 * 1024);
    let r = client().post(s.url("/api/v1/reports")).json(&serde_json::json!({ "text": long })).send().unwrap();
    assert_eq!(r.json::<serde_json::Value>().unwrap()["error"], "field_too_long");
    let r = client().post(s.url("/api/v1/reports")).json(&serde_json::json!({})).send().unwrap();
    assert_eq!(r.json::<serde_json::Value>().unwrap()["error"], "empty");
    let r = client().post(s.url("/api/v1/reports")).json(&serde_json::json!({"colour": "red"})).send().unwrap();
    assert_eq!(r.json::<serde_json::Value>().unwrap()["error"], "bad_request");
    s.stop();
    assert_eq!(stored_reports(&env), 0, "nothing refused was stored");
}

#[test]
fn sealed_parts_must_be_age_files_and_real_ones_are_kept() {
    let env = Env::with_age_keygen();
    let s = Server::start(&env, &[]);
    let junk = Form::new().part("sealed_manifest", Part::bytes(b"not an age file at all".to_vec()));
    let r = client().post(s.url("/api/v1/reports")).multipart(junk).send().unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(r.json::<serde_json::Value>().unwrap()["error"], "not_age");
    // A manifest sealed by the reference tool, as a client would.
    let manifest = env.path("m.json");
    std::fs::write(
        &manifest,
        r#"{"format":"peluit-manifest/1","kind":"tip","category":"suap","fields":{"what":"sealed by the client","who":"","where":"","when":"","how":""},"text":"","identity":"","attachments":[{"name":"c.txt","size":3,"content_type":"text/plain"}]}"#,
    )
    .unwrap();
    let file = env.path("c.txt");
    std::fs::write(&file, b"abc").unwrap();
    let seal = |p: &std::path::Path| {
        let out = Command::new("age").arg("-R").arg(env.keys.join("recipients.txt")).arg(p).output().unwrap();
        assert!(out.status.success());
        out.stdout
    };
    let mixed = Form::new().text("what", "x").part("sealed_manifest", Part::bytes(seal(&manifest)));
    let r = client().post(s.url("/api/v1/reports")).multipart(mixed).send().unwrap();
    assert_eq!(r.json::<serde_json::Value>().unwrap()["error"], "mixed_sealing");
    let form =
        Form::new().part("sealed_manifest", Part::bytes(seal(&manifest))).part("sealed_file", Part::bytes(seal(&file)));
    let r = client().post(s.url("/api/v1/reports")).multipart(form).send().unwrap();
    assert_eq!(r.status().as_u16(), 201);
    s.stop();
    let cases = env.export_and_decrypt(&env.identity, "cases");
    let found = common::files_under(&cases).into_iter().find(|p| p.ends_with("files/c.txt")).unwrap();
    assert_eq!(std::fs::read(found).unwrap(), b"abc");
}

#[test]
fn truncated_and_oversized_bodies() {
    let env = Env::new();
    let s = Server::start(&env, &["--max-body-mib", "1"]);
    // A multipart body that ends without its closing boundary.
    let body = "--XyZ\r\nContent-Disposition: form-data; name=\"what\"\r\n\r\nhalf a tip";
    let req = format!(
        "POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let resp = raw(&s, req.as_bytes());
    assert!(resp.starts_with("HTTP/1.1 400"), "{resp}");
    assert!(resp.contains("bad_request"));
    // A declared 2 GiB body is refused from its headers alone.
    let req = "POST /submit HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: 2147483648\r\n\r\n";
    let resp = raw(&s, req.as_bytes());
    assert!(resp.starts_with("HTTP/1.1 413"), "{resp}");
    assert!(resp.to_ascii_lowercase().contains("content-security-policy"), "error pages carry the headers");
    // A chunked body with no declared length is cut off at the limit: the
    // server answers 413 and closes, even while the client still writes.
    let mut c = TcpStream::connect(s.addr()).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let head = "POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=XyZ\r\nTransfer-Encoding: chunked\r\n\r\n";
    c.write_all(head.as_bytes()).unwrap();
    let part = "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n\r\n";
    let _ = c.write_all(format!("{:x}\r\n{part}\r\n", part.len()).as_bytes());
    let chunk = vec![b'a'; 64 * 1024];
    for _ in 0..32 {
        let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
        if c.write_all(&framed).is_err() {
            break;
        }
    }
    let mut resp = Vec::new();
    let _ = c.read_to_end(&mut resp);
    let resp = String::from_utf8_lossy(&resp);
    assert!(resp.starts_with("HTTP/1.1 413"), "{resp}");
    // Still serving.
    assert_eq!(client().get(s.url("/")).send().unwrap().status().as_u16(), 200);
    let r = client().post(s.url("/api/v1/reports")).json(&serde_json::json!({"what": "ok"})).send().unwrap();
    assert_eq!(r.status().as_u16(), 201);
    s.stop();
    assert_eq!(stored_reports(&env), 1);
}

#[test]
fn unknown_paths_and_headers() {
    let env = Env::new();
    let s = Server::start(&env, &[]);
    let r = client().get(s.url("/nope")).send().unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let h = r.headers();
    for name in [
        "content-security-policy",
        "referrer-policy",
        "x-content-type-options",
        "cache-control",
        "cross-origin-opener-policy",
        "cross-origin-resource-policy",
        "permissions-policy",
    ] {
        assert!(h.contains_key(name), "missing {name}");
    }
    assert!(!h.contains_key("server") && !h.contains_key("date"));
    assert!(!h.contains_key("strict-transport-security"));
    let spec: serde_json::Value = client().get(s.url("/api/v1/openapi.json")).send().unwrap().json().unwrap();
    assert_eq!(spec["openapi"], "3.1.0");
    assert!(spec["paths"]["/api/v1/reports"]["post"].is_object());
    assert!(spec["paths"]["/api/v1/status"]["post"].is_object());
}

#[test]
fn the_server_refuses_to_start_without_recipients_or_a_usable_data_folder() {
    let env = Env::new();
    let serve = |data: &std::path::Path, keys: &std::path::Path| {
        Command::new(common::bin())
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .arg("--keys")
            .arg(keys)
            .output()
            .unwrap()
    };
    let empty_keys = env.path("empty-keys");
    std::fs::create_dir_all(&empty_keys).unwrap();
    std::fs::write(empty_keys.join("recipients.txt"), "# nobody yet\n").unwrap();
    let o = serve(&env.data, &empty_keys);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no recipient"), "{}", String::from_utf8_lossy(&o.stderr));
    let o = serve(&env.data, &env.path("no-such-keys"));
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("recipients.txt"));
    // A data "folder" that is a file.
    let file = env.path("not-a-folder");
    std::fs::write(&file, b"x").unwrap();
    let o = serve(&file, &env.keys);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("data folder"), "{}", String::from_utf8_lossy(&o.stderr));
}
