//! The key set the server publishes at `GET /api/v1/keys`: the investigators'
//! age recipients, their signing keys and the deployment id, signed offline
//! with a signing key, with a version and an expiry. Reporters' clients pin
//! the signing key's fingerprint and a version floor (one string, published
//! out of band) and refuse anything else, so a server that swaps in its own
//! recipients, or replays a superseded set, cannot read client-sealed tips.
//! Pure: no I/O, no clock (the time is passed in).

use serde::{Deserialize, Serialize};

use crate::crypto::ed25519::{b64, unb64, PublicKey, SecretKey};

/// Domain separation of key-set signatures.
pub const KEYSET_CONTEXT: &[u8] = b"peluit/v1/keyset\n";

/// Payload format: 2 added `version`, `expires` and `signers`. Clients
/// refuse format 1, which could be replayed forever.
pub const FORMAT: u32 = 2;

/// How long a key set is valid unless `keys sign --valid-days` says otherwise.
pub const DEFAULT_VALID_DAYS: u64 = 90;
/// The longest validity `keys sign` accepts: an old set stays usable by a
/// replaying server until it expires, so this bounds the rollback window for
/// reporters whose pin carries no recent version floor.
pub const MAX_VALID_DAYS: u64 = 366;
/// The server warns at start when its key set expires within this many days.
pub const WARN_DAYS: u64 = 14;

/// What is signed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySetPayload {
    /// [`FORMAT`].
    pub v: u32,
    /// The deployment the key set belongs to.
    pub deployment: String,
    /// The age recipients to seal to.
    pub recipients: Vec<String>,
    /// Unix seconds when it was signed.
    pub time: u64,
    /// Raised by every `keys sign`: a pin `FINGERPRINT:vN` refuses any set
    /// below N, so a set that still lists a removed key cannot come back.
    #[serde(default)]
    pub version: u64,
    /// Unix seconds after which clients refuse the set.
    #[serde(default)]
    pub expires: u64,
    /// The investigators' Ed25519 signing keys (`ed25519:BASE64`): the
    /// reporter's client accepts a reply only when one of them signed it.
    #[serde(default)]
    pub signers: Vec<String>,
    /// The server key that signs bundles (`ed25519:BASE64`), for `peluit
    /// trust` to pin on the offline machine. Empty in a set signed before
    /// bundles were signed: still valid for reporters' clients, which never
    /// read it; `trust` then leaves the server key to the first bundle.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub server: String,
}

/// A reporter's pin: the signing key's fingerprint and the lowest key-set
/// version to accept, written `FINGERPRINT:vN` (a bare fingerprint is
/// version 1 and up). It travels with what the organisation publishes, so
/// the reporter's device keeps no file that would mark it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pin {
    /// Lower-case hex.
    pub fingerprint: String,
    /// The version floor (at least 1).
    pub min_version: u64,
}

impl Pin {
    /// Reads a pin as people copy it: case, `:`, `-` and spaces inside the
    /// fingerprint are ignored; a trailing `vN` (hex has no `v`) is the floor.
    pub fn parse(pin: &str) -> Result<Pin, KeySetError> {
        let bad = || KeySetError::MalformedPin(pin.to_string());
        let lower = pin.trim().to_ascii_lowercase();
        let (fp, min_version) = match lower.rsplit_once('v') {
            Some((fp, n)) => (fp, n.trim().parse::<u64>().ok().filter(|n| *n >= 1).ok_or_else(bad)?),
            None => (lower.as_str(), 1),
        };
        let fingerprint = fp.replace([':', ' ', '-'], "");
        if fingerprint.len() != 64 || !fingerprint.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        Ok(Pin { fingerprint, min_version })
    }

