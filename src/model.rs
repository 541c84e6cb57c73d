//! The report model: statuses, categories, the sealed manifest and the
//! non-secret record the server keeps. Pure data: no I/O, no clock.
//!
//! The [`Manifest`] is plaintext and only ever exists in memory on its way
//! into a [`crate::crypto::Sealer`]; the [`Report`] record is what may sit on
//! disk in the clear (DESIGN.md trust model: dates by day, padded sizes, status).

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

pub mod fields;
pub use fields::{Field, FieldKind, Fields, FIELDS};

/// Counts the bytes written to it, to size a buffer before it is filled.
#[derive(Default)]
pub struct ByteCount(pub usize);

impl std::io::Write for ByteCount {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl std::fmt::Write for ByteCount {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

/// `value` as JSON in a buffer allocated once at its exact length and
/// zeroized on drop: a growing `Vec` frees each buffer it outgrows without
/// zeroizing it, leaving partial copies of the plaintext in freed memory.
pub fn secret_json<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Zeroizing<Vec<u8>>> {
    let mut len = ByteCount::default();
    serde_json::to_writer(&mut len, value)?;
    let mut out = Zeroizing::new(Vec::with_capacity(len.0));
    serde_json::to_writer(&mut *out, value)?;
    Ok(out)
}

/// Format tag of the sealed manifest JSON.
pub const MANIFEST_FORMAT: &str = "peluit-manifest/1";

/// Largest manifest the server accepts, sealed by itself (JSON before
/// padding) or by the client (ciphertext, never shorter than its plaintext):
/// half of what `decrypt` reads, so that padding never takes it over.
pub const MAX_MANIFEST_BYTES: u64 = 8 * 1024 * 1024;

/// Longest attachment name kept, in bytes (the common file-system limit).
pub const MAX_FILE_NAME: usize = 255;

/// Top-level media types (RFC 6838): a claimed content type must use one.
const MEDIA_TYPES: [&str; 9] =
    ["application", "audio", "font", "image", "message", "model", "multipart", "text", "video"];

/// Where a report stands (DESIGN.md, "Statuses and categories").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Set at submission: the acknowledgement.
    Received,
    /// Verifikasi.
    Verifying,
    /// Telaah.
    Reviewing,
    /// Tindak lanjut.
    Investigating,
    /// Butuh informasi tambahan.
    NeedsInfo,
    /// Diteruskan to the competent authority.
    Forwarded,
    /// Selesai.
    Closed,
}

impl Status {
    /// Every status, in workflow order.
    pub const ALL: [Status; 7] = [
        Status::Received,
        Status::Verifying,
        Status::Reviewing,
        Status::Investigating,
        Status::NeedsInfo,
        Status::Forwarded,
        Status::Closed,
    ];

    /// The stable id used in JSON, actions and message keys.
    pub fn id(self) -> &'static str {
        match self {
            Status::Received => "received",
            Status::Verifying => "verifying",
            Status::Reviewing => "reviewing",
            Status::Investigating => "investigating",
            Status::NeedsInfo => "needs_info",
            Status::Forwarded => "forwarded",
            Status::Closed => "closed",
        }
    }

    /// Parses a status id.
    pub fn from_id(id: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.id() == id)
    }
}

/// The default categories (DESIGN.md): id and Indonesian name. English names
/// live in the message catalogue under `category-<id>`.
pub const DEFAULT_CATEGORIES: [&str; 10] = [
    "pungli",
    "suap",
    "gratifikasi",
    "pemerasan",
    "penggelapan",
    "pengadaan",
    "wewenang",
    "benturan",
    "perizinan",
    "lainnya",
];

/// The category a reporter who skips the question gets: "other" is the
/// honest answer (DESIGN.md default categories).
pub const UNSURE_CATEGORY: &str = "lainnya";

