//! The two ways a part streams into the store: a plaintext file sealed as
//! it arrives, and a part the client sealed, kept once its age header is
//! checked.

use std::io::Write;

use super::IntakeError;
use crate::crypto::sha256::Hashing;
use crate::crypto::{self, Sealer};
use crate::model::{AttachmentInfo, MAX_MANIFEST_BYTES};
use crate::store::BlobWriter;

/// A file being sealed as it streams in.
pub struct FileSink {
    /// The sealer writing into the store.
    pub(super) sealer: Sealer<Hashing<BlobWriter>>,
    /// The attachment's metadata (size filled in at the end).
    pub(super) info: AttachmentInfo,
}

impl FileSink {
    /// Seals the next piece of the file.
    pub fn write(&mut self, chunk: &[u8]) -> Result<(), IntakeError> {
        self.sealer.write_all(chunk)?;
        Ok(())
    }
}

/// A client-sealed part being stored as it streams in; its age header is
/// checked before anything is kept.
pub struct SealedSink {
    /// Bytes held until the header has been checked.
    pub(super) head: Vec<u8>,
    /// Bytes received so far.
    pub(super) len: u64,
    /// Set once the header is checked and `head` was stored.
    pub(super) checked: bool,
    /// Where the ciphertext goes.
    pub(super) writer: Hashing<BlobWriter>,
    /// True for the manifest part.
    pub(super) is_manifest: bool,
}

impl SealedSink {
    /// Stores the next piece of ciphertext.
    pub fn write(&mut self, chunk: &[u8]) -> Result<(), IntakeError> {
        self.len += chunk.len() as u64;
        if self.is_manifest && self.len > MAX_MANIFEST_BYTES {
            return Err(IntakeError::ManifestTooLarge);
        }
        if self.checked {
            self.writer.write_all(chunk)?;
            return Ok(());
        }
        self.head.extend_from_slice(chunk);
        if self.head.len() > crypto::MAX_HEADER {
            self.check()?;
        }
        Ok(())
    }

    /// Checks the buffered head and stores it.
    pub(super) fn check(&mut self) -> Result<(), IntakeError> {
        crypto::check_age_header(&self.head).map_err(|_| IntakeError::NotAge)?;
        self.writer.write_all(&self.head)?;
        self.head = Vec::new();
        self.checked = true;
        Ok(())
    }
}
