//! Export bundles: a plain tar, so `tar` and `age` alone can read a case if
//! peluit is unavailable. Never sees plaintext.
//!
//! Entries, in order: `index.json` (format, deployment, cursors, recipients),
//! `audit.jsonl`, then per change in the range, in log order: for a report
//! with a new submission, status change or reply, `reports/<id>.json` (its
//! non-secret metadata: whole status and timeline, the submissions and
//! messages in the range) immediately followed by its blobs as standard
//! `.age` files, each submission's manifest before its attachments, then the
//! sealed replies and status notes in the range; for a deleted report,
//! `deleted/<id>.json`; last, `signature.json`: the server key's Ed25519
//! signature over the SHA-256 of every byte before it ([`BundleSignature`]).
//! Export and decrypt hold one report at a time, however many the bundle has.
//!
//! Entries carry no timestamps, owners or modes beyond 0600: the bundle leaks
//! nothing the database does not.

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::crypto::bundle_sig;
use crate::crypto::ed25519::{b64, SecretKey};
use crate::model::{BlobRef, Event, Report, SealedBy, Status, SubmissionKind};
use crate::store::{Change, Store, StoreError};

/// Format tag of `index.json`. Version 1 listed every report in the index.
pub const INDEX_FORMAT: &str = "peluit-export/2";

/// Name of the first entry in the tar.
pub const INDEX_PATH: &str = "index.json";

/// `index.json`: where the bundle comes from and which range it covers.
#[derive(Debug, Serialize, Deserialize)]
pub struct Index {
    /// Always [`INDEX_FORMAT`].
    pub format: String,
    /// The deployment that produced the bundle.
    pub deployment_id: String,
    /// The cursor this export started after (0 for everything).
    pub since: u64,
    /// Pass this as `--since` next time to get only newer items.
    pub cursor: u64,
    /// The age recipients the server seals to now (for sealing replies offline).
    #[serde(default)]
    pub recipients: Vec<String>,
}

/// Name of the audit log entry in the tar (JSON Lines of [`crate::actions::AuditEntry`]).
pub const AUDIT_PATH: &str = "audit.jsonl";

/// Name of the last entry in the tar: the server's signature.
pub const SIGNATURE_PATH: &str = "signature.json";

/// `signature.json`: the server key and its signature over the bundle
/// before this entry (see [`crate::crypto::bundle_sig`]). The offline
/// machine checks the key against its pin, so the transfer machine can
/// neither alter the bundle nor sign it again with a key of its own.
#[derive(Debug, Serialize, Deserialize)]
pub struct BundleSignature {
    /// The server key, `ed25519:BASE64`.
    pub key: String,
    /// The signature, base64.
    pub sig: String,
}

/// The tar path of a report's entry.
pub fn report_path(id: &str) -> String {
    format!("reports/{id}.json")
}

/// One report's entry, `reports/<id>.json` (also the case folder's `case.json`).
#[derive(Debug, Serialize, Deserialize)]
pub struct IndexReport {
    /// Report id (hex).
    pub id: String,
    /// Day of the first submission.
    pub created: String,
    /// Current status.
    pub status: Status,
    /// Status history.
    pub timeline: Vec<Event>,
    /// The reporter's reply recipient (`age1…`): in a bundle only from an
    /// older server; `decrypt` fills it in from `reply_sealed`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reply_recipient: String,
    /// The same, locked for the investigators (see [`crate::crypto::reply_lock`]).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reply_sealed: String,
    /// The key that `reply_sealed` is locked with, sealed to the investigators.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reply_key: String,
    /// The submissions in the bundle's range (`since`, `cursor`].
    pub submissions: Vec<IndexSubmission>,
    /// The investigators' replies and status notes in the range, in log
    /// order; their blobs follow the submissions' (sealed to the
    /// investigators too, so that every colleague sees the conversation).
    #[serde(default)]
    pub messages: Vec<IndexMessage>,
    /// Set by `decrypt` in a case folder's `case.json` once a bundle says the
    /// report was deleted on the server (the day); never in a bundle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<String>,
    /// The id of the last action applied to the report (empty before the
    /// first): the next signed action names it as `prev`.
    #[serde(default)]
    pub head: String,
    /// Set by `decrypt` in a case folder's `case.json`, never read from a
    /// bundle: `(sequence, manifest blob id)` of every submission of the
    /// report this folder has received, across bundles (an action names
    /// their digest as the state it was decided on).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub known: Vec<(u64, String)>,
    /// Set by `decrypt` in a case folder's `case.json`, never read from a
    /// bundle: the sequence numbers of follow-ups whose tag did not verify
    /// (not shown to come from the receipt holder).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unverified: Vec<u64>,
    /// Status changes (their log positions) that no action signed by a
    /// pinned investigator's key in the bundle's audit log proves. Written
    /// by `decrypt` only, from the pin and the log, whatever a bundle says.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unsigned: Vec<u64>,
}

