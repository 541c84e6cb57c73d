//! Status checks: `POST /status` (page) and `POST /api/v1/status` (JSON), and
//! follow-ups: `POST /status/add`. The receipt arrives in the body only and
//! is never logged or stored; it is echoed only into its own answer: the
//! follow-up form of its page, or the code field when it was refused.
//! Replies are decrypted in memory with the key derived from the receipt.

use std::sync::Arc;

use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use zeroize::Zeroizing;

use super::pages::{error_for, status_label, status_page, status_retry, StatusView};
use super::parts::Parts;
use super::reports::{new_intake, read_parts, read_text};
use super::respond::{lang_from, secret_json};
use super::{App, HttpError};
use crate::api::{self, StatusQuery};
use crate::crypto::{self, sealed_json};
use crate::i18n::Lang;
use crate::model::{BlobRef, ReplyText, Report, SubmissionKind};
use crate::receipt::Receipt;

/// Finds the report for a typed code. A typo is told apart from an unknown
/// code; an unknown code gets one answer whatever the reason.
pub fn find(app: &App, typed: &str) -> Result<(Report, Receipt), HttpError> {
    let receipt = Receipt::parse(typed)?;
    let key = app.store.lookup_key(&receipt)?;
    let report = app.store.find(&key)?.ok_or(HttpError::Unknown)?;
    Ok((report, receipt))
}

/// Decrypts one reply or note with the reporter's key. A blob that does not
/// open is shown as missing rather than failing the whole page.
fn open_text(app: &App, id: &crypto::ReplyIdentity, blob: &BlobRef) -> String {
    let opened = app.store.blob_reader(blob).ok().and_then(|r| {
        let t: ReplyText = sealed_json::open(id.open(r).ok()?, sealed_json::MAX_MESSAGE).ok()?;
        Some(t.text.clone())
    });
    opened.unwrap_or_else(|| "…".into())
}

/// The reporter's view of a report, replies and notes decrypted.
fn view(app: &App, lang: Lang, r: &Report, receipt: &Receipt) -> StatusView {
    // Derived once, and only when there is something sealed to open.
    let id = std::cell::OnceCell::new();
    let id = || id.get_or_init(|| crypto::reply_identity(receipt));
    StatusView {
        status: r.status.id(),
        status_label: status_label(app, lang, r.status),
        created: r.created.clone(),
        timeline: r
            .timeline
            .iter()
            .map(|e| {
                let note = e.note.as_ref().map(|b| open_text(app, id(), b)).unwrap_or_default();
                (e.day.clone(), status_label(app, lang, e.status), note)
            })
            .collect(),
        replies: r.replies.iter().map(|x| (x.day.clone(), open_text(app, id(), &x.blob))).collect(),
        sent: followups(r)
            .map(|(day, files)| {
                (day.to_string(), app.catalog.tr(lang).arg("status-sent-files", "files", &files.to_string()))
            })
            .collect(),
        code: receipt.grouped().to_string(),
        draft: String::new(),
    }
}

/// The reporter's own follow-ups: the day and how many files each carried.
/// Their content is sealed to the investigators alone, so the server cannot
/// show it, and sealing it to the receipt too would let whoever finds a
/// written-down code read what the reporter added.
fn followups(r: &Report) -> impl Iterator<Item = (&str, usize)> {
    r.submissions.iter().filter(|s| s.kind == SubmissionKind::FollowUp).map(|s| (s.day.as_str(), s.attachments.len()))
}

/// `POST /status`.
pub async fn status_form(
    State(app): State<Arc<App>>,
    uri: Uri,
    headers: HeaderMap,
    form: Result<Form<StatusQuery>, FormRejection>,
) -> Response {
    let lang = lang_from(&uri, &headers);
    let Ok(Form(body)) = form else { return status_page(&app, lang, None, Some(&HttpError::Typo), None) };
    if body.receipt.trim().is_empty() {
        return status_retry(&app, lang, &HttpError::Invalid("receipt_empty", "error-receipt-empty"), "");
    }
    match find(&app, &body.receipt) {
        Ok((report, receipt)) => status_page(&app, lang, Some(view(&app, lang, &report, &receipt)), None, None),
        Err(e) => status_retry(&app, lang, &e, &body.receipt),
    }
}

