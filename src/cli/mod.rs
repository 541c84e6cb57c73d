//! One function per subcommand, grouped by who runs it. `main` parses the
//! arguments and dispatches here; these functions print what the person at
//! the terminal needs and return errors to `main`, which exits.

pub mod args;
pub mod bundles;
pub mod data;
pub mod demo;
pub mod desk;
pub mod help;
pub mod investigator;
pub mod reporter;
pub mod serve;
pub mod trust;

use std::path::Path;

use anyhow::{Context, Result};

use peluit::crypto::ed25519::SecretKey;
use peluit::investigators::Role;
use peluit::keys;

/// The passphrase for key files: `PELUIT_PASSPHRASE`, or asked at the terminal
/// without echo. Never an argument, so it never shows in `ps`. `None` when
/// neither is there (no variable, no terminal).
pub fn passphrase() -> Option<zeroize::Zeroizing<String>> {
    if let Ok(p) = std::env::var("PELUIT_PASSPHRASE") {
        return Some(zeroize::Zeroizing::new(p));
    }
    rpassword::prompt_password("Passphrase: ").ok().map(zeroize::Zeroizing::new)
}

/// A new passphrase for key files. At a terminal it is asked twice: a typo in
/// a passphrase typed once would lock the identity, and every tip sealed to
/// it, away for ever. `PELUIT_PASSPHRASE` (scripts) is taken as it is.
pub fn new_passphrase() -> Result<zeroize::Zeroizing<String>> {
    if let Ok(p) = std::env::var("PELUIT_PASSPHRASE") {
        return Ok(zeroize::Zeroizing::new(p));
    }
    confirm_passphrase(|prompt| rpassword::prompt_password(prompt).ok().map(zeroize::Zeroizing::new))
}

/// Asks for a passphrase and then for it again; refuses when they differ.
fn confirm_passphrase(
    mut ask: impl FnMut(&str) -> Option<zeroize::Zeroizing<String>>,
) -> Result<zeroize::Zeroizing<String>> {
    let needed = "a passphrase is needed: set PELUIT_PASSPHRASE or run this at a terminal";
    let first = ask("New passphrase: ").context(needed)?;
    let again = ask("The same passphrase again: ").context(needed)?;
    if *first != *again {
        anyhow::bail!("the two passphrases differ; nothing was written");
    }
    Ok(first)
}

/// Reads a key file for `role`. A key made for the other role is refused
/// before it is used: signing with a transfer key makes a file the server
/// refuses whole, and a signing key on the networked machine is a leak.
pub fn load_key(path: &Path, role: Role) -> Result<SecretKey> {
    let text = keys::read_secret_text(path, || passphrase().map(|p| p.to_string()))?;
    let expected = match role {
        Role::Sign => keys::SIGNING_FILE,
        Role::Transfer => keys::TRANSFER_FILE,
    };
    if text.contains("AGE-SECRET-KEY-") {
        anyhow::bail!(
            "{} is an age identity (it decrypts tips, for `peluit decrypt --identity`); this command needs the {expected} from the same key folder",
            path.display()
        );
    }
    match (keys::key_role(&text), role) {
        (Some(Role::Transfer), Role::Sign) => anyhow::bail!(
            "{} is a transfer key: actions and key sets are signed with the signing key (signing.key)",
            path.display()
        ),
        (Some(Role::Sign), Role::Transfer) => anyhow::bail!(
            "{} is a signing key, which stays on the offline machine: pull and push take the transfer key (transfer.key)",
            path.display()
        ),
        _ => {}
    }
    SecretKey::parse(&text)
        .map_err(|_| anyhow::anyhow!("{}: not a peluit key file (this command needs {expected})", path.display()))
}

/// Unix seconds now.
pub fn now() -> u64 {
    peluit::clock::now_unix()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers(list: &[&str]) -> impl FnMut(&str) -> Option<zeroize::Zeroizing<String>> {
        let mut it = list.iter().map(|s| zeroize::Zeroizing::new(s.to_string())).collect::<Vec<_>>().into_iter();
        move |_| it.next()
    }

    #[test]
    fn a_new_passphrase_must_be_typed_the_same_twice() {
        let ok = confirm_passphrase(answers(&["correct horse battery", "correct horse battery"]));
        assert_eq!(ok.ok().as_deref().map(|s| s.as_str()), Some("correct horse battery"));
        let typo = confirm_passphrase(answers(&["correct horse battery", "correct horse batery"]));
        assert!(typo.err().is_some_and(|e| e.to_string().contains("differ")));
        let none = confirm_passphrase(answers(&[]));
        assert!(none.err().is_some_and(|e| e.to_string().contains("passphrase is needed")));
    }
}