/// What an investigator sent the reporter: a reply, or a note with a status.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IndexMessage {
    /// Export sequence number.
    pub seq: u64,
    /// Day it was applied.
    pub day: String,
    /// The status it came with (`None`: a reply).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// The signer's name on the server (`investigators.txt`).
    #[serde(default)]
    pub by: String,
    /// Path of the sealed text in the tar.
    pub blob: String,
}

/// The tar path of a deletion's entry.
pub fn deleted_path(id: &str) -> String {
    format!("deleted/{id}.json")
}

/// `deleted/<id>.json`: the report is gone from the server.
#[derive(Debug, Serialize, Deserialize)]
pub struct Deletion {
    /// Report id (hex).
    pub id: String,
    /// Day it was deleted.
    pub day: String,
}

/// One submission of a report entry.
#[derive(Debug, Serialize, Deserialize)]
pub struct IndexSubmission {
    /// Export sequence number.
    pub seq: u64,
    /// Day of arrival.
    pub day: String,
    /// Tip or follow-up.
    pub kind: SubmissionKind,
    /// Who sealed it.
    pub sealed_by: SealedBy,
    /// Path of the sealed manifest in the tar.
    pub manifest: String,
    /// Paths of the sealed attachments, in manifest order.
    pub attachments: Vec<String>,
    /// A follow-up's tags: `decrypt` checks the one for its identity.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<crate::model::FollowUpTag>,
}

/// What an export wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportSummary {
    /// Reports in the bundle.
    pub reports: usize,
    /// `.age` files in the bundle.
    pub blobs: usize,
    /// Deleted reports in the bundle.
    pub deleted: usize,
    /// Replies and notes were left out: the store was opened without the
    /// deployment secret, which they are sealed with at rest.
    pub messages_left_out: bool,
    /// The cursor for the next `--since`.
    pub cursor: u64,
}

/// Errors of an export.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Reading the database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing the bundle failed.
    #[error("writing the bundle: {0}")]
    Io(#[from] io::Error),
}

/// The tar path of a blob.
fn blob_path(b: &BlobRef) -> String {
    format!("blobs/{}.age", b.id)
}

/// The blob id in a tar path made by `blob_path` (the path itself otherwise).
pub fn blob_id(path: &str) -> &str {
    path.strip_prefix("blobs/").and_then(|p| p.strip_suffix(".age")).unwrap_or(path)
}

/// The replies and status notes of `r` in `(since, cursor]`, in log
/// order, with their blobs. Replies and notes of records kept before they had
/// a log position (0) go into a full export only.
fn messages(r: &Report, since: u64, cursor: u64) -> Vec<(IndexMessage, &BlobRef)> {
    let in_range = |seq: u64| (since < seq && seq <= cursor) || (seq == 0 && since == 0);
    let replies = r.replies.iter().map(|m| (m.signed.seq, &m.day, None, &m.signed.by, &m.blob));
    let notes =
        r.timeline.iter().filter_map(|e| Some((e.signed.seq, &e.day, Some(e.status), &e.signed.by, e.note.as_ref()?)));
    let mut out: Vec<_> = replies
        .chain(notes)
        .filter(|m| in_range(m.0))
        .map(|(seq, day, status, by, blob)| {
            (IndexMessage { seq, day: day.clone(), status, by: by.clone(), blob: blob_path(blob) }, blob)
        })
        .collect();
    out.sort_by_key(|m| m.0.seq);
    out
}

