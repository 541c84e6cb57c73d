//! The tamper-evident log of applied actions: each entry hashes the one
//! before it, and [`Chain`] checks a log one entry at a time. Pure: no I/O.

use serde::{Deserialize, Serialize};

use super::{Line, Payload, ACTION_CONTEXT};
use crate::crypto::ed25519::{sha256_hex, unb64, PublicKey};
use crate::investigators::{Investigators, Role};

/// One entry of the tamper-evident log: each entry hashes the previous one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Position, from 1.
    pub n: u64,
    /// The previous entry's hash (64 zeros for the first).
    pub prev: String,
    /// SHA-256 over `prev ‖ "\n" ‖ payload ‖ "\n" ‖ key ‖ "\n" ‖ sig`.
    pub hash: String,
    /// The applied action, without its blob.
    pub line: Line,
    /// Day it was applied.
    pub applied: String,
}

/// The hash of the first entry's predecessor.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

impl AuditEntry {
    /// The entry after `prev` (position `n`) for an applied line.
    pub fn next(n: u64, prev: &str, line: &Line, applied: &str) -> AuditEntry {
        let line = Line { blob: None, ..line.clone() };
        AuditEntry { n, prev: prev.to_string(), hash: entry_hash(prev, &line), line, applied: applied.to_string() }
    }
}

/// The chained hash of one entry.
fn entry_hash(prev: &str, line: &Line) -> String {
    sha256_hex(format!("{prev}\n{}\n{}\n{}", line.payload, line.key, line.sig).as_bytes())
}

/// Why a log does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// An entry is out of order or missing.
    #[error("entry {0}: out of sequence (an entry is missing or was inserted)")]
    Sequence(u64),
    /// An entry's hash or link does not match.
    #[error("entry {0}: hash chain broken (an entry was altered)")]
    Broken(u64),
    /// An entry's signature does not verify against the given keys.
    #[error("entry {0}: signature does not verify against investigators.txt")]
    Signature(u64),
    /// The log does not contain the head recorded earlier.
    #[error(
        "the earlier head {0} is not in this log: check that it was copied exactly; if it was, the log was rewritten"
    )]
    Rewritten(String),
    /// The earlier head is not a head at all (a typo, not a rewrite).
    #[error("{0:?} is not a head: a head is 64 hexadecimal characters, as `verify-log` printed it")]
    MalformedHead(String),
    /// An entry's payload is not an action.
    #[error("entry {0}: not a peluit action")]
    Malformed(u64),
    /// An entry repeats the nonce of an earlier one: the same action twice.
    #[error("entry {0}: its nonce was already applied earlier in the log (an entry was repeated)")]
    Replayed(u64),
    /// An entry was signed for another deployment.
    #[error("entry {0}: signed for another deployment")]
    OtherDeployment(u64),
}

/// Checks a log one entry at a time, so a log larger than memory streams
/// through: sequence, links, hashes, (when keys are given) every signature,
/// that no nonce repeats (the chain hash alone would let an operator
/// re-chain an applied action), and (when given) that every entry is for
/// this deployment. Keeps only the nonces, 16 bytes an entry.
pub struct Chain<'a> {
    /// The deployment every entry must name, if known.
    deployment: Option<&'a str>,
    /// Keys whose signatures are checked, if given.
    keys: Option<&'a Investigators>,
    /// A head recorded earlier that must come by.
    earlier: Option<&'a str>,
    /// Whether it did.
    seen_earlier: bool,
    /// The hash of the last entry.
    prev: String,
    /// Entries so far.
    n: u64,
    /// The nonces seen so far.
    nonces: std::collections::HashSet<[u8; 16]>,
}

