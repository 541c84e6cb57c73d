//! A follow-up to a real report through the real router: the receipt part
//! comes first, the fuzzed parts after it. Whatever they hold, the server
//! answers (no panic) from the fixed set, and the report stays readable.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

mod world;

/// A report opened once, on first use: its receipt part, and the status
/// request for it.
fn report() -> &'static (Vec<u8>, Vec<u8>) {
    static R: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    R.get_or_init(|| {
        let (code, body) = world::world().post("/api/v1/reports", "application/json", br#"{"what":"seed"}"#.to_vec());
        assert_eq!(code, 201);
        let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
        let receipt = v["receipt"].as_str().expect("receipt");
        let part = format!("--XyZ\r\nContent-Disposition: form-data; name=\"receipt\"\r\n\r\n{receipt}\r\n");
        (part.into_bytes(), serde_json::json!({ "receipt": receipt }).to_string().into_bytes())
    })
}

fuzz_target!(|data: &[u8]| {
    let (part, status) = report();
    let (code, _) =
        world::world().post("/api/v1/followups", "multipart/form-data; boundary=XyZ", [part, data].concat());
    // 400 also answers a report that has taken all the follow-ups it may
    // (`too_many_followups`).
    assert!([201, 400, 404, 408, 413, 429, 503].contains(&code), "unexpected {code}");
    let (code, _) = world::world().post("/api/v1/status", "application/json", status.clone());
    assert_eq!(code, 200, "the report must stay readable");
});