    /// The pin as published: `FINGERPRINT:vN`.
    pub fn to_text(&self) -> String {
        format!("{}:v{}", self.fingerprint, self.min_version)
    }
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
    #[error("malformed fingerprint {0:?}: a fingerprint is 64 hexadecimal characters, optionally followed by `:v` and a version; copy it again from where the organisation publishes it")]
    MalformedPin(String),
    /// Made by a peluit without versions and expiries.
    #[error("the key set has no version or expiry (an old format): the organisation must sign it again with `peluit keys sign`; do not send anything until then")]
    OldFormat,
    /// Older than the pin's floor: a superseded set, replayed.
    #[error("the key set is version {got}, but the pin asks for at least version {min}: it is an older set that may list keys since removed; do not send anything to this server")]
    Superseded {
        /// The set's version.
        got: u64,
        /// The pin's floor.
        min: u64,
    },
    /// Past its expiry.
    #[error("the key set expired on {0}: if this computer's date is right, the organisation must sign it again; do not send anything until then")]
    Expired(String),
    /// A listed signing key (or the server key) is not a key.
    #[error("the key set lists a signing key that is malformed")]
    BadSigner,
}

/// Signs a key set (offline).
pub fn sign(key: &SecretKey, payload: &KeySetPayload) -> SignedKeySet {
    let bytes = serde_json::to_vec(payload).unwrap_or_default();
    SignedKeySet { payload: b64(&bytes), key: key.public().to_text(), sig: b64(&key.sign(KEYSET_CONTEXT, &bytes)) }
}

