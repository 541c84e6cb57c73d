//! Writing case folders durably in batches. Each batch's files are written
//! under temporary names, made durable together (one `syncfs` on Linux rather
//! than one `fsync` per file), and only then renamed to their final names, so
//! a crash never leaves a final-named folder with missing contents; a second
//! sync makes the renames durable.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::private_fs::{create_new, remove_if_present};

/// A batch commits after this many staged folders and files...
const BATCH_ITEMS: usize = 256;
/// ...or after this many bytes written, whichever comes first.
const BATCH_BYTES: u64 = 64 * 1024 * 1024;

/// Files and folders written under temporary names, not yet renamed.
pub(super) struct Batch {
    /// The output folder: `syncfs` needs a descriptor on its filesystem.
    out: File,
    /// (temporary name, final name), renamed in order after the sync.
    renames: Vec<(PathBuf, PathBuf)>,
    /// Bytes written since the last commit.
    bytes: u64,
}

impl Batch {
    /// An empty batch for the output folder `out` (which must exist).
    pub(super) fn new(out: &Path) -> io::Result<Batch> {
        Ok(Batch { out: File::open(out)?, renames: Vec::new(), bytes: 0 })
    }

    /// Counts bytes written for the batch.
    pub(super) fn wrote(&mut self, n: u64) {
        self.bytes = self.bytes.saturating_add(n);
    }

    /// Renames `from` to `to` at the next commit; commits when the batch is
    /// full. `from` must be complete: nothing more is written into it.
    pub(super) fn stage(&mut self, from: PathBuf, to: PathBuf) -> io::Result<()> {
        self.renames.push((from, to));
        if self.renames.len() >= BATCH_ITEMS || self.bytes >= BATCH_BYTES {
            self.commit()?;
        }
        Ok(())
    }

    /// Writes `data` under a temporary name beside `p`, to replace `p` at the
    /// next commit (for `case.json`, which each bundle updates).
    pub(super) fn replace_file(&mut self, p: &Path, data: &[u8]) -> io::Result<()> {
        let tmp = p.with_extension("tmp");
        let mut f = match create_new(&tmp) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                // Staged in this batch (the same report twice in a bundle: the
                // first copy lands first) or left by an interrupted run.
                self.commit()?;
                remove_if_present(&tmp)?;
                create_new(&tmp)?
            }
            other => other?,
        };
        f.write_all(data)?;
        written(f)?;
        self.wrote(data.len() as u64);
        self.stage(tmp, p.to_path_buf())
    }

    /// Makes everything written durable, renames the staged items, and makes
    /// the renames durable.
    pub(super) fn commit(&mut self) -> io::Result<()> {
        if self.renames.is_empty() && self.bytes == 0 {
            return Ok(());
        }
        sync_filesystem(&self.out)?;
        for (from, to) in self.renames.drain(..) {
            fs::rename(&from, &to)?;
        }
        sync_filesystem(&self.out)?;
        self.bytes = 0;
        Ok(())
    }
}

/// Flushes the filesystem holding `dir`: every file written for the batch.
#[cfg(target_os = "linux")]
fn sync_filesystem(dir: &File) -> io::Result<()> {
    rustix::fs::syncfs(dir).map_err(io::Error::from)
}

/// Without `syncfs`, each file was synced when written ([`written`]); this
/// syncs the output folder itself.
#[cfg(not(target_os = "linux"))]
fn sync_filesystem(dir: &File) -> io::Result<()> {
    dir.sync_all()
}

/// Closes a file written for a batch. On Linux the batch's `syncfs` makes it
/// durable; elsewhere it is synced now.
pub(super) fn written(f: File) -> io::Result<()> {
    if cfg!(target_os = "linux") {
        Ok(())
    } else {
        f.sync_all()
    }
}

/// The list of case ids a run touched, appended to a temporary file as the
/// run goes (constant memory) and renamed to its final name at the end.
pub(super) struct CaseList {
    /// The temporary file.
    tmp: PathBuf,
    /// The final name.
    path: PathBuf,
    /// The open temporary file.
    file: BufWriter<File>,
    /// Ids written so far.
    n: usize,
}

impl CaseList {
    /// Starts a JSON array of ids that will replace `path`.
    pub(super) fn create(path: PathBuf) -> io::Result<CaseList> {
        let tmp = path.with_extension("tmp");
        remove_if_present(&tmp)?;
        let mut file = BufWriter::new(create_new(&tmp)?);
        file.write_all(b"[")?;
        Ok(CaseList { tmp, path, file, n: 0 })
    }

    /// Appends one id.
    pub(super) fn push(&mut self, id: &str) -> io::Result<()> {
        if self.n > 0 {
            self.file.write_all(b",")?;
        }
        serde_json::to_writer(&mut self.file, id).map_err(io::Error::other)?;
        self.n += 1;
        Ok(())
    }

    /// Closes the array, makes it durable and moves it to its final name.
    pub(super) fn finish(mut self) -> io::Result<()> {
        self.file.write_all(b"]")?;
        self.file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        fs::rename(&self.tmp, &self.path)
    }
}

/// Writes a new private file for a batch (durable at the batch's commit).
pub(super) fn write_new(p: &Path, data: &[u8]) -> io::Result<()> {
    let mut f = create_new(p)?;
    f.write_all(data)?;
    written(f)
}

/// Replaces a private file durably at once (for `deployment.json`).
pub(super) fn replace_now(p: &Path, data: &[u8]) -> io::Result<()> {
    let tmp = p.with_extension("tmp");
    remove_if_present(&tmp)?;
    let mut f = create_new(&tmp)?;
    f.write_all(data)?;
    f.sync_all()?;
    fs::rename(tmp, p)
}
