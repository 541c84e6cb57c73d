//! Edge middleware. Around every request: security headers (errors
//! included), a whole-request deadline, and a slot in the pages pool for
//! requests without a body. Around every POST route, with the limits
//! declared beside it in [`super::routes`]: an early 413 from
//! `Content-Length`, its rate-limit bucket (429), a slot in its in-flight
//! pool (503), and a body that is cut when it grows past the route's limit or
//! arrives slower than the minimum rate.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::body::{Cut, Gauge, GuardedBody, Pace};
use super::routes::RouteLimits;
use super::{pages, respond, App, HttpError};
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
    // A POST takes its slot in its route's layer, from the pool its body
    // belongs to; anything else is a page.
    let permit = (req.method() != Method::POST).then(|| app.pages.clone().try_acquire_owned());
    let mut resp = if matches!(permit, Some(Err(_))) {
        // Shed load instead of queueing without bound.
        retry_later(pages::error_response(&app, &req, HttpError::Busy))
    } else {
        let api = req.uri().path().starts_with("/api/");
        let lang = respond::lang_of(&req);
        match tokio::time::timeout(app.limits.request_deadline, next.run(req)).await {
            Ok(r) => r,
            Err(_) => closing(pages::error_for(&app, api, lang, HttpError::Timeout)),
        }
    };
    strict_headers(resp.headers_mut());
    resp.into_response()
}

/// Sets [`HEADERS`] and removes `Server` and `Date`: the server's pages and
/// the offline desk (`crate::desk`) answer with the same strict headers.
pub fn strict_headers(h: &mut axum::http::HeaderMap) {
    for (name, value) in HEADERS {
        h.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
    }
    h.remove(header::SERVER);
    h.remove(header::DATE);
}

/// The state of one POST route's layer.
#[derive(Clone)]
pub struct RouteState {
    /// The application.
    pub app: Arc<App>,
    /// The route's limits.
    pub limits: RouteLimits,
}

/// Runs around every POST route.
pub async fn route(State(r): State<RouteState>, req: Request<Body>, next: Next) -> Response {
    let (app, limits) = (&r.app, r.limits);
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.body) {
        // Refuse before reading a byte of the body, and close the connection
        // so the client cannot keep streaming into it.
        return closing(pages::error_response(app, &req, HttpError::TooLarge));
    }
    if !app.bucket(limits.bucket).take(std::time::Instant::now()) {
        let page = pages::error_response(app, &req, HttpError::RateLimited);
        return refused_after_drain(req, page, declared, limits.body).await;
    }
    // A body that may be large, or whose size is not declared, is an upload:
    // uploads cannot take the slots of pages, lookups and small tips.
    let upload = limits.files && declared.is_none_or(|n| n > app.limits.text_body());
    let pool = if upload { &app.uploads } else { &app.pages };
    let Ok(_permit) = pool.clone().try_acquire_owned() else {
        let page = pages::error_response(app, &req, HttpError::Busy);
        return refused_after_drain(req, page, declared, limits.body).await;
    };
    let api = req.uri().path().starts_with("/api/");
    let lang = respond::lang_of(&req);
    let gauge = Arc::new(Gauge::default());
    let pace =
        Pace { max_bytes: limits.body, min_rate: app.limits.min_upload_rate, window: app.limits.body_idle_timeout };
    let g = gauge.clone();
    let mut req = req.map(move |b| Body::new(GuardedBody::new(b, pace, g)));
    req.extensions_mut().insert(gauge.clone());
    let resp = next.run(req).await;
    // Whatever the handler made of a cut body, the client learns why.
    match gauge.cut() {
        Some(Cut::TooLarge) => closing(pages::error_for(app, api, lang, HttpError::TooLarge)),
        Some(Cut::TooSlow) => closing(pages::error_for(app, api, lang, HttpError::Timeout)),
        None => resp,
    }
}

/// Adds `Connection: close`: the rest of the body is not read.
fn closing(mut r: Response) -> Response {
    r.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

/// Most of a refused request's body read before answering, and for how long.
const DRAIN_CAP: u64 = 256 * 1024;
/// See [`DRAIN_CAP`].
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(2);

/// Answers a request refused before its body was read (429, 503). A small
/// body is read and dropped first: a browser still sending its form when
/// the answer comes sees a reset connection instead of the page that says
/// to try again. A body larger than [`DRAIN_CAP`], or slower than
/// [`DRAIN_TIME`], is not waited for: the connection is closed instead, so
/// a flood cannot make the server read what it refuses.
async fn refused_after_drain(req: Request<Body>, page: Response, declared: Option<u64>, limit: u64) -> Response {
    use futures_util::StreamExt;
    let cap = DRAIN_CAP.min(limit);
    let whole = declared.is_none_or(|n| n <= cap) && {
        let mut stream = req.into_body().into_data_stream();
        let mut read = 0u64;
        let work = async {
            while let Some(chunk) = stream.next().await {
                read = read.saturating_add(chunk.map(|c| c.len() as u64).unwrap_or(u64::MAX));
                if read > cap {
                    return false;
                }
            }
            true
        };
        tokio::time::timeout(DRAIN_TIME, work).await.unwrap_or(false)
    };
    let page = retry_later(page);
    if whole {
        page
    } else {
        closing(page)
    }
}

/// Adds `Retry-After: 1`.
fn retry_later(mut r: Response) -> Response {
    r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    r
}
