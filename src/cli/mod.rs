//! One function per subcommand, grouped by who runs it. `main` parses the
//! arguments and dispatches here; these functions print what the person at
//! the terminal needs and return errors to `main`, which exits.

pub mod data;
pub mod demo;
pub mod help;
pub mod investigator;
pub mod reporter;
pub mod serve;

use std::path::Path;

use anyhow::Result;

use peluit::crypto::ed25519::SecretKey;
use peluit::{keys, server};

/// The passphrase for key files: `PELUIT_PASSPHRASE`, or asked at the terminal
/// without echo. Never an argument, so it never shows in `ps`.
pub fn passphrase() -> Option<zeroize::Zeroizing<String>> {
    if let Ok(p) = std::env::var("PELUIT_PASSPHRASE") {
        return Some(zeroize::Zeroizing::new(p));
    }
    rpassword::prompt_password("Passphrase: ").ok().map(zeroize::Zeroizing::new)
}

/// Reads a signing or transfer key file; `expected` names the file the
/// command needs (`signing.key` or `transfer.key`), for the error message.
pub fn load_key(path: &Path, expected: &str) -> Result<SecretKey> {
    let text = keys::read_secret_text(path, || passphrase().map(|p| p.to_string()))?;
    if text.contains("AGE-SECRET-KEY-") {
        anyhow::bail!(
            "{} is an age identity (it decrypts tips, for `peluit decrypt --identity`); this command needs the {expected} from the same key folder",
            path.display()
        );
    }
    SecretKey::parse(&text)
        .map_err(|_| anyhow::anyhow!("{}: not a peluit key file (this command needs {expected})", path.display()))
}

/// Unix seconds now.
pub fn now() -> u64 {
    server::now_unix()
}
