//! Where ciphertext lives: every blob, from a manifest to a 256 MiB
//! attachment, is a run of chunks in sled's `blobs` tree (blob id ‖ chunk
//! number → up to 64 KiB), committed by the same group commit as the record
//! that names it. No blob is ever a file of its own: a file's birth time,
//! inode number and times would give away the second its tip arrived, and
//! the order of tips (see [`super::layout`] for why sled never makes one
//! either). sled's page cache is bounded (`--cache-mib`), so memory stays
//! flat however large or many the uploads are.
//!
//! Data folders written before this kept larger blobs as files under
//! `files/`; they are still read, and `peluit compact` moves them into sled.
//!
//! Every write checks that the disk keeps the configured reserve free (see
//! [`Store::set_keep_free`]): a submission on a nearly full disk is refused
//! with [`StoreError::Full`] before sled itself could run out of space (sled
//! 0.34 keeps a failed log write as an error for every later write).

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::atomic::Ordering;

use super::{Store, StoreError};
use crate::model::BlobRef;
use crate::{crypto, private_fs};

/// Ciphertext chunk size in the `blobs` tree, and the largest blob kept there.
pub const CHUNK: usize = 64 * 1024;
/// The folder where older data folders kept their larger blobs.
pub const FILES_DIR: &str = "files";
/// Suffix of a blob file still being written.
const PART: &str = "part";
/// A writer checks the free space again after this many bytes.
const ROOM_CHECK_EVERY: u64 = 1024 * 1024;

/// The key of chunk `n` of blob `id`.
pub(super) fn chunk_key(id: &[u8; 16], n: u32) -> [u8; 20] {
    let mut key = [0u8; 20];
    key[..16].copy_from_slice(id);
    key[16..].copy_from_slice(&n.to_be_bytes());
    key
}

/// Removes the `*.part` files a crash left in an older data folder's
/// `files/`. Called with sled's lock held, so no writer is running.
pub(super) fn prepare_dir(dir: &Path) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == PART) {
            fs::remove_file(&path)?;
        }
    }
    Ok(())
}

impl Store {
    /// Free bytes for an unprivileged writer on the data folder's file system.
    pub fn free_bytes(&self) -> io::Result<u64> {
        let s = rustix::fs::statvfs(self.dir.as_ref()).map_err(io::Error::from)?;
        Ok(s.f_bavail.saturating_mul(s.f_frsize))
    }

    /// Fails with [`StoreError::Full`] when writing `more` bytes would leave
    /// less than the reserve free.
    pub fn ensure_room(&self, more: u64) -> Result<(), StoreError> {
        let keep = self.keep_free.load(Ordering::Relaxed);
        if keep == 0 {
            return Ok(());
        }
        match self.free_bytes() {
            Ok(free) if free >= keep.saturating_add(more) => Ok(()),
            Ok(_) => Err(StoreError::Full),
            Err(e) => Err(StoreError::Db(format!("cannot read the free space: {e}"))),
        }
    }

    /// The path of a blob's file in an older data folder.
    fn blob_file(&self, id: &[u8; 16]) -> std::path::PathBuf {
        self.dir.join(FILES_DIR).join(crypto::hex(id))
    }

    /// Starts a new blob; write ciphertext into it, then [`BlobWriter::finish`].
    /// Refused with [`StoreError::Full`] when the disk is down to its
    /// reserve; the writer checks again every megabyte.
    pub fn blob_writer(&self) -> Result<BlobWriter, StoreError> {
        self.ensure_room(0)?;
        Ok(BlobWriter {
            store: self.clone(),
            id: crypto::random_id(),
            buf: Vec::new(),
            chunks: 0,
            len: 0,
            checked_at: 0,
        })
    }

    /// Stores a blob that is already whole in memory (a sealed manifest,
    /// reply or note).
    pub fn put_blob(&self, bytes: &[u8]) -> Result<BlobRef, StoreError> {
        let mut w = self.blob_writer()?;
        w.write_all(bytes).and_then(|()| w.finish()).map_err(StoreError::from_io)
    }

    /// Removes a blob (an abandoned submission, a purge): its chunks, its
    /// sealed-at-rest copy, and an older folder's file.
    pub fn discard_blob(&self, id: &[u8; 16]) -> Result<(), StoreError> {
        for key in self.blobs.scan_prefix(id).keys() {
            self.blobs.remove(key?)?;
        }
        self.wrapped.remove(id)?;
        let path = self.blob_file(id);
        for p in [path.with_extension(PART), path] {
            private_fs::remove_if_present(&p).map_err(StoreError::from_io)?;
        }
        Ok(())
    }

