//! Signed investigator actions and the tamper-evident log of applied ones.
//! Pure: no I/O, no clock (the time is passed in), no hidden randomness.
//!
//! An actions file is JSON Lines. Each line carries the exact payload bytes
//! (base64), the signer's public key, an Ed25519 signature over
//! `"peluit/v1/action\n" ‖ payload`, and for replies and notes the age
//! ciphertext, whose SHA-256 the payload names. The payload names the
//! deployment, a unique nonce and the day (UTC) it was signed, so a line
//! cannot be replayed, carried to another deployment, or held back for long.
//! The day and not the second: the signed payload is kept in the audit log,
//! and a seized disk must not tell when an investigator acted (SECURITY.md).
//! It also names the report's submissions as the signer saw them and the
//! action it follows (see [`order`]), so lines apply only in the order they
//! were signed and only on the report their signer read.

use serde::{Deserialize, Serialize};

use crate::crypto::ed25519::{b64, sha256_hex, unb64, PublicKey, SecretKey};
use crate::investigators::{Investigators, Role};
use crate::model::Status;

/// Domain separation of action signatures.
pub const ACTION_CONTEXT: &[u8] = b"peluit/v1/action\n";
/// Payload format version. Version 1 named the second of signing, and
/// neither the state seen nor the action followed; its lines stay valid in
/// the audit log but are refused ([`ActionError::OldVersion`]).
pub const VERSION: u32 = 2;

/// What an action does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ActionKind {
    /// Sets the status, with an optional note for the reporter (sealed like a
    /// reply; the line's blob holds it).
    Status {
        /// The new status.
        status: Status,
        /// SHA-256 (hex) of the sealed note, if there is one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note_sha256: Option<String>,
    },
    /// A reply to the reporter, sealed to the reply key and the investigators.
    Reply {
        /// SHA-256 (hex) of the sealed reply.
        blob_sha256: String,
    },
    /// Purges the report and its receipt at once.
    Delete,
}

/// The signed bytes, as JSON. (serde cannot deny unknown fields together
/// with `flatten`; the signature already covers every byte.)
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payload {
    /// Always [`VERSION`].
    pub v: u32,
    /// The deployment the action is for.
    pub deployment: String,
    /// 128 random bits, hex: each action applies once.
    pub nonce: String,
    /// The day (UTC, `YYYY-MM-DD`) it was signed (absent in version 1, which
    /// named the second: such a line parses, to be refused as old).
    #[serde(default)]
    pub day: String,
    /// The report id.
    pub report: String,
    /// [`order::state_digest`] of the report's submissions as the signer's
    /// case folder held them (absent in version 1).
    #[serde(default)]
    pub seen: String,
    /// The id of the report's last action as the signer's machine knew it,
    /// empty for the first (absent in version 1).
    #[serde(default)]
    pub prev: String,
    /// What to do.
    #[serde(flatten)]
    pub kind: ActionKind,
}

/// One line of an actions file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Line {
    /// The payload bytes, base64.
    pub payload: String,
    /// The signer, `ed25519:BASE64`.
    pub key: String,
    /// The signature, base64.
    pub sig: String,
    /// Sealed reply or note, base64 (not part of the signed bytes: its hash is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob: Option<String>,
}

/// An action whose signature, key, deployment, time and blob have been checked.
#[derive(Clone, Debug)]
pub struct Verified {
    /// The decoded payload.
    pub payload: Payload,
    /// The line without its blob (what the audit log keeps).
    pub line: Line,
    /// The sealed reply or note.
    pub blob: Option<Vec<u8>>,
    /// The signer's name from `investigators.txt`.
    pub signer: String,
    /// 1-based line number in the file.
    pub number: usize,
    /// [`order::action_id`]: the next action on the report names it.
    pub id: String,
}

/// Why an actions file was refused. Every variant names the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    /// The file holds no action.
    #[error("the actions file is empty")]
    Empty,
    /// Not JSON of the expected shape.
    #[error("line {0}: not a peluit action")]
    Malformed(usize),
    /// A key that is not in investigators.txt.
    #[error("line {0}: signed by a key that is not registered")]
    UnknownKey(usize),
    /// A transfer key cannot authorise actions.
    #[error("line {0}: signed by a transfer key; only sign keys authorise actions")]
    WrongRole(usize),
    /// The signature does not verify.
    #[error("line {0}: bad signature")]
    BadSignature(usize),
    /// Made for another deployment.
    #[error("line {0}: made for another deployment")]
    OtherDeployment(usize),
    /// Older than the allowed window.
    #[error("line {0}: too old (stale); sign it again")]
    Stale(usize),
    /// Dated in the future beyond the allowed clock skew.
    #[error("line {0}: dated in the future; check the offline machine's clock")]
    Future(usize),
    /// The same signed action as an earlier line of the file.
    #[error("line {0}: the same action as an earlier line (replay)")]
    Replay(usize),
    /// The report does not exist (any more).
    #[error("line {0}: no such report (deleted or never existed)")]
    UnknownReport(usize),
    /// The blob does not match the signed hash, or is missing.
    #[error("line {0}: the attached ciphertext does not match the signature")]
    BlobMismatch(usize),
    /// Signed in an older format that did not bind the action to its order.
    #[error("line {0}: signed by an older peluit (action format 1); pull, then sign it again")]
    OldVersion(usize),
    /// It does not follow the report's last applied action.
    #[error(
        "line {0}: out of order: it does not follow the report's last applied action (an earlier line is \
         missing or comes later, or a colleague acted since); push the lines in the order they were signed, \
         or pull again, read it, then sign it again"
    )]
    OutOfOrder(usize),
    /// The report received something after the action was decided.
    #[error("line {0}: new information arrived for this report since it was signed: pull again, read it, then decide")]
    Outdated(usize),
}

