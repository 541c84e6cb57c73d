//! One pass over a bundle's entries, holding one case at a time: a case's
//! entry starts it, its blobs follow (each submission's manifest before its
//! files, then its replies and notes), and the next case or the end of the
//! bundle finishes it. What cannot be opened is set aside with its reason.

use std::fs;
use std::io::{self, Read};
use std::path::Path;

use zeroize::Zeroizing;

use super::batch::{write_new, Batch, CaseList};
use super::current::{Case, Open};
use super::open::{copy_plain, Copy};
use super::*;
use crate::crypto::Identities;
use crate::export::{IndexReport, IndexSubmission};
use crate::model::SubmissionKind;
use crate::private_fs::{create_new, make_dir};

/// One decryption run: the output, the batch, and the current case only.
pub(super) struct Run<'a> {
    /// The status changes the bundle's audit log proves.
    pub(super) authority: super::authority::Authority,
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
    /// Set while the blobs of a report whose entry was set aside go by.
    skipping: bool,
    /// Opens the reports' reply keys (each run's key once).
    unlocker: crate::crypto::reply_lock::Unlocker<'a>,
}

impl<'a> Run<'a> {
    /// A run writing into `out` with `ids`.
    pub(super) fn new(ids: &'a Identities, out: &'a Path) -> Result<Run<'a>, DecryptError> {
        Ok(Run {
            ids,
            out,
            batch: Batch::new(out)?,
            touched: CaseList::create(out.join(LAST_RUN_FILE))?,
            summary: DecryptSummary::default(),
            case: None,
            skipping: false,
            unlocker: crate::crypto::reply_lock::Unlocker::new(ids),
            authority: Default::default(),
        })
    }

    /// Ends the run whatever `result` was: what was complete lands even
    /// after a failure (a submission in progress stays `.partial`, and the
    /// next run replaces it).
    pub(super) fn finish(mut self, result: Result<(), DecryptError>) -> Result<DecryptSummary, DecryptError> {
        let committed = self.batch.commit();
        let listed = self.touched.finish();
        result?;
        committed?;
        listed?;
        Ok(self.summary)
    }
}

