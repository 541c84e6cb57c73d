//! `check --data` and `compact`, on a stopped server's data folder.

use std::path::Path;

use anyhow::{bail, Context, Result};

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

/// `peluit compact`.
pub fn compact(data: &Path, out: &Path) -> Result<()> {
    let store = Store::open(data).with_context(|| format!("cannot open {}", data.display()))?;
    let r = store.compact_into(out)?;
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
