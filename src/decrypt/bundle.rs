//! Reading the non-secret entries of an export bundle: the index, the report
//! entries and the audit log. Every read is bounded: the bundle is untrusted
//! input until its blobs decrypt.
//!
//! The tar is read raw and only plain files pass: the `tar` crate reads a PAX
//! or GNU long-name header whole into memory and expands a GNU sparse entry
//! to its claimed size, so a 10 KB bundle could ask for gigabytes. Export
//! never writes either, so each is refused on its 512-byte header, before
//! any of its data is read.

use std::io::{self, BufRead, Read, Seek};

use serde::Deserialize;

use super::DecryptError;
use crate::actions::{AuditEntry, Chain};
use crate::export::{deleted_path, report_path, Deletion, Index, IndexReport, AUDIT_PATH, INDEX_FORMAT, INDEX_PATH};
use crate::investigators::Investigators;

/// The largest `index.json` accepted (it holds a few ids and recipients).
const MAX_INDEX: u64 = 1024 * 1024;
/// The largest report entry accepted (a record lists its submissions' blobs).
const MAX_REPORT: u64 = 16 * 1024 * 1024;
/// The largest audit log accepted; it streams through, one line at a time.
const MAX_AUDIT: u64 = 1024 * 1024 * 1024;
/// The longest line of the audit log (an entry is under 1 KiB: no blob).
const MAX_AUDIT_LINE: u64 = 64 * 1024;

/// The entries of a bundle, raw: extension headers are not interpreted.
pub(super) fn entries<R: Read>(archive: &mut tar::Archive<R>) -> io::Result<tar::Entries<'_, R>> {
    Ok(archive.entries()?.raw(true))
}

