//! The export log: positions in order, each naming the report that changed
//! there (or, for a deletion, the report and the day), and what changed
//! between two cursors, read in constant memory.

use super::{Store, StoreError};
use crate::crypto;
use crate::model::Report;

/// One item of an incremental export (see [`Store::changed_between`]).
#[derive(Debug)]
pub enum Change {
    /// A report with something new: its submissions in the range, and its
    /// whole status, timeline and replies.
    Report(Report),
    /// A report deleted (by an investigator, or by retention).
    Deleted {
        /// Its id (hex).
        id: String,
        /// The day it was deleted.
        day: String,
    },
}

impl Store {
    /// The highest sequence in the export log, 0 when it is empty. An export
    /// fixes its cursor with this before it scans, so that tips arriving
    /// during the export go into the next one.
    pub fn last_seq(&self) -> Result<u64, StoreError> {
        // Waits for a submission between taking its number and writing its
        // log entry (see `with_next_seq`).
        let _turn = self.seq_turn.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match self.log.last()? {
            Some((k, _)) => Self::log_seq(&k),
            None => Ok(0),
        }
    }

    /// What changed in `(since, cursor]`, in log order: each report with a
    /// submission, a status change or a reply in the range once, holding
    /// only its submissions in that range (status, timeline and replies are
    /// whole); and each report deleted in the range.
    ///
    /// Constant memory: no set of ids already seen. A report is yielded at
    /// its first log entry in the range, the smallest of its positions in the
    /// range, and skipped at the others.
    pub fn changed_between(&self, since: u64, cursor: u64) -> impl Iterator<Item = Result<Change, StoreError>> + '_ {
        let entries =
            (since < cursor).then(|| self.log.range(since.saturating_add(1).to_be_bytes()..=cursor.to_be_bytes()));
        entries.into_iter().flatten().filter_map(move |item| {
            item.map_err(StoreError::from).and_then(|(k, id)| self.at_first_entry(&k, &id, since, cursor)).transpose()
        })
    }

    /// The change at log entry (`key`, `value`): a deletion, or the report
    /// with only its submissions in `(since, cursor]` if this entry is the
    /// report's first in that range.
    fn at_first_entry(&self, key: &[u8], value: &[u8], since: u64, cursor: u64) -> Result<Option<Change>, StoreError> {
        let seq = Self::log_seq(key)?;
        if let Some((id, day)) = value.split_first_chunk::<16>().filter(|(_, day)| !day.is_empty()) {
            let day = std::str::from_utf8(day).map_err(|_| StoreError::Corrupt("log entry".into()))?;
            return Ok(Some(Change::Deleted { id: crypto::hex(id), day: day.to_string() }));
        }
        let id = value;
        // A report purged while the export runs is simply absent (its
        // deletion is carried by the next export).
        let Some(mut report) = self.report_by_raw_id(id)? else { return Ok(None) };
        let in_range = |s: &u64| since < *s && *s <= cursor;
        report.submissions.retain(|s| in_range(&s.seq));
        let mut seqs: Vec<u64> = report.log_positions().filter(in_range).collect();
        seqs.sort_unstable();
        for s in seqs {
            if s == seq {
                return Ok(Some(Change::Report(report)));
            }
            // A smaller submission is yielded at its own entry; in a damaged
            // database (`check` reports it) it may have none, so look.
            if self.log.get(s.to_be_bytes())?.is_some_and(|other| other == id) {
                return Ok(None);
            }
        }
        Ok(None)
    }

    /// The sequence number of a `log` key (u64 big-endian).
    pub(super) fn log_seq(key: &[u8]) -> Result<u64, StoreError> {
        key.try_into().map(u64::from_be_bytes).map_err(|_| StoreError::Corrupt("log key".into()))
    }

    /// Every report changed after `since`, collected, and the cursor (the
    /// deletions left out). Only the unit tests want all of them at once;
    /// export streams `changed_between`.
    #[cfg(test)]
    pub fn changed_since(&self, since: u64) -> Result<(Vec<Report>, u64), StoreError> {
        let cursor = self.last_seq()?.max(since);
        let mut reports = Vec::new();
        for c in self.changed_between(since, cursor) {
            if let Change::Report(r) = c? {
                reports.push(r);
            }
        }
        Ok((reports, cursor))
    }
}
