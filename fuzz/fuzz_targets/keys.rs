//! Small parsers of untrusted text: the transfer authorization header,
//! investigators.txt, recipients files, reporters' pins and published key sets.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = peluit::transfer::parse(s);
        let _ = peluit::investigators::Investigators::parse(s);
        let _ = peluit::crypto::Recipients::parse(s);
        let _ = peluit::published::Pin::parse(s);
        if let (Ok(set), Ok(pin)) = (
            serde_json::from_str::<peluit::published::SignedKeySet>(s),
            peluit::published::Pin::parse(&"0".repeat(64)),
        ) {
            // No key has an all-zero fingerprint.
            assert!(peluit::published::verify(&set, &pin, "d", 0).is_err());
        }
    }
    let _ = peluit::crypto::check_age_header(data);
});