/// An entry, if it is a plain file: extension headers (PAX, GNU long names),
/// sparse entries, links and the rest are refused on their header.
pub(super) fn checked<R: Read>(entry: io::Result<tar::Entry<'_, R>>) -> Result<tar::Entry<'_, R>, DecryptError> {
    let entry = entry?;
    let kind = entry.header().entry_type();
    if kind.is_file() {
        return Ok(entry);
    }
    let size = entry.header().size().unwrap_or(0);
    let what = if kind.is_pax_local_extensions()
        || kind.is_pax_global_extensions()
        || kind.is_gnu_longname()
        || kind.is_gnu_longlink()
    {
        format!("an extension header (PAX or GNU long name) of {size} bytes")
    } else if kind.is_gnu_sparse() {
        "a sparse entry".to_string()
    } else {
        format!("an entry of type {:?}", char::from(kind.as_byte()))
    };
    Err(DecryptError::Format(format!("{what}: export writes plain files only, so the bundle was altered")))
}

/// Reads an entry's bytes, refusing one larger than `max`.
fn read_bounded(entry: &mut impl Read, size: u64, max: u64, what: &str) -> Result<Vec<u8>, DecryptError> {
    if size > max {
        return Err(DecryptError::Limit(format!("{what} is {size} bytes, more than the {max} allowed")));
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
    let mut entry = checked(first.ok_or_else(|| DecryptError::Format("empty archive".into()))?)?;
    if entry.path()?.as_os_str() != INDEX_PATH {
        return Err(DecryptError::Format(format!("{INDEX_PATH} is not the first entry")));
    }
    let size = entry.header().size()?;
    let raw = read_bounded(&mut entry, size, MAX_INDEX, INDEX_PATH).map_err(|e| match e {
        // Format 1 listed every report in the index and could be large.
        DecryptError::Limit(m) => DecryptError::Format(format!("{m}; is it an older bundle? ({})", wanted())),
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

/// The report id of a `deleted/<id>.json` path; `None` for other paths.
pub(super) fn deleted_id(path: &str) -> Result<Option<&str>, DecryptError> {
    let Some(rest) = path.strip_prefix("deleted/") else { return Ok(None) };
    match rest.strip_suffix(".json") {
        Some(id) if is_hex_id(id) => Ok(Some(id)),
        _ => Err(DecryptError::Format(format!("bad deletion entry name {path:?}"))),
    }
}

/// Reads a deletion entry (a few bytes) and checks it names `id` and a day.
pub(super) fn read_deletion(entry: &mut impl Read, size: u64, id: &str) -> Result<Deletion, DecryptError> {
    let path = deleted_path(id);
    let raw = read_bounded(entry, size, 4096, &path)?;
    let d: Deletion = serde_json::from_slice(&raw).map_err(|e| DecryptError::Format(format!("{path}: {e}")))?;
    let day_ok = d.day.len() == 10 && d.day.bytes().all(|b| b.is_ascii_digit() || b == b'-');
    if d.id != id || !day_ok {
        return Err(DecryptError::Format(format!("{path} is malformed")));
    }
    Ok(d)
}

/// A report or blob id as export writes it: 32 lower-case hex digits.
/// Report ids name folders, so nothing else passes.
pub(super) fn is_hex_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A blob path as export writes it: `blobs/<32 lower-case hex digits>.age`.
pub(super) fn is_blob_path(path: &str) -> bool {
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
    for m in &report.messages {
        // Messages from before they had a log position (0) come in a full export.
        let in_range = (index.since < m.seq && m.seq <= index.cursor) || (m.seq == 0 && index.since == 0);
        if !in_range || !is_blob_path(&m.blob) {
            return Err(DecryptError::Format(format!("{path}: message {} is outside the bundle's range", m.seq)));
        }
    }
    Ok(report)
}

/// Reads only the index of a bundle (for `pull` to print the next cursor).
pub fn read_bundle_index(bundle: impl Read) -> Result<Index, DecryptError> {
    let mut archive = tar::Archive::new(bundle);
    let mut entries = entries(&mut archive)?;
    read_index(entries.next())
}

/// Calls `each` with every report entry of a bundle, in order, one at a time,
/// seeking past the blobs; returns how many there were. An entry over its
/// limit is counted but not read: decrypt sets it aside, so `pull` must not
/// fail on it either.
pub fn read_bundle_reports(bundle: impl Read + Seek, mut each: impl FnMut(IndexReport)) -> Result<usize, DecryptError> {
    let mut archive = tar::Archive::new(bundle);
    let mut entries = archive.entries_with_seek()?.raw(true);
    let index = read_index(entries.next())?;
    let mut n = 0;
    for entry in entries {
        let mut entry = checked(entry)?;
        let path = entry.path()?.to_string_lossy().into_owned();
        if let Some(id) = report_id(&path)? {
            match read_report(&mut entry, id, &index) {
                Ok(report) => each(report),
                Err(DecryptError::Limit(_)) => {}
                Err(e) => return Err(e),
            }
            n += 1;
        }
    }
    Ok(n)
}

/// What `verify-log` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogCheck {
    /// Entries in the log.
    pub entries: u64,
    /// The head hash.
    pub head: String,
}

/// Checks the audit log of a bundle as it streams by, one line at a time:
/// the chain, every signature when `keys` are given, no repeated nonce, and
/// every entry for the bundle's deployment (see [`Chain`]).
pub fn verify_bundle_log(
    bundle: impl Read,
    keys: Option<&Investigators>,
    earlier: Option<&str>,
) -> Result<LogCheck, DecryptError> {
    let mut archive = tar::Archive::new(bundle);
    let mut entries = entries(&mut archive)?;
    let index = read_index(entries.next())?;
    for entry in entries {
        let entry = checked(entry)?;
        if entry.path()?.as_os_str() != AUDIT_PATH {
            continue;
        }
        let size = entry.header().size()?;
        if size > MAX_AUDIT {
            return Err(DecryptError::Limit(format!(
                "{AUDIT_PATH} is {size} bytes, more than the {MAX_AUDIT} allowed"
            )));
        }
        let mut chain = Chain::new(Some(&index.deployment_id), keys, earlier);
        let mut lines = io::BufReader::new(entry);
        let mut line = Vec::new();
        loop {
            line.clear();
            if (&mut lines).take(MAX_AUDIT_LINE + 1).read_until(b'\n', &mut line)? == 0 {
                break;
            }
            if line.len() as u64 > MAX_AUDIT_LINE {
                return Err(DecryptError::Limit(format!("{AUDIT_PATH} has a line over {MAX_AUDIT_LINE} bytes")));
            }
            if line.trim_ascii().is_empty() {
                continue;
            }
            let e: AuditEntry =
                serde_json::from_slice(&line).map_err(|e| DecryptError::Format(format!("{AUDIT_PATH}: {e}")))?;
            chain.push(&e)?;
        }
        let (entries, head) = chain.finish()?;
        return Ok(LogCheck { entries, head });
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
        assert!(verify_bundle_log(seed, None, None).is_ok_and(|c| c.entries == 0));
        assert!(report_id("reports/C73D3ACA9AF597458F535A1DB22C76A9.json").is_err());
        assert_eq!(report_id("blobs/x.age").ok(), Some(None));
    }

    /// The bytes of a tar holding `index.json` only, without the end marker.
    fn index_only() -> Vec<u8> {
        let idx = Index {
            format: INDEX_FORMAT.into(),
            deployment_id: "d".repeat(32),
            since: 0,
            cursor: 1,
            recipients: Vec::new(),
        };
        let json = serde_json::to_vec(&idx).unwrap_or_default();
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_ustar();
        h.set_size(json.len() as u64);
        b.append_data(&mut h, INDEX_PATH, json.as_slice()).unwrap_or_else(|e| panic!("{e}"));
        b.get_ref().clone()
    }

    /// Counts the bytes read through it.
    struct Counted<R>(R, std::rc::Rc<std::cell::Cell<u64>>);

    impl<R: Read> Read for Counted<R> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.read(buf)?;
            self.1.set(self.1.get() + n as u64);
            Ok(n)
        }
    }

    /// The error text of `f`, which must fail with a format error.
    fn refusal<T: std::fmt::Debug>(r: Result<T, DecryptError>) -> String {
        match r {
            Err(DecryptError::Format(m)) => m,
            other => panic!("expected a format error, got {other:?}"),
        }
    }

    #[test]
    fn a_huge_extension_header_is_refused_before_its_data_is_read() {
        for kind in [tar::EntryType::XHeader, tar::EntryType::GNULongName] {
            let mut h = tar::Header::new_ustar();
            h.set_entry_type(kind);
            h.set_size(400 * 1024 * 1024);
            h.set_path("x").unwrap_or_else(|e| panic!("{e}"));
            h.set_cksum();
            let head = [index_only(), h.as_bytes().to_vec()].concat();
            // The 400 MiB are never stored: a generator stands for them.
            let read = std::rc::Rc::new(std::cell::Cell::new(0));
            let bundle = || Counted(io::Cursor::new(head.clone()).chain(io::repeat(b'a')), read.clone());
            // decrypt's first pass, which finds the signature, reads no further.
            let m = refusal(super::super::signature::find(bundle()));
            assert!(m.contains("extension header"), "{m}");
            assert!(refusal(verify_bundle_log(bundle(), None, None)).contains("extension header"));
            assert!(read.get() < 1024 * 1024, "{} bytes read", read.get());
        }
    }

    #[test]
    fn a_sparse_audit_log_is_refused() {
        let mut h = tar::Header::new_gnu();
        h.set_path(AUDIT_PATH).unwrap_or_else(|e| panic!("{e}"));
        h.set_entry_type(tar::EntryType::GNUSparse);
        h.set_size(512);
        let real = 64 * 1024 * 1024;
        if let Some(g) = h.as_gnu_mut() {
            g.set_real_size(real);
            g.sparse[0].set_offset(real - 512);
            g.sparse[0].set_length(512);
        }
        h.set_cksum();
        let mut data = b"{}\n".to_vec();
        data.resize(512, b' ');
        let bundle = [index_only(), h.as_bytes().to_vec(), data, vec![0; 1024]].concat();
        let m = refusal(verify_bundle_log(bundle.as_slice(), None, None));
        assert!(m.contains("sparse"), "{m}");
    }
}
