//! Key files: investigator identities (written 0600 from the first byte,
//! never overwritten) and the server's `keys/` folder.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::crypto::ed25519::{self, PublicKey, SecretKey};
use crate::crypto::{self, CryptoError, Recipients};
use crate::investigators::Investigators;

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

/// The title line of a signing key file, which tells it from a transfer key.
const SIGNING_TITLE: &str = "peluit signing key (Ed25519)";
/// The title line of a transfer key file.
const TRANSFER_TITLE: &str = "peluit transfer key (Ed25519)";

/// What a key file says it is for, from the title `keygen` wrote in it
/// (`None` for a key file without one).
pub fn key_role(text: &str) -> Option<crate::investigators::Role> {
    let title = text.lines().next()?.strip_prefix("# ")?;
    if title.starts_with(SIGNING_TITLE) {
        Some(crate::investigators::Role::Sign)
    } else if title.starts_with(TRANSFER_TITLE) {
        Some(crate::investigators::Role::Transfer)
    } else {
        None
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
    /// The key file is protected and no passphrase could be asked for.
    #[error("{0} is protected by a passphrase: set PELUIT_PASSPHRASE or run this at a terminal")]
    PassphraseNeeded(PathBuf),
    /// The passphrase does not open the key file.
    #[error("the passphrase does not open {0}")]
    WrongPassphrase(PathBuf),
    /// investigators.txt is not valid.
    #[error("{0}: {1}")]
    Investigators(PathBuf, crate::investigators::InvestigatorsError),
    /// The name is already used by a key in investigators.txt.
    #[error("{1} already names a key in {0}: choose another --name (each investigator's actions are logged under it)")]
    NameTaken(PathBuf, String),
    /// No `sign` key to list in the key set.
    #[error("{0} lists no `sign` key: reporters' clients could verify no reply; give --investigators with the investigators.txt the server uses")]
    NoSigners(PathBuf),
    /// A validity outside what `keys sign` accepts.
    #[error("--valid-days {0}: give 1 to 366 days (90 by default); sign again before it ends")]
    ValidDays(u64),
    /// A version that would not supersede the set already written.
    #[error("{0} already holds version {1}: give a higher --set-version, or none to take the next one")]
    VersionNotAbove(PathBuf, u64),
    /// `--server-key` is not a public key.
    #[error("--server-key {0:?} is not a public key: copy the `ed25519:…` the server printed at start")]
    BadServerKey(String),
    /// A name that cannot stand on an investigators.txt line.
    #[error("the name {0:?} is empty or has spaces or `#`: give --name with letters, digits, `-`, `_` or `.`")]
    BadName(String),
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
        SecretKey::generate(&format!("{SIGNING_TITLE}: authorises actions. Keep it offline."))
            .map_err(|e| KeyError::Invalid(dir.join(SIGNING_FILE), e))?;
    let (transfer, transfer_text) =
        SecretKey::generate(&format!("{TRANSFER_TITLE}: may only pull ciphertext and push signed actions."))
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

/// The lines `keygen` adds to the server's key files: the `age1…` recipient
/// and the two Ed25519 keys, named `NAME` and `NAME-transfer`.
pub fn server_lines(keys: &NewKeys, name: &str) -> (String, String) {
    let recipient = format!("# {name}\n{}\n", keys.recipient);
    let investigators =
        format!("{} sign {name}\n{} transfer {name}-transfer\n", keys.signing.to_text(), keys.transfer.to_text());
    (recipient, investigators)
}

/// Refuses a name that would not read back as one name on an
/// `investigators.txt` line.
pub fn check_name(name: &str) -> Result<(), KeyError> {
    let simple = |c: char| c.is_alphanumeric() || matches!(c, '-' | '_' | '.');
    if name.is_empty() || !name.chars().all(simple) {
        return Err(KeyError::BadName(name.to_string()));
    }
    Ok(())
}

/// Refuses a name that `DIR/investigators.txt` already uses (for the signing
/// or the transfer key), or that `check_name` refuses. Run before any key is
/// made, so a refused name leaves nothing behind.
pub fn check_new_name(server_keys: &Path, name: &str) -> Result<(), KeyError> {
    check_name(name)?;
    let set = load_investigators(server_keys)?;
    let taken = [name.to_string(), format!("{name}-transfer")];
    match set.all().iter().find(|i| taken.contains(&i.name)) {
        Some(i) => Err(KeyError::NameTaken(server_keys.join(INVESTIGATORS_FILE), i.name.clone())),
        None => Ok(()),
    }
}

/// Appends a new investigator's lines to `DIR/recipients.txt` and
/// `DIR/investigators.txt` (public keys only; created when missing).
pub fn add_to_server_keys(server_keys: &Path, keys: &NewKeys, name: &str) -> Result<(), KeyError> {
    fs::create_dir_all(server_keys).map_err(|e| KeyError::Write(server_keys.to_path_buf(), e))?;
    let (recipient, investigators) = server_lines(keys, name);
    for (file, text) in [(RECIPIENTS_FILE, recipient), (INVESTIGATORS_FILE, investigators)] {
        let path = server_keys.join(file);
        fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.sync_all()))
            .map_err(|e| KeyError::Write(path, e))?;
    }
    Ok(())
}

