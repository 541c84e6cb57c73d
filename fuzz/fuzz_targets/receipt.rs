//! Receipt input as a reporter types it: never panics, and whatever parses
//! reads back the same from its grouped form.
#![no_main]
use libfuzzer_sys::fuzz_target;
use peluit::receipt::Receipt;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(r) = Receipt::parse(s) {
            assert!(Receipt::parse(&r.grouped()).ok() == Some(r));
        }
    }
});
