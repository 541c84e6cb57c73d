//! Where ciphertext lives. A blob that fits in one chunk (a manifest, a
//! reply, a note) is one value in sled's `blobs` tree and commits with its
//! record in the same group commit. A larger blob (an attachment) is appended
//! to the day's pack file (see [`super::packs`]): it passes through the
//! kernel's page cache rather than sled's cache and log buffers, so memory
//! stays flat however large or many the uploads are, and no file is ever
//! made for it. The pack is made durable, and the blob's ranges stored in
//! the `extents` tree, before the writer hands out its [`BlobRef`]; no record
//! can therefore name ciphertext that a crash could take away.
//!
//! Data folders written before the packs kept larger blobs as files under
//! `files/`; they are still read, and `peluit compact` moves them into packs.
//!
//! Every write checks that the disk keeps the configured reserve free (see
//! [`Store::set_keep_free`]): a submission on a nearly full disk is refused
//! with [`StoreError::Full`] before sled itself could run out of space (sled
//! 0.34 keeps a failed log write as an error for every later write).

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::atomic::Ordering;

use super::packs::{Extents, Pack, PackReader};
use super::{Store, StoreError};
use crate::model::BlobRef;
use crate::{crypto, private_fs};
use std::sync::Arc;

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
        self.writer_for(crypto::random_id())
    }

    /// The same for a given id (a compaction keeps every blob's id).
    pub(super) fn writer_for(&self, id: [u8; 16]) -> Result<BlobWriter, StoreError> {
        self.ensure_room(0)?;
        Ok(BlobWriter { store: self.clone(), id, buf: Vec::new(), pack: None, len: 0, checked_at: 0 })
    }

    /// Stores a blob that is already whole in memory (a sealed manifest,
    /// reply or note).
    pub fn put_blob(&self, bytes: &[u8]) -> Result<BlobRef, StoreError> {
        let mut w = self.blob_writer()?;
        w.write_all(bytes).and_then(|()| w.finish()).map_err(StoreError::from_io)
    }

    /// Removes a blob (an abandoned submission, a purge): its chunks, its
    /// sealed-at-rest copy, its ranges in a pack (punched out), and an older
    /// folder's file.
    pub fn discard_blob(&self, id: &[u8; 16]) -> Result<(), StoreError> {
        for key in self.blobs.scan_prefix(id).keys() {
            self.blobs.remove(key?)?;
        }
        self.wrapped.remove(id)?;
        if let Some(e) = self.extents.remove(id)?.as_deref().and_then(Extents::decode) {
            self.packs.punch(&e.day, &e.ranges).map_err(StoreError::from_io)?;
        }
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
        if let Some(e) = self.extents.get(id)?.as_deref().and_then(Extents::decode) {
            if e.len() != blob.len {
                return Err(StoreError::Corrupt(format!(
                    "blob {} has {} bytes, expected {}",
                    blob.id,
                    e.len(),
                    blob.len
                )));
            }
            let file = self.packs.reader(&e.day).map_err(StoreError::from_io)?;
            return Ok(BlobReader::Pack(PackReader::new(file, e)));
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
    /// An attachment in a day pack (its length already checked).
    Pack(PackReader),
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let (chunks, current, pos, left) = match self {
            BlobReader::File(f) => return f.read(buf),
            BlobReader::Inner(c) => return c.read(buf),
            BlobReader::Pack(p) => return p.read(buf),
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
    /// The store (tree, packs, reserve).
    store: Store,
    /// This blob's id.
    id: [u8; 16],
    /// The ciphertext while it still fits in one chunk.
    buf: Vec<u8>,
    /// The pack and the ranges written there, once it no longer does.
    pack: Option<(Arc<Pack>, Extents)>,
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

    /// Makes the blob durable if it is in a pack (then records its ranges),
    /// or stores its one chunk (made durable by the record's group commit),
    /// and returns the reference.
    pub fn finish(mut self) -> io::Result<BlobRef> {
        let r = BlobRef { id: crypto::hex(&self.id), len: self.len };
        let stored = match self.pack.take() {
            Some((pack, extents)) => {
                pack.sync()?;
                self.store.extents.insert(self.id, extents.encode())
            }
            None => self.store.blobs.insert(chunk_key(&self.id, 0), std::mem::take(&mut self.buf)),
        };
        stored.map_err(|e| StoreError::from(e).into_io())?;
        Ok(r)
    }

    /// Checks the reserve again every megabyte.
    fn check_room(&mut self, more: usize) -> io::Result<()> {
        if self.len - self.checked_at >= ROOM_CHECK_EVERY {
            self.checked_at = self.len;
            self.store.ensure_room(more as u64).map_err(StoreError::into_io)?;
        }
        Ok(())
    }

    /// Moves the buffered bytes into today's pack.
    fn spill(&mut self) -> io::Result<&mut (Arc<Pack>, Extents)> {
        let pack = self.store.packs.current()?;
        let mut extents = Extents { day: pack.day.clone(), ranges: Vec::new() };
        let buf = std::mem::take(&mut self.buf);
        extents.push(pack.append(&buf)?, buf.len() as u64);
        Ok(self.pack.insert((pack, extents)))
    }
}

impl Drop for BlobWriter {
    /// A writer dropped unfinished (a failed or abandoned upload) frees
    /// what it put in the pack, best effort: no record will ever name it.
    fn drop(&mut self) {
        if let Some((pack, extents)) = self.pack.take() {
            let _ = self.store.packs.punch(&pack.day, &extents.ranges);
        }
    }
}

impl Write for BlobWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.check_room(data.len())?;
        if self.pack.is_none() && self.buf.len() + data.len() <= CHUNK {
            self.buf.extend_from_slice(data);
        } else {
            let (pack, extents) = match self.pack.as_mut() {
                Some(p) => p,
                None => self.spill()?,
            };
            extents.push(pack.append(data)?, data.len() as u64);
        }
        self.len += data.len() as u64;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