/// Checks a key set against a pin, the expected deployment and the time
/// `now` (Unix seconds, the client's clock).
pub fn verify(set: &SignedKeySet, pin: &Pin, deployment: &str, now: u64) -> Result<KeySetPayload, KeySetError> {
    let key = PublicKey::parse(&set.key).ok_or(KeySetError::Malformed)?;
    if key.fingerprint() != pin.fingerprint {
        return Err(KeySetError::NotPinned { pinned: pin.fingerprint.clone() });
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
    if p.v < FORMAT || p.version == 0 || p.expires == 0 {
        return Err(KeySetError::OldFormat);
    }
    if p.version < pin.min_version {
        return Err(KeySetError::Superseded { got: p.version, min: pin.min_version });
    }
    if now >= p.expires {
        return Err(KeySetError::Expired(crate::clock::day_of(p.expires)));
    }
    if p.signers.iter().any(|k| PublicKey::parse(k).is_none())
        || !(p.server.is_empty() || PublicKey::parse(&p.server).is_some())
    {
        return Err(KeySetError::BadSigner);
    }
    Ok(p)
}

/// What the server says at start about its key set's expiry, if anything:
/// expired, or expiring within [`WARN_DAYS`].
pub fn expiry_warning(p: &KeySetPayload, now: u64) -> Option<String> {
    if p.expires == 0 {
        return Some("keys/keyset.json has no expiry (an old format): clients refuse it; sign it again".into());
    }
    if now >= p.expires {
        return Some(format!(
            "keys/keyset.json expired on {}: `peluit submit` refuses it; sign it again on the offline machine",
            crate::clock::day_of(p.expires)
        ));
    }
    (p.expires - now < WARN_DAYS * 86_400).then(|| {
        format!(
            "keys/keyset.json expires on {}: sign it again on the offline machine before then",
            crate::clock::day_of(p.expires)
        )
    })
}

/// Reads the payload without checking it (the server compares it with its
/// own configuration at start).
pub fn peek(set: &SignedKeySet) -> Option<KeySetPayload> {
    serde_json::from_slice(&unb64(&set.payload)?).ok()
}

mod reply_check;
pub use reply_check::{check as check_signed, Shown, Unverified};

#[cfg(test)]
mod tests {
    use super::*;

    /// Now, for these tests.
    const NOW: u64 = 1_000_000;

    fn payload(dep: &str) -> KeySetPayload {
        KeySetPayload {
            v: FORMAT,
            deployment: dep.into(),
            recipients: vec!["age1abc".into()],
            time: 1,
            version: 3,
            expires: NOW + 1,
            signers: vec![],
            server: String::new(),
        }
    }

    fn pin(fp: &str) -> Pin {
        Pin::parse(fp).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn pinned_and_matching_sets_pass_and_others_do_not() {
        let (k, _) = SecretKey::generate("k").unwrap_or_else(|e| panic!("{e}"));
        let (other, _) = SecretKey::generate("o").unwrap_or_else(|e| panic!("{e}"));
        let fp = k.public().fingerprint();
        let set = sign(&k, &payload("d1"));
        assert_eq!(verify(&set, &pin(&fp), "d1", NOW), Ok(payload("d1")));
        assert_eq!(verify(&set, &pin(&fp.to_uppercase()), "d1", NOW), Ok(payload("d1")), "case-insensitive");
        let theirs = sign(&other, &payload("d1"));
        assert!(matches!(verify(&theirs, &pin(&fp), "d1", NOW), Err(KeySetError::NotPinned { .. })));
        assert_eq!(verify(&set, &pin(&fp), "d2", NOW), Err(KeySetError::OtherDeployment("d1".into())));
        let mut forged = sign(&k, &payload("d1"));
        forged.payload = sign(&k, &payload("d2")).payload;
        assert_eq!(verify(&forged, &pin(&fp), "d2", NOW), Err(KeySetError::BadSignature));
        let empty = KeySetPayload { recipients: vec![], ..payload("d1") };
        assert_eq!(verify(&sign(&k, &empty), &pin(&fp), "d1", NOW), Err(KeySetError::Empty));
        assert_eq!(Pin::parse(&fp[..16]), Err(KeySetError::MalformedPin(fp[..16].to_string())));
    }

    #[test]
    fn superseded_expired_and_old_format_sets_are_refused() {
        let (k, _) = SecretKey::generate("k").unwrap_or_else(|e| panic!("{e}"));
        let fp = k.public().fingerprint();
        let set = sign(&k, &payload("d1"));
        assert!(verify(&set, &pin(&format!("{fp}:v3")), "d1", NOW).is_ok());
        assert!(verify(&set, &pin(&format!("{fp}-V2")), "d1", NOW).is_ok(), "a lower floor accepts a newer set");
        let floor = pin(&format!("{fp}:v4"));
        assert_eq!(verify(&set, &floor, "d1", NOW), Err(KeySetError::Superseded { got: 3, min: 4 }));
        assert_eq!(verify(&set, &pin(&fp), "d1", NOW + 1), Err(KeySetError::Expired(crate::clock::day_of(NOW + 1))));
        let old = KeySetPayload { v: 1, version: 0, expires: 0, ..payload("d1") };
        assert_eq!(verify(&sign(&k, &old), &pin(&fp), "d1", NOW), Err(KeySetError::OldFormat));
        let odd = KeySetPayload { signers: vec!["ed25519:zz".into()], ..payload("d1") };
        assert_eq!(verify(&sign(&k, &odd), &pin(&fp), "d1", NOW), Err(KeySetError::BadSigner));
        let odd = KeySetPayload { server: "ed25519:zz".into(), ..payload("d1") };
        assert_eq!(verify(&sign(&k, &odd), &pin(&fp), "d1", NOW), Err(KeySetError::BadSigner));
        for bad in [format!("{fp}:v0"), format!("{fp}:v"), format!("{fp}:vx"), format!("{fp}1:v2")] {
            assert!(matches!(Pin::parse(&bad), Err(KeySetError::MalformedPin(_))), "{bad}");
        }
        assert_eq!(pin(&format!("{fp}:v7")).to_text(), format!("{fp}:v7"));
        assert_eq!(pin(&fp).min_version, 1);
    }

    #[test]
    fn the_server_warns_two_weeks_ahead() {
        let p = KeySetPayload { expires: 100 * 86_400, ..payload("d1") };
        assert!(expiry_warning(&p, p.expires - WARN_DAYS * 86_400).is_none());
        assert!(expiry_warning(&p, p.expires - 86_400).is_some_and(|w| w.contains("expires on")));
        assert!(expiry_warning(&p, p.expires).is_some_and(|w| w.contains("expired on")));
    }
}
