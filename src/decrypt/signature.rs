//! The first pass of `decrypt` over a bundle: finds the server's signature,
//! its last entry, hashes every byte before it and checks the signature,
//! before anything is written. The cases folder's pin then says whether the
//! key is the server's ([`super::pin`]). Never trusts an entry of a bundle
//! whose signature has not been checked.

use std::io::{self, Read, Seek, SeekFrom};

use super::{bundle, DecryptError};
use crate::crypto::bundle_sig;
use crate::crypto::ed25519::{unb64, PublicKey};
use crate::export::{BundleSignature, SIGNATURE_PATH};

/// The largest signature entry read (a key and a signature: about 200 bytes).
const MAX_SIGNATURE: u64 = 4096;

/// Where the signature entry starts and what it says.
pub(super) fn find(r: impl Read) -> Result<(u64, BundleSignature), DecryptError> {
    let mut archive = tar::Archive::new(r);
    let mut found = None;
    for entry in bundle::entries(&mut archive)? {
        // Only plain files, refused on their header (bundle.rs says why).
        let mut entry = bundle::checked(entry)?;
        if found.is_some() {
            return Err(altered("an entry follows the signature"));
        }
        if entry.path()?.as_os_str() != SIGNATURE_PATH {
            continue;
        }
        let size = entry.header().size()?;
        if size > MAX_SIGNATURE {
            return Err(altered("its signature entry is oversized"));
        }
        let mut raw = Vec::new();
        (&mut entry).take(MAX_SIGNATURE).read_to_end(&mut raw)?;
        let sig: BundleSignature = serde_json::from_slice(&raw).map_err(|_| altered("its signature is malformed"))?;
        found = Some((entry.raw_header_position(), sig));
    }
    found.ok_or_else(|| {
        DecryptError::Pin(
            "the bundle is unsigned: the server signs every bundle with its key, so this one was altered in \
             transit or made by an older peluit; refused, nothing was written. Pull or export it again from an \
             up-to-date server"
                .into(),
        )
    })
}

/// Checks the bundle's signature with the key it names, then rewinds it:
/// returns that key, which the pin must then accept.
pub(super) fn check(bundle: &mut (impl Read + Seek)) -> Result<PublicKey, DecryptError> {
    let (at, sig) = find(&mut *bundle)?;
    let key = PublicKey::parse(&sig.key).ok_or_else(|| altered("its signature names no key"))?;
    let bytes = unb64(&sig.sig).ok_or_else(|| altered("its signature is malformed"))?;
    bundle.seek(SeekFrom::Start(0))?;
    let digest = bundle_sig::hash_prefix(&mut *bundle, at).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => altered("it ends early"),
        _ => e.into(),
    })?;
    bundle.seek(SeekFrom::Start(0))?;
    if !bundle_sig::verify(&key, &digest, &bytes) {
        return Err(altered("its signature does not verify"));
    }
    Ok(key)
}

/// The refusal of a bundle changed after the server signed it.
fn altered(why: &str) -> DecryptError {
    DecryptError::Pin(format!(
        "the bundle was altered after the server signed it ({why}); refused, nothing was written"
    ))
}
