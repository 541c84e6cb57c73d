//! The offline pin of a cases folder (`deployment.json`): the deployment id,
//! the investigators' recipients that `case` seals replies to, and the
//! server key that signs bundles. A bundle that disagrees with it, or is
//! signed by another key, is refused before anything is written, so a
//! transfer machine or a server cannot add a recipient to replies. Only
//! `peluit trust`, from a key set signed offline, changes it; a folder
//! pinned before bundles were signed takes the server key of its next
//! bundle, and `decrypt` prints its fingerprint to compare.
//! Never takes a recipient from a bundle once the folder is pinned.

use std::collections::BTreeSet;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{batch, DecryptError, DEPLOYMENT_FILE};
use crate::crypto::ed25519::PublicKey;
use crate::export::Index;
use crate::published::{peek, verify, KeySetPayload, Pin, SignedKeySet};

/// What `deployment.json` holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pinned {
    /// The deployment id.
    pub deployment_id: String,
    /// The investigators' recipients (replies are sealed to them and to the
    /// case's reporter only).
    pub recipients: Vec<String>,
    /// The version of the key set it was pinned from; 0 when the first
    /// bundle pinned it (trust on first use).
    #[serde(default)]
    pub keyset_version: u64,
    /// The investigators' signing keys the key set listed.
    #[serde(default)]
    pub signers: Vec<String>,
    /// The server key that signs bundles (`ed25519:BASE64`); empty in a
    /// folder pinned before bundles were signed, until its next bundle.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub server_key: String,
}

impl Pinned {
    /// A pin from the first bundle a folder receives.
    pub fn from_index(index: &Index, server: &PublicKey) -> Pinned {
        Pinned {
            deployment_id: index.deployment_id.clone(),
            recipients: index.recipients.clone(),
            keyset_version: 0,
            signers: Vec::new(),
            server_key: server.to_text(),
        }
    }

    /// The pinned server key's fingerprint, if one is pinned.
    pub fn server_fingerprint(&self) -> Option<String> {
        PublicKey::parse(&self.server_key).map(|k| k.fingerprint())
    }

    /// A pin from a key set verified offline.
    pub fn from_keyset(p: &KeySetPayload) -> Pinned {
        Pinned {
            deployment_id: p.deployment.clone(),
            recipients: p.recipients.clone(),
            keyset_version: p.version,
            signers: p.signers.clone(),
            server_key: p.server.clone(),
        }
    }

    /// Where the pin came from, for people.
    pub fn source(&self) -> String {
        match self.keyset_version {
            0 => "the first bundle decrypted into this folder".into(),
            v => format!("key set version {v}"),
        }
    }

    /// What differs between the pin and what `other` claims (deployment id,
    /// recipients added or missing), one item per difference; empty when
    /// they agree. Recipients compare as a set: order carries no meaning.
    pub fn differences(&self, deployment_id: &str, recipients: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        // What a bundle claims reaches a terminal: made safe here.
        let safe = crate::safe_text::line;
        if deployment_id != self.deployment_id {
            out.push(format!("deployment id {} instead of the pinned {}", safe(deployment_id), self.deployment_id));
        }
        let pinned: BTreeSet<&String> = self.recipients.iter().collect();
        let theirs: BTreeSet<&String> = recipients.iter().collect();
        out.extend(theirs.difference(&pinned).map(|r| format!("recipient {} is not pinned", safe(r))));
        out.extend(pinned.difference(&theirs).map(|r| format!("pinned recipient {r} is missing")));
        out
    }
}

