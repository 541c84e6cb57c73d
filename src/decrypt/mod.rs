//! Offline decryption of an export bundle into readable case folders.
//!
//! Runs on the investigators' air-gapped machine. Reads the tar once, in
//! order, holding one report at a time: `index.json`, then per report its
//! entry (`reports/<id>.json`) and its blobs, each submission's manifest
//! before its files. Memory does not grow with the number of reports.
//! File names from reporters are hostile input: [`safe_name`] keeps every
//! written path inside the case folder. A submission folder appears under its
//! final name only once its contents are durable (`batch.rs`).

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::crypto::{CryptoError, Identities};
use crate::export::{IndexReport, IndexSubmission, AUDIT_PATH};
use crate::model::{Manifest, SubmissionKind};

mod batch;
mod bundle;
mod names;

use crate::private_fs::{create_new, make_dir};
use batch::{write_new, Batch, CaseList};
pub use bundle::{read_bundle_audit, read_bundle_index, read_bundle_reports};
pub use names::safe_name;

/// Written at the top of the output folder: the deployment id and the
/// recipients, which the offline `case` commands need to seal replies.
pub const DEPLOYMENT_FILE: &str = "deployment.json";
/// Written at the top of the output folder: the ids of the cases that the
/// last run added something to (for `peluit cases`).
pub const LAST_RUN_FILE: &str = "last-run.json";
/// The largest manifest accepted (they are a few KiB; padding included).
const MAX_MANIFEST: u64 = 16 * 1024 * 1024;

/// Errors of offline decryption.
#[derive(Debug, thiserror::Error)]
pub enum DecryptError {
    /// The bundle is not a peluit export.
    #[error("not a peluit export bundle: {0}")]
    Format(String),
    /// A blob could not be decrypted with the given identity.
    #[error("cannot decrypt {0}: wrong identity, or the file is damaged")]
    Crypto(String),
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
}

/// Decrypts every blob of `bundle` into case folders under `out`.
pub fn decrypt(bundle: impl Read, ids: &Identities, out: &Path) -> Result<DecryptSummary, DecryptError> {
    let mut archive = tar::Archive::new(bundle);
    let mut entries = archive.entries()?;
    let index = bundle::read_index(entries.next())?;
    make_dir(out)?;
    let deployment = serde_json::json!({ "deployment_id": index.deployment_id, "recipients": index.recipients });
    batch::replace_now(&out.join(DEPLOYMENT_FILE), &serde_json::to_vec_pretty(&deployment).map_err(io::Error::other)?)?;
    let mut run = Run {
        ids,
        out,
        batch: Batch::new(out)?,
        touched: CaseList::create(out.join(LAST_RUN_FILE))?,
        summary: DecryptSummary::default(),
        case: None,
        unlocker: crate::crypto::reply_lock::Unlocker::new(ids),
    };
    for entry in entries {
        let mut entry = entry?;
        let path = entry.path()?.to_string_lossy().into_owned();
        if path == AUDIT_PATH {
            continue;
        }
        match bundle::report_id(&path)? {
            Some(id) => {
                let report = bundle::read_report(&mut entry, id, &index)?;
                run.start_case(report)?;
            }
            None => run.blob(&path, &mut entry)?,
        }
    }
    run.finish()
}

/// One decryption run: the output, the batch, and the current case only.
struct Run<'a> {
    /// The investigator's identities.
    ids: &'a Identities,
    /// The output folder.
    out: &'a Path,
    /// Written but not yet under final names.
    batch: Batch,
    /// The ids of the cases this run added to (becomes `last-run.json`).
    touched: CaseList,
    /// Counts so far.
    summary: DecryptSummary,
    /// The report whose blobs come now.
    case: Option<Case>,
    /// Opens the reports' reply keys (each run's key once).
    unlocker: crate::crypto::reply_lock::Unlocker<'a>,
}

/// The report being decrypted and where its blobs have got to.
struct Case {
    /// Its entry.
    report: IndexReport,
    /// Its folder.
    dir: PathBuf,
    /// The submission the next blob belongs to.
    sub: usize,
    /// The next blob of that submission: 0 the manifest, `i + 1` attachment `i`.
    blob: usize,
    /// The submission being written, once its manifest is read.
    open: Option<Open>,
    /// Set once the case's id is in `last-run.json`.
    touched: bool,
}

/// A submission whose manifest has been read.
enum Open {
    /// An earlier run wrote it: its blobs are skipped.
    Skip,
    /// Being written into `<seq>-<kind>.partial`.
    Write {
        /// The `.partial` folder.
        dir: PathBuf,
        /// The decrypted manifest (file names and true sizes).
        manifest: Box<Manifest>,
    },
}

