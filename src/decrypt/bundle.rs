//! Reading the non-secret entries of an export bundle: the index, the report
//! entries and the audit log. Every read is bounded: the bundle is untrusted
//! input until its blobs decrypt.

use std::io::{self, Read, Seek};

use serde::Deserialize;

use super::DecryptError;
use crate::export::{report_path, Index, IndexReport, AUDIT_PATH, INDEX_FORMAT, INDEX_PATH};

/// The largest `index.json` accepted (it holds a few ids and recipients).
const MAX_INDEX: u64 = 1024 * 1024;
/// The largest report entry accepted (a record lists its submissions' blobs).
const MAX_REPORT: u64 = 16 * 1024 * 1024;
/// The largest audit log accepted.
const MAX_AUDIT: u64 = 1024 * 1024 * 1024;

/// Reads an entry's bytes, refusing one larger than `max`.
fn read_bounded(entry: &mut impl Read, size: u64, max: u64, what: &str) -> Result<Vec<u8>, DecryptError> {
    if size > max {
        return Err(DecryptError::Format(format!("{what} is {size} bytes, more than the {max} allowed")));
    }
    let mut raw = Vec::new();
    entry.take(max).read_to_end(&mut raw)?;
    Ok(raw)
}

/// Reads and checks `index.json`, the first entry.
pub(super) fn read_index<R: Read>(first: Option<io::Result<tar::Entry<'_, R>>>) -> Result<Index, DecryptError> {
    /// Only the tag, read before anything else so an old bundle gets a clear answer.
    #[derive(Deserialize)]
    struct Tag {
        /// The format tag.
        format: String,
    }
    let mut entry = first.ok_or_else(|| DecryptError::Format("empty archive".into()))??;
    if entry.path()?.as_os_str() != INDEX_PATH {
        return Err(DecryptError::Format(format!("{INDEX_PATH} is not the first entry")));
    }
    let size = entry.header().size()?;
    let raw = read_bounded(&mut entry, size, MAX_INDEX, INDEX_PATH).map_err(|e| match e {
        // Format 1 listed every report in the index and could be large.
        DecryptError::Format(m) => DecryptError::Format(format!("{m}; is it an older bundle? ({})", wanted())),
        other => other,
    })?;
    let tag: Tag = serde_json::from_slice(&raw).map_err(|e| DecryptError::Format(format!("{INDEX_PATH}: {e}")))?;
    if tag.format != INDEX_FORMAT {
        return Err(DecryptError::Format(format!("unknown format {:?} ({})", tag.format, wanted())));
    }
    serde_json::from_slice(&raw).map_err(|e| DecryptError::Format(format!("{INDEX_PATH}: {e}")))
}

/// What this version reads, for error messages.
fn wanted() -> String {
    format!("this peluit reads {INDEX_FORMAT} only: export the bundle again with it")
}

/// The report id of a `reports/<id>.json` path; `None` for other paths, an
/// error for a malformed report path.
pub(super) fn report_id(path: &str) -> Result<Option<&str>, DecryptError> {
    let Some(rest) = path.strip_prefix("reports/") else { return Ok(None) };
    match rest.strip_suffix(".json") {
        Some(id) if is_hex_id(id) => Ok(Some(id)),
        _ => Err(DecryptError::Format(format!("bad report entry name {path:?}"))),
    }
}

/// A report or blob id as export writes it: 32 lower-case hex digits.
/// Report ids name folders, so nothing else passes.
pub(super) fn is_hex_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A blob path as export writes it: `blobs/<32 lower-case hex digits>.age`.
fn is_blob_path(path: &str) -> bool {
    path.strip_prefix("blobs/").and_then(|p| p.strip_suffix(".age")).is_some_and(is_hex_id)
}

/// Reads a report entry and checks it against its path and the index.
pub(super) fn read_report(
    entry: &mut tar::Entry<'_, impl Read>,
    id: &str,
    index: &Index,
) -> Result<IndexReport, DecryptError> {
    let path = report_path(id);
    let size = entry.header().size()?;
    let raw = read_bounded(entry, size, MAX_REPORT, &path)?;
    let report: IndexReport = serde_json::from_slice(&raw).map_err(|e| DecryptError::Format(format!("{path}: {e}")))?;
    if report.id != id {
        return Err(DecryptError::Format(format!("{path} names another report")));
    }
    for s in &report.submissions {
        if s.seq <= index.since || s.seq > index.cursor {
            return Err(DecryptError::Format(format!("{path}: submission {} is outside the bundle's range", s.seq)));
        }
        if let Some(bad) = std::iter::once(&s.manifest).chain(&s.attachments).find(|b| !is_blob_path(b)) {
            return Err(DecryptError::Format(format!("{path}: bad blob name {bad:?}")));
        }
    }
    Ok(report)
}

/// Reads only the index of a bundle (for `pull` to print the next cursor).
pub fn read_bundle_index(bundle: impl Read) -> Result<Index, DecryptError> {
    let mut archive = tar::Archive::new(bundle);
    let mut entries = archive.entries()?;
    read_index(entries.next())
}

/// Calls `each` with every report entry of a bundle, in order, one at a time,
/// seeking past the blobs; returns how many there were.
pub fn read_bundle_reports(bundle: impl Read + Seek, mut each: impl FnMut(IndexReport)) -> Result<usize, DecryptError> {
    let mut archive = tar::Archive::new(bundle);
    let mut entries = archive.entries_with_seek()?;
    let index = read_index(entries.next())?;
    let mut n = 0;
    for entry in entries {
        let mut entry = entry?;
        let path = entry.path()?.to_string_lossy().into_owned();
        if let Some(id) = report_id(&path)? {
            each(read_report(&mut entry, id, &index)?);
            n += 1;
        }
    }
    Ok(n)
}

/// Reads the audit log of a bundle (for `verify-log`).
pub fn read_bundle_audit(bundle: impl Read) -> Result<Vec<crate::actions::AuditEntry>, DecryptError> {
    let mut archive = tar::Archive::new(bundle);
    for entry in archive.entries()? {
        let mut entry = entry?;
        if entry.path()?.as_os_str() != AUDIT_PATH {
            continue;
        }
        let size = entry.header().size()?;
        let raw = read_bounded(&mut entry, size, MAX_AUDIT, AUDIT_PATH)?;
        let raw = String::from_utf8(raw).map_err(|_| DecryptError::Format(format!("{AUDIT_PATH} is not UTF-8")))?;
        return raw
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).map_err(|e| DecryptError::Format(format!("{AUDIT_PATH}: {e}"))))
            .collect();
    }
    Err(DecryptError::Format(format!("no {AUDIT_PATH} in the bundle")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fuzz seed is a real bundle (one report, one attachment): it must
    /// stay in the current format so the fuzzer starts from valid input.
    #[test]
    fn the_committed_seed_bundle_reads() {
        let seed: &[u8] = include_bytes!("../../fuzz/seeds/bundle/demo.tar");
        let index = read_bundle_index(seed).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((index.format.as_str(), index.since, index.cursor), (INDEX_FORMAT, 0, 1));
        let mut reports = Vec::new();
        let n = read_bundle_reports(io::Cursor::new(seed), |r| reports.push(r)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((n, reports[0].submissions[0].attachments.len()), (1, 1));
        assert!(read_bundle_audit(seed).is_ok_and(|a| a.is_empty()));
        assert!(report_id("reports/C73D3ACA9AF597458F535A1DB22C76A9.json").is_err());
        assert_eq!(report_id("blobs/x.age").ok(), Some(None));
    }
}
