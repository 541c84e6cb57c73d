//! An import that runs in the background while the page shows how much of
//! the bundle has been read, reloading itself once a second (a `<meta>`
//! refresh: no JavaScript), then what the import brought.
//!
//! Never runs two imports at once, and never shows one run's outcome twice.

use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::import::Imported;
use super::pages::{lang, render, Frame, ImportPage};
use super::Desk;
use crate::i18n::Tr;

/// The import under way, or just done.
#[derive(Default)]
pub struct Job {
    /// Bytes of the bundle read so far.
    pub(super) read: Arc<AtomicU64>,
    /// The bundle's size.
    pub(super) total: u64,
    /// Set when the import ended.
    pub(super) outcome: Option<Result<Imported, String>>,
}

/// The desk's one import slot.
pub type Slot = Mutex<Option<Job>>;

/// A reader that counts what passed through it.
struct Counted<R> {
    /// The bundle.
    inner: R,
    /// Bytes read so far, shared with the progress page.
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl<R: std::io::Seek> std::io::Seek for Counted<R> {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

/// Starts importing `bundle` (removed afterwards when `remove`), unless an
/// import runs already; sends the browser to the progress page.
pub fn start(desk: Arc<Desk>, bundle: PathBuf, remove: bool) -> Result<Response, String> {
    let file = std::fs::File::open(&bundle).map_err(|e| format!("{}: {e}", bundle.display()))?;
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    let read = Arc::new(AtomicU64::new(0));
    {
        let mut slot = desk.job.lock().map_err(|_| "busy")?;
        if slot.as_ref().is_some_and(|j| j.outcome.is_none()) {
            return Ok(Redirect::to("/import/progress").into_response());
        }
        *slot = Some(Job { read: read.clone(), total, outcome: None });
    }
    tokio::spawn(async move {
        let one = desk.work.lock().await;
        let d = desk.clone();
        let reader = Counted { inner: std::io::BufReader::new(file), read };
        let result = tokio::task::spawn_blocking(move || super::import::open_bundle(&d, reader)).await;
        drop(one);
        if remove {
            let _ = std::fs::remove_file(&bundle);
        }
        let outcome = result.unwrap_or_else(|_| Err("the import stopped".into()));
        if let Ok(mut slot) = desk.job.lock() {
            if let Some(job) = slot.as_mut() {
                job.outcome = Some(outcome);
            }
        }
    });
    Ok(Redirect::to("/import/progress").into_response())
}

/// The page while an import runs.
#[derive(Template)]
#[template(path = "desk/progress.html")]
struct ProgressPage<'a> {
    t: Tr<'a>,
    f: Frame,
    /// Mebibytes read, in words.
    read: String,
    /// Mebibytes in all.
    total: String,
    /// Per mille read, for `<progress>`.
    permille: u64,
}

/// `GET /import/progress`: how far the import is, or what it brought.
pub async fn progress(State(desk): State<Arc<Desk>>, headers: HeaderMap) -> Response {
    let t = desk.catalog.tr(lang(&headers));
    let mut slot = match desk.job.lock() {
        Ok(s) => s,
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    let Some(job) = slot.as_ref() else { return Redirect::to("/import").into_response() };
    if job.outcome.is_none() {
        // decrypt reads the bundle twice, once to check the server's
        // signature and once to open it: the page shows the two as one.
        let read = job.read.load(Ordering::Relaxed) / 2;
        let mib = |n: u64| format!("{:.1}", n as f64 / (1024.0 * 1024.0));
        let permille = (read.saturating_mul(1000)).checked_div(job.total).unwrap_or(0).min(1000);
        let page = ProgressPage { t, f: desk.frame(), read: mib(read), total: mib(job.total), permille };
        return render(&page, StatusCode::OK);
    }
    // Shown once: the next visit to the page starts afresh.
    let outcome = slot.take().and_then(|j| j.outcome);
    drop(slot);
    let any_open = desk.people.list().iter().any(|p| p.open);
    let (outcome, error) = match outcome {
        Some(Ok(i)) => (Some(i), String::new()),
        Some(Err(e)) => (None, e),
        None => (None, t.get("desk-refused")),
    };
    let status = if error.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    render(&ImportPage { t, f: desk.frame(), outcome, error, any_open }, status)
}
