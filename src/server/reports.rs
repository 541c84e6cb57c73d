//! Submissions: `POST /submit` (the form) and `POST /api/v1/reports`.
//!
//! Parts are streamed into the [`Intake`] as they arrive; the receipt is shown
//! only after the group commit has made the report durable. Plaintext exists
//! only in memory for the length of the request.

use std::sync::Arc;

use axum::extract::multipart::{Field, MultipartRejection};
use axum::extract::{FromRequest, Request, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::Response;
use serde::Deserialize;
use zeroize::Zeroize;

use super::pages::{error_for, receipt_page, submit_page};
use super::parts::Parts;
use super::respond::{lang_from, secret_json};
use super::{App, HttpError};
use crate::intake::{Intake, IntakeError};
use crate::model::SubmissionKind;
use crate::receipt::Receipt;

/// A plaintext tip sent as JSON (no files): an object of the text fields
/// of [`crate::model::FIELDS`], each optional. Its texts are zeroized as it
/// drops.
#[derive(Deserialize, Default)]
#[serde(transparent)]
pub struct ApiTip(std::collections::BTreeMap<String, String>);

impl Drop for ApiTip {
    fn drop(&mut self) {
        self.0.values_mut().for_each(Zeroize::zeroize);
    }
}

/// `POST /submit`: the web form.
pub async fn submit_form(
    State(app): State<Arc<App>>,
    uri: Uri,
    headers: HeaderMap,
    multipart: Result<Parts, MultipartRejection>,
) -> Response {
    let lang = lang_from(&uri, &headers);
    let mut intake = new_intake(&app);
    let result = match multipart {
        Ok(mp) => read_parts(&app, &mut intake, mp, false).await,
        Err(_) => Err(HttpError::BadRequest),
    };
    let result = match result {
        Ok(()) => open_report(&app, &mut intake).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(receipt) => receipt_page(&app, lang, &receipt.grouped()),
        Err(e) => {
            let status = e.status();
            submit_page(&app, lang, intake.manifest(), Some(&e), status)
        }
    }
}

/// `POST /api/v1/reports`: multipart (plaintext or client-sealed parts) or JSON.
pub async fn submit_api(State(app): State<Arc<App>>, req: Request) -> Response {
    let ctype =
        req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    let mut intake = new_intake(&app);
    let read = if ctype.starts_with("multipart/form-data") {
        match Parts::from_request(req, &()).await {
            Ok(mp) => read_parts(&app, &mut intake, mp, true).await,
            Err(_) => Err(HttpError::BadRequest),
        }
    } else if ctype.starts_with("application/json") {
        read_json(&mut intake, req, app.limits.text_body()).await
    } else {
        Err(HttpError::BadRequest)
    };
    let result = match read {
        Ok(()) => open_report(&app, &mut intake).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(receipt) => {
            // Zeroized as it drops.
            let body = crate::api::Created {
                receipt: receipt.grouped().as_str().into(),
                status: crate::model::Status::Received.id().into(),
            };
            secret_json(StatusCode::CREATED, &body)
        }
        Err(e) => error_for(&app, true, crate::i18n::Lang::En, e),
    }
}

/// A fresh intake for this deployment.
pub fn new_intake(app: &App) -> Intake {
    Intake::new(app.store.clone(), app.recipients.clone(), app.limits.parts())
}

/// Reads a JSON tip of at most `limit` bytes into the intake; the raw body
/// is zeroized once parsed.
async fn read_json(intake: &mut Intake, req: Request, limit: u64) -> Result<(), HttpError> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let body = axum::body::to_bytes(req.into_body(), limit).await.map_err(|_| HttpError::TooLarge)?;
    let mut raw = Vec::from(body);
    let parsed = serde_json::from_slice::<ApiTip>(&raw);
    raw.zeroize();
    match parsed {
        Ok(tip) => json_fields(intake, tip),
        Err(_) => Err(HttpError::BadRequest),
    }
}

/// Moves the JSON fields into the intake. A name that is not a field is a
/// bad request, as any other JSON the API does not describe.
fn json_fields(intake: &mut Intake, mut tip: ApiTip) -> Result<(), HttpError> {
    if tip.0.keys().any(|name| crate::model::fields::named(name).is_none()) {
        return Err(HttpError::BadRequest);
    }
    for (name, value) in tip.0.iter_mut() {
        intake.text(name, std::mem::take(value))?;
    }
    Ok(())
}

