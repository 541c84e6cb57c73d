//! Day packs: where the ciphertext of attachments (blobs larger than one
//! chunk) lives. Never a file per blob, never a file made by a tip.
//!
//! sled keeps every value it is given in memory far beyond its cache
//! (docs/PERFORMANCE.md: 461 MiB for 8 uploads of 100 MiB), so attachments
//! stay out of it; but a file per attachment gives away, in its birth time,
//! times and inode number, the second its tip arrived and the order of
//! tips. So attachments are appended to one file per UTC day,
//! `packs/YYYY-MM-DD`, made ahead of time ([`Packs::ensure_ahead`]: today's
//! and tomorrow's, when the store opens and at every blur), never by the
//! first tip of a day. Concurrent uploads each reserve a range at the end
//! and write it with `pwrite`; a blob is the list of its ranges (its
//! extents), kept in sled. Before the record that names a blob commits, the
//! pack is `fdatasync`ed. A purge punches the blob's ranges out of the pack
//! (the blocks are freed and read back as zeros).

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The folder of the day packs, inside the data folder.
pub const PACKS_DIR: &str = "packs";

/// One day's pack, open for appending.
pub(super) struct Pack {
    /// Its day, `YYYY-MM-DD`.
    pub(super) day: String,
    /// The file (read and write, 0600).
    file: File,
    /// The next free offset: ranges are reserved by adding to it.
    end: AtomicU64,
}

impl Pack {
    /// Appends `data`; returns where it went. Concurrent callers get
    /// disjoint ranges.
    pub(super) fn append(&self, data: &[u8]) -> io::Result<u64> {
        let at = self.end.fetch_add(data.len() as u64, Ordering::SeqCst);
        self.file.write_all_at(data, at)?;
        Ok(at)
    }

    /// Makes everything appended so far durable.
    pub(super) fn sync(&self) -> io::Result<()> {
        self.file.sync_data()
    }
}

/// The packs of one data folder.
pub(super) struct Packs {
    /// `DATA/packs`.
    dir: PathBuf,
    /// Today's pack once opened.
    current: Mutex<Option<Arc<Pack>>>,
}

/// Today's day (UTC), `YYYY-MM-DD`, and tomorrow's.
fn today_and_tomorrow() -> [String; 2] {
    let now = u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0);
    [crate::actions::day_of(now), crate::actions::day_of(now + 86_400)]
}

impl Packs {
    /// The packs under `data`; makes the folder (0700) and today's and
    /// tomorrow's packs.
    pub(super) fn open(data: &Path) -> io::Result<Packs> {
        let dir = data.join(PACKS_DIR);
        crate::private_fs::make_dir(&dir)?;
        let packs = Packs { dir, current: Mutex::new(None) };
        packs.ensure_ahead()?;
        Ok(packs)
    }

    /// Makes today's and tomorrow's packs if they are missing, so that no
    /// tip ever creates one (its birth time would be the tip's).
    pub(super) fn ensure_ahead(&self) -> io::Result<()> {
        let mut made = false;
        for day in today_and_tomorrow() {
            match OpenOptions::new().write(true).create_new(true).mode(0o600).open(self.dir.join(&day)) {
                Ok(f) => {
                    f.sync_all()?;
                    made = true;
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
        if made {
            File::open(&self.dir)?.sync_all()?;
        }
        Ok(())
    }

    /// Today's pack, for a new blob. Should the pack not be there (the
    /// clock jumped past the job), it is made now.
    pub(super) fn current(&self) -> io::Result<Arc<Pack>> {
        let [today, _] = today_and_tomorrow();
        let mut slot = self.current.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(p) = slot.as_ref().filter(|p| p.day == today) {
            return Ok(p.clone());
        }
        self.ensure_ahead()?;
        let file = OpenOptions::new().read(true).write(true).open(self.dir.join(&today))?;
        let end = AtomicU64::new(file.metadata()?.len());
        let pack = Arc::new(Pack { day: today, file, end });
        *slot = Some(pack.clone());
        Ok(pack)
    }

    /// A day's pack, for reading.
    pub(super) fn reader(&self, day: &str) -> io::Result<File> {
        if crate::actions::day_number(day).is_none() {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "not a pack day"));
        }
        File::open(self.dir.join(day))
    }

    /// Frees a blob's ranges: the blocks go back to the file system and the
    /// ranges read as zeros from then on.
    pub(super) fn punch(&self, day: &str, extents: &[(u64, u64)]) -> io::Result<()> {
        use rustix::fs::{fallocate, FallocateFlags};
        let f = OpenOptions::new().write(true).open(self.dir.join(day))?;
        for &(at, len) in extents {
            fallocate(&f, FallocateFlags::PUNCH_HOLE | FallocateFlags::KEEP_SIZE, at, len)?;
        }
        Ok(())
    }

    /// The days that have a pack.
    #[cfg(test)]
    pub(super) fn days(&self) -> io::Result<Vec<String>> {
        let mut out: Vec<String> =
            std::fs::read_dir(&self.dir)?.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect();
        out.sort();
        Ok(out)
    }
}

/// A blob's place in the packs: its day and its ranges, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Extents {
    /// The pack's day.
    pub(super) day: String,
    /// (offset, length) ranges; adjacent ones are merged.
    pub(super) ranges: Vec<(u64, u64)>,
}

