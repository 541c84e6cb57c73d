//! The investigators' two remote endpoints, both authenticated with a
//! transfer key: `POST /api/v1/actions` (push an actions file signed offline)
//! and `GET /api/v1/export?since=N` (pull a bundle of ciphertext).
//! A transfer key can do nothing else: it cannot sign actions or read tips.
//! The key, time and nonce are checked before a byte of a body is read.
//! Nonces are remembered in memory for the time window; a request signed
//! before the second the server started is refused, so that a request
//! captured before a restart cannot be replayed after it (systemd restarts
//! the service 5 s after it stops, so no request the last run accepted was
//! signed in the second this one started).

use std::io::{self, Write};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use tokio::sync::mpsc;

use super::routes::MAX_ACTIONS_BODY;
use super::App;
use crate::actions::{self, Policy};
use crate::api;
use crate::export;
use crate::store::ApplyError;
use crate::transfer;

/// Most transfer nonces remembered; beyond this the oldest are dropped (they
/// are outside the time window long before).
const MAX_SEEN: usize = 100_000;

/// A JSON error answer for these endpoints.
fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(api::Problem { error: code.into(), message: message.into() })).into_response()
}

/// The one answer to every authentication failure (no detail for a prober).
fn unauthorized() -> Response {
    refuse(StatusCode::UNAUTHORIZED, "unauthorized", "a valid transfer-key signature is required")
}

/// What the header alone shows: a registered transfer key, a time inside
/// the window and not before the server started, and a nonce not seen yet.
fn header_ok(app: &App, headers: &HeaderMap) -> Option<transfer::Auth> {
    let auth =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| transfer::parse(v).ok())?;
    let window = app.limits.transfer_window.as_secs();
    transfer::check_header(&auth, &app.keys, app.clock.now(), window).ok()?;
    if auth.time < app.started {
        return None;
    }
    let seen = app.seen_transfers.lock().ok()?;
    (!seen.contains_key(&auth.nonce)).then_some(auth)
}

/// Checks the signature over the request, then takes the nonce (a second
/// request with it, even one racing this one, is refused).
fn authorized(app: &App, auth: &transfer::Auth, method: &str, path: &str, body: &[u8]) -> bool {
    if transfer::check_signature(auth, method, path, body).is_err() {
        return false;
    }
    let now = app.clock.now();
    let window = app.limits.transfer_window.as_secs();
    let Ok(mut seen) = app.seen_transfers.lock() else { return false };
    seen.retain(|_, t| now.abs_diff(*t) <= window);
    seen.len() < MAX_SEEN && seen.insert(auth.nonce.clone(), auth.time).is_none()
}

/// `GET /api/v1/keys`: the signed key set for client-side encryption, with
/// the deployment id the server runs as (clients compare the two).
pub async fn published_keys(State(app): State<Arc<App>>) -> Response {
    match &app.published {
        Some(set) => {
            Json(api::Keys { deployment_id: app.store.deployment_id().into(), keyset: set.clone() }).into_response()
        }
        None => refuse(StatusCode::NOT_FOUND, "not_found", "this server publishes no signed key set"),
    }
}

/// `POST /api/v1/actions`: the header is checked before the body is read.
pub async fn push_actions(State(app): State<Arc<App>>, req: Request) -> Response {
    let Some(auth) = header_ok(&app, req.headers()) else {
        return unauthorized();
    };
    let limit = usize::try_from(MAX_ACTIONS_BODY).unwrap_or(usize::MAX);
    let Ok(body) = axum::body::to_bytes(req.into_body(), limit).await else {
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, "too_large", "the actions file is too large");
    };
    if !authorized(&app, &auth, "POST", "/api/v1/actions", &body) {
        return unauthorized();
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        return refuse(StatusCode::BAD_REQUEST, "rejected", "the actions file is not UTF-8");
    };
    let policy = Policy {
        deployment: app.store.deployment_id(),
        keys: &app.keys,
        now: app.clock.now(),
        max_age: app.limits.action_max_age.as_secs(),
        max_skew: app.limits.transfer_window.as_secs(),
    };
    let verified = match actions::verify_file(text, &policy) {
        Ok(v) => v,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, "rejected", &e.to_string()),
    };
    match app.store.apply(&verified, &app.clock.today()).await {
        Ok(a) => {
            tracing::info!(actions = a.actions, skipped = a.skipped, deleted = a.deleted, "actions applied");
            let v = api::Applied { applied: a.actions, skipped: a.skipped, deleted: a.deleted, head: a.head };
            (StatusCode::OK, Json(v)).into_response()
        }
        Err(ApplyError::Rejected(e)) => refuse(StatusCode::CONFLICT, "rejected", &e.to_string()),
        Err(ApplyError::Store(e)) => {
            tracing::error!(error = %e, "storage error while applying actions");
            refuse(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "storage failed; nothing was applied")
        }
    }
}

/// `GET /api/v1/export?since=N`: streams a bundle, generated as it is sent.
pub async fn pull_export(State(app): State<Arc<App>>, headers: HeaderMap, uri: Uri) -> Response {
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/api/v1/export");
    if !header_ok(&app, &headers).is_some_and(|auth| authorized(&app, &auth, "GET", path, b"")) {
        return unauthorized();
    }
    let since = uri
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("since=")))
        .map(|v| v.parse::<u64>())
        .unwrap_or(Ok(0));
    let Ok(since) = since else {
        return refuse(StatusCode::BAD_REQUEST, "bad_request", "since must be a number");
    };
    // An unsigned bundle would be refused offline: better said here.
    let Some(key) = app.bundle_key.clone() else {
        return refuse(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the server has no bundle key");
    };
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(8);
    let store = app.store.clone();
    tokio::task::spawn_blocking(move || {
        let w = ChannelWriter { tx: tx.clone(), buf: Vec::with_capacity(CHUNK) };
        if let Err(e) = export::export(&store, since, &key, w) {
            tracing::error!(error = %e, "export failed");
            let _ = tx.blocking_send(Err(io::Error::other("export failed")));
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    ([(header::CONTENT_TYPE, "application/x-tar")], Body::from_stream(stream)).into_response()
}

/// Bytes per message on the export stream.
const CHUNK: usize = 64 * 1024;

/// A `Write` that hands 64 KiB pieces to the response body (bounded queue:
/// a slow client slows the export, memory stays flat).
struct ChannelWriter {
    /// The response body's queue.
    tx: mpsc::Sender<io::Result<Bytes>>,
    /// Bytes not yet sent.
    buf: Vec<u8>,
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let piece = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx.blocking_send(Ok(piece)).map_err(|_| io::Error::other("client went away"))
    }
}
