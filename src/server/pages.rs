//! Server-rendered pages (askama, auto-escaped) and the shared error answer.
//! No JavaScript, no external resource, no cookie.

use std::sync::Arc;

use askama::Template;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::respond::{lang_from, lang_of, render, render_secret};
use super::{App, HttpError};
use crate::i18n::{Lang, Tr};
use crate::model::{Manifest, UNSURE_CATEGORY};

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
    categories: Vec<CategoryOption>,
    form: &'a Manifest,
    /// The typed fields of [`crate::model::FIELDS`], in order.
    fields: Vec<FormField<'a>>,
    error: String,
    /// Something was typed, so "what you typed is still below" is true.
    typed_kept: bool,
    /// Files may have been chosen, so "choose your files again" applies
    /// (not when the report was refused for being empty).
    files_again: bool,
    files_limit: String,
}

/// One typed field of the form: a one-line input or a text box.
struct FormField<'a> {
    /// Its name (and element id).
    name: &'static str,
    /// Rows of its text box; 0 for a one-line input.
    rows: u8,
    /// Its label and hint in the page language.
    label: String,
    /// The hint under the label.
    hint: String,
    /// What the reporter typed, when the form comes back (borrowed: never copied).
    value: &'a str,
}

/// One `<option>` of the category list.
struct CategoryOption {
    /// The id sent with the form.
    id: String,
    /// The name in the page language.
    label: String,
    /// Whether the option starts selected.
    selected: bool,
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
    /// (day, what was sent) of each follow-up the reporter added, oldest
    /// first: the day and the number of files, never the content, which is
    /// sealed to the investigators alone.
    pub sent: Vec<(String, String)>,
    /// The receipt, for the follow-up form's hidden field (body only).
    pub code: String,
    /// A follow-up message that was refused, to fill the form in again.
    pub draft: String,
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
    status_help: String,
    files_limit: String,
    /// The code as typed, when it was refused: the reporter corrects it
    /// instead of typing all 21 symbols again. Only ever sent back in the
    /// body of the answer to the request that carried it.
    typed: String,
}

/// The privacy page.
#[derive(Template)]
#[template(path = "about.html")]
struct About<'a> {
    t: Tr<'a>,
    org: &'a str,
    path: &'a str,
    /// Days until a closed report is purged; empty when never.
    retention_days: String,
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
    let page = SubmitPage {
        t,
        org: &app.site.org,
        // A form that came back holds the reporter's text: no language link,
        // since following it would drop everything they typed.
        path: if error.is_some() { "" } else { "/submit" },
        categories: category_options(app, t, &form.category),
        fields: crate::model::fields::typed()
            .map(|f| FormField {
                name: f.name,
                rows: f.rows,
                label: t.get(&f.label_id()),
                hint: t.get(&f.hint_id()),
                value: form.field(f.name).unwrap_or_default(),
            })
            .collect(),
        form,
        error: error.map(|e| t.get(e.message_key())).unwrap_or_default(),
        typed_kept: !form.blank(|f| f.kind != crate::model::FieldKind::Category),
        files_again: error.is_some_and(|e| e.code() != "empty"),
        files_limit: files_limit(app, t),
    };
    render(&page, status)
}

/// The configured categories in the page language, `chosen` selected (or
/// "other" on a fresh form, or the first when "other" is not configured).
fn category_options(app: &App, t: Tr<'_>, chosen: &str) -> Vec<CategoryOption> {
    let cats = &app.site.categories;
    let chosen = if cats.iter().any(|c| c == chosen) {
        chosen
    } else if cats.iter().any(|c| c == UNSURE_CATEGORY) {
        UNSURE_CATEGORY
    } else {
        cats.first().map_or("", String::as_str)
    };
    cats.iter()
        .map(|c| CategoryOption { id: c.clone(), label: t.get(&format!("category-{c}")), selected: c == chosen })
        .collect()
}

/// The attachment limits in words: a submission over the size limit is
/// refused before it is read, so the reporter must know the limits first.
fn files_limit(app: &App, t: Tr<'_>) -> String {
    let count = app.limits.max_files.to_string();
    let size = (app.limits.max_body / (1024 * 1024)).max(1).to_string();
    t.args("field-files-limit", &[("count", &count), ("size", &size)])
}

/// The receipt page (the only page that ever shows a code).
pub fn receipt_page(app: &App, lang: Lang, code: &str) -> Response {
    let page = ReceiptPage {
        t: app.catalog.tr(lang),
        org: &app.site.org,
        // The code is shown once: a language link would navigate away from it.
        path: "",
        code,
        feedback_days: app.site.feedback_days.to_string(),
    };
    render_secret(&page, StatusCode::OK)
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
    status_page_typed(app, lang, view, error, notice, "")
}