/// `POST /status/add`: the reporter adds a message and files. The `receipt`
/// part must come first, so nothing is stored for an unknown code. A refused
/// addition shows the report again with the message as typed.
pub async fn followup_form(
    State(app): State<Arc<App>>,
    uri: Uri,
    headers: HeaderMap,
    multipart: Result<Parts, MultipartRejection>,
) -> Response {
    let lang = lang_from(&uri, &headers);
    match add_followup(&app, multipart, false).await {
        Ok((report, receipt)) => {
            status_page(&app, lang, Some(view(&app, lang, &report, &receipt)), None, Some("followup-sent"))
        }
        Err(Refused { error, found: Some((report, receipt)), draft }) => {
            let mut v = view(&app, lang, &report, &receipt);
            v.draft = draft.to_string();
            status_page(&app, lang, Some(v), Some(&error), None)
        }
        Err(Refused { error, found: None, .. }) => status_page(&app, lang, None, Some(&error), None),
    }
}

/// A refused follow-up: the error, the report if the code was good, and the
/// message as typed.
struct Refused {
    /// What went wrong.
    error: HttpError,
    /// The report and receipt, when the code was found.
    found: Option<(Report, Receipt)>,
    /// The typed message (zeroized when dropped).
    draft: Zeroizing<String>,
}

impl From<HttpError> for Refused {
    fn from(error: HttpError) -> Self {
        Refused { error, found: None, draft: Zeroizing::new(String::new()) }
    }
}

/// Reads the receipt, streams the rest into an intake, seals and appends it.
async fn add_followup(
    app: &App,
    multipart: Result<Parts, MultipartRejection>,
    sealed_ok: bool,
) -> Result<(Report, Receipt), Refused> {
    let mut mp = multipart.map_err(|_| HttpError::BadRequest)?;
    let mut field = mp.next_field().await.map_err(HttpError::from)?.ok_or(HttpError::BadRequest)?;
    if field.name() != Some("receipt") {
        return Err(HttpError::BadRequest.into());
    }
    // A receipt is 25 characters; 256 bytes leaves room for spaces.
    let typed = Zeroizing::new(read_text(&mut field, 256).await.map_err(|_| HttpError::Typo)?);
    drop(field);
    let (report, receipt) = find(app, &typed)?;
    let mut intake = new_intake(app);
    let result = append(app, &mut intake, mp, sealed_ok, (&report, &receipt)).await;
    match result {
        Ok(()) => {
            let key = app.store.lookup_key(&receipt).map_err(HttpError::from)?;
            let updated = app.store.find(&key).map_err(HttpError::from)?.ok_or(HttpError::Unknown)?;
            Ok((updated, receipt))
        }
        Err(error) => {
            let draft = Zeroizing::new(intake.manifest().text.clone());
            Err(Refused { error, found: Some((report, receipt)), draft })
        }
    }
}

/// Streams the parts after the receipt into `intake` and appends the sealed
/// follow-up to `report`, durably.
async fn append(
    app: &App,
    intake: &mut crate::intake::Intake,
    mp: Parts,
    sealed_ok: bool,
    (report, receipt): (&Report, &Receipt),
) -> Result<(), HttpError> {
    read_parts(app, intake, mp, sealed_ok).await?;
    if !intake.is_client_sealed()
        && intake.manifest().text.trim().is_empty()
        && intake.manifest().attachments.is_empty()
    {
        return Err(HttpError::Invalid("empty", "error-empty-followup"));
    }
    let mut sub = intake.seal(SubmissionKind::FollowUp, &app.clock.today(), &[])?;
    // A client-sealed follow-up carries the client's own tags.
    if !intake.is_client_sealed() {
        intake.tag(&mut sub, receipt);
    }
    app.store.append_submission(&report.id, sub, app.limits.max_followups)?;
    intake.mark_committed();
    app.store.durable().await?;
    Ok(())
}

