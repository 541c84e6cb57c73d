//! The key set the server publishes at `GET /api/v1/keys`: the investigators'
//! age recipients and the deployment id, signed offline with a signing key.
//! Reporters' clients pin the signing key's fingerprint (published out of band)
//! and refuse anything else, so a server that swaps in its own recipients
//! cannot read client-sealed tips. Pure: no I/O, no clock.

use serde::{Deserialize, Serialize};

use crate::crypto::ed25519::{b64, unb64, PublicKey, SecretKey};

/// Domain separation of key-set signatures.
pub const KEYSET_CONTEXT: &[u8] = b"peluit/v1/keyset\n";

/// What is signed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySetPayload {
    /// Always 1.
    pub v: u32,
    /// The deployment the key set belongs to.
    pub deployment: String,
    /// The age recipients to seal to.
    pub recipients: Vec<String>,
    /// Unix seconds when it was signed.
    pub time: u64,
}

/// The published document (`keys/keyset.json` on the server).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedKeySet {
    /// The payload bytes, base64.
    pub payload: String,
    /// The signer, `ed25519:BASE64`.
    pub key: String,
    /// Signature over `KEYSET_CONTEXT ‖ payload`, base64.
    pub sig: String,
}

/// Why a client refuses a key set. Each says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeySetError {
    /// Not a key set at all.
    #[error("the server's key set is malformed")]
    Malformed,
    /// Signed by a key other than the pinned one.
    #[error("the key set is not signed by the pinned key {pinned}: do not send anything to this server")]
    NotPinned {
        /// The fingerprint the client pinned.
        pinned: String,
    },
    /// The signature does not verify.
    #[error("the key set's signature does not verify: do not send anything to this server")]
    BadSignature,
    /// Signed for another deployment.
    #[error("the key set was made for another deployment ({0}): do not send anything to this server")]
    OtherDeployment(String),
    /// No recipients.
    #[error("the key set lists no recipient")]
    Empty,
    /// The pin is not a fingerprint (a typo or a truncated copy).
    #[error("malformed fingerprint {0:?}: a fingerprint is 64 hexadecimal characters; copy it again from where the organisation publishes it")]
    MalformedPin(String),
}

/// The pin as `verify` compares it: lower-case hex, with the `:`, spaces and
/// `-` that people copy along removed. Anything else is refused before the
/// server is asked, so a typo is not reported as a foreign key.
pub fn normalize_pin(pin: &str) -> Result<String, KeySetError> {
    let p = pin.trim().to_ascii_lowercase().replace([':', ' ', '-'], "");
    if p.len() != 64 || !p.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(KeySetError::MalformedPin(pin.to_string()));
    }
    Ok(p)
}

/// Signs a key set (offline).
pub fn sign(key: &SecretKey, payload: &KeySetPayload) -> SignedKeySet {
    let bytes = serde_json::to_vec(payload).unwrap_or_default();
    SignedKeySet { payload: b64(&bytes), key: key.public().to_text(), sig: b64(&key.sign(KEYSET_CONTEXT, &bytes)) }
}

/// Checks a key set against a pinned fingerprint and the expected deployment.
pub fn verify(set: &SignedKeySet, pin: &str, deployment: &str) -> Result<KeySetPayload, KeySetError> {
    let key = PublicKey::parse(&set.key).ok_or(KeySetError::Malformed)?;
    let pin = normalize_pin(pin)?;
    if key.fingerprint() != pin {
        return Err(KeySetError::NotPinned { pinned: pin });
    }
    let bytes = unb64(&set.payload).ok_or(KeySetError::Malformed)?;
    let sig = unb64(&set.sig).ok_or(KeySetError::Malformed)?;
    if !key.verify(KEYSET_CONTEXT, &bytes, &sig) {
        return Err(KeySetError::BadSignature);
    }
    let p: KeySetPayload = serde_json::from_slice(&bytes).map_err(|_| KeySetError::Malformed)?;
    if p.deployment != deployment {
        return Err(KeySetError::OtherDeployment(p.deployment));
    }
    if p.recipients.is_empty() {
        return Err(KeySetError::Empty);
    }
    Ok(p)
}

/// Reads the payload without checking it (the server compares it with its
/// own configuration at start).
pub fn peek(set: &SignedKeySet) -> Option<KeySetPayload> {
    serde_json::from_slice(&unb64(&set.payload)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(dep: &str) -> KeySetPayload {
        KeySetPayload { v: 1, deployment: dep.into(), recipients: vec!["age1abc".into()], time: 1 }
    }

    #[test]
    fn pinned_and_matching_sets_pass_and_others_do_not() {
        let (k, _) = SecretKey::generate("k").unwrap_or_else(|e| panic!("{e}"));
        let (other, _) = SecretKey::generate("o").unwrap_or_else(|e| panic!("{e}"));
        let fp = k.public().fingerprint();
        let set = sign(&k, &payload("d1"));
        assert_eq!(verify(&set, &fp, "d1"), Ok(payload("d1")));
        assert_eq!(verify(&set, &fp.to_uppercase(), "d1"), Ok(payload("d1")), "pins are case-insensitive");
        assert!(matches!(verify(&sign(&other, &payload("d1")), &fp, "d1"), Err(KeySetError::NotPinned { .. })));
        assert_eq!(verify(&set, &fp, "d2"), Err(KeySetError::OtherDeployment("d1".into())));
        let mut forged = sign(&k, &payload("d1"));
        forged.payload = sign(&k, &payload("d2")).payload;
        assert_eq!(verify(&forged, &fp, "d2"), Err(KeySetError::BadSignature));
        let empty = KeySetPayload { recipients: vec![], ..payload("d1") };
        assert_eq!(verify(&sign(&k, &empty), &fp, "d1"), Err(KeySetError::Empty));
        assert_eq!(verify(&set, &fp[..16], "d1"), Err(KeySetError::MalformedPin(fp[..16].to_string())));
    }
}
