//! The data folder as a seizer finds it: its modes, its file times, and how
//! sled is configured so that no value ever becomes a file of its own.
//! Never reads or writes a stored value.
//!
//! - Modes: the folder is 0700 and everything in it 0600 (folders 0700),
//!   whoever created it; a folder that other users can reach is refused.
//! - Times: [`blur`] sets the access and modification times of the folder and
//!   everything in it to the start of the current UTC day. ctime cannot be set
//!   from user space, and setting the other two bumps it, so the blur runs on
//!   a clock of its own (every few seconds while serving, and as the last
//!   thing when a store closes): ctime then tells when the blur last ran,
//!   never when a tip came. A copy taken while the server runs shows the
//!   exact time of a write made since the last blur (see SECURITY.md).
//! - sled writes a page larger than a quarter of its segment size to a file
//!   of its own under `blobs/`, born at the second of the write. With 8 MiB
//!   segments a leaf of sled's largest fan-out (16 items, split at 17) of
//!   blobs of up to 64 KiB stays inline, so no value ever makes a file.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::StoreError;

/// sled's segment size for new databases (see the module doc).
pub const SEGMENT_SIZE: usize = 8 * 1024 * 1024;

/// The sled configuration for `dir`: a database made before
/// [`SEGMENT_SIZE`] keeps the segment size recorded in its `conf` file
/// (sled refuses to change it), until `compact` rewrites it.
pub(super) fn sled_config(dir: &Path, cache: u64) -> sled::Config {
    let segment = recorded_segment_size(dir).unwrap_or(SEGMENT_SIZE);
    sled::Config::new().path(dir).cache_capacity(cache).segment_size(segment).flush_every_ms(Some(1000))
}

/// The segment size in sled's `conf` file (`segment_size: N` lines).
pub(super) fn recorded_segment_size(dir: &Path) -> Option<usize> {
    let raw = fs::read(dir.join("conf")).ok()?;
    let text = String::from_utf8_lossy(&raw);
    text.lines().find_map(|l| l.strip_prefix("segment_size: ")?.trim().parse().ok())
}

/// Refuses a data folder that users other than its owner can reach, and
/// creates a missing one with mode 0700.
pub(super) fn ensure_private_dir(dir: &Path) -> Result<(), StoreError> {
    match fs::metadata(dir) {
        Ok(m) if m.permissions().mode() & 0o077 != 0 => Err(StoreError::Exposed(format!(
            "the data folder {} has mode {:o}: other users can reach it; run `chmod -R go= {}` and start again",
            dir.display(),
            m.permissions().mode() & 0o7777,
            dir.display()
        ))),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => crate::private_fs::make_dir(dir).map_err(StoreError::from_io),
        Err(e) => Err(StoreError::from_io(e)),
    }
}

/// Every path under `dir`, `dir` first.
fn walk(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut out = vec![dir.to_path_buf()];
    let mut i = 0;
    while i < out.len() {
        if fs::symlink_metadata(&out[i])?.is_dir() {
            for e in fs::read_dir(&out[i])? {
                out.push(e?.path());
            }
        }
        i += 1;
    }
    Ok(out)
}

/// Makes every file under `dir` 0600 and every folder 0700, whatever the
/// umask was when sled or an older peluit created them.
pub(super) fn make_private(dir: &Path) -> io::Result<()> {
    for p in walk(dir)? {
        let m = fs::symlink_metadata(&p)?;
        let want = if m.is_dir() { 0o700 } else { 0o600 };
        if !m.file_type().is_symlink() && m.permissions().mode() & 0o7777 != want {
            fs::set_permissions(&p, fs::Permissions::from_mode(want))?;
        }
    }
    Ok(())
}

/// The start of the UTC day of `unix` seconds.
pub fn start_of_day(unix: i64) -> i64 {
    unix - unix.rem_euclid(86_400)
}

/// Sets the access and modification times of `dir` and everything in it to
/// the start of the current UTC day (see the module doc). Best effort per
/// file: a file that vanished meanwhile is skipped.
pub fn blur(dir: &Path) -> io::Result<()> {
    use rustix::fs::{utimensat, AtFlags, Timespec, Timestamps, CWD};
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let day = Timespec { tv_sec: start_of_day(now), tv_nsec: 0 };
    let times = Timestamps { last_access: day, last_modification: day };
    // Deepest first, so that a folder's times are set after its entries'.
    for p in walk(dir)?.iter().rev() {
        match utimensat(CWD, p, &times, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(()) => {}
            Err(e) if e == rustix::io::Errno::NOENT => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

impl super::Store {
    /// The periodic job of a running server: makes today's and tomorrow's
    /// day packs if missing (so no tip makes one), then [`blur`]s.
    pub fn blur(&self) -> io::Result<()> {
        self.packs.ensure_ahead()?;
        blur(&self.dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blur_sets_every_time_to_the_day_and_modes_become_private() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let sub = dir.path().join("a");
        fs::create_dir(&sub).unwrap_or_else(|e| panic!("{e}"));
        fs::set_permissions(&sub, fs::Permissions::from_mode(0o755)).unwrap_or_else(|e| panic!("{e}"));
        fs::write(sub.join("f"), b"x").unwrap_or_else(|e| panic!("{e}"));
        fs::set_permissions(sub.join("f"), fs::Permissions::from_mode(0o644)).unwrap_or_else(|e| panic!("{e}"));
        make_private(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        blur(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        for p in [dir.path().to_path_buf(), sub.clone(), sub.join("f")] {
            let m = fs::symlink_metadata(&p).unwrap_or_else(|e| panic!("{e}"));
            use std::os::unix::fs::MetadataExt;
            assert_eq!(m.mtime() % 86_400, 0, "{}", p.display());
            assert_eq!((m.mtime_nsec(), m.atime() % 86_400, m.atime_nsec()), (0, 0, 0));
            assert_eq!(m.mode() & 0o077, 0);
        }
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o750)).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(ensure_private_dir(dir.path()), Err(StoreError::Exposed(_))));
        assert_eq!(start_of_day(86_400 * 3 + 5), 86_400 * 3);
    }
}
