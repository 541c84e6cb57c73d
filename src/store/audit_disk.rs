//! `peluit audit-disk`: what a copy of the data folder tells whoever holds it,
//! read the way a seizer would: every file's mode and times (before anything
//! is opened, so that reading cannot change them), then every value of every
//! sled tree. Reads a copy with sled directly, never through [`super::Store`]:
//! it needs no secret, and it must not blur or fix what it is looking at.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::StoreError;
use crate::model::Report;

/// How finely a time is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Granularity {
    /// No time at all.
    None,
    /// A day.
    Day,
    /// A second or finer.
    Second,
}

impl Granularity {
    /// The word printed for it.
    fn word(self) -> &'static str {
        match self {
            Granularity::None => "none",
            Granularity::Day => "day",
            Granularity::Second => "second",
        }
    }
}

/// A Unix time in seconds plausible for a stored value (2000 to 2100).
fn plausible_unix(n: u64) -> bool {
    (946_684_800..4_102_444_800).contains(&n)
}

/// The finest time a JSON value gives: `YYYY-MM-DD` strings are days; a
/// clock time in a string, or a number that reads as Unix seconds, is a
/// second. Base64 strings are decoded (signed payloads are kept so).
fn finest_in_json(v: &serde_json::Value) -> Granularity {
    match v {
        serde_json::Value::String(s) if crate::actions::day_number(s).is_some() => Granularity::Day,
        serde_json::Value::String(s) => {
            // HH:MM:SS anywhere (not "ed25519:", a key's prefix).
            let clock = s
                .as_bytes()
                .windows(8)
                .any(|w| w.iter().enumerate().all(|(i, c)| if i % 3 == 2 { *c == b':' } else { c.is_ascii_digit() }));
            let inner = crate::crypto::ed25519::unb64(s)
                .and_then(|raw| serde_json::from_slice::<serde_json::Value>(&raw).ok())
                .map_or(Granularity::None, |j| finest_in_json(&j));
            if clock {
                Granularity::Second
            } else {
                inner
            }
        }
        serde_json::Value::Number(n) if n.as_u64().is_some_and(plausible_unix) => Granularity::Second,
        serde_json::Value::Array(a) => a.iter().map(finest_in_json).max().unwrap_or(Granularity::None),
        serde_json::Value::Object(o) => o.values().map(finest_in_json).max().unwrap_or(Granularity::None),
        _ => Granularity::None,
    }
}

/// The finest time a stored value gives (JSON, a day, or eight bytes that
/// read as Unix seconds).
fn finest_in_value(v: &[u8]) -> Granularity {
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(v) {
        return finest_in_json(&json);
    }
    match (std::str::from_utf8(v).ok().and_then(crate::actions::day_number), <[u8; 8]>::try_from(v)) {
        (Some(_), _) => Granularity::Day,
        (None, Ok(b)) if plausible_unix(u64::from_be_bytes(b)) || plausible_unix(u64::from_le_bytes(b)) => {
            Granularity::Second
        }
        _ => Granularity::None,
    }
}

/// A file time as `YYYY-MM-DDTHH:MM:SS.NNNNNNNNNZ`, and how fine it is: a
/// time at the start of a day with no fraction says only the day.
fn file_time(sec: i64, nsec: u32) -> (String, Granularity) {
    let t = time::OffsetDateTime::from_unix_timestamp(sec).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let g = if sec.rem_euclid(86_400) == 0 && nsec == 0 { Granularity::Day } else { Granularity::Second };
    let text = format!(
        "{}T{:02}:{:02}:{:02}.{nsec:09}Z",
        crate::actions::day_of(u64::try_from(sec).unwrap_or(0)),
        t.hour(),
        t.minute(),
        t.second()
    );
    (text, g)
}

