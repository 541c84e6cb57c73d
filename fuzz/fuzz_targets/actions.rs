//! An actions file from the network: verification never panics and never
//! accepts a line that the registered key did not sign.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use peluit::actions::{verify_file, Policy};
use peluit::crypto::ed25519::SecretKey;
use peluit::investigators::Investigators;

fn keys() -> &'static Investigators {
    static K: OnceLock<Investigators> = OnceLock::new();
    K.get_or_init(|| {
        let (k, _) = SecretKey::generate("fuzz").expect("key");
        Investigators::parse(&format!("{} sign fuzz\n", k.public().to_text())).expect("keyset")
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let policy = Policy { deployment: "d", keys: keys(), now: 1_000_000, max_age: 3600, max_skew: 300 };
        // The fuzzer cannot know the secret key, so nothing may verify.
        assert!(verify_file(text, &policy).is_err());
    }
});
