//! Ed25519 keys for investigators: the signing key (authorises actions; stays
//! offline) and the transfer key (authenticates pull and push; may live on a
//! networked machine). ring does the signing; this file owns the key file
//! format and the domain-separated messages.
//!
//! Key file (text, mode 0600, optionally age-encrypted with a passphrase):
//! ```text
//! # peluit signing key (Ed25519). Keep it offline.
//! # public key: ed25519:BASE64
//! PELUIT-ED25519-SECRET-1:BASE64(PKCS#8)
//! ```

use std::io::{Read, Write};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ring::signature::{self, Ed25519KeyPair, KeyPair};
use zeroize::Zeroizing;

use super::CryptoError;

/// Prefix of the secret line.
const SECRET_PREFIX: &str = "PELUIT-ED25519-SECRET-1:";
/// Prefix of a public key in text.
pub const PUBLIC_PREFIX: &str = "ed25519:";

/// A public Ed25519 key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct PublicKey(pub [u8; 32]);

impl PublicKey {
    /// Parses `ed25519:BASE64`.
    pub fn parse(s: &str) -> Option<PublicKey> {
        let b = B64.decode(s.strip_prefix(PUBLIC_PREFIX)?).ok()?;
        Some(PublicKey(b.try_into().ok()?))
    }

    /// `ed25519:BASE64`.
    pub fn to_text(&self) -> String {
        format!("{PUBLIC_PREFIX}{}", B64.encode(self.0))
    }

    /// SHA-256 of the key bytes, hex: what an organisation publishes to pin.
    pub fn fingerprint(&self) -> String {
        super::hex(ring::digest::digest(&ring::digest::SHA256, &self.0).as_ref())
    }

    /// Checks `sig` over `context ‖ message`.
    pub fn verify(&self, context: &[u8], message: &[u8], sig: &[u8]) -> bool {
        let mut m = Vec::with_capacity(context.len() + message.len());
        m.extend_from_slice(context);
        m.extend_from_slice(message);
        signature::UnparsedPublicKey::new(&signature::ED25519, self.0).verify(&m, sig).is_ok()
    }
}

/// A secret Ed25519 key. No `Debug`; the PKCS#8 bytes are zeroized.
pub struct SecretKey {
    /// ring's key pair.
    pair: Ed25519KeyPair,
}

impl SecretKey {
    /// A fresh key and its key-file text.
    pub fn generate(title: &str) -> Result<(SecretKey, Zeroizing<String>), CryptoError> {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = Zeroizing::new(
            Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| CryptoError::BadIdentity)?.as_ref().to_vec(),
        );
        let pair = Ed25519KeyPair::from_pkcs8(&pkcs8).map_err(|_| CryptoError::BadIdentity)?;
        let key = SecretKey { pair };
        let text = Zeroizing::new(format!(
            "# {title}\n# public key: {}\n{SECRET_PREFIX}{}\n",
            key.public().to_text(),
            Zeroizing::new(B64.encode(&*pkcs8)).as_str()
        ));
        Ok((key, text))
    }

    /// Reads a key file's text.
    pub fn parse(text: &str) -> Result<SecretKey, CryptoError> {
        let line =
            text.lines().map(str::trim).find_map(|l| l.strip_prefix(SECRET_PREFIX)).ok_or(CryptoError::BadIdentity)?;
        let pkcs8 = Zeroizing::new(B64.decode(line).map_err(|_| CryptoError::BadIdentity)?);
        let pair = Ed25519KeyPair::from_pkcs8(&pkcs8).map_err(|_| CryptoError::BadIdentity)?;
        Ok(SecretKey { pair })
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        let mut b = [0u8; 32];
        b.copy_from_slice(self.pair.public_key().as_ref());
        PublicKey(b)
    }

    /// Signs `context ‖ message`.
    pub fn sign(&self, context: &[u8], message: &[u8]) -> Vec<u8> {
        let mut m = Vec::with_capacity(context.len() + message.len());
        m.extend_from_slice(context);
        m.extend_from_slice(message);
        self.pair.sign(&m).as_ref().to_vec()
    }
}

/// True when `bytes` is an age file (a passphrase-protected key file).
pub fn is_age(bytes: &[u8]) -> bool {
    bytes.starts_with(b"age-encryption.org/v1")
}

/// Encrypts key-file text with a passphrase (age scrypt), so `age -d` opens it.
pub fn protect(text: &str, passphrase: &str) -> Result<Vec<u8>, CryptoError> {
    let enc = age::Encryptor::with_user_passphrase(age::secrecy::SecretString::from(passphrase.to_string()));
    let mut out = Vec::new();
    let mut w = enc.wrap_output(&mut out)?;
    w.write_all(text.as_bytes())?;
    w.finish()?;
    Ok(out)
}

/// Decrypts a passphrase-protected key file.
pub fn unprotect(bytes: &[u8], passphrase: &str) -> Result<Zeroizing<String>, CryptoError> {
    let d = age::Decryptor::new_buffered(bytes).map_err(|_| CryptoError::Decrypt)?;
    let mut id = age::scrypt::Identity::new(age::secrecy::SecretString::from(passphrase.to_string()));
    // age caps the work factor it accepts at what this machine does in about
    // a second now, plus 4; `protect` picked its factor the same way, so a
    // key file written while the machine was idle failed to open while it
    // was busy. Our own key files are trusted input: accept up to 2^22
    // (4 GiB of scrypt memory), far above what `protect` picks.
    id.set_max_work_factor(22);
    let mut r = d.decrypt(std::iter::once(&id as &dyn age::Identity)).map_err(|_| CryptoError::Decrypt)?;
    let mut out = Zeroizing::new(String::new());
    r.read_to_string(&mut out).map_err(|_| CryptoError::Decrypt)?;
    Ok(out)
}

/// Base64 (standard, padded) for signatures and blobs in JSON.
pub fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

/// Decodes standard base64.
pub fn unb64(s: &str) -> Option<Vec<u8>> {
    B64.decode(s).ok()
}

/// SHA-256, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    super::hex(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_and_key_file_roundtrip() {
        let (k, text) = SecretKey::generate("test").unwrap_or_else(|e| panic!("{e}"));
        let again = SecretKey::parse(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(k.public(), again.public());
        let sig = k.sign(b"ctx\n", b"message");
        assert!(k.public().verify(b"ctx\n", b"message", &sig));
        assert!(!k.public().verify(b"other\n", b"message", &sig), "context separates domains");
        assert!(!k.public().verify(b"ctx\n", b"messagE", &sig));
        assert_eq!(PublicKey::parse(&k.public().to_text()), Some(k.public()));
        assert_eq!(k.public().fingerprint().len(), 64);
    }

    #[test]
    fn passphrase_protection() {
        let (k, text) = SecretKey::generate("test").unwrap_or_else(|e| panic!("{e}"));
        let sealed = protect(&text, "kuda lumping").unwrap_or_default();
        assert!(is_age(&sealed));
        assert!(unprotect(&sealed, "salah").is_err());
        let open = unprotect(&sealed, "kuda lumping").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(SecretKey::parse(&open).map(|s| s.public()).ok(), Some(k.public()));
    }
}