/// The folder's pin, if it has one.
pub fn load(out: &Path) -> Result<Option<Pinned>, DecryptError> {
    let raw = match std::fs::read(out.join(DEPLOYMENT_FILE)) {
        Ok(raw) => raw,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    serde_json::from_slice(&raw)
        .map(Some)
        .map_err(|e| DecryptError::Format(format!("{}: {e}", out.join(DEPLOYMENT_FILE).display())))
}

/// Writes the folder's pin durably (the folder must exist).
pub fn save(out: &Path, pin: &Pinned) -> Result<(), DecryptError> {
    let json = serde_json::to_vec_pretty(pin).map_err(io::Error::other)?;
    Ok(batch::replace_now(&out.join(DEPLOYMENT_FILE), &json)?)
}

/// Checks a bundle's signer and index against the folder's pin: refuses
/// one that differs, saying what differs; pins a folder that has none, and
/// the server key of a folder pinned before bundles were signed. Returns
/// the pin the bundle was checked against.
pub(super) fn check_or_pin(out: &Path, index: &Index, signer: &PublicKey) -> Result<Pinned, DecryptError> {
    let Some(mut pin) = load(out)? else {
        crate::private_fs::make_dir(out)?;
        let pin = Pinned::from_index(index, signer);
        save(out, &pin)?;
        return Ok(pin);
    };
    if let Some(pinned) = pin.server_fingerprint().filter(|fp| *fp != signer.fingerprint()) {
        return Err(DecryptError::Pin(format!(
            "the bundle is signed by another key (fingerprint {}) than this folder's pinned server key ({pinned}, \
             from {}); refused, nothing was written. A bundle re-signed in transit looks like this; if the server \
             key really changed, sign a new key set with it and give it to `peluit trust` first",
            signer.fingerprint(),
            pin.source()
        )));
    }
    let diff = pin.differences(&index.deployment_id, &index.recipients);
    if diff.is_empty() {
        if pin.server_key.is_empty() {
            pin.server_key = signer.to_text();
            save(out, &pin)?;
        }
        return Ok(pin);
    }
    Err(DecryptError::Pin(format!(
        "the bundle disagrees with this folder's pin ({}): {}. Nothing was written. A bundle altered in \
         transit looks like this; if the investigators changed their keys, sign a new key set on the \
         offline machine and give it to `peluit trust` first",
        pin.source(),
        diff.join("; ")
    )))
}

/// Pins `out` (made when missing) to a key set signed offline, checked
/// against `pin` (the signing key's fingerprint and version floor) at `now`.
/// A folder already pinned keeps its deployment, and a key set pins over
/// another only with a higher version: an older set may still list a key
/// since removed. Returns the pin replaced, if any, and the new one.
pub fn trust(out: &Path, set: &SignedKeySet, pin: &Pin, now: u64) -> Result<(Option<Pinned>, Pinned), DecryptError> {
    let old = load(out)?;
    let deployment = match &old {
        Some(p) => p.deployment_id.clone(),
        None => peek(set).map(|p| p.deployment).unwrap_or_default(),
    };
    let payload = verify(set, pin, &deployment, now).map_err(|e| DecryptError::Pin(e.to_string()))?;
    let mut new = Pinned::from_keyset(&payload);
    // A set signed before bundles were signed names no server key: the one
    // pinned already stays.
    if new.server_key.is_empty() {
        new.server_key = old.as_ref().map(|o| o.server_key.clone()).unwrap_or_default();
    }
    if let Some(o) = old.as_ref().filter(|o| o.keyset_version > new.keyset_version) {
        return Err(DecryptError::Pin(format!(
            "this folder is pinned to key set version {}; version {} is older and may list keys since removed",
            o.keyset_version, new.keyset_version
        )));
    }
    crate::private_fs::make_dir(out)?;
    save(out, &new)?;
    Ok((old, new))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_name_the_deployment_and_each_recipient() {
        let pin = Pinned {
            deployment_id: "d1".into(),
            recipients: vec!["age1a".into(), "age1b".into()],
            keyset_version: 0,
            signers: vec![],
            server_key: String::new(),
        };
        assert!(pin.differences("d1", &["age1b".into(), "age1a".into()]).is_empty(), "order does not matter");
        assert_eq!(
            pin.differences("d2", &["age1a".into(), "age1x".into()]),
            vec![
                "deployment id d2 instead of the pinned d1".to_string(),
                "recipient age1x is not pinned".into(),
                "pinned recipient age1b is missing".into()
            ]
        );
    }

    #[test]
    fn the_server_key_is_pinned_once_and_another_refused() {
        use crate::crypto::ed25519::SecretKey;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let out = dir.path().join("cases");
        let key = || SecretKey::generate("server").unwrap_or_else(|e| panic!("{e}")).0.public();
        let (server, other) = (key(), key());
        let index = Index {
            format: crate::export::INDEX_FORMAT.into(),
            deployment_id: "d1".into(),
            since: 0,
            cursor: 1,
            recipients: vec!["age1a".into()],
        };
        check_or_pin(&out, &index, &server).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(load(&out).ok().flatten().map(|p| p.server_key), Some(server.to_text()), "first use pins it");
        assert!(check_or_pin(&out, &index, &server).is_ok());
        let refused = check_or_pin(&out, &index, &other).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(refused.contains(&other.fingerprint()) && refused.contains("another key"), "{refused}");
        // A folder pinned before bundles were signed takes its next bundle's key.
        let mut old = load(&out).ok().flatten().unwrap_or_else(|| panic!("pinned"));
        old.server_key.clear();
        save(&out, &old).unwrap_or_else(|e| panic!("{e}"));
        assert!(check_or_pin(&out, &index, &other).is_ok());
        assert_eq!(load(&out).ok().flatten().map(|p| p.server_key), Some(other.to_text()));
    }

    #[test]
    fn trust_pins_a_signed_set_and_refuses_an_older_one() {
        use crate::crypto::ed25519::SecretKey;
        use crate::published::{sign, FORMAT};
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let out = dir.path().join("cases");
        let (k, _) = SecretKey::generate("k").unwrap_or_else(|e| panic!("{e}"));
        let pin = Pin::parse(&k.public().fingerprint()).unwrap_or_else(|e| panic!("{e}"));
        let set = |version: u64, dep: &str, r: &str| {
            let p = KeySetPayload {
                v: FORMAT,
                deployment: dep.into(),
                recipients: vec![r.into()],
                time: 1,
                version,
                expires: 100,
                signers: vec![],
                server: String::new(),
            };
            sign(&k, &p)
        };
        let (old, new) = trust(&out, &set(2, "d1", "age1a"), &pin, 10).unwrap_or_else(|e| panic!("{e}"));
        assert!(old.is_none());
        assert_eq!((new.keyset_version, new.recipients.clone()), (2, vec!["age1a".to_string()]));
        assert_eq!(load(&out).ok().flatten(), Some(new));
        let refused = |s: &SignedKeySet| matches!(trust(&out, s, &pin, 10), Err(DecryptError::Pin(_)));
        assert!(refused(&set(1, "d1", "age1x")), "an older set");
        assert!(refused(&set(3, "d2", "age1x")), "another deployment");
        let forged = SignedKeySet { payload: set(3, "d1", "age1y").payload, ..set(3, "d1", "age1x") };
        assert!(refused(&forged), "a forged one");
        assert!(matches!(trust(&out, &set(3, "d1", "age1b"), &pin, 100), Err(DecryptError::Pin(_))), "expired");
        let server = SecretKey::generate("server").unwrap_or_else(|e| panic!("{e}")).0.public().to_text();
        let named = |version| {
            let mut p = crate::published::peek(&set(version, "d1", "age1b")).unwrap_or_else(|| panic!("payload"));
            p.server = server.clone();
            sign(&k, &p)
        };
        let (old, new) = trust(&out, &named(3), &pin, 10).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(new.server_key, server, "the set's server key is pinned");
        assert_eq!(old.map(|o| o.keyset_version), Some(2));
        let (_, newer) = trust(&out, &set(4, "d1", "age1b"), &pin, 10).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(newer.server_key, server, "a set naming no server key keeps the pinned one");
        assert_eq!(load(&out).ok().flatten().map(|p| p.recipients), Some(new.recipients));
    }
}
