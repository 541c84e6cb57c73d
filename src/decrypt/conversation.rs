//! The conversation of a case, in order: the reporter's submissions, the
//! investigators' status changes (with who signed them and the note to the
//! reporter) and replies. Each reply or note is written once to
//! `messages/<seq>-reply.md` or `-note.md`; `conversation.md` is written
//! anew from the case folder whenever a bundle changes the case, so every
//! investigator who decrypts sees what colleagues sent.
//!
//! Reply and note texts were written by investigators, but they arrive
//! through the server: nothing of them reaches a file unescaped.

use std::fs;
use std::io::Read;
use std::path::Path;

use zeroize::Zeroizing;

use crate::crypto::Identities;
use crate::export::{IndexMessage, IndexReport};
use crate::model::{ReplyText, Status};
use crate::safe_text;

/// The folder of a case that holds the decrypted replies and notes.
pub const MESSAGES_DIR: &str = "messages";
/// The mark of a status change that no action signed by a pinned
/// investigator's key proves (see `authority.rs`).
pub const UNSIGNED: &str =
    "TIDAK ditandatangani pemeriksa yang disematkan / NOT signed by a pinned investigator: unverified";
/// The file of a case that shows the whole exchange in order.
pub const CONVERSATION_FILE: &str = "conversation.md";

/// The file name of a message inside [`MESSAGES_DIR`].
pub fn message_file(m: &IndexMessage) -> String {
    format!("{:012}-{}.md", m.seq, if m.status.is_some() { "note" } else { "reply" })
}

/// Decrypts a sealed reply or note and strips its padding; the error is the
/// reason to set it aside.
pub fn read_message(ids: &Identities, entry: &mut impl Read, path: &str) -> Result<Zeroizing<String>, String> {
    let reply: ReplyText =
        super::open::open_padded_json(ids, entry, path, "the message", crate::crypto::sealed_json::MAX_MESSAGE)?;
    Ok(Zeroizing::new(reply.text.clone()))
}

/// A message as it is written to its file.
pub fn message_markdown(m: &IndexMessage, text: &str) -> String {
    let what = match m.status {
        Some(s) => format!("Catatan untuk pelapor / Note to the reporter (status {})", s.id()),
        None => "Balasan untuk pelapor / Reply to the reporter".to_string(),
    };
    format!("# {what}\n\n- Tanggal / Day: {}\n- Oleh / By: {}\n\n{}\n", m.day, signer(&m.by), safe_text::block(text))
}

/// The signer's name, made safe, or a placeholder for records without one.
fn signer(by: &str) -> String {
    if by.is_empty() {
        "(tidak tercatat / not recorded)".to_string()
    } else {
        safe_text::line(by).into_owned()
    }
}

/// One line of the conversation, with the log position it sorts by.
struct Item {
    /// Export sequence number (0: the acknowledgement made with the tip,
    /// which sorts right after it).
    seq: u64,
    /// The Markdown.
    text: String,
}

/// Writes `conversation.md` for the case in `dir` from `report` (its
/// `case.json` as of now) and what the folder holds: submission folders
/// and message files. `staged` are the names of submission folders and
/// message files this run wrote but has not yet moved to their final
/// place, with their Markdown for messages.
pub fn render(dir: &Path, report: &IndexReport, staged: &[(String, Option<String>)]) -> String {
    let mut items = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let on_disk = |sub: &str| -> Vec<(String, Option<String>)> {
        let Ok(list) = fs::read_dir(dir.join(sub)) else { return Vec::new() };
        list.flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .map(|name| {
                let text = (sub == MESSAGES_DIR).then(|| fs::read_to_string(dir.join(sub).join(&name)).ok()).flatten();
                (name, text)
            })
            .collect()
    };
    let folders = fs::read_dir(dir)
        .map(|l| l.flatten().filter_map(|e| e.file_name().to_str().map(|n| (n.to_string(), None))).collect())
        .unwrap_or_else(|_| Vec::<(String, Option<String>)>::new());
    for (name, text) in folders.into_iter().chain(on_disk(MESSAGES_DIR)).chain(staged.iter().cloned()) {
        if !seen.insert(name.clone()) {
            continue;
        }
        let Some((seq, kind)) = name.split_once('-') else { continue };
        let Ok(seq) = seq.parse::<u64>() else { continue };
        let text = match (kind, text) {
            ("tip", _) => format!("## {seq:012} · Laporan / Report\n\nSee [`{name}/report.md`]({name}/report.md).\n"),
            ("followup", _) => {
                format!("{}\n\nSee [`{name}/report.md`]({name}/report.md).\n", super::followups::heading(report, seq))
            }
            (_, Some(md)) if name.ends_with(".md") => {
                let md = md.replacen("# ", &format!("## {seq:012} · "), 1);
                // A status note comes with its status change: marked as the change is.
                if report.unsigned.contains(&seq) {
                    format!("{}\n- **{UNSIGNED}**\n", md.trim_end())
                } else {
                    md
                }
            }
            _ => continue,
        };
        items.push(Item { seq, text });
    }
    // Status changes without a note are in the timeline only.
    for e in report.timeline.iter().filter(|e| e.note.is_none()) {
        let seq = e.signed.seq;
        let by = if seq == 0 { "peluit".to_string() } else { signer(&e.signed.by) };
        items.push(Item {
            seq,
            text: format!(
                "## {seq:012} · Status: {}\n\n- Tanggal / Day: {}\n- Oleh / By: {by}\n{}",
                status_name(e.status),
                e.day,
                if report.unsigned.contains(&seq) { format!("- **{UNSIGNED}**\n") } else { String::new() }
            ),
        });
    }
    // The acknowledgement (position 0) was made with the tip: it goes right
    // after the first submission rather than before it.
    let first = items.iter().map(|i| i.seq).filter(|&s| s != 0).min().unwrap_or(0);
    items.sort_by_key(|i| if i.seq == 0 { (first, 1) } else { (i.seq, 0) });
    let mut md = format!("# Percakapan / Conversation: `{}`\n\n", report.id);
    md += &format!("- Status: {}\n", status_name(report.status));
    if let Some(day) = &report.deleted {
        md += &format!("- **Dihapus di server / Deleted on the server: {day}**\n");
    }
    for i in items {
        md += "\n";
        md += &i.text;
    }
    md
}

/// A status in both languages.
fn status_name(s: Status) -> String {
    let (id, en) = match s {
        Status::Received => ("Diterima", "Received"),
        Status::Verifying => ("Verifikasi", "Verifying"),
        Status::Reviewing => ("Telaah", "Under review"),
        Status::Investigating => ("Tindak lanjut", "Under investigation"),
        Status::NeedsInfo => ("Butuh informasi tambahan", "More information needed"),
        Status::Forwarded => ("Diteruskan", "Forwarded"),
        Status::Closed => ("Selesai", "Closed"),
    };
    format!("{id} / {en} (`{}`)", s.id())
}
