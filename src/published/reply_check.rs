//! Whether a reply or status change shown to a reporter was authorised by an
//! investigator: the signed action line the server hands over with it must
//! verify with a signing key of the pinned key set, name this deployment and
//! this report, and commit to the very ciphertext that was opened. A server
//! that seals its own "reply" to the reporter's key (it sees the receipt on
//! every lookup) has no such line. Pure: no I/O; takes nothing on the
//! server's word.

use serde::Deserialize;

use super::KeySetPayload;
use crate::actions::{ActionKind, Line, ACTION_CONTEXT};
use crate::crypto::ed25519::{sha256_hex, unb64, PublicKey};
use crate::model::Status;

/// What the reporter is shown, to be matched with the signed action.
#[derive(Clone, Copy, Debug)]
pub enum Shown<'a> {
    /// A reply: its sealed bytes.
    Reply(&'a [u8]),
    /// A status change and the sealed bytes of its note, if any.
    Status(Status, Option<&'a [u8]>),
}

/// Why something shown is not verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unverified {
    /// The server gave no signed line.
    #[error("no signed action")]
    NoLine,
    /// The line or its payload does not parse.
    #[error("the signed action is malformed")]
    Malformed,
    /// Signed by a key the pinned key set does not list.
    #[error("signed by a key the key set does not list")]
    UnknownSigner,
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// Signed for another deployment or report.
    #[error("signed for another deployment or report")]
    OtherReport,
    /// The action is not this reply or status change, or names other bytes.
    #[error("the signed action is for something else")]
    Mismatch,
}

/// The part of a signed action this check reads. Other fields (whatever a
/// later payload format adds) are covered by the signature and ignored here.
#[derive(Deserialize)]
struct Signed {
    /// The deployment.
    deployment: String,
    /// The report id.
    report: String,
    /// What it does, with the hash of its sealed text.
    #[serde(flatten)]
    kind: ActionKind,
}

/// Checks `line` as the authority for `shown` in `report` of the deployment
/// of `keys` (a key set already verified against the reporter's pin).
pub fn check(line: Option<&Line>, keys: &KeySetPayload, report: &str, shown: Shown<'_>) -> Result<(), Unverified> {
    let line = line.ok_or(Unverified::NoLine)?;
    let key = PublicKey::parse(&line.key).ok_or(Unverified::Malformed)?;
    if !keys.signers.iter().any(|k| PublicKey::parse(k).as_ref() == Some(&key)) {
        return Err(Unverified::UnknownSigner);
    }
    let bytes = unb64(&line.payload).ok_or(Unverified::Malformed)?;
    let sig = unb64(&line.sig).ok_or(Unverified::Malformed)?;
    if !key.verify(ACTION_CONTEXT, &bytes, &sig) {
        return Err(Unverified::BadSignature);
    }
    let signed: Signed = serde_json::from_slice(&bytes).map_err(|_| Unverified::Malformed)?;
    if signed.deployment != keys.deployment || signed.report != report {
        return Err(Unverified::OtherReport);
    }
    let same = match (&signed.kind, shown) {
        (ActionKind::Reply { blob_sha256 }, Shown::Reply(sealed)) => *blob_sha256 == sha256_hex(sealed),
        (ActionKind::Status { status, note_sha256 }, Shown::Status(shown, note)) => {
            *status == shown && note_sha256.as_deref() == note.map(sha256_hex).as_deref()
        }
        _ => false,
    };
    if !same {
        return Err(Unverified::Mismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::{sign, Payload};
    use crate::crypto::ed25519::SecretKey;

    const DEP: &str = "d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0";
    const REPORT: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    fn keys(signers: &[&SecretKey]) -> KeySetPayload {
        KeySetPayload {
            v: super::super::FORMAT,
            deployment: DEP.into(),
            recipients: vec!["age1x".into()],
            time: 1,
            version: 1,
            expires: 2,
            signers: signers.iter().map(|k| k.public().to_text()).collect(),
            server: String::new(),
        }
    }

    fn line(key: &SecretKey, deployment: &str, report: &str, kind: ActionKind) -> Line {
        let p = Payload {
            v: crate::actions::VERSION,
            deployment: deployment.into(),
            nonce: "0".repeat(32),
            day: "2026-11-29".into(),
            report: report.into(),
            seen: String::new(),
            prev: String::new(),
            kind,
        };
        serde_json::from_str(&sign(key, &p, None)).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn only_a_listed_signer_for_these_very_bytes_verifies() {
        let (ani, _) = SecretKey::generate("ani").unwrap_or_else(|e| panic!("{e}"));
        let (server, _) = SecretKey::generate("server").unwrap_or_else(|e| panic!("{e}"));
        let set = keys(&[&ani]);
        let (sealed, other) = (b"sealed reply".as_slice(), b"another reply".as_slice());
        let reply = ActionKind::Reply { blob_sha256: sha256_hex(sealed) };
        let good = line(&ani, DEP, REPORT, reply.clone());
        assert_eq!(check(Some(&good), &set, REPORT, Shown::Reply(sealed)), Ok(()));
        assert_eq!(check(None, &set, REPORT, Shown::Reply(sealed)), Err(Unverified::NoLine));
        // The genuine line, but with other bytes: the server's own reply.
        assert_eq!(check(Some(&good), &set, REPORT, Shown::Reply(other)), Err(Unverified::Mismatch));
        let forged = line(&server, DEP, REPORT, reply.clone());
        assert_eq!(check(Some(&forged), &set, REPORT, Shown::Reply(sealed)), Err(Unverified::UnknownSigner));
        let mut tampered = good.clone();
        tampered.key = server.public().to_text();
        assert_eq!(
            check(Some(&tampered), &keys(&[&server]), REPORT, Shown::Reply(sealed)),
            Err(Unverified::BadSignature)
        );
        let elsewhere = line(&ani, DEP, &"b".repeat(32), reply.clone());
        assert_eq!(check(Some(&elsewhere), &set, REPORT, Shown::Reply(sealed)), Err(Unverified::OtherReport));
        let foreign = line(&ani, &"e".repeat(32), REPORT, reply);
        assert_eq!(check(Some(&foreign), &set, REPORT, Shown::Reply(sealed)), Err(Unverified::OtherReport));
        // A status line: the status and the note must both match.
        let note = b"sealed note".as_slice();
        let kind = ActionKind::Status { status: Status::Closed, note_sha256: Some(sha256_hex(note)) };
        let status = line(&ani, DEP, REPORT, kind);
        assert_eq!(check(Some(&status), &set, REPORT, Shown::Status(Status::Closed, Some(note))), Ok(()));
        let as_open = Shown::Status(Status::Investigating, Some(note));
        assert_eq!(check(Some(&status), &set, REPORT, as_open), Err(Unverified::Mismatch));
        assert_eq!(check(Some(&status), &set, REPORT, Shown::Status(Status::Closed, None)), Err(Unverified::Mismatch));
        assert_eq!(check(Some(&status), &set, REPORT, Shown::Reply(note)), Err(Unverified::Mismatch));
    }
}
