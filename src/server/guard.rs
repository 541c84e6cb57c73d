//! Edge middleware: security headers on every response (errors included), an
//! early 413 from `Content-Length`, global rate limits (429), load shedding
//! (503), a body idle timeout and a whole-request deadline.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::idle::IdleBody;
use super::{pages, App, HttpError};

/// The headers DESIGN.md asks for. No HSTS: behind an onion it means nothing,
/// and on a clearnet deployment the TLS terminator sets it.
const HEADERS: [(&str, &str); 9] = [
    (
        "content-security-policy",
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("x-content-type-options", "nosniff"),
    ("cache-control", "no-store"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
    (
        "permissions-policy",
        "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()",
    ),
    ("x-robots-tag", "noindex, nofollow"),
];

/// Runs around every request.
pub async fn edge(State(app): State<Arc<App>>, req: Request<Body>, next: Next) -> Response {
    let too_large = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > app.limits.max_body);
    let bucket = match (req.method(), req.uri().path()) {
        (&Method::POST, "/submit" | "/api/v1/reports" | "/status/add") => Some(&app.submit_bucket),
        (&Method::POST, "/status" | "/api/v1/status") => Some(&app.lookup_bucket),
        _ => None,
    };
    let permit = app.in_flight.clone().try_acquire_owned();
    let mut resp = if too_large {
        // Refuse before reading a byte of the body, and close the connection
        // so the client cannot keep streaming into it.
        let mut r = pages::error_response(&app, &req, HttpError::TooLarge);
        r.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        r
    } else if bucket.is_some_and(|b| !b.take(std::time::Instant::now())) {
        let mut r = pages::error_response(&app, &req, HttpError::RateLimited);
        r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        r
    } else if permit.is_err() {
        // Shed load instead of queueing without bound.
        let mut r = pages::error_response(&app, &req, HttpError::Busy);
        r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        r
    } else {
        let api = req.uri().path().starts_with("/api/");
        let lang = pages::lang_of(&req);
        let idle = app.limits.body_idle_timeout;
        let req = req.map(|b| Body::new(IdleBody::new(b, idle)));
        match tokio::time::timeout(app.limits.request_deadline, next.run(req)).await {
            Ok(r) => r,
            Err(_) => {
                let mut r = pages::error_for(&app, api, lang, HttpError::Timeout);
                r.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
                r
            }
        }
    };
    let h = resp.headers_mut();
    for (name, value) in HEADERS {
        h.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
    }
    h.remove(header::SERVER);
    h.remove(header::DATE);
    resp.into_response()
}
