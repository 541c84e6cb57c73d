//! Turns the parts of one submission into sealed blobs and a [`Submission`].
//!
//! Synchronous and transport-free: the HTTP layer feeds it text fields and file
//! chunks as they arrive. Every file is streamed straight into an age
//! [`Sealer`] writing into the store; plaintext text fields live only in the
//! zeroizing [`Manifest`]. If the submission is abandoned (bad input, a client
//! that disconnects, a deadline), dropping the `Intake` removes every chunk it
//! wrote, so nothing partial is ever referenced.

use zeroize::{Zeroize, Zeroizing};

mod sinks;
pub use sinks::{FileSink, SealedSink};

use crate::crypto::sha256::Hashing;
use crate::crypto::{self, followup_tag, sealed_json, CryptoError, Pad, Recipients, Sealer};
use crate::model::{
    bounded_file_name, known_content_type, AttachmentInfo, BlobRef, FollowUpTag, Manifest, SealedBy, Submission,
    SubmissionKind, MANIFEST_FORMAT, MAX_MANIFEST_BYTES,
};
use crate::store::{BlobWriter, Store, StoreError};

/// Most tags a follow-up carries: one per investigator recipient.
const MAX_TAGS: usize = 64;

/// What a submission may hold (configurable; see `Limits` in the server).
#[derive(Clone, Copy, Debug)]
pub struct PartLimits {
    /// Most attachments in one submission.
    pub max_files: usize,
    /// Most bytes in one text field.
    pub max_field: usize,
}

/// Why a submission was refused. Messages never echo the input.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// Nothing was filled in and no file was attached.
    #[error("the report is empty")]
    Empty,
    /// A category that is not configured.
    #[error("unknown category")]
    Category,
    /// A text field over the limit.
    #[error("a field is too long")]
    FieldTooLong,
    /// A manifest over [`MAX_MANIFEST_BYTES`].
    #[error("the report's description is too large")]
    ManifestTooLarge,
    /// More attachments than allowed.
    #[error("too many attachments")]
    TooManyFiles,
    /// A part that is not one of the known fields.
    #[error("unknown field")]
    UnknownField,
    /// Plaintext fields and client-sealed parts in one submission.
    #[error("plaintext fields and sealed parts cannot be mixed")]
    Mixed,
    /// Client-sealed attachments without a sealed manifest.
    #[error("a sealed submission needs exactly one sealed_manifest part")]
    NoSealedManifest,
    /// A client-sealed part that is not an age file.
    #[error("a sealed part is not a binary age file for X25519 recipients")]
    NotAge,
    /// Text that is not UTF-8.
    #[error("text is not UTF-8")]
    Encoding,
    /// A `tags` part that is not a short JSON list of follow-up tags.
    #[error("the tags part is malformed")]
    BadTags,
    /// Storing the ciphertext failed (disk full, database error).
    #[error("storage: {0}")]
    Storage(#[from] StoreError),
    /// Sealing failed.
    #[error("sealing: {0}")]
    Crypto(CryptoError),
}

impl From<std::io::Error> for IntakeError {
    fn from(e: std::io::Error) -> Self {
        IntakeError::Storage(StoreError::from_io(e))
    }
}

impl From<CryptoError> for IntakeError {
    fn from(e: CryptoError) -> Self {
        match e {
            // The sealer's output is the store: its I/O errors are storage errors.
            CryptoError::Io(e) => e.into(),
            e => IntakeError::Crypto(e),
        }
    }
}

/// One submission in progress.
pub struct Intake {
    /// Where the ciphertext goes.
    store: Store,
    /// Who can read it.
    recipients: Recipients,
    /// Size limits.
    limits: PartLimits,
    /// Plaintext fields (server-sealed mode only).
    manifest: Manifest,
    /// Sealed attachments, in order.
    attachments: Vec<BlobRef>,
    /// The client-sealed manifest, if the client sealed.
    sealed_manifest: Option<BlobRef>,
    /// The client's follow-up tags (see [`crate::crypto::followup_tag`]).
    tags: Vec<FollowUpTag>,
    /// SHA-256 of each blob's ciphertext, by blob id, for the tags.
    digests: Vec<(String, [u8; 32])>,
    /// Who seals: fixed by the first part.
    mode: Option<SealedBy>,
    /// Every blob written so far, removed on drop unless committed.
    pending: Vec<[u8; 16]>,
    /// Set once a record references the blobs.
    committed: bool,
}

