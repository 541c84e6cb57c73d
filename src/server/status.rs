//! Status checks: `POST /status` (page) and `POST /api/v1/status` (JSON).
//! The receipt arrives in the body only, and is never logged or echoed.

use std::sync::Arc;

use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use serde::Deserialize;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::pages::{error_for, lang_from, status_page};
use super::{App, HttpError};
use crate::crypto;
use crate::i18n::Lang;
use crate::model::Report;
use crate::receipt::Receipt;

/// The body of a status request.
#[derive(Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct ReceiptBody {
    /// The code as typed.
    receipt: String,
}

/// Finds the report for a typed code. A typo is told apart from an unknown
/// code; an unknown code gets one answer whatever the reason.
pub fn find(app: &App, typed: &str) -> Result<Report, HttpError> {
    let receipt = Receipt::parse(typed)?;
    let key = crypto::lookup_key(app.store.secret(), &receipt);
    app.store.find(&key)?.ok_or(HttpError::Unknown)
}

/// `POST /status`.
pub async fn status_form(
    State(app): State<Arc<App>>,
    uri: Uri,
    headers: HeaderMap,
    form: Result<Form<ReceiptBody>, FormRejection>,
) -> Response {
    let lang = lang_from(&uri, &headers);
    let result = match form {
        Ok(Form(body)) => find(&app, &body.receipt),
        Err(_) => Err(HttpError::Typo),
    };
    match result {
        Ok(report) => status_page(&app, lang, Some(&report), None),
        Err(e) => status_page(&app, lang, None, Some(&e)),
    }
}

/// `POST /api/v1/status`.
pub async fn status_api(
    State(app): State<Arc<App>>,
    body: Result<Json<ReceiptBody>, JsonRejection>,
) -> Response {
    let result = match body {
        Ok(Json(b)) => find(&app, &b.receipt),
        Err(_) => Err(HttpError::BadRequest),
    };
    match result {
        Ok(r) => {
            let timeline: Vec<_> = r
                .timeline
                .iter()
                .map(|e| serde_json::json!({ "day": e.day, "status": e.status.id() }))
                .collect();
            let body = serde_json::json!({ "status": r.status.id(), "created": r.created, "timeline": timeline });
            (StatusCode::OK, Json(body)).into_response()
        }
        Err(e) => error_for(&app, true, Lang::En, e),
    }
}