/// The category a tip is filed under: an empty choice means "other"; a
/// choice outside `categories` is refused (`None`). The web form, the API
/// and the reporter's command line all apply this one rule.
pub fn tip_category<'a, S: AsRef<str>>(chosen: &'a str, categories: &[S]) -> Option<&'a str> {
    let id = if chosen.is_empty() { UNSURE_CATEGORY } else { chosen };
    categories.iter().any(|c| c.as_ref() == id).then_some(id)
}

/// Where a sealed item came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SealedBy {
    /// The server sealed a web-form or plaintext-API submission.
    Server,
    /// The client sealed it; the server never saw plaintext.
    Client,
}

/// Whether a submission opened the report or was added later.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubmissionKind {
    /// The first tip.
    Tip,
    /// Information the reporter added with the receipt code.
    FollowUp,
}

/// A stored ciphertext: a standard age file kept in chunks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobRef {
    /// Random 128-bit id, hex.
    pub id: String,
    /// Ciphertext length in bytes (of a padded plaintext).
    pub len: u64,
}

/// One sealed submission: a manifest and its attachments, in manifest order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submission {
    /// Position in the export log (monotonic, for `--since`).
    pub seq: u64,
    /// Day of arrival, `YYYY-MM-DD` (UTC).
    pub day: String,
    /// Tip or follow-up.
    pub kind: SubmissionKind,
    /// Who sealed it.
    pub sealed_by: SealedBy,
    /// The sealed manifest (JSON inside).
    pub manifest: BlobRef,
    /// The sealed attachments; `attachments[i]` is the manifest's file `i`.
    pub attachments: Vec<BlobRef>,
    /// A follow-up's tags, one per investigator recipient: proof that it
    /// comes from the receipt holder (see [`crate::crypto::followup_tag`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<FollowUpTag>,
}

/// One investigator's tag on a follow-up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUpTag {
    /// The investigator recipient it is for (`age1…`).
    pub to: String,
    /// HMAC-SHA256, base64.
    pub tag: String,
}

/// A status change as the reporter sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Day of the change.
    pub day: String,
    /// The new status.
    pub status: Status,
    /// A note for the reporter, sealed like a reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<BlobRef>,
    /// Who signed it, and where it stands in the logs.
    #[serde(flatten)]
    pub signed: Signed,
}

/// What records an investigator's change (a status change or a reply): its
/// place in the export log, so that an incremental export carries it; the
/// signer's name; the position of the signed action in the audit log, so
/// that the status API can hand the reporter's client the line to verify.
/// Empty for the acknowledgement made at submission and in records from
/// before these were kept (and then not written, so records keep their
/// old shape).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signed {
    /// Position in the export log (0: none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub seq: u64,
    /// The name of the investigator who signed it (`investigators.txt`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub by: String,
    /// Position of the signed action in the audit log (0: none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub audit: u64,
}

/// For `skip_serializing_if`: records keep their old shape where a field is unset.
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// An investigator's reply, sealed to the reporter's reply key and to the
/// investigators.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// Day it was applied.
    pub day: String,
    /// The sealed text.
    pub blob: BlobRef,
    /// Who signed it, and where it stands in the logs.
    #[serde(flatten)]
    pub signed: Signed,
}

/// The non-secret record of a report: everything here may be seen by someone
/// who seizes the disk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Random 128-bit id, hex. Never sequential.
    pub id: String,
    /// Day of the first submission.
    pub created: String,
    /// Current status.
    pub status: Status,
    /// Status history, oldest first.
    pub timeline: Vec<Event>,
    /// Public half of the reply identity derived from the receipt (`age1…`),
    /// in the clear: only in records of an older layout (`compact` seals it),
    /// and in case folders on the offline machine.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reply_recipient: String,
    /// The same, locked for the investigators (`KEYID:` and base64, see
    /// [`crate::crypto::reply_lock`]), so that a copy of the data folder
    /// cannot confirm a receipt.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reply_sealed: String,
    /// Everything the reporter sent, in order.
    pub submissions: Vec<Submission>,
    /// The investigators' replies, oldest first.
    #[serde(default)]
    pub replies: Vec<Reply>,
    /// The lookup key (hex HMAC of the receipt), so a purge can remove it.
    #[serde(default)]
    pub lookup: String,
    /// The id of the last action applied, empty before the first: the next
    /// signed action must name it (see `actions::order`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub head: String,
}

