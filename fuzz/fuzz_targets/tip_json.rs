//! A JSON tip body through the real router, intake, sealing and store:
//! whatever the body, the server answers (no panic) from the fixed set.
#![no_main]
use libfuzzer_sys::fuzz_target;

mod world;

fuzz_target!(|data: &[u8]| {
    let (code, _) = world::world().post("/api/v1/reports", "application/json", data.to_vec());
    assert!([201, 400, 413, 429, 503].contains(&code), "unexpected {code}");
});
