//! The JSON API's bodies, shared by the server that writes them and the two
//! clients that read them, so that a renamed key fails to build (or to
//! parse) instead of reading as an empty string. `server/openapi.json`
//! describes the same shapes; a test keeps the two in agreement. Pure data.
//!
//! Answers are read leniently (a missing key takes its default), so that a
//! client keeps working with a server that adds or drops an optional key.
//!
//! Must never derive `Debug` for a body that carries a receipt or plaintext.

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::actions::Line;
use crate::published::SignedKeySet;

/// `201` of `POST /api/v1/reports`: the receipt, shown once.
#[derive(Default, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct Created {
    /// The receipt code, grouped.
    #[serde(default)]
    pub receipt: String,
    /// Always `received`.
    #[serde(default)]
    pub status: String,
}

/// Every refusal: a stable code and a sentence in English.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Problem {
    /// Machine-readable code (`rate_limited`, `too_large`, …).
    pub error: String,
    /// For people.
    pub message: String,
}

/// The body of `POST /api/v1/status` (and of the status form).
#[derive(Default, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct StatusQuery {
    /// The code as typed.
    pub receipt: String,
    /// API only: return replies and notes sealed (base64 age files) for the
    /// client to open itself, instead of decrypting them here.
    #[serde(default)]
    #[zeroize(skip)]
    pub sealed: bool,
}

/// `POST /api/v1/status`: a report as its reporter sees it, decrypted by the
/// server (the plain view: only for clients that cannot open age files).
#[derive(Default, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct StatusView {
    /// Current status id.
    #[serde(default)]
    pub status: String,
    /// Day of the first submission.
    #[serde(default)]
    pub created: String,
    /// Every status change, oldest first.
    #[serde(default)]
    pub timeline: Vec<PlainChange>,
    /// The investigators' replies, oldest first.
    #[serde(default)]
    pub replies: Vec<PlainReply>,
    /// How many follow-ups the reporter has sent.
    #[serde(default)]
    pub followups: usize,
    /// The reporter's follow-ups: day and number of files.
    #[serde(default)]
    pub added: Vec<Added>,
}

/// A status change with its note opened.
#[derive(Default, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct PlainChange {
    /// Day of the change.
    #[serde(default)]
    pub day: String,
    /// The new status id.
    #[serde(default)]
    pub status: String,
    /// The note for the reporter (empty when there is none).
    #[serde(default)]
    pub note: String,
}

/// A reply, opened.
#[derive(Default, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct PlainReply {
    /// Day it was applied.
    #[serde(default)]
    pub day: String,
    /// Its text.
    #[serde(default)]
    pub text: String,
}

/// `POST /api/v1/status` with `"sealed": true`: nothing decrypted on the
/// server; each note and reply comes with the signed action that made it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SealedStatus {
    /// The report id (hex).
    pub report: String,
    /// Current status id.
    pub status: String,
    /// Day of the first submission.
    pub created: String,
    /// Every status change, oldest first.
    pub timeline: Vec<SealedChange>,
    /// The investigators' replies, oldest first.
    pub replies: Vec<SealedReply>,
    /// How many follow-ups the reporter has sent.
    pub followups: usize,
    /// The reporter's follow-ups: day and number of files.
    pub added: Vec<Added>,
}

/// A status change with its note sealed.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SealedChange {
    /// Day of the change.
    pub day: String,
    /// The new status id.
    pub status: String,
    /// The note as a base64 age file (empty when there is none).
    pub note_sealed: String,
    /// The signed action that made the change (null for the acknowledgement).
    pub line: Option<Line>,
}

/// A reply, sealed.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SealedReply {
    /// Day it was applied.
    pub day: String,
    /// The reply as a base64 age file.
    pub sealed: String,
    /// The signed action that carried it.
    pub line: Option<Line>,
}

/// One of the reporter's follow-ups.
#[derive(Clone, Debug, Default, Serialize, Deserialize, Zeroize)]
#[serde(default)]
pub struct Added {
    /// Day it arrived.
    pub day: String,
    /// How many files it carried.
    pub files: usize,
}

/// `201` of `POST /api/v1/followups`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FollowupAdded {
    /// The report's status id.
    pub status: String,
    /// How many follow-ups it now has.
    pub followups: usize,
}

/// `GET /api/v1/keys`: the key set the investigators signed, for clients
/// that encrypt before sending.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Keys {
    /// The deployment id the server claims.
    pub deployment_id: String,
    /// The signed key set.
    pub keyset: SignedKeySet,
}

/// `200` of `POST /api/v1/actions`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Applied {
    /// Actions applied.
    pub applied: usize,
    /// Lines applied by an earlier push, left as they were.
    pub skipped: usize,
    /// Reports purged.
    pub deleted: usize,
    /// The audit log's head hash afterwards.
    pub head: String,
}

#[cfg(test)]
mod tests;
