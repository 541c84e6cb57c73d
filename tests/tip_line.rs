//! The core tip line against the real server: submit (form and API), check
//! the status, restart, export, decrypt, and interoperate with the reference
//! `age` tool.
#![allow(clippy::unwrap_used)]

mod common;

use std::fs;
use std::process::Command;

use common::{api_status, client, found_under, receipt_from_html, Env, Server};
use reqwest::blocking::multipart::{Form, Part};

/// A form submission with two files; returns the receipt from the page.
fn submit_form(s: &Server, what: &str, files: &[(&str, &[u8])]) -> String {
    let mut form = Form::new().text("category", "suap").text("what", what.to_string()).text("where", "Kantor Samsat");
    for (name, bytes) in files {
        form = form.part("file", Part::bytes(bytes.to_vec()).file_name(name.to_string()));
    }
    let r = client().post(s.url("/submit")).multipart(form).send().unwrap();
    assert_eq!(r.status().as_u16(), 200);
    receipt_from_html(&r.text().unwrap())
}

/// An API submission with files; returns the receipt from the JSON.
fn submit_api(s: &Server, what: &str, files: &[(&str, &[u8])]) -> String {
    let mut form = Form::new().text("category", "pungli").text("what", what.to_string());
    for (name, bytes) in files {
        form = form.part("file", Part::bytes(bytes.to_vec()).file_name(name.to_string()));
    }
    let r = client().post(s.url("/api/v1/reports")).multipart(form).send().unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let v: serde_json::Value = r.json().unwrap();
    assert_eq!(v["status"], "received");
    v["receipt"].as_str().unwrap().to_string()
}

/// Pseudo-random bytes that are not valid UTF-8 text.
fn binary(n: usize, seed: u8) -> Vec<u8> {
    (0..n).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ 0x80).collect()
}

#[test]
fn tips_from_form_and_api_resolve_to_received_and_survive_restart() {
    let env = Env::new();
    let s = Server::start(&env, &[]);
    let big = binary(300_000, 1);
    let r1 = submit_form(&s, "petugas minta uang", &[("bukti.txt", b"kuitansi"), ("foto.jpg", &big)]);
    let r2 = submit_api(&s, "pungli di loket", &[("a.pdf", b"%PDF-1.4"), ("b.bin", &binary(70_000, 2))]);
    assert_ne!(r1, r2);
    for r in [&r1, &r2] {
        let (code, v) = api_status(&s, r);
        assert_eq!(code, 200);
        assert_eq!(v["status"], "received");
        assert_eq!(v["timeline"][0]["status"], "received");
        assert_eq!(v["created"].as_str().unwrap().len(), 10, "day only");
    }
    // The HTML status page, with the code typed in lower case with spaces.
    let typed = r1.to_lowercase().replace('-', " ");
    let page = client().post(s.url("/status")).form(&[("receipt", typed.as_str())]).send().unwrap().text().unwrap();
    assert!(page.contains("data-status=\"received\""), "{page}");
    assert!(page.contains("Diterima"));

    s.stop();
    let s = Server::start(&env, &[]);
    for r in [&r1, &r2] {
        assert_eq!(api_status(&s, r).1["status"], "received");
    }
}

