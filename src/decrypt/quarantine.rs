//! Submissions set aside: one that cannot be opened (wrong key, damaged, over
//! a limit) gets a reason file in its case's `quarantine/` folder instead of
//! stopping the run, so one hostile submission cannot keep every other one
//! from the investigators. Never writes anything a reporter wrote unescaped.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::batch::Batch;
use super::QUARANTINE_DIR;
use crate::export::IndexSubmission;
use crate::model::SubmissionKind;
use crate::private_fs::{make_dir, remove_if_present};
use crate::safe_text;

/// The reason file of a submission (`<seq>-<kind>.txt`), or of a whole
/// report entry (`entry.txt`), in the case folder `case`.
pub(super) fn reason_path(case: &Path, name: &str) -> PathBuf {
    case.join(QUARANTINE_DIR).join(format!("{name}.txt"))
}

/// The reason file of a submission that could not be opened.
pub(super) fn submission_reason(case_id: &str, s: &IndexSubmission, why: &str) -> String {
    let kind = match s.kind {
        SubmissionKind::Tip => "tip",
        SubmissionKind::FollowUp => "follow-up",
    };
    let blobs: Vec<&str> =
        std::iter::once(s.manifest.as_str()).chain(s.attachments.iter().map(String::as_str)).collect();
    format!(
        "Disisihkan: kiriman ini tidak dapat dibuka. / Set aside: this submission could not be opened.\n\n\
         Case: {case_id}\nSubmission: {} ({kind}, {})\nReason: {}\nEncrypted parts in the bundle: {}\n\n\
         The other submissions were written. To try another investigator's identity:\n\
         tar -xf BUNDLE {} && age -d -i identity.txt {}\n",
        s.seq,
        safe_text::line(&s.day),
        safe_text::line(why),
        blobs.join(" "),
        blobs[0],
        blobs[0],
    )
}

/// The reason file of a report whose entry could not be read.
pub(super) fn entry_reason(case_id: &str, why: &str) -> String {
    format!(
        "Disisihkan: data kasus ini tidak dapat dibaca. / Set aside: this case's entry could not be read.\n\n\
         Case: {case_id}\nReason: {}\n\nNone of its submissions in this bundle were written; the other cases were.\n",
        safe_text::line(why)
    )
}

/// Writes a reason file at the batch's next commit, unless the same reason
/// is already there (a rerun changes nothing).
pub(super) fn set_aside(batch: &mut Batch, path: &Path, text: &str) -> io::Result<()> {
    if fs::read(path).is_ok_and(|old| old == text.as_bytes()) {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        make_dir(dir)?;
    }
    batch.replace_file(path, text.as_bytes())
}

/// Removes the reason file of a submission that has now been written (with
/// another identity, say), and the folder once it is empty.
pub(super) fn clear(path: &Path) -> io::Result<()> {
    remove_if_present(path)?;
    if let Some(dir) = path.parent() {
        // Fails while other submissions are still set aside: that is fine.
        let _ = fs::remove_dir(dir);
    }
    Ok(())
}

/// How many reason files the case folder `case` holds.
pub fn set_aside_in(case: &Path) -> usize {
    fs::read_dir(case.join(QUARANTINE_DIR))
        .map(|d| d.flatten().filter(|e| e.path().extension().is_some_and(|x| x == "txt")).count())
        .unwrap_or(0)
}