impl Case {
    /// The tar path of the next blob, if the report has one more.
    fn expected(&self) -> Option<&str> {
        let s = self.report.submissions.get(self.sub)?;
        match self.blob {
            0 => Some(&s.manifest),
            i => s.attachments.get(i - 1).map(String::as_str),
        }
    }
}

impl Run<'_> {
    /// Starts a report: checks the previous one is complete, then writes the
    /// case folder and stages its `case.json`.
    fn start_case(&mut self, mut report: IndexReport) -> Result<(), DecryptError> {
        self.end_case()?;
        // The server keeps the reply key locked for us; the case folder needs it clear to seal replies.
        if report.reply_recipient.is_empty() {
            report.reply_recipient = self.unlocker.unlock(&report.reply_key, &report.reply_sealed).unwrap_or_default();
        }
        let dir = self.out.join(&report.id);
        make_dir(&dir)?;
        let json = serde_json::to_vec_pretty(&report).map_err(io::Error::other)?;
        self.batch.replace_file(&dir.join("case.json"), &json)?;
        self.summary.cases += 1;
        self.case = Some(Case { report, dir, sub: 0, blob: 0, open: None, touched: false });
        Ok(())
    }

    /// Checks that every blob of the current report came.
    fn end_case(&mut self) -> Result<(), DecryptError> {
        match self.case.take() {
            Some(c) => match c.expected() {
                Some(missing) => Err(DecryptError::Format(format!("{missing} of report {} is missing", c.report.id))),
                None => Ok(()),
            },
            None => Ok(()),
        }
    }

    /// Handles a blob entry, which must be the current report's next blob.
    fn blob(&mut self, path: &str, entry: &mut impl Read) -> Result<(), DecryptError> {
        let case = self
            .case
            .as_mut()
            .ok_or_else(|| DecryptError::Format(format!("unexpected entry {path:?} before any report")))?;
        if case.expected() != Some(path) {
            return Err(DecryptError::Format(format!(
                "unexpected entry {path:?}: the next blob of report {} is {}",
                case.report.id,
                case.expected().unwrap_or("none")
            )));
        }
        if case.blob == 0 {
            self.manifest(path, entry)?;
        } else {
            self.attachment(path, entry)?;
        }
        self.advance()
    }

    /// Reads a submission's manifest and opens its `.partial` folder, or
    /// marks it skipped when an earlier run wrote it.
    fn manifest(&mut self, path: &str, entry: &mut impl Read) -> Result<(), DecryptError> {
        let Some(case) = self.case.as_mut() else { return Ok(()) };
        let Some(sub) = case.report.submissions.get(case.sub) else { return Ok(()) };
        let done = case.dir.join(submission_dir(sub));
        let partial = done.with_extension("partial");
        let leftover = partial.exists();
        if leftover {
            // Staged in this batch (the same submission twice in a bundle):
            // the commit lets the first copy land. Or left by an interrupted
            // run: committing early costs one sync.
            self.batch.commit()?;
        }
        if done.exists() {
            if leftover && partial.exists() {
                fs::remove_dir_all(&partial)?;
            }
            self.summary.skipped += 1;
            case.open = Some(Open::Skip);
            return Ok(());
        }
        let manifest = read_manifest(self.ids, entry, path)?;
        // Left by an interrupted run: its contents may be incomplete.
        if leftover && partial.exists() {
            fs::remove_dir_all(&partial)?;
        }
        make_dir(&partial.join("files"))?;
        let json = serde_json::to_vec_pretty(&manifest).map_err(io::Error::other)?;
        let md = markdown(&case.report, sub, &manifest);
        write_new(&partial.join("report.json"), &json)?;
        write_new(&partial.join("report.md"), md.as_bytes())?;
        self.batch.wrote((json.len() + md.len()) as u64);
        case.open = Some(Open::Write { dir: partial, manifest: Box::new(manifest) });
        Ok(())
    }

    /// Decrypts attachment `case.blob - 1` into the open submission's `files/`.
    fn attachment(&mut self, path: &str, entry: &mut impl Read) -> Result<(), DecryptError> {
        let Some(case) = self.case.as_ref() else { return Ok(()) };
        let Some(Open::Write { dir, manifest }) = &case.open else { return Ok(()) };
        let i = case.blob - 1;
        let info = manifest
            .attachments
            .get(i)
            .ok_or_else(|| DecryptError::Format(format!("{path} is not in its manifest")))?;
        let files = dir.join("files");
        let name = names::unique_name(&files, &safe_name(&info.name, i + 1), i + 1);
        let mut reader = self.ids.open(entry).map_err(|_| DecryptError::Crypto(path.to_string()))?;
        let mut f = create_new(&files.join(name))?;
        let n =
            io::copy(&mut (&mut reader).take(info.size), &mut f).map_err(|_| DecryptError::Crypto(path.to_string()))?;
        // Read the padding too: the age stream is only authenticated to its end.
        io::copy(&mut reader, &mut io::sink()).map_err(|_| DecryptError::Crypto(path.to_string()))?;
        if n != info.size {
            return Err(DecryptError::Crypto(path.to_string()));
        }
        batch::written(f)?;
        self.batch.wrote(n);
        self.summary.files += 1;
        Ok(())
    }

    /// Moves to the next blob; stages a submission once its last blob is in.
    fn advance(&mut self) -> Result<(), DecryptError> {
        let Some(case) = self.case.as_mut() else { return Ok(()) };
        case.blob += 1;
        if case.blob <= case.report.submissions.get(case.sub).map_or(0, |s| s.attachments.len()) {
            return Ok(());
        }
        if let Some(Open::Write { dir, .. }) = case.open.take() {
            self.batch.stage(dir.clone(), dir.with_extension(""))?;
            self.summary.submissions += 1;
            if !case.touched {
                self.touched.push(&case.report.id)?;
                case.touched = true;
            }
        }
        case.sub += 1;
        case.blob = 0;
        Ok(())
    }

    /// Checks the last report, commits the last batch and writes `last-run.json`.
    fn finish(mut self) -> Result<DecryptSummary, DecryptError> {
        self.end_case()?;
        self.batch.commit()?;
        self.touched.finish()?;
        Ok(self.summary)
    }
}

