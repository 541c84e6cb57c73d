//! The desk's pages (askama, auto-escaped): the case list, a case, the
//! delete confirmation, import, the investigators' keys and the actions
//! waiting to be carried. Everything shown came from the cases folder.
//!
//! Never embeds an attachment: files are links to downloads only.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::keys::PersonView;
use super::view::{self, CaseView, Row};
use super::Desk;
use crate::casework::Casebook;
use crate::i18n::{Lang, Tr};
use crate::model::Status;

/// The language cookie: the desk has a cookie anyway (its token), so the
/// language link need not be carried on every URL.
const LANG_COOKIE: &str = "peluit_desk_lang";

/// What every page shows around its content.
pub struct Frame {
    /// The form token, for the action of every form.
    pub csrf: String,
    /// Lines waiting in the outgoing actions file.
    pub waiting: usize,
    /// Whether `case.json` files exist (a first import not yet done otherwise).
    pub pinned: bool,
}

/// The page language: the cookie, then `Accept-Language`, then Indonesian.
pub fn lang(headers: &HeaderMap) -> Lang {
    let cookie = super::guard::cookie_value(headers, LANG_COOKIE);
    let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    Lang::negotiate(cookie, accept)
}

impl Desk {
    /// The frame of a page.
    pub(super) fn frame(&self) -> Frame {
        let waiting = std::fs::read_to_string(self.outgoing())
            .map(|t| t.lines().filter(|l| !l.trim().is_empty()).count())
            .unwrap_or(0);
        let pinned = crate::decrypt::pin::load(&self.cases).ok().flatten().is_some();
        Frame { csrf: self.csrf.to_string(), waiting, pinned }
    }

    /// The folder's casebook, once a first bundle pinned it.
    pub(super) fn book(&self) -> Option<Casebook> {
        Casebook::open(&self.cases).ok()
    }
}

/// Renders a template.
pub fn render(t: &impl Template, status: StatusCode) -> Response {
    match t.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// A short page: a title, a message, a link back.
#[derive(Template)]
#[template(path = "desk/notice.html")]
pub struct Notice<'a> {
    pub t: Tr<'a>,
    pub f: Frame,
    pub title: String,
    pub message: String,
    pub error: bool,
    pub back: String,
}

/// A notice page in the request's language.
pub fn notice(desk: &Desk, headers: &HeaderMap, key: &str, message: String, back: &str, error: bool) -> Response {
    let t = desk.catalog.tr(lang(headers));
    let status = if error { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let title = t.get(key);
    render(&Notice { t, f: desk.frame(), title, message, error, back: back.to_string() }, status)
}

/// The case list.
#[derive(Template)]
#[template(path = "desk/list.html")]
struct ListPage<'a> {
    t: Tr<'a>,
    f: Frame,
    rows: Vec<Row>,
    filter: Filter,
    statuses: Vec<(String, String)>,
    categories: Vec<(String, String)>,
}

/// The list's filters and search.
#[derive(serde::Deserialize, Default)]
pub struct Filter {
    #[serde(default)]
    status: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    q: String,
}

/// `GET /`.
pub async fn list(State(desk): State<Arc<Desk>>, headers: HeaderMap, Query(filter): Query<Filter>) -> Response {
    let t = desk.catalog.tr(lang(&headers));
    let rows = match desk.book() {
        Some(book) => view::rows(&book, &desk.cases, &filter.status, &filter.category, &filter.q),
        None => Vec::new(),
    };
    let statuses = Status::ALL
        .iter()
        .map(|s| s.id())
        .chain(["deleted"])
        .map(|id| (id.to_string(), view::status_label(&t, id)))
        .collect();
    let mut rows = rows;
    for r in &mut rows {
        r.category = view::category_label(&t, &r.category);
    }
    let categories =
        crate::model::DEFAULT_CATEGORIES.iter().map(|id| (id.to_string(), view::category_label(&t, id))).collect();
    render(&ListPage { t, f: desk.frame(), rows, filter, statuses, categories }, StatusCode::OK)
}

/// A case.
#[derive(Template)]
#[template(path = "desk/case.html")]
struct CasePage<'a> {
    t: Tr<'a>,
    f: Frame,
    c: CaseView,
    show_identity: bool,
    /// The tip's category in words.
    category: String,
    /// This case's lines waiting in the outgoing file.
    waiting: Vec<super::act::Waiting>,
    people: Vec<PersonView>,
    statuses: Vec<(String, String)>,
    mat2: bool,
}

/// `?identity=show` on a case: the deliberate click.
#[derive(serde::Deserialize, Default)]
pub struct CaseQuery {
    #[serde(default)]
    identity: String,
}