/// `POST /api/v1/followups`: the same as `/status/add` for programs; the
/// parts after the receipt may be sealed by the client.
pub async fn followup_api(State(app): State<Arc<App>>, multipart: Result<Parts, MultipartRejection>) -> Response {
    match add_followup(&app, multipart, true).await {
        Ok((r, _)) => (
            StatusCode::CREATED,
            Json(api::FollowupAdded { status: r.status.id().into(), followups: r.submissions.len() - 1 }),
        )
            .into_response(),
        Err(refused) => error_for(&app, true, Lang::En, refused.error),
    }
}

/// A sealed blob as base64, for clients that decrypt replies themselves.
fn sealed_b64(app: &App, blob: &BlobRef) -> String {
    let mut raw = Vec::new();
    match app.store.read_blob(blob, &mut raw) {
        Ok(()) => crate::crypto::ed25519::b64(&raw),
        Err(_) => String::new(),
    }
}

/// The signed action at audit position `n` (without its blob), for the
/// client to verify that an investigator authorised a reply or status
/// change; none when there is none (0: set at submission, or applied before
/// positions were kept).
fn signed_line(app: &App, n: u64) -> Option<crate::actions::Line> {
    let entry = if n == 0 { None } else { app.store.audit_entry(n).ok().flatten() };
    entry.map(|e| e.line)
}

/// `POST /api/v1/status` with `"sealed": true`: nothing is decrypted here.
fn sealed_status(app: &App, r: &Report) -> api::SealedStatus {
    let timeline = r
        .timeline
        .iter()
        .map(|e| api::SealedChange {
            day: e.day.clone(),
            status: e.status.id().into(),
            note_sealed: e.note.as_ref().map(|b| sealed_b64(app, b)).unwrap_or_default(),
            line: signed_line(app, e.signed.audit),
        })
        .collect();
    let replies = r
        .replies
        .iter()
        .map(|x| api::SealedReply {
            day: x.day.clone(),
            sealed: sealed_b64(app, &x.blob),
            line: signed_line(app, x.signed.audit),
        })
        .collect();
    api::SealedStatus {
        report: r.id.clone(),
        status: r.status.id().into(),
        created: r.created.clone(),
        timeline,
        replies,
        followups: r.submissions.len() - 1,
        added: added(r),
    }
}

/// The reporter's own follow-ups for the JSON API: day and number of files.
fn added(r: &Report) -> Vec<api::Added> {
    followups(r).map(|(day, files)| api::Added { day: day.to_string(), files }).collect()
}

/// `POST /api/v1/status`.
pub async fn status_api(State(app): State<Arc<App>>, body: Result<Json<StatusQuery>, JsonRejection>) -> Response {
    let body_sealed = body.as_ref().map(|Json(b)| b.sealed).unwrap_or(false);
    let result = match body {
        Ok(Json(b)) => find(&app, &b.receipt),
        Err(_) => Err(HttpError::BadRequest),
    };
    let sealed = body_sealed;
    match result {
        Ok((r, _)) if sealed => (StatusCode::OK, Json(sealed_status(&app, &r))).into_response(),
        Ok((r, receipt)) => {
            let v = view(&app, Lang::En, &r, &receipt);
            let timeline = r
                .timeline
                .iter()
                .zip(&v.timeline)
                .map(|(e, shown)| api::PlainChange {
                    day: e.day.clone(),
                    status: e.status.id().into(),
                    note: shown.2.clone(),
                })
                .collect();
            let replies =
                v.replies.iter().map(|(day, text)| api::PlainReply { day: day.clone(), text: text.clone() }).collect();
            let body = api::StatusView {
                status: r.status.id().into(),
                created: r.created.clone(),
                timeline,
                replies,
                followups: r.submissions.len() - 1,
                added: added(&r),
            };
            secret_json(StatusCode::OK, &body)
        }
        Err(e) => error_for(&app, true, Lang::En, e),
    }
}
