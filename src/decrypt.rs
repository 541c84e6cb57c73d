//! Offline decryption of an export bundle into readable case folders.
//!
//! Runs on the investigators' air-gapped machine. Reads the tar once, in
//! order: `index.json`, then each submission's manifest before its files.
//! File names from reporters are hostile input: [`safe_name`] keeps every
//! written path inside the case folder.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::crypto::{CryptoError, Identities};
use crate::export::{Index, IndexReport, IndexSubmission, AUDIT_PATH, INDEX_FORMAT};
use crate::model::{Manifest, SubmissionKind};

/// Written at the top of the output folder: the deployment id and the
/// recipients, which the offline `case` commands need to seal replies.
pub const DEPLOYMENT_FILE: &str = "deployment.json";
/// Written at the top of the output folder: the ids of the cases that the
/// last run added something to (for `peluit cases`).
pub const LAST_RUN_FILE: &str = "last-run.json";
/// The largest manifest accepted (they are a few KiB; padding included).
const MAX_MANIFEST: u64 = 16 * 1024 * 1024;
/// The largest index accepted.
const MAX_INDEX: u64 = 1024 * 1024 * 1024;

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

/// Where a blob belongs.
#[derive(Clone)]
struct Slot {
    /// Index of the report in the index.
    report: usize,
    /// Index of the submission in the report.
    submission: usize,
    /// `None` for the manifest, `Some(i)` for attachment `i`.
    attachment: Option<usize>,
}

/// A submission whose manifest has been read.
struct Open {
    /// The submission's folder.
    dir: PathBuf,
    /// The decrypted manifest (file names and true sizes).
    manifest: Manifest,
    /// Set when an earlier run wrote this folder: its blobs are skipped.
    skip: bool,
}

/// Decrypts every blob of `bundle` into case folders under `out`.
pub fn decrypt(bundle: impl Read, ids: &Identities, out: &Path) -> Result<DecryptSummary, DecryptError> {
    let mut archive = tar::Archive::new(bundle);
    let mut entries = archive.entries()?;
    let index = read_index(entries.next())?;
    let slots = slots(&index);
    make_dir(out)?;
    let deployment = serde_json::json!({ "deployment_id": index.deployment_id, "recipients": index.recipients });
    write_new_or_replace(
        &out.join(DEPLOYMENT_FILE),
        &serde_json::to_vec_pretty(&deployment).map_err(io::Error::other)?,
    )?;
    let mut summary = DecryptSummary::default();
    for r in &index.reports {
        let dir = out.join(&r.id);
        make_dir(&dir)?;
        write_new_or_replace(&dir.join("case.json"), &serde_json::to_vec_pretty(r).map_err(io::Error::other)?)?;
        summary.cases += 1;
    }
    let mut open: HashMap<(usize, usize), Open> = HashMap::new();
    for entry in entries {
        let mut entry = entry?;
        let path = entry.path()?.to_string_lossy().into_owned();
        if path == AUDIT_PATH {
            continue;
        }
        let slot = slots.get(&path).cloned().ok_or_else(|| DecryptError::Format(format!("unexpected entry {path}")))?;
        let report = &index.reports[slot.report];
        let sub = &report.submissions[slot.submission];
        let key = (slot.report, slot.submission);
        match slot.attachment {
            None => {
                let dir = out.join(&report.id).join(submission_dir(sub));
                if dir.exists() {
                    summary.skipped += 1;
                    open.insert(key, Open { dir, manifest: Manifest::default(), skip: true });
                    continue;
                }
                let manifest = read_manifest(ids, &mut entry, &path)?;
                let tmp = dir.with_extension("partial");
                let _ = fs::remove_dir_all(&tmp);
                make_dir(&tmp)?;
                make_dir(&tmp.join("files"))?;
                write_new(&tmp.join("report.json"), &serde_json::to_vec_pretty(&manifest).map_err(io::Error::other)?)?;
                write_new(&tmp.join("report.md"), markdown(report, sub, &manifest).as_bytes())?;
                summary.submissions += 1;
                open.insert(key, Open { dir: tmp, manifest, skip: false });
            }
            Some(i) => {
                let o =
                    open.get(&key).ok_or_else(|| DecryptError::Format(format!("{path} comes before its manifest")))?;
                if o.skip {
                    continue;
                }
                let info = o
                    .manifest
                    .attachments
                    .get(i)
                    .ok_or_else(|| DecryptError::Format(format!("{path} is not in its manifest")))?;
                let name = unique_name(&o.dir.join("files"), &safe_name(&info.name, i + 1), i + 1);
                let mut reader = ids.open(&mut entry).map_err(|_| DecryptError::Crypto(path.clone()))?;
                let mut f = create_private(&o.dir.join("files").join(name))?;
                let n = io::copy(&mut (&mut reader).take(info.size), &mut f)
                    .map_err(|_| DecryptError::Crypto(path.clone()))?;
                // Read the padding too: the age stream is only authenticated
                // to its end.
                io::copy(&mut reader, &mut io::sink()).map_err(|_| DecryptError::Crypto(path.clone()))?;
                if n != info.size {
                    return Err(DecryptError::Crypto(path));
                }
                f.sync_all()?;
                summary.files += 1;
            }
        }
    }
    // A submission folder appears under its final name only when complete.
    let mut touched: Vec<String> = Vec::new();
    for ((ri, _), o) in open.into_iter().filter(|(_, o)| !o.skip) {
        fs::rename(&o.dir, o.dir.with_extension(""))?;
        touched.push(index.reports[ri].id.clone());
    }
    touched.sort();
    touched.dedup();
    write_new_or_replace(&out.join(LAST_RUN_FILE), &serde_json::to_vec(&touched).map_err(io::Error::other)?)?;
    Ok(summary)
}

