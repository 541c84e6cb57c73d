//! Key files: investigator identities (written 0600 from the first byte,
//! never overwritten) and the server's `keys/` folder.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::crypto::ed25519::{self, PublicKey, SecretKey};
use crate::crypto::{self, CryptoError, Recipients};
use crate::keyset::KeySet;

/// File name of the age identity inside a key folder.
pub const IDENTITY_FILE: &str = "identity.txt";
/// File name of the recipients list inside the server's `keys/` folder.
pub const RECIPIENTS_FILE: &str = "recipients.txt";
/// File name of the Ed25519 key list inside the server's `keys/` folder.
pub const INVESTIGATORS_FILE: &str = "investigators.txt";
/// File name of the signed key set inside the server's `keys/` folder.
pub const KEYSET_FILE: &str = "keyset.json";
/// File name of the signing key inside a key folder.
pub const SIGNING_FILE: &str = "signing.key";
/// File name of the transfer key inside a key folder.
pub const TRANSFER_FILE: &str = "transfer.key";
/// File name of the deployment secret, by default in the server's `keys/`
/// folder: outside the data folder, so a copy of that cannot confirm a
/// receipt (SECURITY.md). `serve --secret FILE` reads it from elsewhere
/// (systemd's `LoadCredential=`).
pub const SECRET_FILE: &str = "deployment.secret";

/// Reads the deployment secret from `path`. When there is none and
/// `may_create` (a new deployment), makes one there (0600, never
/// overwritten); otherwise a missing file is an error, since without the
/// secret no receipt finds its report.
pub fn load_or_create_secret(path: &Path, may_create: bool) -> Result<crypto::DeploymentSecret, KeyError> {
    match fs::read_to_string(path) {
        Ok(text) => crypto::at_rest::secret_from_text(&Zeroizing::new(text))
            .ok_or_else(|| KeyError::Read(path.to_path_buf(), io::Error::other("not a deployment secret (64 hex digits)"))),
        Err(e) if e.kind() == io::ErrorKind::NotFound && may_create => {
            let secret = crypto::DeploymentSecret::generate();
            write_private(path, crypto::at_rest::secret_to_text(&secret).as_bytes())?;
            // The new name too must survive a crash: receipts are issued under it.
            let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            fs::File::open(parent).and_then(|d| d.sync_all()).map_err(|e| KeyError::Write(path.to_path_buf(), e))?;
            Ok(secret)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(KeyError::Read(
            path.to_path_buf(),
            io::Error::other("the deployment secret is missing and the data folder holds reports: restore it from its backup, or no receipt will find its report"),
        )),
        Err(e) => Err(KeyError::Read(path.to_path_buf(), e)),
    }
}

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
    /// investigators.txt is not valid.
    #[error("{0}: {1}")]
    KeySet(PathBuf, crate::keyset::KeySetError),
}

/// What `keygen` made.
pub struct NewKeys {
    /// Path of the secret identity file.
    pub identity: PathBuf,
    /// The `age1…` line for `keys/recipients.txt`.
    pub recipient: String,
    /// The signing key's public half.
    pub signing: PublicKey,
    /// The transfer key's public half.
    pub transfer: PublicKey,
}

/// Makes a new investigator's keys in `dir` (created 0700 if missing): the
/// age identity, the signing key and the transfer key, each 0600, each
/// age-encrypted with `passphrase` when one is given. Nothing is written if
/// any of the files exists.
pub fn keygen(dir: &Path, now: &str, passphrase: Option<&str>) -> Result<NewKeys, KeyError> {
    crate::private_fs::make_dir(dir).map_err(|e| KeyError::Write(dir.to_path_buf(), e))?;
    for f in [IDENTITY_FILE, SIGNING_FILE, TRANSFER_FILE] {
        if dir.join(f).exists() {
            return Err(KeyError::Exists(dir.join(f)));
        }
    }
    let (secret, recipient) = crypto::new_identity();
    let identity = Zeroizing::new(format!("# created: {now}\n# public key: {recipient}\n{}\n", secret.as_str()));
    let (signing, signing_text) =
        SecretKey::generate("peluit signing key (Ed25519): authorises actions. Keep it offline.")
            .map_err(|e| KeyError::Invalid(dir.join(SIGNING_FILE), e))?;
    let (transfer, transfer_text) =
        SecretKey::generate("peluit transfer key (Ed25519): may only pull ciphertext and push signed actions.")
            .map_err(|e| KeyError::Invalid(dir.join(TRANSFER_FILE), e))?;
    for (name, text) in [(IDENTITY_FILE, &identity), (SIGNING_FILE, &signing_text), (TRANSFER_FILE, &transfer_text)] {
        let path = dir.join(name);
        match passphrase {
            Some(p) => {
                write_private(&path, &ed25519::protect(text, p).map_err(|e| KeyError::Invalid(path.clone(), e))?)?
            }
            None => write_private(&path, text.as_bytes())?,
        }
    }
    Ok(NewKeys { identity: dir.join(IDENTITY_FILE), recipient, signing: signing.public(), transfer: transfer.public() })
}