/// The longest typed code sent back: a receipt with spaces fits easily;
/// anything longer was not a try at one.
const MAX_TYPED_ECHO: usize = 64;

/// The status form again after a refused code, with the code as typed.
pub fn status_retry(app: &App, lang: Lang, error: &HttpError, typed: &str) -> Response {
    let typed = if typed.len() <= MAX_TYPED_ECHO { typed.trim() } else { "" };
    status_page_typed(app, lang, None, Some(error), None, typed)
}

/// The status page, with `typed` in the code field.
fn status_page_typed(
    app: &App,
    lang: Lang,
    view: Option<StatusView>,
    error: Option<&HttpError>,
    notice: Option<&str>,
    typed: &str,
) -> Response {
    let t = app.catalog.tr(lang);
    let status_help = view.as_ref().map(|v| t.get(&format!("status-help-{}", v.status))).unwrap_or_default();
    let page = StatusPage {
        t,
        org: &app.site.org,
        // A report's page holds the code and a form: a language link would
        // drop both and make the reporter type the code again.
        path: if view.is_some() { "" } else { "/status" },
        error: error.map(|e| t.get(e.message_key())).unwrap_or_default(),
        notice: notice.map(|k| t.get(k)).unwrap_or_default(),
        view: view.map(|v| dates_in_words(t, v)),
        status_help,
        files_limit: files_limit(app, t),
        typed: typed.to_string(),
    };
    let mut page = page;
    let response = render_secret(&page, error.map_or(StatusCode::OK, HttpError::status));
    zeroize::Zeroize::zeroize(&mut page.typed);
    response
}

/// The view with every day written out ("26 November 2026"): easier to
/// read than `2026-11-26` for someone who is not used to ISO dates.
fn dates_in_words(t: Tr<'_>, mut v: StatusView) -> StatusView {
    v.created = long_date(t, &v.created);
    for e in &mut v.timeline {
        e.0 = long_date(t, &e.0);
    }
    for r in &mut v.replies {
        r.0 = long_date(t, &r.0);
    }
    for s in &mut v.sent {
        s.0 = long_date(t, &s.0);
    }
    v
}

/// `YYYY-MM-DD` in words, or unchanged if it is not such a date.
fn long_date(t: Tr<'_>, iso: &str) -> String {
    let mut parts = iso.splitn(3, '-');
    let (Some(year), Some(month), Some(day)) = (parts.next(), parts.next(), parts.next()) else {
        return iso.to_string();
    };
    match (year.len(), month.parse::<u8>(), day.parse::<u8>()) {
        (4, Ok(m @ 1..=12), Ok(d @ 1..=31)) => {
            let month = t.get(&format!("month-{m}"));
            t.args("date", &[("day", &d.to_string()), ("month", &month), ("year", year)])
        }
        _ => iso.to_string(),
    }
}

/// A status in the reporter's language.
pub fn status_label(app: &App, lang: Lang, s: crate::model::Status) -> String {
    app.catalog.tr(lang).get(&format!("status-{}", s.id()))
}

/// `GET /about`.
pub async fn about(State(app): State<Arc<App>>, uri: Uri, headers: HeaderMap) -> Response {
    let t = app.catalog.tr(lang_from(&uri, &headers));
    let days = app.limits.retention_days;
    let retention_days = if days == 0 { String::new() } else { days.to_string() };
    render(&About { t, org: &app.site.org, path: "/about", retention_days }, StatusCode::OK)
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
        let body =
            crate::api::Problem { error: e.code().into(), message: app.catalog.tr(Lang::En).get(e.message_key()) };
        return (e.status(), Json(body)).into_response();
    }
    let page = ErrorPage { t, org: &app.site.org, path: "/", message: t.get(e.message_key()) };
    render(&page, e.status())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Catalog;

    #[test]
    fn dates_are_written_out_in_the_page_language() {
        let c = Catalog::load().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(long_date(c.tr(Lang::Id), "2026-08-05"), "5 Agustus 2026");
        assert_eq!(long_date(c.tr(Lang::En), "2026-08-05"), "5 August 2026");
        assert_eq!(long_date(c.tr(Lang::En), "2026-13-05"), "2026-13-05");
        assert_eq!(long_date(c.tr(Lang::En), "soon"), "soon");
    }
}
