//! Opening one submission: its manifest, its files, and `report.md`. What
//! comes out was written by a reporter and is hostile: a failure here sets
//! the submission aside (never stops the run), and nothing of it reaches
//! `report.md` unescaped.

use std::io::{self, Read};

use zeroize::Zeroizing;

use super::{safe_name, MAX_MANIFEST};
use crate::crypto::sealed_json::{self, OpenError};
use crate::crypto::{CryptoError, Identities};
use crate::export::IndexReport;
use crate::export::IndexSubmission;
use crate::model::{FieldKind, Manifest, SubmissionKind, FIELDS};
use crate::safe_text;

/// Why a file could not be copied out of its ciphertext.
pub(super) enum Copy {
    /// The ciphertext does not open, or is shorter than its manifest says:
    /// the submission is set aside.
    Open(String),
    /// Writing the plaintext failed: the run stops.
    Write(io::Error),
}

/// Decrypts `entry` into `out`: its first `size` bytes, then reads the
/// padding to the end, since the age stream is only authenticated there.
pub(super) fn copy_plain(
    ids: &Identities,
    entry: &mut impl Read,
    out: &mut impl io::Write,
    size: u64,
) -> Result<(), Copy> {
    let mut reader = ids.open(entry).map_err(|e| Copy::Open(e.to_string()))?;
    let mut buf = Zeroizing::new(vec![0u8; 64 * 1024]);
    let mut left = size;
    while left > 0 {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = reader.read(&mut buf[..want]).map_err(|e| Copy::Open(e.to_string()))?;
        if n == 0 {
            return Err(Copy::Open(format!("{} bytes short of the size its manifest gives", left)));
        }
        out.write_all(&buf[..n]).map_err(Copy::Write)?;
        left -= n as u64;
    }
    io::copy(&mut reader, &mut io::sink()).map_err(|e| Copy::Open(e.to_string()))?;
    Ok(())
}

/// Decrypts a manifest and strips its padding; the error is the reason to
/// set its submission aside.
pub fn read_manifest(ids: &Identities, entry: &mut impl Read, path: &str) -> Result<Manifest, String> {
    open_padded_json(ids, entry, path, "the manifest", MAX_MANIFEST)
}

/// Decrypts a sealed JSON document padded with spaces (a manifest, a reply
/// or a note) of at most `max` bytes, and parses it; the error says why.
pub(super) fn open_padded_json<T: serde::de::DeserializeOwned>(
    ids: &Identities,
    entry: &mut impl Read,
    path: &str,
    what: &str,
    max: u64,
) -> Result<T, String> {
    let reader = ids.open(entry).map_err(|e: CryptoError| format!("cannot decrypt {path} ({e})"))?;
    sealed_json::open(reader, max).map_err(|e| match e {
        OpenError::Damaged(e) => format!("cannot decrypt {path} ({e}): the file is damaged"),
        OpenError::TooLarge(_) | OpenError::NotUtf8 => format!("{path}: {what} is {e}"),
        OpenError::Json(e) => format!("{path}: {e}"),
    })
}

/// The report as Markdown, labelled in Indonesian and English. Everything a
/// reporter wrote is escaped ([`safe_text`]), one-line values stay on their
/// line, and free text is an indented block, so no value can forge the
/// `Status:`, `Case:` or identity lines or render as a link or an image.
pub fn markdown(r: &IndexReport, s: &IndexSubmission, m: &Manifest) -> String {
    let kind = match s.kind {
        SubmissionKind::Tip => "Laporan / Report",
        SubmissionKind::FollowUp => "Tambahan informasi / Follow-up",
    };
    let (id, day) = (safe_text::line(&r.id), safe_text::line(&s.day));
    let mut md = format!("# {kind}\n\n- Kasus / Case: `{id}`\n- Tanggal / Day: {day}\n- Status: {}\n", r.status.id());
    for f in FIELDS.iter().filter(|f| f.kind == FieldKind::Category) {
        let value = m.field(f.name).unwrap_or_default();
        if !value.is_empty() {
            md += &format!("- {}: {}\n", f.heading, safe_text::line(value));
        }
    }
    for (label, value) in FIELDS.iter().filter(|f| f.kind != FieldKind::Category).map(|f| (f.heading, m.field(f.name)))
    {
        let value = value.unwrap_or_default();
        if !value.trim().is_empty() {
            md += &format!("\n## {label}\n\n");
            for line in safe_text::block(value.trim_end()).lines() {
                md += &format!("    {line}\n");
            }
        }
    }
    if !m.attachments.is_empty() {
        md += "\n## Lampiran / Attachments\n\n";
        for (i, a) in m.attachments.iter().enumerate() {
            let (name, ctype) = (safe_name(&a.name, i + 1), safe_text::line(&a.content_type));
            md += &format!("{}. `{name}` ({} bytes, {ctype})\n", i + 1, a.size);
        }
    }
    md
}
