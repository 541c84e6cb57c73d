//! `peluit trust`: pins a cases folder on the offline machine to a key set
//! the investigators signed offline, so that the recipients replies are
//! sealed to change only by a deliberate, signed act. Never reads a bundle.

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
    if let Some(o) = old {
        let changes = o.differences(&new.deployment_id, &new.recipients);
        let what = if changes.is_empty() { "the same recipients".into() } else { changes.join("; ") };
        println!("It was pinned to {}; against that, the new set has: {what}.", o.source());
    }
    Ok(())
}
