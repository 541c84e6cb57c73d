//! The server's signature over a bundle: Ed25519 by the server key over a
//! domain-separated SHA-256 of every byte of the tar before the signature
//! entry, hashed as it streams (export holds one report at a time, and so
//! does the check). Never signs anything but a finished digest.

use std::io::{self, Read, Write};

use ring::digest::{Context, SHA256};

use super::ed25519::{PublicKey, SecretKey};

/// Domain separation of bundle signatures: a key set or an action signed
/// with another key never verifies as a bundle, and the reverse.
pub const BUNDLE_CONTEXT: &[u8] = b"peluit/v1/bundle\n";

/// A `Write` that hashes every byte it passes on.
pub struct Hashing<W: Write> {
    /// Where the bytes go.
    inner: W,
    /// SHA-256 of what went so far.
    hash: Context,
}

impl<W: Write> Hashing<W> {
    /// Starts hashing what is written to `inner`.
    pub fn new(inner: W) -> Hashing<W> {
        Hashing { inner, hash: Context::new(&SHA256) }
    }

    /// SHA-256 of every byte written so far.
    pub fn digest(&self) -> [u8; 32] {
        finish(self.hash.clone())
    }

    /// The writer underneath.
    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(data)?;
        self.hash.update(&data[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The digest of a finished hash.
fn finish(hash: Context) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(hash.finish().as_ref());
    out
}

/// SHA-256 of the first `len` bytes of `r`; an early end is an error.
pub fn hash_prefix(r: impl Read, len: u64) -> io::Result<[u8; 32]> {
    let mut hash = Context::new(&SHA256);
    let mut r = r.take(len);
    let mut buf = vec![0u8; 64 * 1024];
    let mut seen = 0u64;
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
        seen += n as u64;
    }
    if seen != len {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the bundle ends early"));
    }
    Ok(finish(hash))
}

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
