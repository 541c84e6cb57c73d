//! Key files: investigator identities (written 0600 from the first byte,
//! never overwritten) and the server's `keys/` folder.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::crypto::{self, CryptoError, Recipients};

/// File name of the age identity inside a key folder.
pub const IDENTITY_FILE: &str = "identity.txt";
/// File name of the recipients list inside the server's `keys/` folder.
pub const RECIPIENTS_FILE: &str = "recipients.txt";

/// Errors with key files.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A key file exists already: keys are never overwritten.
    #[error("{0} exists already; refusing to overwrite a key")]
    Exists(PathBuf),
    /// The recipients file could not be read.
    #[error("cannot read {0}: {1}")]
    Read(PathBuf, io::Error),
    /// The recipients file is not valid.
    #[error("{0}: {1}")]
    Invalid(PathBuf, CryptoError),
    /// Writing a key failed.
    #[error("cannot write {0}: {1}")]
    Write(PathBuf, io::Error),
}

/// What `keygen` made.
pub struct NewKeys {
    /// Path of the secret identity file.
    pub identity: PathBuf,
    /// The `age1…` line for `keys/recipients.txt`.
    pub recipient: String,
}

/// Makes a new investigator identity in `dir` (created 0700 if missing).
pub fn keygen(dir: &Path, now: &str) -> Result<NewKeys, KeyError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| KeyError::Write(dir.to_path_buf(), e))?;
    let path = dir.join(IDENTITY_FILE);
    let (secret, recipient) = crypto::new_identity();
    let text = zeroize::Zeroizing::new(format!(
        "# created: {now}\n# public key: {recipient}\n{}\n",
        secret.as_str()
    ));
    write_private(&path, text.as_bytes())?;
    Ok(NewKeys {
        identity: path,
        recipient,
    })
}

/// Creates a file with mode 0600 from the first byte; refuses to replace one.
pub fn write_private(path: &Path, data: &[u8]) -> Result<(), KeyError> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| match e.kind() {
            io::ErrorKind::AlreadyExists => KeyError::Exists(path.to_path_buf()),
            _ => KeyError::Write(path.to_path_buf(), e),
        })?;
    f.write_all(data)
        .and_then(|()| f.sync_all())
        .map_err(|e| KeyError::Write(path.to_path_buf(), e))
}

/// Reads `DIR/recipients.txt`; refuses an empty or invalid file.
pub fn load_recipients(keys_dir: &Path) -> Result<Recipients, KeyError> {
    let path = keys_dir.join(RECIPIENTS_FILE);
    let text = fs::read_to_string(&path).map_err(|e| KeyError::Read(path.clone(), e))?;
    Recipients::parse(&text).map_err(|e| KeyError::Invalid(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn keygen_writes_0600_and_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let keys = keygen(dir.path(), "2026-11-26").unwrap_or_else(|e| panic!("{e}"));
        let mode = fs::metadata(&keys.identity)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0);
        assert_eq!(mode, 0o600);
        assert!(keys.recipient.starts_with("age1"));
        assert!(matches!(keygen(dir.path(), "x"), Err(KeyError::Exists(_))));
        let text = fs::read_to_string(&keys.identity).unwrap_or_default();
        assert!(crypto::Identities::parse(&text).is_ok());
    }

    #[test]
    fn recipients_file_errors_are_clear() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            load_recipients(dir.path()),
            Err(KeyError::Read(..))
        ));
        fs::write(dir.path().join(RECIPIENTS_FILE), "# nobody\n").unwrap_or_else(|e| panic!("{e}"));
        let err = load_recipients(dir.path())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("no recipient"), "{err}");
    }
}