impl Intake {
    /// Starts an empty submission.
    pub fn new(store: Store, recipients: Recipients, limits: PartLimits) -> Intake {
        Intake {
            store,
            recipients,
            limits,
            manifest: Manifest::default(),
            attachments: Vec::new(),
            sealed_manifest: None,
            tags: Vec::new(),
            digests: Vec::new(),
            mode: None,
            pending: Vec::new(),
            committed: false,
        }
    }

    /// The plaintext fields received so far (to fill the form in again).
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// True once a client-sealed part has arrived.
    pub fn is_client_sealed(&self) -> bool {
        self.mode == Some(SealedBy::Client)
    }

    /// Fixes the sealing mode, refusing a mix.
    fn set_mode(&mut self, mode: SealedBy) -> Result<(), IntakeError> {
        match self.mode {
            Some(m) if m != mode => Err(IntakeError::Mixed),
            _ => {
                self.mode = Some(mode);
                Ok(())
            }
        }
    }

    /// Whether a part name is a text field.
    pub fn is_text_field(name: &str) -> bool {
        crate::model::fields::named(name).is_some()
    }

    /// Records one text field.
    pub fn text(&mut self, name: &str, value: String) -> Result<(), IntakeError> {
        // The text as received is zeroized once normalised (or refused),
        // into a buffer of its final size (`str::replace` would grow one and
        // free the outgrown copies unzeroized).
        let value = Zeroizing::new(value);
        if value.len() > self.limits.max_field {
            return Err(IntakeError::FieldTooLong);
        }
        self.set_mode(SealedBy::Server)?;
        let slot = self.manifest.field_mut(name).ok_or(IntakeError::UnknownField)?;
        let mut normal = String::with_capacity(value.len());
        for (i, line) in value.split("\r\n").enumerate() {
            if i > 0 {
                normal.push('\n');
            }
            normal.push_str(line);
        }
        slot.zeroize();
        *slot = normal;
        Ok(())
    }

    /// Counts one more attachment against the limit.
    fn count_file(&self) -> Result<(), IntakeError> {
        if self.attachments.len() >= self.limits.max_files {
            return Err(IntakeError::TooManyFiles);
        }
        Ok(())
    }

    /// Starts sealing a plaintext file. The name is cut to its limit and the
    /// content type reduced to a registered one (see [`bounded_file_name`]
    /// and [`known_content_type`]).
    pub fn begin_file(&mut self, name: &str, content_type: &str) -> Result<FileSink, IntakeError> {
        self.set_mode(SealedBy::Server)?;
        self.count_file()?;
        let writer = self.new_blob()?;
        let sealer = Sealer::new(&self.recipients, writer)?;
        let info =
            AttachmentInfo { name: bounded_file_name(name), size: 0, content_type: known_content_type(content_type) };
        Ok(FileSink { sealer, info })
    }

    /// Finishes a plaintext file: pads it and records it.
    pub fn end_file(&mut self, sink: FileSink) -> Result<(), IntakeError> {
        let FileSink { sealer, mut info } = sink;
        let (writer, len) = sealer.finish(Pad::Zeros)?;
        info.size = len;
        let blob = self.finish_blob(writer)?;
        self.attachments.push(blob);
        self.manifest.attachments.push(info);
        Ok(())
    }

    /// Starts storing a client-sealed part (`sealed_manifest` or `sealed_file`).
    pub fn begin_sealed(&mut self, is_manifest: bool) -> Result<SealedSink, IntakeError> {
        self.set_mode(SealedBy::Client)?;
        if is_manifest && self.sealed_manifest.is_some() {
            return Err(IntakeError::NoSealedManifest);
        }
        if !is_manifest {
            self.count_file()?;
        }
        let writer = self.new_blob()?;
        Ok(SealedSink { head: Vec::new(), len: 0, checked: false, writer, is_manifest })
    }

    /// Finishes a client-sealed part.
    pub fn end_sealed(&mut self, mut sink: SealedSink) -> Result<(), IntakeError> {
        if !sink.checked {
            sink.check()?;
        }
        let blob = self.finish_blob(sink.writer)?;
        if sink.is_manifest {
            self.sealed_manifest = Some(blob);
        } else {
            self.attachments.push(blob);
        }
        Ok(())
    }

    /// Takes a client-sealed follow-up's tags (a JSON list, at most one per
    /// recipient); the server cannot check them without the investigators'
    /// keys, and stores them as they came.
    pub fn tags(&mut self, json: &str) -> Result<(), IntakeError> {
        self.set_mode(SealedBy::Client)?;
        let tags: Vec<FollowUpTag> = serde_json::from_str(json).map_err(|_| IntakeError::BadTags)?;
        if tags.len() > MAX_TAGS || tags.iter().any(|t| t.to.len() > 100 || t.tag.len() > 100) {
            return Err(IntakeError::BadTags);
        }
        self.tags = tags;
        Ok(())
    }

