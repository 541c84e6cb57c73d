//! SHA-256 of bytes as they stream, in either direction, so that what is
//! hashed (a bundle, a follow-up's blobs) is never held whole in memory.

use std::io::{self, Read, Write};

use ring::digest::{Context, SHA256};

/// A `Write` that hashes every byte it passes on.
pub struct Hashing<W: Write> {
    /// Where the bytes go.
    inner: W,
    /// SHA-256 of what went so far.
    hash: Context,
}

impl<W: Write> Hashing<W> {
    /// Starts hashing what is written to `inner`.
    pub fn new(inner: W) -> Hashing<W> {
        Hashing { inner, hash: Context::new(&SHA256) }
    }

    /// SHA-256 of every byte written so far.
    pub fn digest(&self) -> [u8; 32] {
        finish(self.hash.clone())
    }

    /// The writer underneath.
    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(data)?;
        self.hash.update(&data[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The digest of a finished hash.
fn finish(hash: Context) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(hash.finish().as_ref());
    out
}

/// SHA-256 of the first `len` bytes of `r`; an early end is an error.
pub fn hash_prefix(r: impl Read, len: u64) -> io::Result<[u8; 32]> {
    let mut h = HashingReader::new(r.take(len));
    if io::copy(&mut h, &mut io::sink())? != len {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the bundle ends early"));
    }
    Ok(finish(h.hash))
}

/// A `Read` that hashes every byte read through it.
pub struct HashingReader<R: Read> {
    /// Where the bytes come from.
    inner: R,
    /// SHA-256 of what was read so far.
    hash: Context,
}

impl<R: Read> HashingReader<R> {
    /// Starts hashing what is read from `inner`.
    pub fn new(inner: R) -> HashingReader<R> {
        HashingReader { inner, hash: Context::new(&SHA256) }
    }

    /// Reads the rest, then returns SHA-256 of everything read.
    pub fn finish(mut self) -> io::Result<[u8; 32]> {
        io::copy(&mut self, &mut io::sink())?;
        Ok(finish(self.hash))
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

/// SHA-256 of `bytes`.
pub fn of(bytes: &[u8]) -> [u8; 32] {
    let mut hash = Context::new(&SHA256);
    hash.update(bytes);
    finish(hash)
}