/// Reads a key file's text, asking `passphrase` for one when the file is
/// passphrase-protected.
pub fn read_secret_text(
    path: &Path,
    passphrase: impl FnOnce() -> Option<String>,
) -> Result<Zeroizing<String>, KeyError> {
    let raw = Zeroizing::new(fs::read(path).map_err(|e| KeyError::Read(path.to_path_buf(), e))?);
    if ed25519::is_age(&raw) {
        let p = Zeroizing::new(passphrase().unwrap_or_default());
        return ed25519::unprotect(&raw, &p).map_err(|e| KeyError::Invalid(path.to_path_buf(), e));
    }
    String::from_utf8(raw.to_vec())
        .map(Zeroizing::new)
        .map_err(|_| KeyError::Invalid(path.to_path_buf(), CryptoError::BadIdentity))
}

/// Reads `DIR/keyset.json` if it is there.
pub fn load_published(keys_dir: &Path) -> Result<Option<crate::published::SignedKeySet>, KeyError> {
    let path = keys_dir.join(KEYSET_FILE);
    match fs::read(&path) {
        Ok(raw) => {
            serde_json::from_slice(&raw).map(Some).map_err(|_| KeyError::Invalid(path, CryptoError::BadIdentity))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(KeyError::Read(path, e)),
    }
}

/// Reads `DIR/investigators.txt`; a missing file is an empty set (nobody can
/// then act or pull, which the server says at start).
pub fn load_keyset(keys_dir: &Path) -> Result<KeySet, KeyError> {
    let path = keys_dir.join(INVESTIGATORS_FILE);
    match fs::read_to_string(&path) {
        Ok(text) => KeySet::parse(&text).map_err(|e| KeyError::KeySet(path, e)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(KeySet::default()),
        Err(e) => Err(KeyError::Read(path, e)),
    }
}

/// Creates a file with mode 0600 from the first byte; refuses to replace one.
pub fn write_private(path: &Path, data: &[u8]) -> Result<(), KeyError> {
    let mut f = crate::private_fs::create_new(path).map_err(|e| match e.kind() {
        io::ErrorKind::AlreadyExists => KeyError::Exists(path.to_path_buf()),
        _ => KeyError::Write(path.to_path_buf(), e),
    })?;
    f.write_all(data).and_then(|()| f.sync_all()).map_err(|e| KeyError::Write(path.to_path_buf(), e))
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
        let keys = keygen(dir.path(), "2026-11-26", None).unwrap_or_else(|e| panic!("{e}"));
        for f in [IDENTITY_FILE, SIGNING_FILE, TRANSFER_FILE] {
            let mode = fs::metadata(dir.path().join(f)).map(|m| m.permissions().mode() & 0o777).unwrap_or(0);
            assert_eq!(mode, 0o600, "{f}");
        }
        assert!(keys.recipient.starts_with("age1"));
        assert_ne!(keys.signing, keys.transfer);
        assert!(matches!(keygen(dir.path(), "x", None), Err(KeyError::Exists(_))));
        let signing = read_secret_text(&dir.path().join(SIGNING_FILE), || None).unwrap_or_default();
        assert_eq!(SecretKey::parse(&signing).map(|k| k.public()).ok(), Some(keys.signing));
        let text = fs::read_to_string(&keys.identity).unwrap_or_default();
        assert!(crypto::Identities::parse(&text).is_ok());
    }

    #[test]
    fn recipients_file_errors_are_clear() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(load_recipients(dir.path()), Err(KeyError::Read(..))));
        fs::write(dir.path().join(RECIPIENTS_FILE), "# nobody\n").unwrap_or_else(|e| panic!("{e}"));
        let err = load_recipients(dir.path()).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("no recipient"), "{err}");
    }
}