impl Extents {
    /// Adds a range, merging it into the last when adjacent.
    pub(super) fn push(&mut self, at: u64, len: u64) {
        match self.ranges.last_mut() {
            Some((a, l)) if *a + *l == at => *l += len,
            _ => self.ranges.push((at, len)),
        }
    }

    /// Total bytes.
    pub(super) fn len(&self) -> u64 {
        self.ranges.iter().map(|(_, l)| l).sum()
    }

    /// Stored form: the day, then 16 bytes (offset, length, big-endian) per range.
    pub(super) fn encode(&self) -> Vec<u8> {
        let mut out = self.day.as_bytes().to_vec();
        for (a, l) in &self.ranges {
            out.extend_from_slice(&a.to_be_bytes());
            out.extend_from_slice(&l.to_be_bytes());
        }
        out
    }

    /// Reads the stored form.
    pub(super) fn decode(raw: &[u8]) -> Option<Extents> {
        let (day, rest) = (raw.get(..10)?, raw.get(10..)?);
        let day = std::str::from_utf8(day).ok()?.to_string();
        if rest.len() % 16 != 0 || crate::actions::day_number(&day).is_none() {
            return None;
        }
        let ranges = rest
            .chunks_exact(16)
            .map(|c| {
                let (a, l) = c.split_at(8);
                Some((u64::from_be_bytes(a.try_into().ok()?), u64::from_be_bytes(l.try_into().ok()?)))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Extents { day, ranges })
    }
}

/// Reads a blob's ranges from its pack, in order.
pub struct PackReader {
    /// The pack.
    file: File,
    /// The ranges still to read (the first one partly read).
    ranges: std::collections::VecDeque<(u64, u64)>,
}

impl PackReader {
    /// A reader over `extents` of `file`.
    pub(super) fn new(file: File, extents: Extents) -> PackReader {
        PackReader { file, ranges: extents.ranges.into() }
    }
}

impl io::Read for PackReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some((at, left)) = self.ranges.front_mut() else { return Ok(0) };
        let want = usize::try_from(*left).unwrap_or(usize::MAX).min(buf.len());
        let n = self.file.read_at(&mut buf[..want], *at)?;
        if n == 0 && want > 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "a pack is shorter than its blob"));
        }
        *at += n as u64;
        *left -= n as u64;
        if *left == 0 {
            self.ranges.pop_front();
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn ranges_merge_encode_and_read_back_across_writers() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let packs = Packs::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(packs.days().unwrap_or_default().len(), 2, "today's and tomorrow's, made ahead");
        let pack = packs.current().unwrap_or_else(|e| panic!("{e}"));
        let (mut a, mut b) = (
            Extents { day: pack.day.clone(), ranges: Vec::new() },
            Extents { day: pack.day.clone(), ranges: Vec::new() },
        );
        for i in 0..3u8 {
            a.push(pack.append(&[i; 10]).unwrap_or(0), 10);
            b.push(pack.append(&[100 + i; 7]).unwrap_or(0), 7);
        }
        let mut c = Extents { day: pack.day.clone(), ranges: Vec::new() };
        c.push(pack.append(b"ab").unwrap_or(0), 2);
        c.push(pack.append(b"cd").unwrap_or(0), 2);
        assert_eq!(c.ranges.len(), 1, "adjacent ranges merge");
        pack.sync().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(Extents::decode(&a.encode()), Some(a.clone()));
        assert_eq!(Extents::decode(b"2026-13-01"), None);
        let read = |e: &Extents| {
            let mut out = Vec::new();
            PackReader::new(packs.reader(&e.day).unwrap_or_else(|e| panic!("{e}")), e.clone())
                .read_to_end(&mut out)
                .unwrap_or_else(|e| panic!("{e}"));
            out
        };
        assert_eq!(read(&a), [[0u8; 10], [1; 10], [2; 10]].concat());
        assert_eq!(read(&b), [[100u8; 7], [101; 7], [102; 7]].concat());
        assert_eq!(read(&c), b"abcd");
        packs.punch(&a.day, &a.ranges).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read(&a), vec![0u8; 30], "punched out");
        assert_eq!(read(&b), [[100u8; 7], [101; 7], [102; 7]].concat(), "the neighbour is intact");
        assert_eq!(a.len(), 30);
    }
}
