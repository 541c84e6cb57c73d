//! What the desk's pages show, read from the case folders that `decrypt`
//! wrote: the case table (from [`crate::casework::table`]), a case's
//! submissions, attachments, conversation and timeline. Pure reads.
//!
//! Never writes, and never shows the identity section unless asked.

use std::fs;
use std::path::Path;

use crate::casework::{CaseRow, Casebook};
use crate::decrypt::MESSAGES_DIR;
use crate::export::IndexReport;
use crate::i18n::Tr;
use crate::model::{Field, FieldKind, Manifest, Status, FIELDS};

/// A row of the case list.
pub struct Row {
    /// The table row (deadlines, marks).
    pub row: CaseRow,
    /// The tip's category id (empty when its tip is not here).
    pub category: String,
}

/// A submission folder's name: `<12 digits>-tip` or `-followup`.
pub fn is_submission_dir(name: &str) -> bool {
    matches!(name.split_once('-'), Some((seq, "tip" | "followup")) if seq.len() == 12 && seq.bytes().all(|b| b.is_ascii_digit()))
}

/// The submission folders of a case, in order.
pub fn submission_dirs(case: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(case)
        .map(|d| d.flatten().filter_map(|e| e.file_name().to_str().map(str::to_string)).collect())
        .unwrap_or_default();
    v.retain(|n| is_submission_dir(n));
    v.sort();
    v
}

/// A submission's decrypted manifest.
pub fn manifest(case: &Path, sub: &str) -> Option<Manifest> {
    serde_json::from_slice(&fs::read(case.join(sub).join("report.json")).ok()?).ok()
}

/// The day `report.md` gives a submission.
fn day_of(case: &Path, sub: &str) -> String {
    let md = fs::read_to_string(case.join(sub).join("report.md")).unwrap_or_default();
    md.lines().find_map(|l| l.strip_prefix("- Tanggal / Day: ")).unwrap_or_default().to_string()
}

/// The case table, filtered by status (`deleted` for cases deleted on the
/// server), category and a search in the decrypted text (never the
/// identity section).
pub fn rows(book: &Casebook, dir: &Path, status: &str, category: &str, query: &str) -> Vec<Row> {
    let cases = book.cases().unwrap_or_default();
    let today = time::OffsetDateTime::now_utc().date();
    let table = crate::casework::table(&cases, &book.new_in_last_run(), |id| book.set_aside(id), today);
    let needle = query.trim().to_lowercase();
    table
        .into_iter()
        .filter(|row| status.is_empty() || status == shown_status(row))
        .map(|row| {
            let case = dir.join(&row.id);
            let category = submission_dirs(&case).iter().find_map(|s| manifest(&case, s)).map(|m| m.category.clone());
            Row { row, category: category.unwrap_or_default() }
        })
        .filter(|r| category.is_empty() || r.category == category)
        .filter(|r| needle.is_empty() || text_of(&dir.join(&r.row.id)).to_lowercase().contains(&needle))
        .collect()
}

/// The status a row shows: `deleted` once the server deleted the case.
pub fn shown_status(row: &CaseRow) -> &'static str {
    if row.deleted.is_some() {
        "deleted"
    } else {
        row.status.id()
    }
}

/// The searchable text of a case: every submission's fields and text, and
/// the replies and notes. The identity section is left out: finding a case
/// by the reporter's name would show it without the deliberate click.
fn text_of(case: &Path) -> String {
    let mut out = String::new();
    for sub in submission_dirs(case) {
        if let Some(m) = manifest(case, &sub) {
            for f in FIELDS.iter().filter(|f| f.kind != FieldKind::Identity) {
                out.push_str(m.field(f.name).unwrap_or_default());
                out.push('\n');
            }
        }
    }
    for msg in messages(case) {
        out.push_str(&msg.text);
        out.push('\n');
    }
    out
}

/// An attachment as listed.
pub struct FileView {
    /// Its name on disk (made safe by `decrypt`).
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// The type the reporter's browser claimed (never trusted).
    pub claimed_type: String,
}

