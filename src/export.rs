//! Export bundles: a plain tar of `index.json` (non-secret metadata) followed
//! by every blob as a standard `.age` file, so `tar` and `age` alone can read
//! a case if peluit is unavailable. Never sees plaintext.
//!
//! Entries carry no timestamps, owners or modes beyond 0600: the bundle leaks
//! nothing the database does not.

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::model::{BlobRef, Event, Report, SealedBy, Status, SubmissionKind};
use crate::store::{Store, StoreError};

/// Format tag of `index.json`.
pub const INDEX_FORMAT: &str = "peluit-export/1";

/// `index.json`: what the bundle holds.
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
    /// The reports with new items.
    pub reports: Vec<IndexReport>,
}

/// Name of the audit log entry in the tar (JSON Lines of [`crate::actions::AuditEntry`]).
pub const AUDIT_PATH: &str = "audit.jsonl";

/// One report in the index.
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
    /// The reporter's reply recipient (`age1…`).
    pub reply_recipient: String,
    /// The submissions newer than `since`.
    pub submissions: Vec<IndexSubmission>,
}

/// One submission in the index.
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
}

/// What an export wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportSummary {
    /// Reports in the bundle.
    pub reports: usize,
    /// `.age` files in the bundle.
    pub blobs: usize,
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

/// Builds the index for the reports changed after `since`.
fn index(store: &Store, reports: &[Report], since: u64, cursor: u64) -> Result<Index, StoreError> {
    let reports = reports
        .iter()
        .map(|r| IndexReport {
            id: r.id.clone(),
            created: r.created.clone(),
            status: r.status,
            timeline: r.timeline.clone(),
            reply_recipient: r.reply_recipient.clone(),
            submissions: r
                .submissions
                .iter()
                .filter(|s| s.seq > since)
                .map(|s| IndexSubmission {
                    seq: s.seq,
                    day: s.day.clone(),
                    kind: s.kind,
                    sealed_by: s.sealed_by,
                    manifest: blob_path(&s.manifest),
                    attachments: s.attachments.iter().map(blob_path).collect(),
                })
                .collect(),
        })
        .collect();
    Ok(Index {
        format: INDEX_FORMAT.into(),
        deployment_id: store.deployment_id().into(),
        since,
        cursor,
        recipients: store.recipients()?,
        reports,
    })
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

/// Writes a bundle of everything added after `since` to `out`.
pub fn export(store: &Store, since: u64, out: impl Write) -> Result<ExportSummary, ExportError> {
    let (reports, cursor) = store.changed_since(since)?;
    let idx = index(store, &reports, since, cursor)?;
    let json = serde_json::to_vec_pretty(&idx).map_err(io::Error::other)?;
    let mut tar = tar::Builder::new(out);
    tar.append_data(&mut header(json.len() as u64), "index.json", json.as_slice())?;
    // The whole audit chain, every time: verify-log needs it from the start.
    let mut audit = Vec::new();
    for e in store.audit_entries()? {
        serde_json::to_writer(&mut audit, &e).map_err(io::Error::other)?;
        audit.push(b'\n');
    }
    tar.append_data(&mut header(audit.len() as u64), AUDIT_PATH, audit.as_slice())?;
    let mut blobs = 0;
    for r in &reports {
        for s in r.submissions.iter().filter(|s| s.seq > since) {
            // The manifest goes first: decrypt needs it to name the files.
            for b in std::iter::once(&s.manifest).chain(&s.attachments) {
                let reader = store.blob_reader(b)?;
                tar.append_data(&mut header(b.len), blob_path(b), reader)?;
                blobs += 1;
            }
        }
    }
    tar.into_inner()?.flush()?;
    Ok(ExportSummary { reports: reports.len(), blobs, cursor })
}