/// What a verifier accepts.
pub struct Policy<'a> {
    /// This deployment's id.
    pub deployment: &'a str,
    /// Registered keys.
    pub keys: &'a Investigators,
    /// Now, in Unix seconds.
    pub now: u64,
    /// Oldest accepted action, in seconds.
    pub max_age: u64,
    /// Largest accepted clock skew into the future, in seconds.
    pub max_skew: u64,
}

/// Signs one action; returns its line (without a trailing newline).
pub fn sign(key: &SecretKey, payload: &Payload, blob: Option<&[u8]>) -> String {
    let bytes = serde_json::to_vec(payload).unwrap_or_default();
    let line = Line {
        payload: b64(&bytes),
        key: key.public().to_text(),
        sig: b64(&key.sign(ACTION_CONTEXT, &bytes)),
        blob: blob.map(b64),
    };
    serde_json::to_string(&line).unwrap_or_default()
}

/// Verifies every line of an actions file; all or nothing.
pub fn verify_file(text: &str, p: &Policy<'_>) -> Result<Vec<Verified>, ActionError> {
    let mut out: Vec<Verified> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        let v = verify_line(raw, i + 1, p)?;
        if out.iter().any(|o| o.payload.nonce == v.payload.nonce) {
            return Err(ActionError::Replay(i + 1));
        }
        out.push(v);
    }
    if out.is_empty() {
        return Err(ActionError::Empty);
    }
    Ok(out)
}

/// Verifies one line.
fn verify_line(raw: &str, n: usize, p: &Policy<'_>) -> Result<Verified, ActionError> {
    let line: Line = serde_json::from_str(raw).map_err(|_| ActionError::Malformed(n))?;
    let key = PublicKey::parse(&line.key).ok_or(ActionError::Malformed(n))?;
    let who = p.keys.get(&key).ok_or(ActionError::UnknownKey(n))?;
    if who.role != Role::Sign {
        return Err(ActionError::WrongRole(n));
    }
    let bytes = unb64(&line.payload).ok_or(ActionError::Malformed(n))?;
    let sig = unb64(&line.sig).ok_or(ActionError::Malformed(n))?;
    if !key.verify(ACTION_CONTEXT, &bytes, &sig) {
        return Err(ActionError::BadSignature(n));
    }
    let payload: Payload = serde_json::from_slice(&bytes).map_err(|_| ActionError::Malformed(n))?;
    if payload.v < VERSION {
        return Err(ActionError::OldVersion(n));
    }
    if payload.v != VERSION || payload.nonce.len() != 32 || payload.report.len() != 32 {
        return Err(ActionError::Malformed(n));
    }
    if payload.deployment != p.deployment {
        return Err(ActionError::OtherDeployment(n));
    }
    let signed = day_number(&payload.day).ok_or(ActionError::Malformed(n))?;
    // Whole days: an action signed on day D is fresh through D + max_age,
    // and may be a day ahead only within the clock skew around midnight.
    let today = day_number(&day_of(p.now)).ok_or(ActionError::Malformed(n))?;
    if today - signed > i64::try_from(p.max_age / 86_400).unwrap_or(i64::MAX) {
        return Err(ActionError::Stale(n));
    }
    if signed > day_number(&day_of(p.now.saturating_add(p.max_skew))).ok_or(ActionError::Malformed(n))? {
        return Err(ActionError::Future(n));
    }
    let blob = match &line.blob {
        Some(b) => Some(unb64(b).ok_or(ActionError::Malformed(n))?),
        None => None,
    };
    let expected = match &payload.kind {
        ActionKind::Status { note_sha256, .. } => note_sha256.as_deref(),
        ActionKind::Reply { blob_sha256 } => Some(blob_sha256.as_str()),
        ActionKind::Delete => None,
    };
    match (expected, &blob) {
        (None, None) => {}
        (Some(h), Some(b)) if sha256_hex(b) == h => {}
        _ => return Err(ActionError::BlobMismatch(n)),
    }
    let line = Line { blob: None, ..line };
    Ok(Verified { payload, line, blob, signer: who.name.clone(), number: n, id: order::action_id(&bytes) })
}