impl<'a> Chain<'a> {
    /// An empty check. `earlier` is a head hash recorded from an earlier
    /// export, which must still be in the log.
    pub fn new(deployment: Option<&'a str>, keys: Option<&'a Investigators>, earlier: Option<&'a str>) -> Chain<'a> {
        let seen_earlier = earlier.is_none() || earlier == Some(GENESIS);
        Chain { deployment, keys, earlier, seen_earlier, prev: GENESIS.into(), n: 0, nonces: Default::default() }
    }

    /// Checks the next entry.
    pub fn push(&mut self, e: &AuditEntry) -> Result<(), ChainError> {
        if e.n != self.n + 1 {
            return Err(ChainError::Sequence(e.n));
        }
        if e.prev != self.prev || e.hash != entry_hash(&self.prev, &e.line) {
            return Err(ChainError::Broken(e.n));
        }
        if let Some(keys) = self.keys {
            let ok = PublicKey::parse(&e.line.key)
                .filter(|k| keys.get(k).is_some_and(|w| w.role == Role::Sign))
                .zip(unb64(&e.line.payload).zip(unb64(&e.line.sig)))
                .is_some_and(|(k, (p, s))| k.verify(ACTION_CONTEXT, &p, &s));
            if !ok {
                return Err(ChainError::Signature(e.n));
            }
        }
        let payload: Payload =
            unb64(&e.line.payload).and_then(|b| serde_json::from_slice(&b).ok()).ok_or(ChainError::Malformed(e.n))?;
        if self.deployment.is_some_and(|d| d != payload.deployment) {
            return Err(ChainError::OtherDeployment(e.n));
        }
        let nonce = crate::crypto::unhex::<16>(&payload.nonce).ok_or(ChainError::Malformed(e.n))?;
        if !self.nonces.insert(nonce) {
            return Err(ChainError::Replayed(e.n));
        }
        self.n = e.n;
        self.prev = e.hash.clone();
        if self.earlier == Some(self.prev.as_str()) {
            self.seen_earlier = true;
        }
        Ok(())
    }

    /// The number of entries and the head hash, once the earlier head came by.
    pub fn finish(self) -> Result<(u64, String), ChainError> {
        if let Some(h) = self.earlier.filter(|h| h.len() != GENESIS.len() || !h.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(ChainError::MalformedHead(h.to_string()));
        }
        if !self.seen_earlier {
            return Err(ChainError::Rewritten(self.earlier.unwrap_or_default().to_string()));
        }
        Ok((self.n, self.prev))
    }
}

/// Checks a whole log in memory (see [`Chain`]); returns the head hash.
pub fn verify_chain(
    entries: &[AuditEntry],
    keys: Option<&Investigators>,
    earlier: Option<&str>,
) -> Result<String, ChainError> {
    let mut chain = Chain::new(None, keys, earlier);
    for e in entries {
        chain.push(e)?;
    }
    chain.finish().map(|(_, head)| head)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::tests::{payload, setup, DEP};
    use crate::actions::{sign, ActionKind};

    #[test]
    fn the_audit_chain_catches_edits_gaps_and_rewrites() {
        let (signer, _, keys) = setup();
        let mut entries = Vec::new();
        let mut prev = GENESIS.to_string();
        for i in 0..4u8 {
            let text = sign(&signer, &payload(i, 1_000_000, ActionKind::Delete), None);
            let line: Line = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
            let e = AuditEntry::next(u64::from(i) + 1, &prev, &line, "2026-11-26");
            prev = e.hash.clone();
            entries.push(e);
        }
        let head = verify_chain(&entries, Some(&keys), None).unwrap_or_default();
        assert_eq!(head, prev);
        let second = entries[1].hash.clone();
        assert!(verify_chain(&entries, Some(&keys), Some(&second)).is_ok());
        let mut gap = entries.clone();
        gap.remove(1);
        assert_eq!(verify_chain(&gap, None, None), Err(ChainError::Sequence(3)));
        let mut edited = entries.clone();
        edited[2].applied = "x".into();
        assert!(verify_chain(&edited, None, None).is_ok(), "the day is metadata, not chained");
        edited[2].line.sig = entries[3].line.sig.clone();
        assert_eq!(verify_chain(&edited, None, None), Err(ChainError::Broken(3)));
        // Rebuilt from scratch without entry 2: consistent, but the earlier head is gone.
        let mut rebuilt = Vec::new();
        let mut prev = GENESIS.to_string();
        for (i, e) in entries.iter().enumerate().filter(|(i, _)| *i != 1) {
            let _ = i;
            let n = rebuilt.len() as u64 + 1;
            let r = AuditEntry::next(n, &prev, &e.line, "d");
            prev = r.hash.clone();
            rebuilt.push(r);
        }
        assert!(verify_chain(&rebuilt, Some(&keys), None).is_ok());
        assert_eq!(verify_chain(&rebuilt, None, Some(&second)), Err(ChainError::Rewritten(second.clone())));
        let typo = &second[..63];
        assert_eq!(verify_chain(&rebuilt, None, Some(typo)), Err(ChainError::MalformedHead(typo.to_string())));
        // An unregistered signer.
        assert_eq!(verify_chain(&entries, Some(&Investigators::default()), None), Err(ChainError::Signature(1)));
    }

    #[test]
    fn the_chain_refuses_a_repeated_action_and_another_deployments() {
        let (signer, _, keys) = setup();
        let line = |nonce: u8, deployment: &str| {
            let mut p = payload(nonce, 1_000_000, ActionKind::Delete);
            p.deployment = deployment.into();
            serde_json::from_str::<Line>(&sign(&signer, &p, None)).unwrap_or_else(|e| panic!("{e}"))
        };
        let check = |lines: &[Line]| {
            let mut chain = Chain::new(Some(DEP), Some(&keys), None);
            let mut prev = GENESIS.to_string();
            for (i, l) in lines.iter().enumerate() {
                let e = AuditEntry::next(i as u64 + 1, &prev, l, "d");
                prev = e.hash.clone();
                chain.push(&e)?;
            }
            chain.finish()
        };
        let (one, two) = (line(1, DEP), line(2, DEP));
        assert_eq!(check(&[one.clone(), two.clone()]).map(|(n, _)| n), Ok(2));
        assert_eq!(check(&[one.clone(), two.clone(), one.clone()]), Err(ChainError::Replayed(3)));
        let foreign = line(3, "e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0");
        assert_eq!(check(&[one, foreign, two]), Err(ChainError::OtherDeployment(2)));
    }
}
