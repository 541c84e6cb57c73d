//! Whether a follow-up comes from the holder of the receipt: its tag for
//! this investigator's identity, recomputed from the ciphertext of each of
//! its blobs as they went by and the case's reply recipient (see
//! [`crate::crypto::followup_tag`]). A follow-up that fails is written, but
//! marked in `report.json`, at the top of `report.md`, in the conversation
//! and in `peluit cases`, never shown as the reporter's words.
//! Never trusts a bundle's say-so about a follow-up's origin.

use std::io;

use crate::crypto::{followup_tag, Identities};
use crate::export::{IndexReport, IndexSubmission};
use crate::model::{Manifest, SubmissionKind};

/// The mark of a follow-up whose tag does not verify, in `report.md` and
/// the conversation.
pub const UNVERIFIED: &str = "TIDAK terbukti dari pemegang tanda terima / NOT from the receipt holder: unverified";

/// True when `sub` is a follow-up whose tag for `ids` verifies over the
/// SHA-256 of its blobs (`hashes`, manifest first) and the case's reply
/// recipient. A tip needs no tag: the bundle's signature covers it.
pub(super) fn from_receipt_holder(
    ids: &Identities,
    case: &IndexReport,
    sub: &IndexSubmission,
    hashes: &[[u8; 32]],
) -> bool {
    if sub.kind == SubmissionKind::Tip {
        return true;
    }
    let digest = followup_tag::digest(&case.reply_recipient, hashes);
    !case.reply_recipient.is_empty() && ids.tags().verified(&case.reply_recipient, &sub.tags, &digest)
}

/// `report.json` and `report.md` of a submission, once all its blobs are
/// in: a follow-up's say whether it comes from the receipt holder, and an
/// unverified one is marked at the top of its Markdown.
pub(super) fn report_files(
    case: &IndexReport,
    sub: &IndexSubmission,
    manifest: &Manifest,
    verified: bool,
) -> io::Result<(Vec<u8>, String)> {
    let mut json = serde_json::to_value(manifest).map_err(io::Error::other)?;
    if let (SubmissionKind::FollowUp, Some(o)) = (sub.kind, json.as_object_mut()) {
        o.insert("from_receipt_holder".into(), verified.into());
    }
    let md = super::markdown(case, sub, manifest);
    let md = if verified {
        md
    } else {
        format!(
            "> **{UNVERIFIED}.** Its tag does not verify: the server or a carrier may have made it. Do not act on \
             it as the reporter's words.\n\n{md}"
        )
    };
    Ok((serde_json::to_vec_pretty(&json).map_err(io::Error::other)?, md))
}

/// The conversation's heading of follow-up `seq` of `case`.
pub(super) fn heading(case: &IndexReport, seq: u64) -> String {
    if case.unverified.contains(&seq) {
        format!("## {seq:012} · {UNVERIFIED}")
    } else {
        format!("## {seq:012} · Tambahan dari pelapor / Follow-up")
    }
}
