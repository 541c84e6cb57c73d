//! `check --data`, `compact` and `audit-disk`, on a stopped server's data folder.

use std::path::Path;

use anyhow::{bail, Context, Result};

use peluit::keys;
use peluit::store::Store;

/// `peluit check --data`.
pub fn check_data(data: &Path) -> Result<()> {
    if !data.is_dir() {
        bail!("{} is not a data folder", data.display());
    }
    let store = Store::open(data).with_context(|| format!("cannot open {}", data.display()))?;
    let r = store.check()?;
    print_check(&r);
    if !r.problems.is_empty() {
        bail!("{} problem(s) found", r.problems.len());
    }
    Ok(())
}

/// Prints what `check` found.
pub fn print_check(r: &peluit::store::CheckReport) {
    println!("{} report(s), {} blob(s), {} bytes of ciphertext read in full.", r.reports, r.blobs, r.bytes);
    if r.orphan_chunks > 0 {
        println!(
            "{} chunk(s) belong to no report (an interrupted upload or a purge): `peluit compact` drops them.",
            r.orphan_chunks
        );
    }
    for p in &r.problems {
        println!("problem: {p}");
    }
    if r.problems.is_empty() {
        println!("Every record and blob is intact and consistent.");
    }
}

/// `peluit compact`. A folder that still holds its deployment secret gives
/// it up to `secret` (a new file) first, then comes out in the current layout.
pub fn compact(data: &Path, out: &Path, secret: Option<&Path>) -> Result<()> {
    let store = Store::open(data).with_context(|| format!("cannot open {}", data.display()))?;
    let given = match (store.legacy_secret()?, secret) {
        (Some(s), Some(file)) => {
            keys::write_private(file, peluit::crypto::at_rest::secret_to_text(&s).as_bytes())?;
            println!("Moved the deployment secret out of the data folder into {}.", file.display());
            None
        }
        (Some(_), None) => bail!(
            "{} keeps the deployment secret inside it (an older layout): give --secret FILE, beside the server's keys \
             (e.g. /etc/peluit/keys/deployment.secret), to move it out",
            data.display()
        ),
        (None, Some(file)) => Some(keys::load_or_create_secret(file, false)?),
        (None, None) => None,
    };
    let r = store.compact_into(out, given.as_ref())?;
    println!("Compacted into {}:", out.display());
    print_check(&r);
    println!(
        "With the server still stopped, move {} aside, put {} in its place, start the server,",
        data.display(),
        out.display()
    );
    println!("then destroy the old folder (see SECURITY.md: only full-disk encryption truly erases on SSDs).");
    Ok(())
}

/// `peluit audit-disk`.
pub fn audit_disk(data: &Path) -> Result<()> {
    if !data.is_dir() {
        bail!("{} is not a data folder", data.display());
    }
    let report = peluit::store::audit_disk(data).with_context(|| format!("cannot read {}", data.display()))?;
    print!("{report}");
    Ok(())
}