/// Streams every part of a multipart body into the intake. When a part is
/// refused (a full disk, a limit), the rest of the body is read and dropped
/// before the answer goes out: a browser that is still sending when the
/// connection closes shows a network error instead of the page that says
/// what went wrong. The body limit and timeouts bound that reading as they
/// bound any upload.
pub async fn read_parts(app: &App, intake: &mut Intake, mut mp: Parts, sealed_ok: bool) -> Result<(), HttpError> {
    let result = read_each(app, intake, &mut mp, sealed_ok).await;
    if matches!(result, Err(HttpError::Busy | HttpError::Invalid(..))) {
        while let Ok(Some(mut field)) = mp.next_field().await {
            while let Ok(Some(_)) = field.chunk().await {}
        }
    }
    result
}

/// The parts, one by one, until the end or the first refusal.
async fn read_each(app: &App, intake: &mut Intake, mp: &mut Parts, sealed_ok: bool) -> Result<(), HttpError> {
    while let Some(mut field) = mp.next_field().await? {
        let result = read_one(app, intake, &mut field, sealed_ok).await;
        if matches!(result, Err(HttpError::Busy | HttpError::Invalid(..))) {
            // The rest of a refused part is read here, so that the next
            // part's headers are all the parser reads under their cap.
            while let Ok(Some(_)) = field.chunk().await {}
        }
        result?;
    }
    Ok(())
}

/// One part.
async fn read_one(app: &App, intake: &mut Intake, field: &mut Field<'_>, sealed_ok: bool) -> Result<(), HttpError> {
    let name = field.name().unwrap_or("").to_string();
    match name.as_str() {
        "file" => read_file(intake, field).await?,
        "sealed_manifest" | "sealed_file" if sealed_ok => {
            let mut sink = intake.begin_sealed(name == "sealed_manifest")?;
            while let Some(chunk) = field.chunk().await? {
                sink.write(&chunk)?;
            }
            intake.end_sealed(sink)?;
        }
        "tags" if sealed_ok => {
            let value = read_text(field, 16 * 1024).await?;
            intake.tags(&value)?;
        }
        // The language travels in the query; a stray field is ignored.
        "lang" => while field.chunk().await?.is_some() {},
        n if Intake::is_text_field(n) => {
            let value = read_text(field, app.limits.max_field).await?;
            intake.text(n, value)?;
        }
        _ => return Err(IntakeError::UnknownField.into()),
    }
    Ok(())
}

/// Seals one plaintext file part. A part with no name and no bytes is the
/// browser's "no file chosen" and is skipped.
async fn read_file(intake: &mut Intake, field: &mut Field<'_>) -> Result<(), HttpError> {
    let fname = field.file_name().unwrap_or("").to_string();
    let ctype = field.content_type().unwrap_or("").to_string();
    let mut sink = None;
    while let Some(chunk) = field.chunk().await? {
        if chunk.is_empty() {
            continue;
        }
        if sink.is_none() {
            sink = Some(intake.begin_file(&fname, &ctype)?);
        }
        if let Some(s) = sink.as_mut() {
            s.write(&chunk)?;
        }
    }
    match sink {
        Some(s) => intake.end_file(s)?,
        None if !fname.is_empty() => {
            let s = intake.begin_file(&fname, &ctype)?;
            intake.end_file(s)?;
        }
        None => {}
    }
    Ok(())
}

/// Reads a text part up to `max` bytes.
pub async fn read_text(field: &mut Field<'_>, max: usize) -> Result<String, HttpError> {
    let mut buf = Vec::new();
    while let Some(chunk) = field.chunk().await? {
        if buf.len() + chunk.len() > max {
            buf.zeroize();
            return Err(IntakeError::FieldTooLong.into());
        }
        if buf.capacity() < buf.len() + chunk.len() {
            // Grown by hand so that the outgrown buffer is zeroized.
            let mut bigger = Vec::with_capacity((buf.len() + chunk.len()).max(2 * buf.len()).min(max));
            bigger.extend_from_slice(&buf);
            buf.zeroize();
            buf = bigger;
        }
        buf.extend_from_slice(&chunk);
    }
    String::from_utf8(buf).map_err(|e| {
        e.into_bytes().zeroize();
        IntakeError::Encoding.into()
    })
}

/// Seals the manifest, commits the report and waits for durability; only
/// then does a receipt exist for anyone to see.
async fn open_report(app: &App, intake: &mut Intake) -> Result<Receipt, HttpError> {
    let day = app.clock.today();
    let sub = intake.seal(SubmissionKind::Tip, &day, &app.site.categories)?;
    // The receipt and the id come from the OS random source, drawn here so
    // that the core and the store never hold hidden randomness.
    let (receipt, id) = crate::lifecycle::draw(&mut rand::rand_core::UnwrapErr(rand::rngs::SysRng));
    app.store.open_report(&receipt, id, sub)?;
    intake.mark_committed();
    app.store.durable().await?;
    Ok(receipt)
}
