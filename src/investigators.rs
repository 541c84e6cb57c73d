//! `keys/investigators.txt`: the investigators' Ed25519 public keys, each with
//! a role. Pure parsing, no I/O.
//!
//! ```text
//! # public key                                        role      name
//! ed25519:3q2+7w...                                   sign      ani
//! ed25519:q83v...                                     transfer  ani-laptop
//! ```

use crate::crypto::ed25519::PublicKey;

/// What a key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Authorises actions (status, reply, delete). Lives offline.
    Sign,
    /// May only pull ciphertext and push actions already signed.
    Transfer,
}

/// One line of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Investigator {
    /// The key.
    pub key: PublicKey,
    /// Its role.
    pub role: Role,
    /// A name for people (the rest of the line).
    pub name: String,
}

/// All registered keys.
#[derive(Clone, Debug, Default)]
pub struct Investigators(Vec<Investigator>);

/// A line that is not `ed25519:KEY ROLE NAME`.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
#[error("line {line}: expected `ed25519:KEY sign|transfer NAME`")]
pub struct InvestigatorsError {
    /// 1-based line number.
    pub line: usize,
}

impl Investigators {
    /// Parses the file; `#` comments and blank lines are skipped.
    pub fn parse(text: &str) -> Result<Investigators, InvestigatorsError> {
        let mut out = Vec::new();
        for (n, line) in crate::text_file::entries(text) {
            let err = InvestigatorsError { line: n };
            let mut parts = line.split_whitespace();
            let key = parts.next().and_then(PublicKey::parse).ok_or_else(|| err.clone())?;
            let role = match parts.next() {
                Some("sign") => Role::Sign,
                Some("transfer") => Role::Transfer,
                _ => return Err(err),
            };
            let name = parts.collect::<Vec<_>>().join(" ");
            if name.is_empty() {
                return Err(err);
            }
            out.push(Investigator { key, role, name });
        }
        Ok(Investigators(out))
    }

    /// The entry for a key, if registered.
    pub fn get(&self, key: &PublicKey) -> Option<&Investigator> {
        self.0.iter().find(|i| i.key == *key)
    }

    /// Every entry.
    pub fn all(&self) -> &[Investigator] {
        &self.0
    }

    /// The `sign` keys as text (`ed25519:BASE64`), in file order: what the
    /// published key set lists for reporters' clients to verify replies.
    pub fn signers(&self) -> Vec<String> {
        self.0.iter().filter(|i| i.role == Role::Sign).map(|i| i.key.to_text()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_roles_and_names() {
        let k = PublicKey([7; 32]).to_text();
        let t = format!("# keys\n\n{k} sign Ani Rahma\n{k}  transfer  laptop\n");
        let set = Investigators::parse(&t).unwrap_or_default();
        assert_eq!(set.all().len(), 2);
        assert_eq!(set.all()[0].name, "Ani Rahma");
        assert_eq!(set.all()[1].role, Role::Transfer);
        assert_eq!(Investigators::parse(&format!("{k} admin x")).err(), Some(InvestigatorsError { line: 1 }));
        assert_eq!(Investigators::parse(&format!("\n{k} sign")).err(), Some(InvestigatorsError { line: 2 }));
        assert_eq!(Investigators::parse("ed25519:zz sign x").err(), Some(InvestigatorsError { line: 1 }));
    }
}