/// `GET /case/{id}`.
pub async fn case(
    State(desk): State<Arc<Desk>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<CaseQuery>,
) -> Response {
    let t = desk.catalog.tr(lang(&headers));
    let Some(c) = desk.book().and_then(|b| view::case(&b, &desk.cases, &id)) else {
        return not_found_in(&desk, &headers);
    };
    let statuses = Status::ALL.iter().map(|s| (s.id().to_string(), view::status_label(&t, s.id()))).collect();
    let category = c.subs.iter().find(|s| !s.m.category.is_empty()).map(|s| view::category_label(&t, &s.m.category));
    let waiting = super::act::waiting(&desk).into_iter().filter(|w| w.report == id).collect();
    let page = CasePage {
        t,
        f: desk.frame(),
        c,
        show_identity: q.identity == "show",
        category: category.unwrap_or_default(),
        waiting,
        people: desk.people.list(),
        statuses,
        mat2: desk.mat2.is_some(),
    };
    render(&page, StatusCode::OK)
}

/// The delete confirmation.
#[derive(Template)]
#[template(path = "desk/delete.html")]
struct DeletePage<'a> {
    t: Tr<'a>,
    f: Frame,
    c: CaseView,
    people: Vec<PersonView>,
}

/// `GET /case/{id}/delete`: names the case before anything is signed.
pub async fn confirm_delete(State(desk): State<Arc<Desk>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let t = desk.catalog.tr(lang(&headers));
    let Some(c) = desk.book().and_then(|b| view::case(&b, &desk.cases, &id)) else {
        return not_found_in(&desk, &headers);
    };
    render(&DeletePage { t, f: desk.frame(), c, people: desk.people.list() }, StatusCode::OK)
}

/// The import page, and what an import found.
#[derive(Template)]
#[template(path = "desk/import.html")]
pub struct ImportPage<'a> {
    pub t: Tr<'a>,
    pub f: Frame,
    pub outcome: Option<super::act::Imported>,
    pub error: String,
    pub any_open: bool,
}

/// `GET /import`.
pub async fn import_form(State(desk): State<Arc<Desk>>, headers: HeaderMap) -> Response {
    let t = desk.catalog.tr(lang(&headers));
    let any_open = desk.people.list().iter().any(|p| p.open);
    render(&ImportPage { t, f: desk.frame(), outcome: None, error: String::new(), any_open }, StatusCode::OK)
}

/// The investigators' keys.
#[derive(Template)]
#[template(path = "desk/keys.html")]
pub struct KeysPage<'a> {
    pub t: Tr<'a>,
    pub f: Frame,
    pub people: Vec<PersonView>,
    pub error: String,
}

/// `GET /keys`.
pub async fn keys(State(desk): State<Arc<Desk>>, headers: HeaderMap) -> Response {
    let t = desk.catalog.tr(lang(&headers));
    render(&KeysPage { t, f: desk.frame(), people: desk.people.list(), error: String::new() }, StatusCode::OK)
}

/// The actions waiting to be carried.
#[derive(Template)]
#[template(path = "desk/outgoing.html")]
struct OutgoingPage<'a> {
    t: Tr<'a>,
    f: Frame,
    file: String,
    lines: Vec<super::act::Waiting>,
}

/// `GET /outgoing`.
pub async fn outgoing(State(desk): State<Arc<Desk>>, headers: HeaderMap) -> Response {
    let t = desk.catalog.tr(lang(&headers));
    let lines = super::act::waiting(&desk);
    let file = desk.outgoing().display().to_string();
    render(&OutgoingPage { t, f: desk.frame(), file, lines }, StatusCode::OK)
}

/// `GET /lang/{code}`: sets the page language and goes back to the list.
pub async fn language(Path(code): Path<String>) -> Response {
    let code = if code == "en" { "en" } else { "id" };
    let cookie = format!("{LANG_COOKIE}={code}; Path=/; HttpOnly; SameSite=Strict");
    ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response()
}

/// `GET /desk.css`: the reporter pages' stylesheet, then the desk's wider layout.
pub async fn stylesheet() -> Response {
    let css = concat!(include_str!("../../templates/style.css"), include_str!("../../templates/desk/desk.css"));
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], css).into_response()
}

/// Anything else.
pub async fn not_found(State(desk): State<Arc<Desk>>, headers: HeaderMap) -> Response {
    not_found_in(&desk, &headers)
}

/// The not-found page.
fn not_found_in(desk: &Desk, headers: &HeaderMap) -> Response {
    let t = desk.catalog.tr(lang(headers));
    let mut r = notice(desk, headers, "desk-not-found", t.get("desk-not-found-text"), "/", true);
    *r.status_mut() = StatusCode::NOT_FOUND;
    r
}
