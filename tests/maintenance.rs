//! `peluit check --data` and `peluit compact` on a real server's data folder.
#![allow(clippy::unwrap_used)]

mod common;

use common::{api_status, client, Env, Server};

#[test]
fn check_then_compact_then_serve_from_the_compacted_folder() {
    let env = Env::new();
    let s = Server::start(&env, &[]);
    let mut receipts = Vec::new();
    for i in 0..3 {
        let form = reqwest::blocking::multipart::Form::new()
            .text("what", format!("tip {i}"))
            .part("file", reqwest::blocking::multipart::Part::bytes(vec![7u8; 100_000]).file_name("f.bin"));
        let r = client().post(s.url("/api/v1/reports")).multipart(form).send().unwrap();
        receipts.push(r.json::<serde_json::Value>().unwrap()["receipt"].as_str().unwrap().to_string());
    }
    s.stop();
    let data = env.data.to_str().unwrap();
    let out = env.run(&["check", "--data", data]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("3 report(s), 6 blob(s)") && text.contains("intact and consistent"), "{text}");
    let compacted = env.path("compacted");
    let out = env.run(&["compact", "--data", data, "--out", compacted.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let again = env.run(&["compact", "--data", data, "--out", compacted.to_str().unwrap()]);
    assert!(!again.status.success(), "never into a used folder");
    std::fs::rename(&env.data, env.path("old-data")).unwrap();
    std::fs::rename(&compacted, &env.data).unwrap();
    let s = Server::start(&env, &[]);
    for r in &receipts {
        assert_eq!(api_status(&s, r).1["status"], "received");
    }
    let r = client().post(s.url("/api/v1/reports")).json(&serde_json::json!({"what": "after"})).send().unwrap();
    assert_eq!(r.status().as_u16(), 201);
    s.stop();
    let out = env.run(&["check", "--data", data]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("4 report(s)"));
    // The export cursor keeps growing across the compaction.
    let b = env.path("b.tar");
    let out = env.run(&["export", "--data", data, "--out", b.to_str().unwrap(), "--since", "3"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Exported 1 report(s)"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
