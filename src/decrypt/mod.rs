//! Offline decryption of an export bundle into readable case folders.
//!
//! Runs on the investigators' air-gapped machine. Reads the tar once, in
//! order, holding one report at a time: `index.json`, then per report its
//! entry (`reports/<id>.json`) and its blobs, each submission's manifest
//! before its files. Memory does not grow with the number of reports.
//! File names from reporters are hostile input: [`safe_name`] keeps every
//! written path inside the case folder, and [`crate::safe_text`] keeps their
//! text from forging lines of `report.md`. A submission folder appears under
//! its final name only once its contents are durable (`batch.rs`).
//!
//! What a reporter controls cannot stop the run: a submission that does not
//! open (wrong key, damaged, over a limit) and a report entry over its limit
//! are set aside with a reason (`quarantine.rs`), and the rest is written.
//! What only export or the carrier controls (order, names, the JSON of the
//! entries) is damage or tampering in transit, and fails the whole run.

use std::io::{self, Read, Seek};
use std::path::Path;

use crate::crypto::Identities;
use crate::export::{AUDIT_PATH, SIGNATURE_PATH};

mod authority;
mod batch;
mod bundle;
mod conversation;
mod current;
mod followups;
mod names;
mod open;
pub mod pin;
mod quarantine;
mod run;
mod signature;

pub use bundle::{read_bundle_index, read_bundle_reports, verify_bundle_log, LogCheck};
pub use conversation::{CONVERSATION_FILE, MESSAGES_DIR, UNSIGNED};
pub use names::safe_name;
pub use open::{markdown, read_manifest};
pub use quarantine::set_aside_in;
use run::Run;

/// At the top of the output folder: the pin (`pin.rs`), the deployment id
/// and the recipients that the offline `case` commands seal replies to.
pub const DEPLOYMENT_FILE: &str = "deployment.json";
/// Written at the top of the output folder: the ids of the cases that the
/// last run added something to (for `peluit cases`).
pub const LAST_RUN_FILE: &str = "last-run.json";
/// The folder of a case where submissions that cannot be opened are set
/// aside, each as a file that says why.
pub const QUARANTINE_DIR: &str = "quarantine";
/// The largest manifest accepted (they are a few KiB; padding included).
const MAX_MANIFEST: u64 = 16 * 1024 * 1024;

/// Errors of offline decryption.
#[derive(Debug, thiserror::Error)]
pub enum DecryptError {
    /// The bundle is not a peluit export.
    #[error("not a peluit export bundle: {0}")]
    Format(String),
    /// An entry is larger than decrypt reads.
    #[error("{0}")]
    Limit(String),
    /// The bundle disagrees with the cases folder's pin.
    #[error("{0}")]
    Pin(String),
    /// The audit log does not verify.
    #[error("{AUDIT_PATH}: {0}")]
    Log(#[from] crate::actions::ChainError),
    /// Reading or writing failed.
    #[error("i/o: {0}")]
    Io(#[from] io::Error),
}

/// What a decryption produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DecryptSummary {
    /// Case folders written or updated.
    pub cases: usize,
    /// Submissions written.
    pub submissions: usize,
    /// Attachments written.
    pub files: usize,
    /// Submissions already present from an earlier run and skipped.
    pub skipped: usize,
    /// Submissions, replies and notes that could not be opened, set aside
    /// in `quarantine/`.
    pub set_aside: usize,
    /// Replies and status notes written.
    pub messages: usize,
    /// Cases marked as deleted on the server.
    pub deleted: usize,
}

/// Checks the server's signature over a whole bundle (for `verify-log`) and
/// rewinds it; returns the key that signed it, which the caller compares
/// with a pin.
pub fn check_bundle_signature(
    bundle: &mut (impl Read + Seek),
) -> Result<crate::crypto::ed25519::PublicKey, DecryptError> {
    signature::check(bundle)
}

/// Decrypts every blob of `bundle` into case folders under `out`, in two
/// passes over it: the first checks the server's signature over the whole
/// bundle and the second writes, so that nothing is written from a bundle
/// that is unsigned, altered or signed by a key other than the pinned one.
pub fn decrypt(mut bundle: impl Read + Seek, ids: &Identities, out: &Path) -> Result<DecryptSummary, DecryptError> {
    let signer = signature::check(&mut bundle)?;
    let mut archive = tar::Archive::new(bundle);
    let mut entries = bundle::entries(&mut archive)?;
    let index = bundle::read_index(entries.next())?;
    // Before anything is written: a bundle that disagrees with the pin is refused.
    let pin = pin::check_or_pin(out, &index, &signer)?;
    let mut run = Run::new(ids, out)?;
    // The signing keys of the pin: a status change is the investigators'
    // only if one of them signed it (a bundle without a log proves none).
    run.authority = authority::Authority::for_pin(&pin);
    let each = || -> Result<(), DecryptError> {
        for entry in entries {
            let mut entry = bundle::checked(entry)?;
            let path = entry.path()?.to_string_lossy().into_owned();
            if path == AUDIT_PATH {
                run.authority.read_log(&mut entry, &index.deployment_id)?;
                continue;
            }
            if path == SIGNATURE_PATH {
                continue;
            }
            if let Some(id) = bundle::deleted_id(&path)? {
                let size = entry.header().size()?;
                let deletion = bundle::read_deletion(&mut entry, size, id)?;
                run.deleted(&deletion.id, &deletion.day)?;
                continue;
            }
            match bundle::report_id(&path)? {
                Some(id) => match bundle::read_report(&mut entry, id, &index) {
                    Ok(report) => run.start_case(report)?,
                    Err(DecryptError::Limit(why)) => run.set_aside_case(id, &why)?,
                    Err(e) => return Err(e),
                },
                None => run.blob(&path, &mut entry)?,
            }
        }
        run.end_case()
    };
    let result = each();
    run.finish(result)
}

#[cfg(test)]
mod tests;
