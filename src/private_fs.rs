//! Files and folders readable by their owner only: every file peluit writes
//! holds ciphertext, keys or (on the offline machine) decrypted reports.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

/// Creates a folder (and its parents) with mode 0700.
pub fn make_dir(p: &Path) -> io::Result<()> {
    fs::DirBuilder::new().recursive(true).mode(0o700).create(p)
}

/// Creates a new file with mode 0600; never follows or replaces one.
pub fn create_new(p: &Path) -> io::Result<File> {
    OpenOptions::new().write(true).create_new(true).mode(0o600).open(p)
}

/// Removes a file if there is one.
pub fn remove_if_present(p: &Path) -> io::Result<()> {
    match fs::remove_file(p) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