impl Run<'_> {
    /// Starts a report: checks the previous one is complete, then writes the
    /// case folder and stages its `case.json`.
    pub(super) fn start_case(&mut self, mut report: IndexReport) -> Result<(), DecryptError> {
        self.end_case()?;
        self.skipping = false;
        // The server keeps the reply key locked for us; the case folder needs it clear to seal replies.
        if report.reply_recipient.is_empty() {
            report.reply_recipient = self.unlocker.unlock(&report.reply_key, &report.reply_sealed).unwrap_or_default();
        }
        let dir = self.out.join(&report.id);
        make_dir(&dir)?;
        // Every submission received so far, whatever the bundle says it is.
        let earlier: Option<IndexReport> =
            fs::read(dir.join("case.json")).ok().and_then(|raw| serde_json::from_slice(&raw).ok());
        // A report's reply key never changes (it comes from the receipt): one
        // that does is a bundle altered to steer replies elsewhere.
        if let Some(first) = earlier.as_ref().map(|e| &e.reply_recipient).filter(|r| !r.is_empty()) {
            if report.reply_recipient.is_empty() {
                report.reply_recipient = first.clone();
            } else if report.reply_recipient != *first {
                return Err(DecryptError::Pin(format!(
                    "report {}: the bundle names another reply key ({}) than the one decrypted earlier ({first}); \
                     the bundle was altered, so it was not used",
                    report.id,
                    crate::safe_text::line(&report.reply_recipient)
                )));
            }
        }
        super::authority::settle(&mut report, earlier, &self.authority);
        let json = serde_json::to_vec_pretty(&report).map_err(io::Error::other)?;
        self.batch.replace_file(&dir.join("case.json"), &json)?;
        self.summary.cases += 1;
        self.case = Some(Case {
            report,
            dir,
            sub: 0,
            blob: 0,
            open: None,
            touched: false,
            staged: Vec::new(),
            hashes: Vec::new(),
            marked: false,
        });
        Ok(())
    }

    /// Checks that every blob of the current report came, then writes its
    /// conversation anew.
    pub(super) fn end_case(&mut self) -> Result<(), DecryptError> {
        let Some(mut c) = self.case.take() else { return Ok(()) };
        if let Some(missing) = c.expected() {
            return Err(DecryptError::Format(format!("{missing} of report {} is missing", c.report.id)));
        }
        if c.marked {
            c.report.unsigned.sort_unstable();
            c.report.unsigned.dedup();
            let json = serde_json::to_vec_pretty(&c.report).map_err(io::Error::other)?;
            self.batch.replace_file(&c.dir.join("case.json"), &json)?;
        }
        let md = conversation::render(&c.dir, &c.report, &c.staged);
        self.batch.replace_file(&c.dir.join(CONVERSATION_FILE), md.as_bytes())?;
        Ok(())
    }

    /// Marks a case deleted on the server: its folder stays (the
    /// investigators' record), `case.json` and the conversation say so, and
    /// `peluit cases` shows it without deadlines.
    pub(super) fn deleted(&mut self, id: &str, day: &str) -> Result<(), DecryptError> {
        self.end_case()?;
        self.skipping = false;
        let dir = self.out.join(id);
        let Ok(raw) = fs::read(dir.join("case.json")) else { return Ok(()) };
        let Ok(mut report) = serde_json::from_slice::<IndexReport>(&raw) else { return Ok(()) };
        if report.deleted.as_deref() == Some(day) {
            return Ok(());
        }
        report.deleted = Some(day.to_string());
        let json = serde_json::to_vec_pretty(&report).map_err(io::Error::other)?;
        self.batch.replace_file(&dir.join("case.json"), &json)?;
        let md = conversation::render(&dir, &report, &[]);
        self.batch.replace_file(&dir.join(CONVERSATION_FILE), md.as_bytes())?;
        self.touched.push(id)?;
        self.summary.deleted += 1;
        Ok(())
    }

    /// Decrypts a reply or status note into `messages/`, once; one that does
    /// not open is set aside like a submission.
    fn message(&mut self, path: &str, entry: &mut impl Read) -> Result<(), DecryptError> {
        let Some(case) = self.case.as_mut() else { return Ok(()) };
        let Some(m) = case.message().cloned() else { return Ok(()) };
        case.sub += 1;
        let name = conversation::message_file(&m);
        let file = case.dir.join(MESSAGES_DIR).join(&name);
        if file.exists() {
            return Ok(());
        }
        // The ciphertext is hashed as it is read: a reply or note counts as
        // the investigators' only if a signed line carried that very text.
        let mut hashing = crate::crypto::sha256::HashingReader::new(entry);
        let opened = conversation::read_message(self.ids, &mut hashing, path);
        let digest = hashing.finish()?;
        if self.authority.unsigned_text(&case.report.id, &digest) {
            case.report.unsigned.push(m.seq);
            case.marked = true;
        }
        match opened {
            Ok(text) => {
                let md = Zeroizing::new(conversation::message_markdown(&m, &text));
                make_dir(&case.dir.join(MESSAGES_DIR))?;
                self.batch.replace_file(&file, md.as_bytes())?;
                case.staged.push((name, Some(md.to_string())));
                self.summary.messages += 1;
            }
            Err(why) => {
                let text = format!(
                    "Disisihkan: pesan ini tidak dapat dibuka. / Set aside: this message could not be opened.\n\n\
                     Case: {}\nMessage: {} ({})\nReason: {}\n",
                    case.report.id,
                    m.seq,
                    m.blob,
                    crate::safe_text::line(&why)
                );
                let reason = quarantine::reason_path(&case.dir, &name.replace(".md", ""));
                quarantine::set_aside(&mut self.batch, &reason, &text)?;
                self.summary.set_aside += 1;
            }
        }
        self.touch()
    }

    /// Sets aside a report whose entry is over its limit, and the blobs
    /// that follow it.
    pub(super) fn set_aside_case(&mut self, id: &str, why: &str) -> Result<(), DecryptError> {
        self.end_case()?;
        let dir = self.out.join(id);
        make_dir(&dir)?;
        let text = quarantine::entry_reason(id, why);
        quarantine::set_aside(&mut self.batch, &quarantine::reason_path(&dir, "entry"), &text)?;
        self.touched.push(id)?;
        self.summary.set_aside += 1;
        self.skipping = true;
        Ok(())
    }

    /// Sets aside the current submission: its `.partial` folder goes, a
    /// reason file takes its place, and its other blobs are skipped.
    fn set_aside(&mut self, why: &str) -> Result<(), DecryptError> {
        let Some(case) = self.case.as_mut() else { return Ok(()) };
        let Some(sub) = case.report.submissions.get(case.sub) else { return Ok(()) };
        if let Some(Open::Write { dir, .. }) = case.open.take() {
            fs::remove_dir_all(dir)?;
        }
        let text = quarantine::submission_reason(&case.report.id, sub, why);
        quarantine::set_aside(&mut self.batch, &quarantine::reason_path(&case.dir, &submission_dir(sub)), &text)?;
        case.open = Some(Open::SetAside);
        self.summary.set_aside += 1;
        self.touch()
    }

    /// Puts the current case in `last-run.json`, once.
    fn touch(&mut self) -> Result<(), DecryptError> {
        if let Some(case) = self.case.as_mut().filter(|c| !c.touched) {
            self.touched.push(&case.report.id)?;
            case.touched = true;
        }
        Ok(())
    }

    /// Handles a blob entry, which must be the current report's next blob.
    pub(super) fn blob(&mut self, path: &str, entry: &mut impl Read) -> Result<(), DecryptError> {
        if self.skipping && self.case.is_none() && bundle::is_blob_path(path) {
            return Ok(());
        }
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
        if case.sub >= case.report.submissions.len() {
            return self.message(path, entry);
        }
        if case.blob == 0 {
            case.hashes.clear();
        }
        // Hashed as it goes by, to the end: a follow-up's tag covers every byte.
        let mut hashing = crate::crypto::sha256::HashingReader::new(entry);
        if case.blob == 0 {
            self.manifest(path, &mut hashing)?;
        } else {
            self.attachment(path, &mut hashing)?;
        }
        let hash = hashing.finish()?;
        if let Some(c) = self.case.as_mut() {
            c.hashes.push(hash);
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
        // Still there after the commit: left by an interrupted run, and its
        // contents may be incomplete.
        if leftover && partial.exists() {
            fs::remove_dir_all(&partial)?;
        }
        if done.exists() {
            self.summary.skipped += 1;
            case.open = Some(Open::Skip);
            return Ok(());
        }
        let manifest = match read_manifest(self.ids, entry, path) {
            Ok(m) => m,
            Err(why) => return self.set_aside(&why),
        };
        make_dir(&partial.join("files"))?;
        case.open = Some(Open::Write { dir: partial, manifest: Box::new(manifest) });
        Ok(())
    }

    /// Decrypts attachment `case.blob - 1` into the open submission's
    /// `files/`; sets the submission aside if it does not open whole.
    fn attachment(&mut self, path: &str, entry: &mut impl Read) -> Result<(), DecryptError> {
        let Some(case) = self.case.as_ref() else { return Ok(()) };
        let Some(Open::Write { dir, manifest }) = &case.open else { return Ok(()) };
        let i = case.blob - 1;
        let Some(info) = manifest.attachments.get(i) else {
            return self.set_aside(&format!("{path} is not in its manifest"));
        };
        let files = dir.join("files");
        let name = names::unique_name(&files, &safe_name(&info.name, i + 1), i + 1);
        let size = info.size;
        let mut f = create_new(&files.join(name))?;
        match copy_plain(self.ids, entry, &mut f, size) {
            Ok(()) => {}
            Err(Copy::Write(e)) => return Err(e.into()),
            Err(Copy::Open(why)) => return self.set_aside(&format!("cannot decrypt {path} ({why})")),
        }
        batch::written(f)?;
        self.batch.wrote(size);
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
        let written = match case.open.take() {
            Some(Open::Write { dir, manifest }) => {
                // Written once every blob is in: a follow-up's tag covers them all.
                let sub = case.report.submissions.get(case.sub).ok_or_else(|| io::Error::other("no submission"))?;
                let verified = followups::from_receipt_holder(self.ids, &case.report, sub, &case.hashes);
                let (json, md) = followups::report_files(&case.report, sub, &manifest, verified)?;
                write_new(&dir.join("report.json"), &json)?;
                write_new(&dir.join("report.md"), md.as_bytes())?;
                self.batch.wrote((json.len() + md.len()) as u64);
                if !verified {
                    case.report.unverified.push(sub.seq);
                    case.marked = true;
                }
                let done = dir.with_extension("");
                let name = done.file_name().unwrap_or_default().to_string_lossy().into_owned();
                quarantine::clear(&quarantine::reason_path(&case.dir, &name))?;
                case.staged.push((name, None));
                self.batch.stage(dir, done)?;
                self.summary.submissions += 1;
                true
            }
            _ => false,
        };
        case.sub += 1;
        case.blob = 0;
        if written {
            self.touch()?;
        }
        Ok(())
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
