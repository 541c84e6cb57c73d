//! A follow-up's proof that it comes from whoever holds the receipt, which
//! any investigator checks offline without the receipt, and which nobody
//! without the receipt can forge (not the server at rest, not a transfer
//! machine, not a server that never saw the receipt).
//!
//! For each investigator recipient R: key = HKDF-SHA256(salt
//! "peluit/v1/followup-tag", ikm X25519(reply secret, R), info reply
//! recipient ‖ "\n" ‖ R), and tag = HMAC-SHA256(key, digest), where digest =
//! SHA-256("peluit/v1/followup\n" ‖ reply recipient ‖ "\n" ‖ count (u64 BE) ‖
//! SHA-256 of each sealed blob, the manifest first and then the attachments
//! in order). The reporter derives the reply secret from the receipt; an
//! investigator gets the same agreement from their own secret and the reply
//! recipient stored with the case. The reply recipient stands for the
//! report (one per receipt; the client does not know the report id), and
//! the blob hashes bind every byte of the follow-up.
//! Never holds a secret outside a zeroizing buffer.

use ring::{hkdf, hmac};
use zeroize::Zeroizing;

use super::ed25519::{b64, unb64};
use super::sha256;
use crate::model::FollowUpTag;
use crate::receipt::Receipt;

/// HKDF salt of a tag key.
const KEY_SALT: &[u8] = b"peluit/v1/followup-tag";
/// Domain separation of the digest a tag covers.
const DIGEST_LABEL: &[u8] = b"peluit/v1/followup\n";

/// The digest of a follow-up to the report of `reply_recipient`, from the
/// SHA-256 of each of its sealed blobs (manifest first).
pub fn digest(reply_recipient: &str, blobs: &[[u8; 32]]) -> [u8; 32] {
    let mut bytes = Vec::with_capacity(DIGEST_LABEL.len() + reply_recipient.len() + 9 + 32 * blobs.len());
    bytes.extend_from_slice(DIGEST_LABEL);
    bytes.extend_from_slice(reply_recipient.as_bytes());
    bytes.push(b'\n');
    bytes.extend_from_slice(&(blobs.len() as u64).to_be_bytes());
    blobs.iter().for_each(|b| bytes.extend_from_slice(b));
    sha256::of(&bytes)
}

/// The 32 bytes of a bech32 key with human-readable part `hrp`.
fn decode(text: &str, hrp: &str) -> Option<Zeroizing<[u8; 32]>> {
    use bech32::FromBase32;
    let (found, data, _) = bech32::decode(text.trim()).ok()?;
    let bytes = Zeroizing::new(Vec::<u8>::from_base32(&data).ok()?);
    let mut out = Zeroizing::new([0u8; 32]);
    (found == hrp && bytes.len() == 32).then(|| out.copy_from_slice(&bytes))?;
    Some(out)
}

/// The HMAC key of the agreement of `secret` with `public`, for the pair
/// (reply recipient, investigator recipient). `None` for a public key of
/// small order (an all-zero agreement), which proves nothing.
fn key(secret: &[u8; 32], public: &str, hrp_pub: &str, reply: &str, investigator: &str) -> Option<hmac::Key> {
    let public = decode(public, hrp_pub)?;
    let secret = x25519_dalek::StaticSecret::from(*secret);
    let shared = secret.diffie_hellman(&x25519_dalek::PublicKey::from(*public));
    if !shared.was_contributory() {
        return None;
    }
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, KEY_SALT).extract(shared.as_bytes());
    let info = [reply.as_bytes(), b"\n", investigator.as_bytes()];
    prk.expand(&info, hmac::HMAC_SHA256).ok().map(hmac::Key::from)
}

/// The tags of a follow-up, made by the receipt holder (the CLI client, or
/// the server while it handles a web follow-up) for every recipient.
pub fn tags(receipt: &Receipt, recipients: &[String], digest: &[u8; 32]) -> Vec<FollowUpTag> {
    let scalar = super::reply_scalar(receipt);
    let reply = super::reply_identity(receipt).recipient().to_string();
    recipients
        .iter()
        .filter_map(|r| {
            let k = key(&scalar, r, "age", &reply, r)?;
            Some(FollowUpTag { to: r.clone(), tag: b64(hmac::sign(&k, digest).as_ref()) })
        })
        .collect()
}

/// An investigator's side: their X25519 secrets and recipients, read from
/// their age identity file.
pub struct TagChecker(Vec<(String, Zeroizing<[u8; 32]>)>);

impl TagChecker {
    /// Reads the `AGE-SECRET-KEY-1…` lines of an identity file (others,
    /// such as plugin identities, check nothing).
    pub fn from_identity_file(text: &str) -> TagChecker {
        let keys = text
            .lines()
            .filter(|l| l.trim().starts_with("AGE-SECRET-KEY-1"))
            .filter_map(|l| {
                let secret = decode(l, "age-secret-key-")?;
                let id: age::x25519::Identity = l.trim().parse().ok()?;
                Some((id.to_public().to_string(), secret))
            })
            .collect();
        TagChecker(keys)
    }

    /// True when a tag for one of our recipients proves that the holder of
    /// the receipt behind `reply_recipient` made the follow-up of `digest`.
    pub fn verified(&self, reply_recipient: &str, tags: &[FollowUpTag], digest: &[u8; 32]) -> bool {
        self.0.iter().any(|(mine, secret)| {
            let tag = tags.iter().find(|t| t.to == *mine).and_then(|t| unb64(&t.tag));
            let k = key(secret, reply_recipient, "age", reply_recipient, mine);
            matches!((tag, k), (Some(tag), Some(k)) if hmac::verify(&k, digest, &tag).is_ok())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_receipt_holder_tags_and_any_investigator_checks_offline() {
        let receipt = crate::crypto::new_receipt();
        let reply = crate::crypto::reply_identity(&receipt).recipient().to_string();
        let (ani_secret, ani) = crate::crypto::new_identity();
        let (budi_secret, budi) = crate::crypto::new_identity();
        let d = digest(&reply, &[sha256::of(b"manifest"), sha256::of(b"file")]);
        let t = tags(&receipt, &[ani.clone(), budi], &d);
        assert_eq!(t.len(), 2);
        for secret in [&ani_secret, &budi_secret] {
            let checker = TagChecker::from_identity_file(&format!("# key\n{}\n", secret.as_str()));
            assert!(checker.verified(&reply, &t, &d), "each investigator checks their own tag");
            let other = digest(&reply, &[sha256::of(b"manifest"), sha256::of(b"another file")]);
            assert!(!checker.verified(&reply, &t, &other), "a changed blob");
            let elsewhere = crate::crypto::reply_identity(&crate::crypto::new_receipt()).recipient().to_string();
            assert!(!checker.verified(&elsewhere, &t, &digest(&elsewhere, &[])), "another report");
            assert!(!checker.verified(&reply, &[], &d), "no tag");
        }
        // Without the receipt, a tag is a guess; with another receipt, it is another report's.
        let forged = tags(&crate::crypto::new_receipt(), std::slice::from_ref(&ani), &d);
        let checker = TagChecker::from_identity_file(ani_secret.as_str());
        assert!(!checker.verified(&reply, &forged, &d));
        let (stranger, _) = crate::crypto::new_identity();
        assert!(!TagChecker::from_identity_file(stranger.as_str()).verified(&reply, &t, &d), "not our tag");
    }
}
