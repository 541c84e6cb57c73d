//! The server's own Ed25519 key, which signs every bundle it makes (`pull`,
//! and `export` on a stopped server). It is made on first start beside the
//! deployment secret (0600, never in the data folder), its public half is
//! printed at start for the investigators to carry offline, and the offline
//! machine pins it (`peluit keys sign --server-key`, `peluit trust`). Never
//! overwritten: a new key would make every pinned cases folder refuse bundles.

use std::fs;
use std::io;
use std::path::Path;

use zeroize::Zeroizing;

use crate::crypto::ed25519::SecretKey;
use crate::keys::{write_private, KeyError};

/// File name of the server key, by default in the server's `keys/` folder
/// beside [`crate::keys::SECRET_FILE`].
pub const SERVER_KEY_FILE: &str = "server.key";

/// The title line of the key file.
const TITLE: &str =
    "peluit server key (Ed25519): signs bundles. Keep it beside the deployment secret, never in the data folder.";

/// Reads the server key at `path`, making it there (0600) when missing.
/// Returns the key and whether it was made now.
pub fn load_or_create(path: &Path) -> Result<(SecretKey, bool), KeyError> {
    match load(path) {
        Err(KeyError::Read(_, e)) if e.kind() == io::ErrorKind::NotFound => {
            let (key, text) = SecretKey::generate(TITLE).map_err(|e| KeyError::Invalid(path.to_path_buf(), e))?;
            write_private(path, text.as_bytes())?;
            // The name too must survive a crash: the offline machine pins this key.
            let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            fs::File::open(parent).and_then(|d| d.sync_all()).map_err(|e| KeyError::Write(path.to_path_buf(), e))?;
            Ok((key, true))
        }
        other => other.map(|k| (k, false)),
    }
}

/// Reads the server key at `path` (never makes one: `export` on a stopped
/// server signs with the key the running server used).
pub fn load(path: &Path) -> Result<SecretKey, KeyError> {
    let text = Zeroizing::new(fs::read_to_string(path).map_err(|e| KeyError::Read(path.to_path_buf(), e))?);
    SecretKey::parse(&text).map_err(|e| KeyError::Invalid(path.to_path_buf(), e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn made_once_0600_then_read_back() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join(SERVER_KEY_FILE);
        assert!(load(&path).is_err(), "export never makes one");
        let (k, made) = load_or_create(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(made);
        let mode = fs::metadata(&path).map(|m| m.permissions().mode() & 0o777).unwrap_or_default();
        assert_eq!(mode, 0o600);
        let (again, made) = load_or_create(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((again.public(), made), (k.public(), false));
        fs::write(&path, "garbage").unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(load_or_create(&path), Err(KeyError::Invalid(..))), "a damaged key is not replaced");
    }
}
