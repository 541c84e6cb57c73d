//! The case a decryption run holds: its entry, its folder, the blob that
//! must come next, and what this run wrote for it so far.

use std::path::PathBuf;

use crate::export::IndexReport;
use crate::model::Manifest;

/// The report being decrypted and where its blobs have got to.
pub(super) struct Case {
    /// Its entry.
    pub(super) report: IndexReport,
    /// Its folder.
    pub(super) dir: PathBuf,
    /// The submission the next blob belongs to.
    pub(super) sub: usize,
    /// The next blob of that submission: 0 the manifest, `i + 1` attachment `i`.
    pub(super) blob: usize,
    /// The submission being written, once its manifest is read.
    pub(super) open: Option<Open>,
    /// Set once the case's id is in `last-run.json`.
    pub(super) touched: bool,
    /// Submission folders and message files this run wrote, not yet under
    /// their final names (messages with their Markdown), for the conversation.
    pub(super) staged: Vec<(String, Option<String>)>,
    /// SHA-256 of each blob of the current submission so far (its tag covers them).
    pub(super) hashes: Vec<[u8; 32]>,
    /// Set when this run marked something of the case (a follow-up
    /// unverified, a reply or note unsigned): its `case.json` is written
    /// again at the end.
    pub(super) marked: bool,
}

/// A submission whose manifest has been read.
pub(super) enum Open {
    /// An earlier run wrote it: its blobs are skipped.
    Skip,
    /// It could not be opened: its other blobs are skipped.
    SetAside,
    /// Being written into `<seq>-<kind>.partial`.
    Write {
        /// The `.partial` folder.
        dir: PathBuf,
        /// The decrypted manifest (file names and true sizes).
        manifest: Box<Manifest>,
    },
}

impl Case {
    /// The tar path of the next blob, if the report has one more: the
    /// submissions' blobs, then the replies' and notes'.
    pub(super) fn expected(&self) -> Option<&str> {
        let Some(s) = self.report.submissions.get(self.sub) else {
            return self.message().map(|m| m.blob.as_str());
        };
        match self.blob {
            0 => Some(&s.manifest),
            i => s.attachments.get(i - 1).map(String::as_str),
        }
    }

    /// The reply or note whose blob comes next, once the submissions' are in.
    pub(super) fn message(&self) -> Option<&crate::export::IndexMessage> {
        self.report.messages.get(self.sub.checked_sub(self.report.submissions.len())?)
    }
}