/// The folder name of a submission: sequence first, so folders sort in order.
fn submission_dir(s: &IndexSubmission) -> String {
    let kind = match s.kind {
        SubmissionKind::Tip => "tip",
        SubmissionKind::FollowUp => "followup",
    };
    format!("{:012}-{kind}", s.seq)
}

/// Decrypts a manifest and strips its padding.
fn read_manifest(ids: &Identities, entry: &mut impl Read, path: &str) -> Result<Manifest, DecryptError> {
    let reader = ids.open(entry).map_err(|e: CryptoError| DecryptError::Crypto(format!("{path} ({e})")))?;
    let mut plain = Zeroizing::new(Vec::new());
    reader.take(MAX_MANIFEST).read_to_end(&mut plain).map_err(|_| DecryptError::Crypto(path.to_string()))?;
    let text =
        std::str::from_utf8(&plain).map_err(|_| DecryptError::Format(format!("{path}: manifest is not UTF-8")))?;
    serde_json::from_str(text.trim_end_matches([' ', '\0'])).map_err(|e| DecryptError::Format(format!("{path}: {e}")))
}

/// The report as Markdown, labelled in Indonesian and English.
fn markdown(r: &IndexReport, s: &IndexSubmission, m: &Manifest) -> String {
    let kind = match s.kind {
        SubmissionKind::Tip => "Laporan / Report",
        SubmissionKind::FollowUp => "Tambahan informasi / Follow-up",
    };
    let mut md =
        format!("# {kind}\n\n- Kasus / Case: `{}`\n- Tanggal / Day: {}\n- Status: {}\n", r.id, s.day, r.status.id());
    if !m.category.is_empty() {
        md += &format!("- Kategori / Category: {}\n", m.category);
    }
    let f = &m.fields;
    for (label, value) in [
        ("Apa / What", &f.what),
        ("Siapa / Who", &f.who),
        ("Di mana / Where", &f.where_),
        ("Kapan / When", &f.when),
        ("Bagaimana / How", &f.how),
        ("Keterangan / Text", &m.text),
        ("Identitas pelapor / Reporter's identity", &m.identity),
    ] {
        if !value.trim().is_empty() {
            md += &format!("\n## {label}\n\n{}\n", value.trim_end());
        }
    }
    if !m.attachments.is_empty() {
        md += "\n## Lampiran / Attachments\n\n";
        for (i, a) in m.attachments.iter().enumerate() {
            md += &format!("{}. `{}` ({} bytes, {})\n", i + 1, safe_name(&a.name, i + 1), a.size, a.content_type);
        }
    }
    md
}

#[cfg(test)]
mod tests;