pub use crate::clock::{day_number, day_of};

mod audit;
pub use audit::{verify_chain, AuditEntry, Chain, ChainError, GENESIS};
pub mod order;

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) const DEP: &str = "d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0";
    const REPORT: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    pub(super) fn setup() -> (SecretKey, SecretKey, Investigators) {
        let (sign, _) = SecretKey::generate("s").unwrap_or_else(|e| panic!("{e}"));
        let (transfer, _) = SecretKey::generate("t").unwrap_or_else(|e| panic!("{e}"));
        let text =
            format!("{} sign ani\n{} transfer ani-laptop\n", sign.public().to_text(), transfer.public().to_text());
        (sign, transfer, Investigators::parse(&text).unwrap_or_default())
    }

    /// 1,000,000 s is 1970-01-12 13:46:40 UTC.
    pub(super) fn payload(nonce: u8, time: u64, kind: ActionKind) -> Payload {
        let (deployment, report, nonce, day) = (DEP.into(), REPORT.into(), format!("{nonce:032x}"), day_of(time));
        Payload { v: VERSION, deployment, nonce, day, report, seen: String::new(), prev: String::new(), kind }
    }

    fn policy(keys: &Investigators) -> Policy<'_> {
        Policy { deployment: DEP, keys, now: 1_000_000, max_age: 2 * 86_400, max_skew: 300 }
    }

    #[test]
    fn a_good_file_verifies() {
        let (signer, _, keys) = setup();
        let blob = b"age ciphertext";
        let mut file = sign(
            &signer,
            &payload(1, 1_000_000, ActionKind::Status { status: Status::Investigating, note_sha256: None }),
            None,
        );
        file.push('\n');
        file += &sign(&signer, &payload(2, 999_000, ActionKind::Reply { blob_sha256: sha256_hex(blob) }), Some(blob));
        let v = verify_file(&file, &policy(&keys)).unwrap_or_default();
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].blob.as_deref(), Some(&blob[..]));
        assert_eq!(v[0].signer, "ani");
    }

    #[test]
    fn every_rejection_names_its_line() {
        let (signer, transfer, keys) = setup();
        let (stranger, _) = SecretKey::generate("x").unwrap_or_else(|e| panic!("{e}"));
        let ok = sign(&signer, &payload(1, 1_000_000, ActionKind::Delete), None);
        let p = policy(&keys);
        let check = |file: String, want: ActionError| assert_eq!(verify_file(&file, &p).err(), Some(want));
        check(String::new(), ActionError::Empty);
        check(format!("{ok}\nnot json"), ActionError::Malformed(2));
        check(sign(&stranger, &payload(1, 1_000_000, ActionKind::Delete), None), ActionError::UnknownKey(1));
        check(sign(&transfer, &payload(1, 1_000_000, ActionKind::Delete), None), ActionError::WrongRole(1));
        let mut other = payload(1, 1_000_000, ActionKind::Delete);
        other.deployment = "e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0".into();
        check(sign(&signer, &other, None), ActionError::OtherDeployment(1));
        // Signed two days ago is still fresh, three days ago stale; tomorrow
        // is the future unless now is within the skew of midnight.
        assert!(verify_file(&sign(&signer, &payload(1, 1_000_000 - 2 * 86_400, ActionKind::Delete), None), &p).is_ok());
        check(sign(&signer, &payload(1, 1_000_000 - 3 * 86_400, ActionKind::Delete), None), ActionError::Stale(1));
        check(sign(&signer, &payload(1, 1_000_000 + 86_400, ActionKind::Delete), None), ActionError::Future(1));
        let late = Policy { now: 1_036_700, ..policy(&keys) };
        assert!(verify_file(&sign(&signer, &payload(1, 1_036_800, ActionKind::Delete), None), &late).is_ok());
        let mut v1 = payload(1, 1_000_000, ActionKind::Delete);
        v1.v = 1;
        check(sign(&signer, &v1, None), ActionError::OldVersion(1));
        check(format!("{ok}\n{ok}"), ActionError::Replay(2));
        let reply = ActionKind::Reply { blob_sha256: sha256_hex(b"one") };
        check(sign(&signer, &payload(3, 1_000_000, reply.clone()), Some(b"two")), ActionError::BlobMismatch(1));
        check(sign(&signer, &payload(3, 1_000_000, reply), None), ActionError::BlobMismatch(1));
        check(
            sign(&signer, &Payload { v: 1, ..payload(4, 1_000_000, ActionKind::Delete) }, None),
            ActionError::OldVersion(1),
        );
        // A payload changed after signing.
        let mut line: Line = serde_json::from_str(&ok).unwrap_or_else(|e| panic!("{e}"));
        let forged = payload(1, 1_000_000, ActionKind::Status { status: Status::Closed, note_sha256: None });
        line.payload = b64(&serde_json::to_vec(&forged).unwrap_or_default());
        check(serde_json::to_string(&line).unwrap_or_default(), ActionError::BadSignature(1));
    }
}
