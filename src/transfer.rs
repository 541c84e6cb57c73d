//! Transfer-key authentication of `pull` and `push` requests. Pure.
//!
//! `Authorization: Peluit-Transfer key=ed25519:…, time=SECONDS, nonce=HEX, sig=BASE64`
//! where the signature covers `"peluit/v1/transfer\n"` followed by the method,
//! the path with its query, the SHA-256 of the body, the time and the nonce,
//! one per line. A transfer key can only fetch ciphertext and hand over
//! actions that a sign key already signed.

use crate::crypto::ed25519::{b64, sha256_hex, unb64, PublicKey, SecretKey};
use crate::investigators::{Investigators, Role};

/// Domain separation of transfer signatures.
pub const TRANSFER_CONTEXT: &[u8] = b"peluit/v1/transfer\n";
/// The authorization scheme name.
pub const SCHEME: &str = "Peluit-Transfer";

/// A parsed authorization header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Auth {
    /// The transfer key.
    pub key: PublicKey,
    /// Unix seconds.
    pub time: u64,
    /// 128-bit hex nonce.
    pub nonce: String,
    /// Signature bytes.
    pub sig: Vec<u8>,
}

/// Why a request is not authorised. Deliberately not detailed in answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TransferError {
    /// No header, or not of the expected form.
    #[error("missing or malformed authorization")]
    Malformed,
    /// The key is not registered as a transfer key.
    #[error("key is not a registered transfer key")]
    Key,
    /// The signature does not verify.
    #[error("bad signature")]
    Signature,
    /// Outside the allowed clock window.
    #[error("request time outside the allowed window")]
    Time,
}

/// The signed message of a request.
fn message(method: &str, path: &str, body: &[u8], time: u64, nonce: &str) -> String {
    format!("{method}\n{path}\n{}\n{time}\n{nonce}", sha256_hex(body))
}

/// The header value for a request (client side).
pub fn header(key: &SecretKey, method: &str, path: &str, body: &[u8], time: u64, nonce: &str) -> String {
    let sig = key.sign(TRANSFER_CONTEXT, message(method, path, body, time, nonce).as_bytes());
    format!("{SCHEME} key={}, time={time}, nonce={nonce}, sig={}", key.public().to_text(), b64(&sig))
}

/// Parses a header value.
pub fn parse(value: &str) -> Result<Auth, TransferError> {
    let rest = value.strip_prefix(SCHEME).ok_or(TransferError::Malformed)?.trim();
    let (mut key, mut time, mut nonce, mut sig) = (None, None, None, None);
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=').ok_or(TransferError::Malformed)?;
        match k {
            "key" => key = PublicKey::parse(v),
            "time" => time = v.parse::<u64>().ok(),
            "nonce" if v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()) => nonce = Some(v.to_string()),
            "sig" => sig = unb64(v),
            _ => return Err(TransferError::Malformed),
        }
    }
    match (key, time, nonce, sig) {
        (Some(key), Some(time), Some(nonce), Some(sig)) => Ok(Auth { key, time, nonce, sig }),
        _ => Err(TransferError::Malformed),
    }
}

/// Checks a request (server side). Replay of the nonce is the caller's check.
pub fn verify(
    auth: &Auth,
    keys: &Investigators,
    method: &str,
    path: &str,
    body: &[u8],
    now: u64,
    window: u64,
) -> Result<(), TransferError> {
    check_header(auth, keys, now, window)?;
    check_signature(auth, method, path, body)
}

/// What can be checked before the body is read: a registered transfer key
/// and a time inside the window.
pub fn check_header(auth: &Auth, keys: &Investigators, now: u64, window: u64) -> Result<(), TransferError> {
    if !keys.get(&auth.key).is_some_and(|i| i.role == Role::Transfer) {
        return Err(TransferError::Key);
    }
    if now.abs_diff(auth.time) > window {
        return Err(TransferError::Time);
    }
    Ok(())
}

/// The signature over the request, body included.
pub fn check_signature(auth: &Auth, method: &str, path: &str, body: &[u8]) -> Result<(), TransferError> {
    if !auth.key.verify(TRANSFER_CONTEXT, message(method, path, body, auth.time, &auth.nonce).as_bytes(), &auth.sig) {
        return Err(TransferError::Signature);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_fresh_request_by_a_transfer_key_passes() {
        let (t, _) = SecretKey::generate("t").unwrap_or_else(|e| panic!("{e}"));
        let (s, _) = SecretKey::generate("s").unwrap_or_else(|e| panic!("{e}"));
        let keys = Investigators::parse(&format!(
            "{} transfer laptop\n{} sign ani\n",
            t.public().to_text(),
            s.public().to_text()
        ))
        .unwrap_or_default();
        let nonce = "0123456789abcdef0123456789abcdef";
        let h = header(&t, "POST", "/api/v1/actions", b"body", 1000, nonce);
        let a = parse(&h).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(verify(&a, &keys, "POST", "/api/v1/actions", b"body", 1010, 300), Ok(()));
        assert_eq!(verify(&a, &keys, "POST", "/api/v1/actions", b"bodY", 1010, 300), Err(TransferError::Signature));
        assert_eq!(verify(&a, &keys, "GET", "/api/v1/actions", b"body", 1010, 300), Err(TransferError::Signature));
        assert_eq!(verify(&a, &keys, "POST", "/api/v1/actions", b"body", 1400, 300), Err(TransferError::Time));
        let by_sign_key = parse(&header(&s, "POST", "/p", b"", 1000, nonce)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(verify(&by_sign_key, &keys, "POST", "/p", b"", 1000, 300), Err(TransferError::Key));
        assert_eq!(parse("Bearer x"), Err(TransferError::Malformed));
        assert_eq!(parse(&h.replace("nonce=", "nonce=zz")), Err(TransferError::Malformed));
    }
}