/// The entry of a report whose submissions are already those of the range.
pub fn report_entry(r: &Report, reply_key: String, messages: Vec<IndexMessage>) -> IndexReport {
    IndexReport {
        id: r.id.clone(),
        created: r.created.clone(),
        status: r.status,
        timeline: r.timeline.clone(),
        reply_recipient: r.reply_recipient.clone(),
        reply_sealed: r.reply_sealed.clone(),
        reply_key,
        submissions: r
            .submissions
            .iter()
            .map(|s| IndexSubmission {
                seq: s.seq,
                day: s.day.clone(),
                kind: s.kind,
                sealed_by: s.sealed_by,
                manifest: blob_path(&s.manifest),
                attachments: s.attachments.iter().map(blob_path).collect(),
                tags: s.tags.clone(),
            })
            .collect(),
        messages,
        deleted: None,
        head: r.head.clone(),
        known: Vec::new(),
        unverified: Vec::new(),
        unsigned: Vec::new(),
    }
}

/// A tar header with no timestamp, owner or group.
fn header(size: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_size(size);
    h.set_mode(0o600);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    h.set_entry_type(tar::EntryType::Regular);
    h
}

/// Writes a bundle of everything added after `since` to `out`, up to the
/// last log entry when the export starts (the returned cursor), signed
/// with the server key `key`.
pub fn export(store: &Store, since: u64, key: &SecretKey, out: impl Write) -> Result<ExportSummary, ExportError> {
    let cursor = store.last_seq()?.max(since);
    let idx = Index {
        format: INDEX_FORMAT.into(),
        deployment_id: store.deployment_id().into(),
        since,
        cursor,
        recipients: store.recipients()?,
    };
    let mut tar = tar::Builder::new(bundle_sig::Hashing::new(out));
    append_json(&mut tar, INDEX_PATH, &idx)?;
    // The whole audit chain, every time: verify-log needs it from the start.
    let mut audit = Vec::new();
    for e in store.audit_entries()? {
        serde_json::to_writer(&mut audit, &e).map_err(io::Error::other)?;
        audit.push(b'\n');
    }
    tar.append_data(&mut header(audit.len() as u64), AUDIT_PATH, audit.as_slice())?;
    let (mut reports, mut blobs, mut deleted) = (0, 0, 0);
    for change in store.changed_between(since, cursor) {
        let r = match change? {
            Change::Report(r) => r,
            Change::Deleted { id, day } => {
                append_json(&mut tar, &deleted_path(&id), &Deletion { id: id.clone(), day })?;
                deleted += 1;
                continue;
            }
        };
        let key = if r.reply_sealed.is_empty() { String::new() } else { store.reply_key(&r.reply_sealed)? };
        // Replies and notes are sealed at rest with the deployment secret:
        // without it (an `export` on a stopped server given no --secret)
        // they stay out of the bundle, and the summary says so.
        let messages = if store.holds_secret() { messages(&r, since, cursor) } else { Vec::new() };
        let message_blobs: Vec<&BlobRef> = messages.iter().map(|m| m.1).collect();
        let entry = report_entry(&r, key, messages.iter().map(|m| m.0.clone()).collect());
        append_json(&mut tar, &report_path(&r.id), &entry)?;
        reports += 1;
        // Each manifest goes before its attachments (decrypt needs it to
        // name the files); the replies and notes come last.
        let submission_blobs = r.submissions.iter().flat_map(|s| std::iter::once(&s.manifest).chain(&s.attachments));
        for b in submission_blobs.chain(message_blobs) {
            let reader = store.blob_reader(b)?;
            tar.append_data(&mut header(b.len), blob_path(b), reader)?;
            blobs += 1;
        }
    }
    append_signature(&mut tar, key)?;
    tar.into_inner()?.into_inner().flush()?;
    Ok(ExportSummary { reports, blobs, deleted, messages_left_out: !store.holds_secret(), cursor })
}

/// Appends the signature entry, last, over every byte written so far.
pub fn append_signature<W: Write>(tar: &mut tar::Builder<bundle_sig::Hashing<W>>, key: &SecretKey) -> io::Result<()> {
    // Every entry so far is written whole, padding included: the digest
    // covers each byte before the signature entry's header.
    let digest = tar.get_ref().digest();
    let sig = BundleSignature { key: key.public().to_text(), sig: b64(&bundle_sig::sign(key, &digest)) };
    append_json(tar, SIGNATURE_PATH, &sig)
}

/// Appends a small JSON entry (the index, or one report's entry).
fn append_json<W: Write>(tar: &mut tar::Builder<W>, path: &str, value: &impl Serialize) -> io::Result<()> {
    let json = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
    tar.append_data(&mut header(json.len() as u64), path, json.as_slice())
}
