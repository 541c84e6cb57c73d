//! The desk's acts: a status change, a reply and a delete, each signed with
//! the chosen investigator's key by [`Casebook`] and recorded in the
//! outgoing actions file exactly as `peluit case` does; unlocking a key;
//! and the list of lines waiting to be carried.
//!
//! Never signs for a case that is not in the folder, and never keeps a
//! reply or a passphrase beyond the request (zeroized on drop).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::pages::{lang, notice, render, KeysPage};
use super::Desk;
use crate::actions::{ActionKind, Line, Payload};
use crate::casework::{CaseError, Casebook};
use crate::model::Status;

pub use super::files::{clean_copy, download};
pub use super::import::{import_path, import_upload, Imported};

/// The status form.
#[derive(serde::Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct StatusForm {
    /// The investigator who signs.
    who: String,
    /// The new status id.
    status: String,
    /// An optional note for the reporter.
    #[serde(default)]
    note: String,
}

/// The reply form.
#[derive(serde::Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct ReplyForm {
    /// The investigator who signs.
    who: String,
    /// The reply.
    text: String,
}

/// The delete form.
#[derive(serde::Deserialize)]
pub struct DeleteForm {
    /// The investigator who signs.
    who: String,
    /// The case id again, from the confirmation page.
    confirm: String,
}

/// The unlock form.
#[derive(serde::Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct UnlockForm {
    /// The investigator.
    who: String,
    /// Their key folder's passphrase.
    passphrase: String,
}

/// `POST /case/{id}/status`.
pub async fn status(
    State(desk): State<Arc<Desk>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<StatusForm>,
) -> Response {
    let Some(s) = Status::from_id(&form.status) else {
        return notice(&desk, &headers, "desk-refused", form.status.clone(), &format!("/case/{id}"), true);
    };
    let note = Some(form.note.as_str()).filter(|n| !n.trim().is_empty());
    let what = desk.catalog.tr(lang(&headers)).get(&format!("status-{}", s.id()));
    sign(&desk, &headers, &id, &form.who, &what, |book, key, now| book.status(key, &id, s, note, now)).await
}

/// `POST /case/{id}/reply`.
pub async fn reply(
    State(desk): State<Arc<Desk>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<ReplyForm>,
) -> Response {
    let what = desk.catalog.tr(lang(&headers)).get("desk-kind-reply");
    sign(&desk, &headers, &id, &form.who, &what, |book, key, now| book.reply(key, &id, &form.text, now)).await
}

/// `POST /case/{id}/delete`: only from the confirmation page, which names the case.
pub async fn delete(
    State(desk): State<Arc<Desk>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<DeleteForm>,
) -> Response {
    if form.confirm != id {
        return notice(&desk, &headers, "desk-refused", String::new(), &format!("/case/{id}/delete"), true);
    }
    let what = desk.catalog.tr(lang(&headers)).get("desk-kind-delete");
    sign(&desk, &headers, &id, &form.who, &what, |book, key, now| book.delete(key, &id, now)).await
}

/// Signs with `who`'s key and records the line, one act at a time.
async fn sign(
    desk: &Desk,
    headers: &HeaderMap,
    id: &str,
    who: &str,
    what: &str,
    make: impl FnOnce(&Casebook, &crate::crypto::ed25519::SecretKey, u64) -> Result<String, CaseError>,
) -> Response {
    let back = format!("/case/{id}");
    let t = desk.catalog.tr(lang(headers));
    let Some(book) = desk.book() else {
        return notice(desk, headers, "desk-refused", t.get("desk-no-cases"), "/import", true);
    };
    let _one = desk.work.lock().await;
    let now = crate::clock::now_unix();
    let signed = desk.people.with_key(who, |key| make(&book, key, now));
    let line = match signed {
        None => return notice(desk, headers, "desk-refused", t.get("desk-key-locked"), "/keys", true),
        Some(Err(e)) => return notice(desk, headers, "desk-refused", e.to_string(), &back, true),
        Some(Ok(line)) => line,
    };
    match book.record(id, &line) {
        Ok(stale) => {
            let file = book.outgoing_file().display().to_string();
            let mut text = t.args("desk-signed", &[("who", who), ("what", what), ("case", id), ("file", &file)]);
            if stale > 0 {
                text += " ";
                text += &t.arg("desk-stale", "count", &stale.to_string());
            }
            notice(desk, headers, "desk-signed-title", text, &back, false)
        }
        Err(e) => notice(desk, headers, "desk-refused", e.to_string(), &back, true),
    }
}

/// `POST /keys`: opens an investigator's keys for this run.
pub async fn unlock(State(desk): State<Arc<Desk>>, headers: HeaderMap, Form(form): Form<UnlockForm>) -> Response {
    let t = desk.catalog.tr(lang(&headers));
    // scrypt takes a moment: off the async threads.
    let d = desk.clone();
    let (who, pass) = (form.who.clone(), zeroize::Zeroizing::new(form.passphrase.clone()));
    let result = tokio::task::spawn_blocking(move || d.people.unlock(&who, &pass)).await;
    let error = match result {
        Ok(Ok(())) => String::new(),
        Ok(Err(e)) => e,
        Err(_) => t.get("desk-refused"),
    };
    let status = if error.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    render(&KeysPage { t, f: desk.frame(), people: desk.people.list(), error }, status)
}

/// A line waiting in the outgoing file, as shown.
pub struct Waiting {
    /// The case.
    pub report: String,
    /// `status`, `reply` or `delete`.
    pub kind: &'static str,
    /// The status set (status changes).
    pub status: String,
    /// The day it was signed.
    pub day: String,
    /// Who signed it.
    pub by: String,
}

/// The lines of the outgoing file, in order.
pub fn waiting(desk: &Desk) -> Vec<Waiting> {
    let text = std::fs::read_to_string(desk.outgoing()).unwrap_or_default();
    text.lines()
        .filter_map(|raw| {
            let line: Line = serde_json::from_str(raw.trim()).ok()?;
            let bytes = crate::crypto::ed25519::unb64(&line.payload)?;
            let p: Payload = serde_json::from_slice(&bytes).ok()?;
            let (kind, status) = match p.kind {
                ActionKind::Status { status, .. } => ("status", status.id().to_string()),
                ActionKind::Reply { .. } => ("reply", String::new()),
                ActionKind::Delete => ("delete", String::new()),
            };
            Some(Waiting { report: p.report, kind, status, day: p.day, by: desk.people.name_of(&line.key) })
        })
        .collect()
}