/// Reads and checks `index.json`, the first entry.
fn read_index<R: Read>(first: Option<io::Result<tar::Entry<'_, R>>>) -> Result<Index, DecryptError> {
    let mut entry = first.ok_or_else(|| DecryptError::Format("empty archive".into()))??;
    if entry.path()?.as_os_str() != "index.json" {
        return Err(DecryptError::Format("index.json is not the first entry".into()));
    }
    let mut raw = Vec::new();
    (&mut entry).take(MAX_INDEX).read_to_end(&mut raw)?;
    let index: Index = serde_json::from_slice(&raw).map_err(|e| DecryptError::Format(e.to_string()))?;
    if index.format != INDEX_FORMAT {
        return Err(DecryptError::Format(format!("unknown format {}", index.format)));
    }
    Ok(index)
}

/// Reads only the index of a bundle (for `pull` to print the next cursor).
pub fn read_bundle_index(bundle: impl Read) -> Result<Index, DecryptError> {
    let mut archive = tar::Archive::new(bundle);
    let mut entries = archive.entries()?;
    read_index(entries.next())
}

/// Reads the audit log of a bundle (for `verify-log`).
pub fn read_bundle_audit(bundle: impl Read) -> Result<Vec<crate::actions::AuditEntry>, DecryptError> {
    let mut archive = tar::Archive::new(bundle);
    for entry in archive.entries()? {
        let mut entry = entry?;
        if entry.path()?.as_os_str() != AUDIT_PATH {
            continue;
        }
        let mut raw = String::new();
        (&mut entry).take(MAX_INDEX).read_to_string(&mut raw)?;
        return raw
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).map_err(|e| DecryptError::Format(format!("{AUDIT_PATH}: {e}"))))
            .collect();
    }
    Err(DecryptError::Format(format!("no {AUDIT_PATH} in the bundle")))
}

/// Maps every blob path named in the index to its place.
fn slots(index: &Index) -> HashMap<String, Slot> {
    let mut m = HashMap::new();
    for (ri, r) in index.reports.iter().enumerate() {
        for (si, s) in r.submissions.iter().enumerate() {
            m.insert(s.manifest.clone(), Slot { report: ri, submission: si, attachment: None });
            for (ai, a) in s.attachments.iter().enumerate() {
                m.insert(a.clone(), Slot { report: ri, submission: si, attachment: Some(ai) });
            }
        }
    }
    m
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

/// A file name that is safe to create inside a folder on Linux, macOS and
/// Windows: the last path component only, no control or reserved characters,
/// no leading dots, no device names, at most 120 bytes.
pub fn safe_name(raw: &str, index: usize) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String =
        base.chars().filter(|c| !c.is_control()).map(|c| if "<>:\"|?*".contains(c) { '_' } else { c }).collect();
    let mut s = cleaned.trim().trim_start_matches('.').trim_end_matches(['.', ' ']).to_string();
    let stem = s.split('.').next().unwrap_or("").trim().to_ascii_uppercase();
    let device = matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || ((stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.len() == 4
            && stem.as_bytes()[3].is_ascii_digit());
    if device {
        s = format!("_{s}");
    }
    if s.len() > 120 {
        let mut cut = 120;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    if s.is_empty() {
        s = format!("attachment-{index}");
    }
    s
}

/// Prefixes the attachment number when a name is already taken.
fn unique_name(dir: &Path, name: &str, index: usize) -> String {
    if dir.join(name).exists() {
        format!("{index}-{name}")
    } else {
        name.to_string()
    }
}

/// Creates a folder readable by the owner only.
fn make_dir(p: &Path) -> io::Result<()> {
    fs::DirBuilder::new().recursive(true).mode(0o700).create(p)
}

/// Creates a new file readable by the owner only; never follows or replaces.
fn create_private(p: &Path) -> io::Result<File> {
    OpenOptions::new().write(true).create_new(true).mode(0o600).open(p)
}

/// Writes a new private file.
fn write_new(p: &Path, data: &[u8]) -> io::Result<()> {
    let mut f = create_private(p)?;
    f.write_all(data)?;
    f.sync_all()
}

/// Replaces a private file (used for `case.json`, which each export updates).
fn write_new_or_replace(p: &Path, data: &[u8]) -> io::Result<()> {
    let tmp = p.with_extension("tmp");
    let _ = fs::remove_file(&tmp);
    write_new(&tmp, data)?;
    fs::rename(tmp, p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hostile_names_stay_inside() {
        assert_eq!(safe_name("../../.bashrc", 1), "bashrc");
        assert_eq!(safe_name("..\\..\\Windows\\system.ini", 1), "system.ini");
        assert_eq!(safe_name("CON", 1), "_CON");
        assert_eq!(safe_name("con.txt", 1), "_con.txt");
        assert_eq!(safe_name("LPT1.doc", 1), "_LPT1.doc");
        assert_eq!(safe_name("COMPANY.pdf", 1), "COMPANY.pdf");
        assert_eq!(safe_name("..", 3), "attachment-3");
        assert_eq!(safe_name("", 2), "attachment-2");
        assert_eq!(safe_name("a\u{0}b\nc?.txt", 1), "abc_.txt");
        assert_eq!(safe_name("bukti foto.jpg", 1), "bukti foto.jpg");
    }

    proptest! {
        #[test]
        fn any_name_is_one_harmless_component(raw in "\\PC{0,300}", i in 1usize..50) {
            let s = safe_name(&raw, i);
            prop_assert!(!s.is_empty() && s.len() <= 120);
            prop_assert!(!s.contains('/') && !s.contains('\\') && !s.starts_with('.'));
            prop_assert!(s != "." && s != "..");
            prop_assert!(!s.chars().any(|c| c.is_control()));
        }
    }
}