/// One submission as shown.
pub struct SubView {
    /// Its folder name.
    pub dir: String,
    /// A follow-up rather than the tip.
    pub follow_up: bool,
    /// Its day.
    pub day: String,
    /// A follow-up whose tag did not prove that the receipt holder sent it
    /// (decrypt's verdict, kept in `case.json`): never shown as the
    /// reporter's words.
    pub unverified: bool,
    /// The typed fields that hold text, in the table's order.
    pub fields: Vec<(&'static Field, String)>,
    /// The decrypted manifest.
    pub m: Manifest,
    /// Its attachments.
    pub files: Vec<FileView>,
}

/// What happened, in order: the conversation of a case.
pub struct Entry {
    /// Log position (0: the acknowledgement made with the tip).
    pub seq: u64,
    /// Day.
    pub day: String,
    /// `tip`, `followup`, `followup-unverified`, `reply`, `note` or `status`.
    pub kind: &'static str,
    /// Who signed it (investigators' entries).
    pub by: String,
    /// The status it set (notes and status changes).
    pub status: Option<Status>,
    /// The text (replies and notes).
    pub text: String,
}

/// A case as shown.
pub struct CaseView {
    /// `case.json`.
    pub report: IndexReport,
    /// The submissions, in order.
    pub subs: Vec<SubView>,
    /// The conversation, in order.
    pub conversation: Vec<Entry>,
    /// The reasons of what was set aside.
    pub set_aside: Vec<String>,
}

impl CaseView {
    /// Whether the status change at log position `seq` is one that no
    /// pinned investigator's signature proves (decrypt's verdict).
    pub fn unsigned(&self, seq: &u64) -> bool {
        self.report.unsigned.contains(seq)
    }
}

/// Reads a case for its page.
pub fn case(book: &Casebook, dir: &Path, id: &str) -> Option<CaseView> {
    let report = book.case(id).ok()?;
    let case = dir.join(id);
    let mut subs = Vec::new();
    let mut conversation = Vec::new();
    for sub in submission_dirs(&case) {
        let Some(m) = manifest(&case, &sub) else { continue };
        let follow_up = sub.ends_with("-followup");
        let seq = sub.split('-').next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let day = day_of(&case, &sub);
        let unverified = follow_up && report.unverified.contains(&seq);
        let kind = match (follow_up, unverified) {
            (false, _) => "tip",
            (true, false) => "followup",
            (true, true) => "followup-unverified",
        };
        conversation.push(Entry { seq, day: day.clone(), kind, by: String::new(), status: None, text: String::new() });
        let files = attachments(&case.join(&sub).join("files"), &m);
        let fields = crate::model::fields::typed()
            .filter_map(|f| m.field(f.name).filter(|v| !v.is_empty()).map(|v| (f, v.to_string())))
            .collect();
        subs.push(SubView { dir: sub, follow_up, unverified, fields, day, m, files });
    }
    conversation.extend(messages(&case));
    // Status changes without a note are in the timeline only (as in conversation.md).
    for e in report.timeline.iter().filter(|e| e.note.is_none()) {
        let by = if e.signed.seq == 0 { "peluit".to_string() } else { e.signed.by.clone() };
        let (seq, day, status) = (e.signed.seq, e.day.clone(), Some(e.status));
        conversation.push(Entry { seq, day, kind: "status", by, status, text: String::new() });
    }
    // The acknowledgement (position 0) goes right after the first submission.
    let first = conversation.iter().map(|e| e.seq).filter(|&s| s != 0).min().unwrap_or(0);
    conversation.sort_by_key(|e| if e.seq == 0 { (first, 1) } else { (e.seq, 0) });
    let set_aside = reasons(&case);
    Some(CaseView { report, subs, conversation, set_aside })
}

/// The attachments in a submission's `files/`, with the claimed type of
/// the manifest entry whose safe name they bear.
fn attachments(files: &Path, m: &Manifest) -> Vec<FileView> {
    let mut out: Vec<FileView> = fs::read_dir(files)
        .map(|d| {
            d.flatten()
                .filter_map(|e| {
                    let name = e.file_name().to_str()?.to_string();
                    let size = e.metadata().ok()?.len();
                    let claimed_type = m
                        .attachments
                        .iter()
                        .enumerate()
                        .find(|(i, a)| crate::decrypt::safe_name(&a.name, i + 1) == name)
                        .map(|(_, a)| a.content_type.clone())
                        .unwrap_or_default();
                    Some(FileView { name, size, claimed_type })
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The replies and notes in `messages/`, from the files `decrypt` writes
/// (`# title`, `- Tanggal / Day:`, `- Oleh / By:`, a blank line, the text).
fn messages(case: &Path) -> Vec<Entry> {
    let Ok(list) = fs::read_dir(case.join(MESSAGES_DIR)) else { return Vec::new() };
    let mut out = Vec::new();
    for e in list.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some((seq, kind)) = name.strip_suffix(".md").and_then(|n| n.split_once('-')) else { continue };
        let (Ok(seq), Ok(md)) = (seq.parse::<u64>(), fs::read_to_string(e.path())) else { continue };
        let kind = if kind == "note" { "note" } else { "reply" };
        let field = |label: &str| md.lines().find_map(|l| l.strip_prefix(label)).unwrap_or_default().to_string();
        let status =
            md.lines().next().and_then(|l| l.rsplit_once("(status ")?.1.strip_suffix(')').and_then(Status::from_id));
        let text = md.split_once("\n\n").map(|(_, rest)| rest).and_then(|r| r.split_once("\n\n")).map(|(_, t)| t);
        out.push(Entry {
            seq,
            day: field("- Tanggal / Day: "),
            kind,
            by: field("- Oleh / By: "),
            status,
            text: text.unwrap_or_default().trim_end().to_string(),
        });
    }
    out
}

/// The texts of the reasons in a case's `quarantine/`.
fn reasons(case: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(case.join(crate::decrypt::QUARANTINE_DIR))
        .map(|d| d.flatten().filter_map(|e| fs::read_to_string(e.path()).ok()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// A status in the page language; `deleted` too.
pub fn status_label(t: &Tr<'_>, id: &str) -> String {
    t.get(&format!("status-{id}"))
}

/// A category id in the page language (the id itself if it has no words).
pub fn category_label(t: &Tr<'_>, id: &str) -> String {
    let key = format!("category-{id}");
    let s = t.get(&key);
    if s.starts_with('⟦') {
        id.to_string()
    } else {
        s
    }
}