    /// A reader over a blob's ciphertext (constant memory). Fails on read if
    /// the stored length differs from the record's.
    pub fn blob_reader(&self, blob: &BlobRef) -> Result<BlobReader, StoreError> {
        let id = crypto::unhex::<16>(&blob.id).ok_or_else(|| StoreError::Corrupt("blob id".into()))?;
        if let Some(inner) = self.read_wrapped(&id)? {
            if inner.len() as u64 != blob.len {
                return Err(StoreError::Corrupt(format!("reply {} has the wrong length", blob.id)));
            }
            return Ok(BlobReader::Inner(io::Cursor::new(inner)));
        }
        if self.blobs.get(chunk_key(&id, 0))?.is_none() {
            match File::open(self.blob_file(&id)) {
                Ok(f) => {
                    let on_disk = f.metadata().map_err(StoreError::from_io)?.len();
                    if on_disk != blob.len {
                        return Err(StoreError::Corrupt(format!(
                            "blob {} has {on_disk} bytes, expected {}",
                            blob.id, blob.len
                        )));
                    }
                    return Ok(BlobReader::File(f.take(blob.len)));
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(StoreError::from_io(e)),
            }
        }
        Ok(BlobReader::Chunks {
            chunks: Box::new(self.blobs.scan_prefix(id)),
            current: sled::IVec::default(),
            pos: 0,
            left: blob.len,
        })
    }

    /// Streams a blob's ciphertext into `out`; checks its length.
    pub fn read_blob(&self, blob: &BlobRef, out: &mut dyn Write) -> Result<(), StoreError> {
        let mut reader = self.blob_reader(blob)?;
        let n = io::copy(&mut reader, out).map_err(|e| StoreError::Corrupt(format!("blob {}: {e}", blob.id)))?;
        if n != blob.len {
            return Err(StoreError::Corrupt(format!("blob {} has {n} bytes, expected {}", blob.id, blob.len)));
        }
        Ok(())
    }
}

/// Reads a blob's ciphertext in order.
pub enum BlobReader {
    /// A blob kept in the `blobs` tree.
    Chunks {
        /// Remaining chunks.
        chunks: Box<sled::Iter>,
        /// The chunk being read.
        current: sled::IVec,
        /// Position in `current`.
        pos: usize,
        /// Bytes the record says are still to come.
        left: u64,
    },
    /// A blob kept as a file by an older data folder (its length already checked).
    File(io::Take<File>),
    /// A reply or note, opened from its at-rest seal.
    Inner(io::Cursor<Vec<u8>>),
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let (chunks, current, pos, left) = match self {
            BlobReader::File(f) => return f.read(buf),
            BlobReader::Inner(c) => return c.read(buf),
            BlobReader::Chunks { chunks, current, pos, left } => (chunks, current, pos, left),
        };
        while *pos == current.len() {
            match chunks.next() {
                Some(item) => {
                    *current = item.map_err(io::Error::other)?.1;
                    *pos = 0;
                }
                None if *left == 0 => return Ok(0),
                None => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "blob is shorter than its record")),
            }
        }
        let n = buf.len().min(current.len() - *pos);
        if n as u64 > *left {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "blob is longer than its record"));
        }
        buf[..n].copy_from_slice(&current[*pos..*pos + n]);
        *pos += n;
        *left -= n as u64;
        Ok(n)
    }
}

/// Writes one blob's ciphertext. Invisible until a record names it.
pub struct BlobWriter {
    /// The store (tree, reserve).
    store: Store,
    /// This blob's id.
    id: [u8; 16],
    /// The chunk being filled.
    buf: Vec<u8>,
    /// Chunks already stored.
    chunks: u32,
    /// Bytes accepted so far.
    len: u64,
    /// `len` at the last free-space check (the first is made when the
    /// writer is created).
    checked_at: u64,
}

impl BlobWriter {
    /// This blob's id (to discard it if the submission fails).
    pub fn id(&self) -> [u8; 16] {
        self.id
    }

    /// Stores the last chunk (made durable, like every chunk, by the
    /// record's group commit) and returns the reference.
    pub fn finish(mut self) -> io::Result<BlobRef> {
        if !self.buf.is_empty() || self.chunks == 0 {
            self.store_chunk()?;
        }
        Ok(BlobRef { id: crypto::hex(&self.id), len: self.len })
    }

    /// Stores the buffered chunk.
    fn store_chunk(&mut self) -> io::Result<()> {
        let value = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.store.blobs.insert(chunk_key(&self.id, self.chunks), value).map_err(|e| StoreError::from(e).into_io())?;
        self.chunks += 1;
        Ok(())
    }

    /// Checks the reserve again every megabyte.
    fn check_room(&mut self, more: usize) -> io::Result<()> {
        if self.len - self.checked_at >= ROOM_CHECK_EVERY {
            self.checked_at = self.len;
            self.store.ensure_room(more as u64).map_err(StoreError::into_io)?;
        }
        Ok(())
    }
}

impl Write for BlobWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.check_room(data.len())?;
        let mut rest = data;
        while !rest.is_empty() {
            if self.buf.len() == CHUNK {
                self.store_chunk()?;
            }
            let n = rest.len().min(CHUNK - self.buf.len());
            self.buf.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
        }
        self.len += data.len() as u64;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
