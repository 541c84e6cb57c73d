//! The outgoing actions file and the files beside it: lines are appended as
//! they are signed, moved to `NAME.applied.jsonl` once the server took them
//! and to `NAME.stale.jsonl` once it never can. Never deletes a signed line.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::actions::order::Place;
use crate::crypto;

/// Appends a signed line to an actions file (created 0600).
pub fn append(actions_file: &Path, line: &str) -> io::Result<()> {
    let mut f = OpenOptions::new().create(true).append(true).mode(0o600).open(actions_file)?;
    f.write_all(line.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()
}

/// The outgoing actions file of a case folder.
pub const ACTIONS_FILE: &str = "actions.jsonl";

/// The places of every line of `files` (missing files hold none).
pub(super) fn places(files: &[PathBuf]) -> io::Result<Vec<Place>> {
    let mut out = Vec::new();
    for f in files {
        match fs::read_to_string(f) {
            Ok(text) => out.extend(text.lines().filter_map(Place::of)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// `actions.jsonl` → `actions.TAG.jsonl` beside it.
fn beside(actions_file: &Path, tag: &str) -> PathBuf {
    let stem = actions_file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let name = match actions_file.extension() {
        Some(ext) => format!("{stem}.{tag}.{}", ext.to_string_lossy()),
        None => format!("{stem}.{tag}"),
    };
    actions_file.with_file_name(name)
}

/// Where the lines moved out of an outgoing actions file go:
/// `actions.jsonl` → `actions.applied.jsonl` beside it.
pub fn applied_file(actions_file: &Path) -> PathBuf {
    beside(actions_file, "applied")
}

/// Where lines the server can never apply go: `actions.stale.jsonl`.
pub fn stale_file(actions_file: &Path) -> PathBuf {
    beside(actions_file, "stale")
}

/// Moves the lines of an outgoing actions file that `applied` says the
/// server has applied into [`applied_file`], keeping the others (lines added
/// meanwhile, lines not yet pushed) in place, so the next push carries only
/// what is new. Returns how many lines moved; a missing file moves none.
///
/// Crash order: the moved lines are appended (and synced) to the applied
/// file before the outgoing file is replaced (a synced temporary file,
/// renamed), so a crash can at worst leave a line in both, never in neither.
pub fn move_applied(actions_file: &Path, applied: impl Fn(&str) -> bool) -> io::Result<usize> {
    move_lines(actions_file, &applied_file(actions_file), applied)
}

/// Moves the lines of `actions_file` that `pick` picks to the end of `to`,
/// with the crash order of [`move_applied`].
pub(super) fn move_lines(actions_file: &Path, to: &Path, pick: impl Fn(&str) -> bool) -> io::Result<usize> {
    let text = match fs::read_to_string(actions_file) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let (done, keep): (Vec<&str>, Vec<&str>) =
        text.lines().filter(|l| !l.trim().is_empty()).partition(|l| pick(l.trim()));
    if done.is_empty() {
        return Ok(0);
    }
    append(to, &done.join("\n"))?;
    let tmp = actions_file.with_file_name(format!(".{}.tmp", crypto::hex(&crypto::random_id()[..6])));
    let mut f = crate::private_fs::create_new(&tmp)?;
    for line in &keep {
        writeln!(f, "{line}")?;
    }
    f.sync_all()?;
    fs::rename(&tmp, actions_file)?;
    Ok(done.len())
}
