//! `peluit trust`: pins a cases folder on the offline machine to a key set
//! the investigators signed offline, so that the recipients replies are
//! sealed to change only by a deliberate, signed act; and `peluit keys
//! server-key`, which makes or shows the server key that the pin names.
//! Never reads a bundle.

use std::path::Path;

use anyhow::{Context, Result};

use peluit::decrypt::pin;
use peluit::published::{Pin, SignedKeySet};

/// `peluit trust --cases DIR --keyset FILE --pin FINGERPRINT[:vN]`.
pub fn trust(cases: &Path, keyset: &Path, pin_text: &str) -> Result<()> {
    let pin = Pin::parse(pin_text)?;
    let raw = std::fs::read(keyset).with_context(|| format!("cannot read {}", keyset.display()))?;
    let set: SignedKeySet =
        serde_json::from_slice(&raw).with_context(|| format!("{}: not a signed key set", keyset.display()))?;
    let (old, new) = pin::trust(cases, &set, &pin, super::now())?;
    println!(
        "{} is pinned to key set version {} of deployment {}: replies are sealed to these recipients and the \
         case's reporter only, and bundles that name others are refused:\n  {}",
        cases.display(),
        new.keyset_version,
        new.deployment_id,
        new.recipients.join("\n  ")
    );
    match new.server_fingerprint() {
        Some(fp) => println!(
            "Bundles must be signed by the server key with fingerprint {fp}: check that the server printed the same \
             at start. Bundles signed by any other key are refused."
        ),
        None => println!(
            "The key set names no server key (signed without --server-key): the next bundle's key is pinned, and \
             decrypt prints its fingerprint to compare with what the server printed at start."
        ),
    }
    if let Some(o) = old {
        let mut changes = o.differences(&new.deployment_id, &new.recipients);
        if !o.server_key.is_empty() && o.server_key != new.server_key {
            changes.push(format!("the server key {} replaced", o.server_fingerprint().unwrap_or_default()));
        }
        let what = if changes.is_empty() { "the same recipients".into() } else { changes.join("; ") };
        println!("It was pinned to {}; against that, the new set has: {what}.", o.source());
    }
    Ok(())
}

/// `peluit keys server-key --out FILE`.
pub fn server_key(out: &Path) -> Result<()> {
    let (key, made) = peluit::server_key::load_or_create(out)?;
    let public = key.public();
    println!("{} the server key in {}:", if made { "Made" } else { "There is already" }, out.display());
    println!("{}", public.to_text());
    println!("Fingerprint: {}", public.fingerprint());
    println!(
        "Carry the `ed25519:` line to the offline machine for `peluit keys sign --server-key`; the server prints the \
         same fingerprint at start."
    );
    Ok(())
}