impl Report {
    /// Every blob the report owns (for purging and checking).
    pub fn blobs(&self) -> impl Iterator<Item = &BlobRef> {
        self.submissions
            .iter()
            .flat_map(|s| std::iter::once(&s.manifest).chain(&s.attachments))
            .chain(self.replies.iter().map(|r| &r.blob))
            .chain(self.timeline.iter().filter_map(|e| e.note.as_ref()))
    }

    /// Every position the report holds in the export log: its submissions,
    /// status changes and replies.
    pub fn log_positions(&self) -> impl Iterator<Item = u64> + '_ {
        self.submissions
            .iter()
            .map(|s| s.seq)
            .chain(self.timeline.iter().map(|e| e.signed.seq))
            .chain(self.replies.iter().map(|r| r.signed.seq))
            .filter(|&s| s != 0)
    }
}

/// Format tag of a sealed reply or status note.
pub const REPLY_FORMAT: &str = "peluit-reply/1";

/// The sealed plaintext of a reply or a status note (JSON, padded with spaces).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct ReplyText {
    /// Always [`REPLY_FORMAT`].
    pub format: String,
    /// The text for the reporter.
    pub text: String,
}

/// One attachment as the manifest describes it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct AttachmentInfo {
    /// The file name the reporter's browser sent (unsanitised; sanitised on decrypt).
    pub name: String,
    /// True length in bytes; the sealed blob is padded beyond it.
    pub size: u64,
    /// The media type the browser claimed, if any.
    pub content_type: String,
}

/// The sealed plaintext of a submission. Lives only in memory, zeroized on drop.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct Manifest {
    /// Always [`MANIFEST_FORMAT`].
    pub format: String,
    /// `tip` or `followup`.
    pub kind: String,
    /// Category id (empty for follow-ups).
    pub category: String,
    /// The 4W+1H answers.
    pub fields: Fields,
    /// Free text.
    pub text: String,
    /// Optional identity disclosure (name and contact), empty when anonymous.
    pub identity: String,
    /// The attachments, in the order of the sealed blobs.
    pub attachments: Vec<AttachmentInfo>,
}

/// A file name cut to [`MAX_FILE_NAME`] bytes on a character boundary,
/// keeping a short extension (`.pdf`) so the investigator can still open it.
pub fn bounded_file_name(name: &str) -> String {
    if name.len() <= MAX_FILE_NAME {
        return name.to_string();
    }
    let ext = name.rsplit_once('.').map(|(_, e)| e).filter(|e| !e.is_empty() && e.len() <= 16 && !e.contains('/'));
    let keep = MAX_FILE_NAME - ext.map_or(0, |e| e.len() + 1);
    let mut cut = keep;
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    match ext {
        Some(e) => format!("{}.{e}", &name[..cut]),
        None => name[..cut].to_string(),
    }
}

/// A claimed media type reduced to `type/subtype` (lower case, parameters
/// dropped) when it is well formed with a registered top-level type;
/// anything else becomes `application/octet-stream`. Empty stays empty.
pub fn known_content_type(claimed: &str) -> String {
    let essence = claimed.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if essence.is_empty() {
        return String::new();
    }
    // RFC 6838 restricted-name: a letter or digit, then up to 126 of these.
    let name_ok = |n: &str| {
        n.len() <= 127
            && n.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
            && n.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    match essence.split_once('/') {
        Some((t, sub)) if MEDIA_TYPES.contains(&t) && name_ok(sub) => essence,
        _ => "application/octet-stream".into(),
    }
}

impl Manifest {
    /// True when the reporter sent nothing at all.
    pub fn is_empty(&self) -> bool {
        self.blank(|f| matches!(f.kind, FieldKind::Fact | FieldKind::Text)) && self.attachments.is_empty()
    }
}

#[cfg(test)]
mod tests;
