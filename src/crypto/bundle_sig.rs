//! The server's signature over a bundle: Ed25519 by the server key over a
//! domain-separated SHA-256 of every byte of the tar before the signature
//! entry, hashed as it streams (export holds one report at a time, and so
//! does the check). Never signs anything but a finished digest.

use super::ed25519::{PublicKey, SecretKey};
pub use super::sha256::{hash_prefix, Hashing};

/// Domain separation of bundle signatures: a key set or an action signed
/// with another key never verifies as a bundle, and the reverse.
pub const BUNDLE_CONTEXT: &[u8] = b"peluit/v1/bundle\n";

/// The server's signature over a bundle's digest.
pub fn sign(key: &SecretKey, digest: &[u8; 32]) -> Vec<u8> {
    key.sign(BUNDLE_CONTEXT, digest)
}

/// Checks a bundle signature.
pub fn verify(key: &PublicKey, digest: &[u8; 32], sig: &[u8]) -> bool {
    key.verify(BUNDLE_CONTEXT, digest, sig)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn the_streamed_digest_is_the_digest_of_the_prefix_and_signs_only_as_a_bundle() {
        let mut w = Hashing::new(Vec::new());
        w.write_all(b"index").and_then(|()| w.write_all(b" and blobs")).unwrap_or_else(|e| panic!("{e}"));
        let d = w.digest();
        let bytes = w.into_inner();
        assert_eq!(hash_prefix(&bytes[..], bytes.len() as u64).ok(), Some(d));
        assert!(hash_prefix(&bytes[..], bytes.len() as u64 + 1).is_err(), "a short bundle");
        let (k, _) = SecretKey::generate("server").unwrap_or_else(|e| panic!("{e}"));
        let sig = sign(&k, &d);
        assert!(verify(&k.public(), &d, &sig));
        assert!(!verify(&k.public(), &hash_prefix(&bytes[..4], 4).unwrap_or_default(), &sig));
        assert!(!k.public().verify(b"peluit/v1/keyset\n", &d, &sig), "another domain");
    }
}