/// Writes one line per file: size, mode, and its four times. Modification
/// and access times must say the day only; change and birth times cannot be
/// set and are shown for what they are.
fn files_section(dir: &Path, out: &mut String) -> Result<Granularity, StoreError> {
    use rustix::fs::{statx, AtFlags, StatxFlags, CWD};
    let mut finest = Granularity::None;
    let mut lines = Vec::new();
    let mut paths = vec![dir.to_path_buf()];
    let mut i = 0;
    // Each path's times are read before the path is (a read sets atime).
    while i < paths.len() {
        let p = paths[i].clone();
        i += 1;
        let s = statx(CWD, &p, AtFlags::SYMLINK_NOFOLLOW, StatxFlags::BASIC_STATS | StatxFlags::BTIME)
            .map_err(|e| StoreError::from_io(e.into()))?;
        if p.is_dir() {
            let mut more: Vec<_> =
                std::fs::read_dir(&p).map_err(StoreError::from_io)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
            more.sort();
            paths.extend(more);
        }
        let name = p.strip_prefix(dir).map(|r| r.display().to_string()).unwrap_or_default();
        let mode = std::fs::symlink_metadata(p).map(|m| m.permissions().mode() & 0o7777).unwrap_or(0);
        let (m, mg) = file_time(s.stx_mtime.tv_sec, s.stx_mtime.tv_nsec);
        let (a, ag) = file_time(s.stx_atime.tv_sec, s.stx_atime.tv_nsec);
        let (c, _) = file_time(s.stx_ctime.tv_sec, s.stx_ctime.tv_nsec);
        finest = finest.max(mg).max(ag);
        let birth = if StatxFlags::from_bits_retain(s.stx_mask).contains(StatxFlags::BTIME) {
            file_time(s.stx_btime.tv_sec, s.stx_btime.tv_nsec).0
        } else {
            "not recorded".into()
        };
        let exposed = if mode & 0o077 != 0 { "  OTHER USERS CAN READ IT" } else { "" };
        lines.push(format!(
            "  /{name}  {} bytes  mode {mode:o}{exposed}\n    modified {m} ({}), accessed {a} ({}), \
             changed {c} (the last time reset or close), born {birth}",
            s.stx_size,
            mg.word(),
            ag.word()
        ));
    }
    let _ = writeln!(out, "files ({}):\n{}", lines.len(), lines.join("\n"));
    Ok(finest)
}

/// Prints what a copy of the data folder `dir` reveals.
pub fn audit_disk(dir: &Path) -> Result<String, StoreError> {
    let mut out = format!("What a copy of {} reveals\n\n", dir.display());
    let mut finest = files_section(dir, &mut out)?;
    let db = super::layout::sled_config(dir, super::DEFAULT_CACHE).open()?;
    out.push_str("\nstored values:\n");
    for name in db.tree_names() {
        let tree = db.open_tree(&name)?;
        let mut g = Granularity::None;
        for item in tree.iter() {
            let (k, v) = item?;
            g = g.max(finest_in_value(&k)).max(finest_in_value(&v));
        }
        finest = finest.max(g);
        let _ = writeln!(
            out,
            "  tree {}: {} value(s), finest time: {}",
            String::from_utf8_lossy(&name),
            tree.len(),
            g.word()
        );
    }
    let (mut days, mut statuses, mut sizes) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    let (mut reports, mut submissions, mut replies) = (0, 0, 0);
    for v in db.open_tree("reports")?.iter().values() {
        let Ok(r) = serde_json::from_slice::<Report>(&v?) else { continue };
        reports += 1;
        submissions += r.submissions.len();
        replies += r.replies.len();
        for s in &r.submissions {
            *days.entry(s.day.clone()).or_insert(0) += 1;
        }
        *statuses.entry(r.status.id()).or_insert(0) += 1;
        for b in r.blobs() {
            *sizes.entry(b.len).or_insert(0) += 1;
        }
    }
    let _ = writeln!(out, "\n{reports} report(s), {submissions} submission(s), {replies} reply(ies)");
    let _ = writeln!(out, "submissions by day: {days:?}");
    let _ = writeln!(out, "statuses: {statuses:?}");
    let _ = writeln!(out, "ciphertext sizes (padded) and how many: {sizes:?}");
    let _ = writeln!(out, "\nfinest time: {}", finest.word());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_times_are_graded() {
        let g = |j: &str| finest_in_value(j.as_bytes());
        assert_eq!(g(r#"{"day":"2026-11-29","seq":42,"len":1048576}"#), Granularity::Day);
        assert_eq!(g(r#"{"time":1796000000}"#), Granularity::Second);
        assert_eq!(g(r#"{"at":"2026-11-29T10:11:12Z"}"#), Granularity::Second);
        assert_eq!(g(r#"{"key":"ed25519:19:2aB"}"#), Granularity::None);
        let b64 = crate::crypto::ed25519::b64(br#"{"time":1796000000}"#);
        assert_eq!(g(&format!(r#"{{"payload":"{b64}"}}"#)), Granularity::Second);
        assert_eq!(finest_in_value(&1_796_000_000u64.to_be_bytes()), Granularity::Second);
        assert_eq!(finest_in_value(b"2026-11-29"), Granularity::Day);
        assert_eq!(finest_in_value(b"\x00\x01"), Granularity::None);
        assert_eq!(file_time(86_400 * 20_000, 0).1, Granularity::Day);
        assert_eq!(file_time(86_400 * 20_000 + 1, 0).1, Granularity::Second);
    }
}
