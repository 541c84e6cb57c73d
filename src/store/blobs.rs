//! Where ciphertext lives. A blob that fits in one chunk (a manifest, a reply,
//! a note) is one value in sled's `blobs` tree and commits with its record in
//! the same group commit. A larger blob (an attachment) streams into its own
//! file under `files/`, so that it passes through the kernel's page cache
//! rather than sled's cache and log buffers: memory stays flat however large
//! or many the uploads are. A file is written as `ID.part`, made durable,
//! renamed to `ID`, and the rename made durable, all before the writer hands
//! out its [`BlobRef`]; no record can therefore name a file that a crash could
//! take away. `*.part` files left by a crash are removed when the store opens.
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
/// The folder (inside the data folder) that holds the larger blobs.
pub const FILES_DIR: &str = "files";
/// Suffix of a blob file still being written.
const PART: &str = "part";
/// A writer checks the free space again after this many bytes.
const ROOM_CHECK_EVERY: u64 = 1024 * 1024;

/// The key of chunk `n` of blob `id`.
fn chunk_key(id: &[u8; 16], n: u32) -> [u8; 20] {
    let mut key = [0u8; 20];
    key[..16].copy_from_slice(id);
    key[16..].copy_from_slice(&n.to_be_bytes());
    key
}

/// Creates the files folder (owner only) and removes the `*.part` files a
/// crash left there. Called with sled's lock held, so no writer is running.
pub(super) fn prepare_dir(dir: &Path) -> io::Result<()> {
    private_fs::make_dir(dir)?;
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == PART) {
            fs::remove_file(&path)?;
        }
    }
    Ok(())
}

/// Makes a folder's entries (a new or renamed file) durable.
pub(super) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl Store {
    /// Free bytes for an unprivileged writer on the data folder's file system.
    pub fn free_bytes(&self) -> io::Result<u64> {
        let s = rustix::fs::statvfs(self.files.as_ref()).map_err(io::Error::from)?;
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

    /// The path of a blob's file.
    fn blob_file(&self, id: &[u8; 16]) -> std::path::PathBuf {
        self.files.join(crypto::hex(id))
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
            file: None,
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

    /// Removes a blob (an abandoned submission, a purge): its chunks and its file.
    pub fn discard_blob(&self, id: &[u8; 16]) -> Result<(), StoreError> {
        for key in self.blobs.scan_prefix(id).keys() {
            self.blobs.remove(key?)?;
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

    /// Whether a blob is kept as a file (for `check` and `compact`).
    pub(super) fn blob_file_if_any(&self, id: &[u8; 16]) -> Option<std::path::PathBuf> {
        let p = self.blob_file(id);
        p.exists().then_some(p)
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
    /// A blob kept as a file (its length already checked).
    File(io::Take<File>),
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let (chunks, current, pos, left) = match self {
            BlobReader::File(f) => return f.read(buf),
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
    /// The store (tree, files folder, reserve).
    store: Store,
    /// This blob's id.
    id: [u8; 16],
    /// The ciphertext while it still fits in one chunk.
    buf: Vec<u8>,
    /// The `ID.part` file once it no longer does.
    file: Option<File>,
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

    /// Makes the blob durable if it is a file, or stores its one chunk (made
    /// durable by the record's group commit), and returns the reference.
    pub fn finish(mut self) -> io::Result<BlobRef> {
        let r = BlobRef { id: crypto::hex(&self.id), len: self.len };
        match self.file.take() {
            Some(f) => {
                f.sync_data()?;
                drop(f);
                let path = self.store.blob_file(&self.id);
                fs::rename(path.with_extension(PART), &path)?;
                sync_dir(&self.store.files)?;
            }
            None => {
                let value = std::mem::take(&mut self.buf);
                self.store.blobs.insert(chunk_key(&self.id, 0), value).map_err(io::Error::other)?;
            }
        }
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

    /// Moves the buffered bytes into a new `ID.part` file.
    fn spill(&mut self) -> io::Result<&mut File> {
        let path = self.store.blob_file(&self.id).with_extension(PART);
        let mut f = private_fs::create_new(&path)?;
        f.write_all(&self.buf)?;
        self.buf = Vec::new();
        Ok(self.file.insert(f))
    }
}

impl Write for BlobWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.check_room(data.len())?;
        if self.file.is_none() && self.buf.len() + data.len() <= CHUNK {
            self.buf.extend_from_slice(data);
        } else {
            let f = match self.file.as_mut() {
                Some(f) => f,
                None => self.spill()?,
            };
            f.write_all(data)?;
        }
        self.len += data.len() as u64;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
