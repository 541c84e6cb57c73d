//! What the server seals for itself, so that a copy of the data folder
//! without the deployment secret cannot confirm a receipt: replies and notes
//! (which the key derived from a receipt opens) are sealed once more to a key
//! derived from the deployment secret (the reply recipient is locked for the
//! investigators, see [`super::reply_lock`]). Never writes the secret
//! anywhere but its own file.

use std::io::{Read, Write};

use super::{x25519_from_hkdf, CryptoError, DeploymentSecret, Recipients};

/// HKDF salt of the at-rest key.
const AT_REST_SALT: &[u8] = b"peluit/v1/at-rest";

/// The server's at-rest key: X25519 from HKDF-SHA256(deployment secret, salt
/// "peluit/v1/at-rest"). Exists only in the memory of a process that holds the
/// secret.
pub struct AtRestKey(age::x25519::Identity);

impl AtRestKey {
    /// Derives the key from the deployment secret.
    pub fn derive(secret: &DeploymentSecret) -> AtRestKey {
        AtRestKey(x25519_from_hkdf(secret.as_bytes(), AT_REST_SALT))
    }

    /// Seals `inner` (already an age file, already padded) to this key.
    pub fn seal(&self, inner: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let r = self.0.to_public();
        seal_exact(std::iter::once(&r as &dyn age::Recipient), inner)
    }

    /// Opens what [`AtRestKey::seal`] sealed.
    pub fn open(&self, outer: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let d = age::Decryptor::new(outer).map_err(|_| CryptoError::Decrypt)?;
        let mut r = d.decrypt(std::iter::once(&self.0 as &dyn age::Identity)).map_err(|_| CryptoError::Decrypt)?;
        let mut out = Vec::with_capacity(outer.len());
        r.read_to_end(&mut out).map_err(|_| CryptoError::Decrypt)?;
        Ok(out)
    }
}

/// An age file of exactly `plain` (no padding) for the investigators: a
/// reply-lock key, whose length is always the same.
pub fn seal_bytes_exact(recipients: &Recipients, plain: &[u8]) -> Result<Vec<u8>, CryptoError> {
    seal_exact(recipients.0.iter().map(|r| r as &dyn age::Recipient), plain)
}

/// An age file of exactly `plain`.
fn seal_exact<'a>(
    recipients: impl Iterator<Item = &'a dyn age::Recipient>,
    plain: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let enc = age::Encryptor::with_recipients(recipients).map_err(|_| CryptoError::NoRecipients)?;
    let mut out = Vec::with_capacity(plain.len() + 512);
    let mut w = enc.wrap_output(&mut out)?;
    w.write_all(plain)?;
    w.finish()?;
    Ok(out)
}

/// A fingerprint of the secret, kept in the data folder so that a secret
/// file from another deployment is refused at start instead of making every
/// receipt unknown. HMAC-SHA256(secret, "peluit/v1/secret-check"): it
/// reveals nothing about the secret.
pub fn secret_check(secret: &DeploymentSecret) -> [u8; 32] {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = ring::hmac::sign(&key, b"peluit/v1/secret-check");
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

/// The deployment secret as its credential file holds it: 64 hex digits
/// and a newline.
pub fn secret_to_text(secret: &DeploymentSecret) -> zeroize::Zeroizing<String> {
    let hex = zeroize::Zeroizing::new(super::hex(secret.as_bytes()));
    zeroize::Zeroizing::new(format!("{}\n", hex.as_str()))
}

/// Reads a credential file's text; `None` unless it is 64 hex digits.
pub fn secret_from_text(text: &str) -> Option<DeploymentSecret> {
    let bytes = zeroize::Zeroizing::new(super::unhex::<32>(text.trim())?);
    DeploymentSecret::from_bytes(&bytes[..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_rest_seal_needs_the_secret_and_the_secret_text_round_trips() {
        let secret = DeploymentSecret::generate();
        let key = AtRestKey::derive(&secret);
        let outer = key.seal(b"age-encryption.org/v1 inner").unwrap_or_default();
        assert_eq!(AtRestKey::derive(&secret).open(&outer).ok().as_deref(), Some(&b"age-encryption.org/v1 inner"[..]));
        assert!(AtRestKey::derive(&DeploymentSecret::generate()).open(&outer).is_err());
        let back = secret_from_text(&secret_to_text(&secret)).map(|s| *s.as_bytes());
        assert_eq!(back, Some(*secret.as_bytes()));
        assert!(secret_from_text("not hex").is_none());
    }
}
