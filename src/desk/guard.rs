//! The desk's guard, around every request: its own Host only, the run's
//! token (from the printed address once, then from a cookie), and for every
//! POST the form token and no cross-site origin; then the server's strict
//! headers, and a sandbox for downloads.
//!
//! Never lets a request through on a guess: tokens compare in constant time,
//! and a refusal says "refused" without echoing anything.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::Desk;

/// Marks a response as an attachment download: it gets a sandboxing CSP
/// instead of the pages' one, so nothing in it can run in the desk's origin.
#[derive(Clone, Copy)]
pub struct Download;

/// The CSP of downloads: no script, no resource, an opaque origin.
const DOWNLOAD_CSP: &str = "sandbox; default-src 'none'";

/// Runs around every request.
pub async fn guard(State(desk): State<Arc<Desk>>, req: Request<Body>, next: Next) -> Response {
    let mut resp = match check(&desk, &req) {
        Check::Pass => next.run(req).await,
        Check::Enter(path) => enter(&desk, &path),
        Check::Refuse(why) => refused(why),
    };
    let download = resp.extensions().get::<Download>().is_some();
    let h = resp.headers_mut();
    crate::server::strict_headers(h);
    if download {
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(DOWNLOAD_CSP));
        h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    }
    resp
}

/// What the guard decided.
enum Check {
    /// Let it through.
    Pass,
    /// The printed address: set the cookie and go to this path without the token.
    Enter(String),
    /// Refused, and why (for the page; nothing of the request).
    Refuse(&'static str),
}

/// Constant-time equality of a presented token and the run's.
fn same(presented: &str, expected: &str) -> bool {
    presented.len() == expected.len() && bool::from(presented.as_bytes().ct_eq(expected.as_bytes()))
}

/// The value of `name` in a query string.
pub fn query_value<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    query?.split('&').find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
}

/// The cookie that keeps the token: named after the port, since cookies do
/// not tell ports apart and two desks may run at once.
pub fn cookie_name(desk: &Desk) -> String {
    format!("peluit_desk_{}", desk.host.rsplit(':').next().unwrap_or_default())
}

/// The value of cookie `name` among the request's headers.
pub fn cookie_value<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| kv.trim().strip_prefix(name)?.strip_prefix('='))
}

/// The rules, in order.
fn check(desk: &Desk, req: &Request<Body>) -> Check {
    // DNS rebinding: a page of another site whose name now points at
    // 127.0.0.1 sends its own name as the Host.
    let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok());
    if host != Some(desk.host.as_str()) {
        return Check::Refuse("host");
    }
    let from_query = query_value(req.uri().query(), "t");
    if req.method() == Method::GET {
        if let Some(t) = from_query {
            return if same(t, &desk.token) {
                Check::Enter(req.uri().path().to_string())
            } else {
                Check::Refuse("token")
            };
        }
    }
    if !cookie_value(req.headers(), &cookie_name(desk)).is_some_and(|t| same(t, &desk.token)) {
        return Check::Refuse("token");
    }
    if req.method() == Method::GET || req.method() == Method::HEAD {
        return Check::Pass;
    }
    if req.method() != Method::POST {
        return Check::Refuse("method");
    }
    // A form posted from another site: browsers say so in these headers.
    let site = req.headers().get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if site.is_some_and(|s| s != "same-origin") {
        return Check::Refuse("cross-site");
    }
    // With `Referrer-Policy: no-referrer` browsers send `Origin: null` even
    // from the desk's own forms; "null" passes only when the browser also
    // says the form came from this origin.
    let origin = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let ours = |o: &str| o == format!("http://{}", desk.host) || (o == "null" && site == Some("same-origin"));
    if origin.is_some_and(|o| !ours(o)) {
        return Check::Refuse("cross-site");
    }
    if !query_value(req.uri().query(), "csrf").is_some_and(|c| same(c, &desk.csrf)) {
        return Check::Refuse("form");
    }
    Check::Pass
}

/// The first visit: the token moves into a cookie and out of the address bar.
fn enter(desk: &Desk, path: &str) -> Response {
    // No `Secure`: the desk is plain HTTP on loopback. HttpOnly: no script
    // reads it. SameSite=Strict: no other site's page sends it.
    let cookie = format!("{}={}; Path=/; HttpOnly; SameSite=Strict", cookie_name(desk), desk.token.as_str());
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let (Ok(c), Ok(l)) = (HeaderValue::from_str(&cookie), HeaderValue::from_str(path)) {
        r.headers_mut().insert(header::SET_COOKIE, c);
        r.headers_mut().insert(header::LOCATION, l);
    }
    r
}

/// A refusal: 403 and a short text in both languages.
fn refused(why: &'static str) -> Response {
    let text = format!(
        "Ditolak / Refused ({why}). Buka alamat yang dicetak `peluit desk` / Open the address that `peluit desk` printed.\n"
    );
    (StatusCode::FORBIDDEN, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
}