/// What `keys sign` signs, besides the key and the time.
pub struct KeySetRequest<'a> {
    /// The recipients file to publish.
    pub recipients: &'a Path,
    /// The investigators file whose `sign` keys are listed (for reporters'
    /// clients to verify replies).
    pub investigators: &'a Path,
    /// The deployment id.
    pub deployment: &'a str,
    /// Days until the set expires.
    pub valid_days: u64,
    /// The version to give it; `None`: one above the set already at `out`
    /// (1 when there is none).
    pub version: Option<u64>,
    /// The server key that signs bundles (`ed25519:BASE64`, printed by the
    /// server at start); `None`: the one of the set already at `out`.
    pub server: Option<&'a str>,
}

/// Signs the recipients and signing keys for `deployment` and writes the key
/// set the server publishes (`keyset.json`) to `out`, one version above the
/// set already there; returns what was signed. Shared by `peluit keys sign`
/// and the demo.
pub fn sign_keyset(
    req: &KeySetRequest<'_>,
    key: &SecretKey,
    now: u64,
    out: &Path,
) -> Result<crate::published::KeySetPayload, KeyError> {
    use crate::published::{KeySetPayload, FORMAT, MAX_VALID_DAYS};
    let text = fs::read_to_string(req.recipients).map_err(|e| KeyError::Read(req.recipients.to_path_buf(), e))?;
    let recipients = Recipients::parse(&text).map_err(|e| KeyError::Invalid(req.recipients.to_path_buf(), e))?;
    let people =
        fs::read_to_string(req.investigators).map_err(|e| KeyError::Read(req.investigators.to_path_buf(), e))?;
    let people =
        Investigators::parse(&people).map_err(|e| KeyError::Investigators(req.investigators.to_path_buf(), e))?;
    let signers = people.signers();
    if signers.is_empty() {
        return Err(KeyError::NoSigners(req.investigators.to_path_buf()));
    }
    if !(1..=MAX_VALID_DAYS).contains(&req.valid_days) {
        return Err(KeyError::ValidDays(req.valid_days));
    }
    let before = load_investigators_file(out)?.and_then(|set| crate::published::peek(&set));
    let previous = before.as_ref().map_or(0, |p| p.version);
    let server = match req.server {
        Some(k) => PublicKey::parse(k.trim()).ok_or_else(|| KeyError::BadServerKey(k.to_string()))?.to_text(),
        None => before.map(|p| p.server).unwrap_or_default(),
    };
    let version = match req.version {
        Some(v) if v <= previous => return Err(KeyError::VersionNotAbove(out.to_path_buf(), previous)),
        Some(v) => v,
        None => previous + 1,
    };
    let payload = KeySetPayload {
        v: FORMAT,
        deployment: req.deployment.to_string(),
        recipients: recipients.to_strings(),
        time: now,
        version,
        expires: now + req.valid_days * 86_400,
        signers,
        server,
    };
    let set = crate::published::sign(key, &payload);
    let json = serde_json::to_vec_pretty(&set).map_err(|e| KeyError::Write(out.to_path_buf(), e.into()))?;
    fs::write(out, json).map_err(|e| KeyError::Write(out.to_path_buf(), e))?;
    Ok(payload)
}

/// Reads a key file's text, asking `passphrase` for one when the file is
/// passphrase-protected.
pub fn read_secret_text(
    path: &Path,
    passphrase: impl FnOnce() -> Option<String>,
) -> Result<Zeroizing<String>, KeyError> {
    let raw = Zeroizing::new(fs::read(path).map_err(|e| KeyError::Read(path.to_path_buf(), e))?);
    if ed25519::is_age(&raw) {
        let p = Zeroizing::new(passphrase().ok_or_else(|| KeyError::PassphraseNeeded(path.to_path_buf()))?);
        return ed25519::unprotect(&raw, &p).map_err(|_| KeyError::WrongPassphrase(path.to_path_buf()));
    }
    String::from_utf8(raw.to_vec())
        .map(Zeroizing::new)
        .map_err(|_| KeyError::Invalid(path.to_path_buf(), CryptoError::BadIdentity))
}

/// Reads `DIR/keyset.json` if it is there.
pub fn load_published(keys_dir: &Path) -> Result<Option<crate::published::SignedKeySet>, KeyError> {
    load_investigators_file(&keys_dir.join(KEYSET_FILE))
}

/// Reads a signed key set file if it is there.
fn load_investigators_file(path: &Path) -> Result<Option<crate::published::SignedKeySet>, KeyError> {
    let path = path.to_path_buf();
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
pub fn load_investigators(keys_dir: &Path) -> Result<Investigators, KeyError> {
    let path = keys_dir.join(INVESTIGATORS_FILE);
    match fs::read_to_string(&path) {
        Ok(text) => Investigators::parse(&text).map_err(|e| KeyError::Investigators(path, e)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Investigators::default()),
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
mod tests;