    /// Checks the submission and seals the manifest. `categories` is the
    /// configured list; follow-ups carry no category.
    pub fn seal(&mut self, kind: SubmissionKind, day: &str, categories: &[String]) -> Result<Submission, IntakeError> {
        let (sealed_by, manifest) = match self.mode {
            Some(SealedBy::Client) => {
                let m = self.sealed_manifest.clone().ok_or(IntakeError::NoSealedManifest)?;
                (SealedBy::Client, m)
            }
            _ => {
                self.validate(kind, categories)?;
                (SealedBy::Server, self.seal_manifest(kind)?)
            }
        };
        Ok(Submission {
            // Assigned by the store as it commits (`Store::open_report`,
            // `Store::append_submission`), in the order of the export log.
            seq: 0,
            day: day.to_string(),
            kind,
            sealed_by,
            manifest,
            attachments: self.attachments.clone(),
            // A tip needs none: the server's signature on the bundle covers it.
            tags: if kind == SubmissionKind::FollowUp { std::mem::take(&mut self.tags) } else { Vec::new() },
        })
    }

    /// Checks a plaintext submission before its manifest is sealed.
    fn validate(&mut self, kind: SubmissionKind, categories: &[String]) -> Result<(), IntakeError> {
        if self.manifest.is_empty() && self.manifest.identity.trim().is_empty() {
            return Err(IntakeError::Empty);
        }
        match kind {
            SubmissionKind::Tip => {
                let id =
                    crate::model::tip_category(&self.manifest.category, categories).ok_or(IntakeError::Category)?;
                self.manifest.category = id.to_string();
            }
            SubmissionKind::FollowUp => self.manifest.category.clear(),
        }
        Ok(())
    }

    /// Serialises the manifest (zeroized afterwards) and seals it, padded
    /// with spaces so that it stays valid JSON.
    fn seal_manifest(&mut self, kind: SubmissionKind) -> Result<BlobRef, IntakeError> {
        self.manifest.format = MANIFEST_FORMAT.into();
        self.manifest.kind = match kind {
            SubmissionKind::Tip => "tip".into(),
            SubmissionKind::FollowUp => "followup".into(),
        };
        let json = sealed_json::to_json(&self.manifest)?;
        if json.len() as u64 > MAX_MANIFEST_BYTES {
            return Err(IntakeError::ManifestTooLarge);
        }
        let blob = self.new_blob()?;
        let writer = sealed_json::seal_to(&self.recipients, blob, &json)?;
        self.finish_blob(writer)
    }

    /// Starts a blob, to be discarded unless a record commits; refused with
    /// [`StoreError::Full`] when the disk is down to its reserve.
    fn new_blob(&mut self) -> Result<Hashing<BlobWriter>, IntakeError> {
        let writer = self.store.blob_writer()?;
        self.pending.push(writer.id());
        Ok(Hashing::new(writer))
    }

    /// Finishes a blob, keeping the SHA-256 of its ciphertext for the tags.
    fn finish_blob(&mut self, writer: Hashing<BlobWriter>) -> Result<BlobRef, IntakeError> {
        let digest = writer.digest();
        let blob = writer.into_inner().finish()?;
        self.digests.push((blob.id.clone(), digest));
        Ok(blob)
    }

    /// Tags a follow-up the server sealed for the receipt holder, who is
    /// here with the receipt (a web follow-up): one tag per recipient over
    /// the ciphertext of each of its blobs.
    pub fn tag(&self, sub: &mut Submission, receipt: &crate::receipt::Receipt) {
        let hash = |b: &BlobRef| self.digests.iter().find(|(id, _)| *id == b.id).map(|(_, d)| *d);
        let hashes: Option<Vec<[u8; 32]>> = std::iter::once(&sub.manifest).chain(&sub.attachments).map(hash).collect();
        let Some(hashes) = hashes else { return };
        let reply = crypto::reply_identity(receipt).recipient().to_string();
        let digest = followup_tag::digest(&reply, &hashes);
        sub.tags = followup_tag::tags(receipt, &self.recipients.to_strings(), &digest);
    }

    /// Marks the blobs as referenced by a committed record: keep them.
    pub fn mark_committed(&mut self) {
        self.committed = true;
    }
}

impl Drop for Intake {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        for id in &self.pending {
            // Best effort: an unreferenced chunk is ciphertext nobody points
            // to, and `peluit check` lists any that a crash leaves behind.
            let _ = self.store.discard_blob(id);
        }
    }
}

#[cfg(test)]
mod tests;