#[test]
fn every_blob_decrypts_with_the_reference_age_tool() {
    let env = Env::with_age_keygen();
    let s = Server::start(&env, &[]);
    let file = binary(10_000, 9);
    submit_form(&s, "interop", &[("x.bin", &file), ("y.txt", b"hello")]);
    s.stop();
    let bundle = env.path("bundle.tar");
    let out = env.run(&["export", "--data", env.data.to_str().unwrap(), "--out", bundle.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let x = env.path("x");
    fs::create_dir_all(&x).unwrap();
    assert!(Command::new("tar").arg("-xf").arg(&bundle).arg("-C").arg(&x).status().unwrap().success());
    let blobs: Vec<_> = fs::read_dir(x.join("blobs")).unwrap().flatten().map(|e| e.path()).collect();
    assert_eq!(blobs.len(), 3, "manifest and two files");
    let mut seen_file = false;
    for b in blobs {
        let out = Command::new("age").arg("-d").arg("-i").arg(&env.identity).arg(&b).output().unwrap();
        assert!(out.status.success(), "age -d failed: {}", String::from_utf8_lossy(&out.stderr));
        let plain = out.stdout;
        // Padmé: every plaintext is padded to at least 1 KiB.
        assert!(plain.len() >= 1024);
        if plain.starts_with(b"{") {
            let m: serde_json::Value = serde_json::from_slice(&plain).unwrap();
            assert_eq!(m["fields"]["what"], "interop");
            assert_eq!(m["attachments"][0]["size"], 10_000);
        } else if plain.starts_with(&file) {
            seen_file = true;
            assert!(plain[file.len()..].iter().all(|b| *b == 0), "padding is zeros");
        }
    }
    assert!(seen_file);
}

#[test]
fn a_canary_never_reaches_disk_or_output() {
    let env = Env::new();
    let tmp = env.path("tmp");
    fs::create_dir_all(&tmp).unwrap();
    let s = Server::start_with(&env, &[], &[("TMPDIR", &tmp)]);
    let canary = "CANARY-7f3a9c1e-peluit";
    let name = format!("{canary}.txt");
    let content = format!("file body {canary}");
    let receipt = submit_form(&s, canary, &[(&name, content.as_bytes())]);
    let json = client()
        .post(s.url("/api/v1/reports"))
        .json(&serde_json::json!({ "text": canary, "identity": canary }))
        .send()
        .unwrap();
    assert_eq!(json.status().as_u16(), 201);
    api_status(&s, &receipt);
    let output = s.stop();
    assert!(!output.contains(canary), "canary in server output");
    assert!(!output.contains(&receipt), "receipt in server output");
    assert_eq!(output.matches("127.0.0.1").count(), 1, "only the listen line names an address: {output}");
    assert_eq!(found_under(&env.data, canary.as_bytes()), None);
    assert_eq!(found_under(&env.data, receipt.as_bytes()), None);
    assert_eq!(found_under(&env.data, receipt.replace('-', "").as_bytes()), None);
    assert!(fs::read_dir(&tmp).unwrap().next().is_none(), "temp folder must stay empty");
}

#[test]
fn export_then_decrypt_gives_back_exact_text_and_bytes() {
    let env = Env::new();
    let s = Server::start(&env, &[]);
    let photo = binary(200_000, 5);
    let text = "Kepala seksi meminta Rp 500.000\nuntuk setiap izin. <script>alert(1)</script>";
    submit_form(&s, text, &[("../../.bashrc", b"evil"), ("CON", b"device"), ("foto.jpg", &photo)]);
    s.stop();
    let cases = env.export_and_decrypt(&env.identity, "cases");
    let case = fs::read_dir(&cases).unwrap().flatten().map(|e| e.path()).find(|p| p.is_dir()).unwrap();
    let sub = fs::read_dir(&case).unwrap().flatten().map(|e| e.path()).find(|p| p.is_dir()).unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(&fs::read(sub.join("report.json")).unwrap()).unwrap();
    assert_eq!(manifest["fields"]["what"], text);
    assert_eq!(manifest["category"], "suap");
    assert!(fs::read_to_string(sub.join("report.md")).unwrap().contains("Rp 500.000"));
    assert_eq!(fs::read(sub.join("files/foto.jpg")).unwrap(), photo);
    assert_eq!(fs::read(sub.join("files/bashrc")).unwrap(), b"evil");
    assert_eq!(fs::read(sub.join("files/_CON")).unwrap(), b"device");
    // Nothing was written outside the case folder.
    assert!(!env.root.path().join(".bashrc").exists());
    let written = common::files_under(env.root.path());
    assert!(written.iter().all(|p| !p.ends_with(".bashrc")));
}

#[test]
fn incremental_export_carries_only_new_reports() {
    let env = Env::new();
    let s = Server::start(&env, &[]);
    submit_api(&s, "first", &[]);
    s.stop();
    let b1 = env.path("b1.tar");
    let out = env.run(&["export", "--data", env.data.to_str().unwrap(), "--out", b1.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let cursor = text.split("--since ").nth(1).unwrap().trim().to_string();
    let s = Server::start(&env, &[]);
    submit_api(&s, "second", &[("f.txt", b"x")]);
    // Export while the server runs is refused with a clear reason.
    let busy =
        env.run(&["export", "--data", env.data.to_str().unwrap(), "--out", env.path("busy.tar").to_str().unwrap()]);
    assert!(!busy.status.success());
    assert!(String::from_utf8_lossy(&busy.stderr).contains("in use"), "{}", String::from_utf8_lossy(&busy.stderr));
    assert!(!env.path("busy.tar").exists(), "no partial bundle");
    s.stop();
    let b2 = env.path("b2.tar");
    let out =
        env.run(&["export", "--data", env.data.to_str().unwrap(), "--out", b2.to_str().unwrap(), "--since", &cursor]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Exported 1 report(s), 2 encrypted file(s)"));
    let cases = env.path("cases");
    for b in [&b1, &b2] {
        let out = common::decrypt(b, &env.identity, &cases);
        assert!(out.status.success());
    }
    assert_eq!(fs::read_dir(&cases).unwrap().flatten().filter(|e| e.path().is_dir()).count(), 2);
}

#[test]
fn a_wrong_identity_is_refused_clearly() {
    let env = Env::new();
    let s = Server::start(&env, &[]);
    submit_api(&s, "x", &[]);
    s.stop();
    let bundle = env.path("b.tar");
    env.run(&["export", "--data", env.data.to_str().unwrap(), "--out", bundle.to_str().unwrap()]);
    let other = env.path("other");
    env.run(&["keygen", "--out", other.to_str().unwrap()]);
    let out = common::decrypt(&bundle, &other.join("identity.txt"), &env.path("cases"));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot decrypt"));
}
