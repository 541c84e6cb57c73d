//! The submission path end to end in one process: a fuzzed multipart body
//! through the real router into the intake, sealing and the store. Whatever
//! the body, the server answers (no panic) with a status from the fixed set.
#![no_main]
use libfuzzer_sys::fuzz_target;

mod world;

fuzz_target!(|data: &[u8]| {
    let (code, _) = world::world().post("/api/v1/reports", "multipart/form-data; boundary=XyZ", data.to_vec());
    assert!([201, 400, 408, 413, 429, 503].contains(&code), "unexpected {code}");
});
