//! Server-rendered pages (askama, auto-escaped) and the shared error answer.
//! No JavaScript, no external resource, no cookie.

use std::sync::Arc;

use askama::Template;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;

use super::{App, HttpError};
use crate::i18n::{Lang, Tr};
use crate::model::Manifest;

/// The OpenAPI 3.1 description of the JSON API.
const OPENAPI: &str = include_str!("openapi.json");

/// The home page.
#[derive(Template)]
#[template(path = "home.html")]
struct Home<'a> {
    t: Tr<'a>,
    org: &'a str,
    path: &'a str,
    onion: &'a str,
}

/// The submission form, possibly filled in again after an error.
#[derive(Template)]
#[template(path = "submit.html")]
pub struct SubmitPage<'a> {
    t: Tr<'a>,
    org: &'a str,
    path: &'a str,
    categories: Vec<(String, String)>,
    form: &'a Manifest,
    error: String,
    files_lost: bool,
}

/// The receipt, shown once.
#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptPage<'a> {
    t: Tr<'a>,
    org: &'a str,
    path: &'a str,
    code: &'a str,
    feedback_days: String,
}

/// What the reporter sees about a report, replies already decrypted.
pub struct StatusView {
    /// Status id (for tests and styling).
    pub status: &'static str,
    /// Status in words.
    pub status_label: String,
    /// Day of submission.
    pub created: String,
    /// (day, status in words, note), oldest first.
    pub timeline: Vec<(String, String, String)>,
    /// (day, text) of each reply, oldest first.
    pub replies: Vec<(String, String)>,
    /// The receipt, for the follow-up form's hidden field (body only).
    pub code: String,
}

/// The status form or a report's status.
#[derive(Template)]
#[template(path = "status.html")]
struct StatusPage<'a> {
    t: Tr<'a>,
    org: &'a str,
    path: &'a str,
    error: String,
    notice: String,
    view: Option<StatusView>,
}

/// The privacy page.
#[derive(Template)]
#[template(path = "about.html")]
struct About<'a> {
    t: Tr<'a>,
    org: &'a str,
    path: &'a str,
}

/// A generic error page.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    t: Tr<'a>,
    org: &'a str,
    path: &'a str,
    message: String,
}

/// The page language of a request: `?lang=`, then `Accept-Language`.
pub fn lang_of(req: &Request<Body>) -> Lang {
    lang_from(req.uri(), req.headers())
}

/// The same, from the parts an extractor gives.
pub fn lang_from(uri: &Uri, headers: &HeaderMap) -> Lang {
    let query = uri.query().and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("lang=")));
    let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    Lang::negotiate(query, accept)
}

/// Renders a template, or a bare 500 if the template itself fails.
fn render(t: &impl Template, status: StatusCode) -> Response {
    match t.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template error");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// `GET /`.
pub async fn home(State(app): State<Arc<App>>, uri: Uri, headers: HeaderMap) -> Response {
    let t = app.catalog.tr(lang_from(&uri, &headers));
    render(&Home { t, org: &app.site.org, path: "/", onion: &app.site.onion }, StatusCode::OK)
}

/// `GET /submit`.
pub async fn submit_form(State(app): State<Arc<App>>, uri: Uri, headers: HeaderMap) -> Response {
    let lang = lang_from(&uri, &headers);
    submit_page(&app, lang, &Manifest::default(), None, StatusCode::OK)
}

/// The form, with the reporter's text kept and an error shown when given.
pub fn submit_page(app: &App, lang: Lang, form: &Manifest, error: Option<&HttpError>, status: StatusCode) -> Response {
    let t = app.catalog.tr(lang);
    let categories = app.site.categories.iter().map(|c| (c.clone(), t.get(&format!("category-{c}")))).collect();
    let page = SubmitPage {
        t,
        org: &app.site.org,
        path: "/submit",
        categories,
        form,
        error: error.map(|e| t.get(e.message_key())).unwrap_or_default(),
        files_lost: error.is_some(),
    };
    render(&page, status)
}

/// The receipt page (the only page that ever shows a code).
pub fn receipt_page(app: &App, lang: Lang, code: &str) -> Response {
    let page = ReceiptPage {
        t: app.catalog.tr(lang),
        org: &app.site.org,
        path: "/status",
        code,
        feedback_days: app.site.feedback_days.to_string(),
    };
    render(&page, StatusCode::OK)
}

/// `GET /status`.
pub async fn status_form(State(app): State<Arc<App>>, uri: Uri, headers: HeaderMap) -> Response {
    status_page(&app, lang_from(&uri, &headers), None, None, None)
}

/// The status page: the form (with an error) or a report's status.
pub fn status_page(
    app: &App,
    lang: Lang,
    view: Option<StatusView>,
    error: Option<&HttpError>,
    notice: Option<&str>,
) -> Response {
    let t = app.catalog.tr(lang);
    let page = StatusPage {
        t,
        org: &app.site.org,
        path: "/status",
        error: error.map(|e| t.get(e.message_key())).unwrap_or_default(),
        notice: notice.map(|k| t.get(k)).unwrap_or_default(),
        view,
    };
    render(&page, error.map_or(StatusCode::OK, HttpError::status))
}

/// A status in the reporter's language.
pub fn status_label(app: &App, lang: Lang, s: crate::model::Status) -> String {
    app.catalog.tr(lang).get(&format!("status-{}", s.id()))
}

/// `GET /about`.
pub async fn about(State(app): State<Arc<App>>, uri: Uri, headers: HeaderMap) -> Response {
    let t = app.catalog.tr(lang_from(&uri, &headers));
    render(&About { t, org: &app.site.org, path: "/about" }, StatusCode::OK)
}

/// `GET /style.css`.
pub async fn stylesheet() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], include_str!("../../templates/style.css")).into_response()
}

/// `GET /api/v1/openapi.json`.
pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// Any other path.
pub async fn not_found(State(app): State<Arc<App>>, req: Request<Body>) -> Response {
    error_response(&app, &req, HttpError::NotFound)
}

/// The error answer for a request: JSON under `/api/`, a page elsewhere.
pub fn error_response(app: &App, req: &Request<Body>, e: HttpError) -> Response {
    error_for(app, req.uri().path().starts_with("/api/"), lang_of(req), e)
}

/// The error answer, JSON or page.
pub fn error_for(app: &App, api: bool, lang: Lang, e: HttpError) -> Response {
    let t = app.catalog.tr(lang);
    if api {
        let body = serde_json::json!({ "error": e.code(), "message": app.catalog.tr(Lang::En).get(e.message_key()) });
        return (e.status(), Json(body)).into_response();
    }
    let page = ErrorPage { t, org: &app.site.org, path: "/", message: t.get(e.message_key()) };
    render(&page, e.status())
}
