//! The investigators at the desk: one key folder each (as `peluit keygen`
//! makes it), unlocked once per run with its passphrase when it has one.
//!
//! Keys and passphrases live in memory only (zeroized on drop): never in an
//! argument, a file, a log line or a page.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use zeroize::Zeroizing;

use crate::crypto::ed25519::SecretKey;
use crate::crypto::Identities;
use crate::investigators::Role;
use crate::keys::{self, IDENTITY_FILE, SIGNING_FILE};

/// One investigator's keys, once opened.
struct Opened {
    /// Signs their actions.
    signing: SecretKey,
    /// The text of their age identity (opens bundles), parsed when needed.
    identity: Zeroizing<String>,
}

/// One investigator.
struct Person {
    /// Their name: the key folder's name, as `keygen` names them by default.
    name: String,
    /// The key folder.
    dir: PathBuf,
    /// Their keys, once opened.
    opened: Mutex<Option<Opened>>,
}

/// What a page shows of an investigator.
pub struct PersonView {
    /// Their name.
    pub name: String,
    /// Whether their keys are open for this run.
    pub open: bool,
    /// The signing key's fingerprint, once open.
    pub fingerprint: String,
}

/// Every investigator given with `--key`.
pub struct People(Vec<Person>);

impl People {
    /// Reads each key folder; keys without a passphrase open at once.
    pub fn load(dirs: &[PathBuf]) -> Result<People, String> {
        let mut list: Vec<Person> = Vec::new();
        for dir in dirs {
            for f in [IDENTITY_FILE, SIGNING_FILE] {
                if !dir.join(f).is_file() {
                    return Err(format!("{}: no {f} (give the key folder that `peluit keygen` made)", dir.display()));
                }
            }
            let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if list.iter().any(|p| p.name == name) {
                return Err(format!("two key folders are named {name}: each investigator needs their own name"));
            }
            let opened = open(dir, None).ok();
            list.push(Person { name, dir: dir.clone(), opened: Mutex::new(opened) });
        }
        Ok(People(list))
    }

    /// Opens `name`'s keys with `passphrase`.
    pub fn unlock(&self, name: &str, passphrase: &str) -> Result<(), String> {
        let p = self.0.iter().find(|p| p.name == name).ok_or("no such investigator")?;
        let opened = open(&p.dir, Some(passphrase))?;
        *p.opened.lock().map_err(|_| "keys unavailable")? = Some(opened);
        Ok(())
    }

    /// Every investigator and whether their keys are open.
    pub fn list(&self) -> Vec<PersonView> {
        self.0
            .iter()
            .map(|p| {
                let guard = p.opened.lock().ok();
                let fp = guard.as_ref().and_then(|g| g.as_ref()).map(|o| o.signing.public().fingerprint());
                PersonView { name: p.name.clone(), open: fp.is_some(), fingerprint: fp.unwrap_or_default() }
            })
            .collect()
    }

    /// Runs `f` with `name`'s signing key; `None` when it is not open.
    pub fn with_key<R>(&self, name: &str, f: impl FnOnce(&SecretKey) -> R) -> Option<R> {
        let p = self.0.iter().find(|p| p.name == name)?;
        let guard = p.opened.lock().ok()?;
        guard.as_ref().map(|o| f(&o.signing))
    }

    /// The identities of every open investigator, to open a bundle with.
    pub fn identities(&self) -> Option<Identities> {
        let mut text = Zeroizing::new(String::new());
        for p in &self.0 {
            if let Some(o) = p.opened.lock().ok().as_ref().and_then(|g| g.as_ref()) {
                text.push_str(&o.identity);
                text.push('\n');
            }
        }
        Identities::parse(&text).ok()
    }
}

/// Opens a key folder's signing key and identity.
fn open(dir: &Path, passphrase: Option<&str>) -> Result<Opened, String> {
    let ask = || passphrase.map(str::to_string);
    let signing = keys::read_secret_text(&dir.join(SIGNING_FILE), ask).map_err(|e| e.to_string())?;
    if keys::key_role(&signing) == Some(Role::Transfer) {
        return Err(format!("{}: a transfer key, not a signing key", dir.join(SIGNING_FILE).display()));
    }
    let signing = SecretKey::parse(&signing).map_err(|_| format!("{}: not a signing key", dir.display()))?;
    let identity = keys::read_secret_text(&dir.join(IDENTITY_FILE), ask).map_err(|e| e.to_string())?;
    Identities::parse(&identity).map_err(|_| format!("{}: not an age identity", dir.join(IDENTITY_FILE).display()))?;
    Ok(Opened { signing, identity })
}

impl People {
    /// The name of the open investigator whose signing key is `key`
    /// (`ed25519:…`), or a short fingerprint when none of the open keys is.
    pub fn name_of(&self, key: &str) -> String {
        for p in &self.0 {
            let open = p.opened.lock().ok().and_then(|g| g.as_ref().map(|o| o.signing.public().to_text()));
            if open.as_deref() == Some(key) {
                return p.name.clone();
            }
        }
        crate::crypto::ed25519::PublicKey::parse(key).map(|k| k.fingerprint()).unwrap_or_default()
    }
}
