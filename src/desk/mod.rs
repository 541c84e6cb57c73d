//! `peluit desk`: the offline casework as a local web page on the
//! investigators' air-gapped machine. The same casework as the CLI: bundles
//! are opened by [`crate::decrypt`], the list and deadlines come from
//! [`crate::casework::table`], and actions are signed and recorded by
//! [`crate::casework::Casebook`].
//!
//! Never listens beyond loopback, never answers a request without the run's
//! token and its own Host, never renders an attachment in its origin, and
//! never writes outside the cases folder and its outgoing actions file.

mod act;
mod files;
mod guard;
mod import;
mod keys;
mod pages;
mod progress;
mod view;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use zeroize::Zeroizing;

use crate::i18n::Catalog;
pub use keys::People;

/// Errors starting the desk.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    /// `--listen` named an address other than loopback.
    #[error("{0}: the desk listens on loopback only (127.0.0.1 or ::1)")]
    NotLoopback(SocketAddr),
    /// The cases folder cannot be made or read.
    #[error("{0}: {1}")]
    Cases(PathBuf, std::io::Error),
    /// A key folder is unusable.
    #[error("{0}")]
    Key(String),
    /// The message catalogue is broken (a build mistake).
    #[error("{0}")]
    Catalog(#[from] crate::i18n::CatalogError),
}

/// One desk run: its folder, its keys and its secrets.
pub struct Desk {
    /// The cases folder (written by `decrypt`, read and signed for here).
    cases: PathBuf,
    /// The exact `Host` header this run answers: `127.0.0.1:PORT`.
    host: String,
    /// The run's access token (128 random bits, hex): only the printed
    /// address carries it.
    token: Zeroizing<String>,
    /// The run's form token (128 random bits, hex), in every form's action.
    csrf: Zeroizing<String>,
    /// Both languages' messages.
    catalog: Catalog,
    /// The investigators whose key folders were given, locked or not.
    people: People,
    /// `mat2`, if installed: the clean-copy button needs it.
    mat2: Option<PathBuf>,
    /// One import or signing at a time: each reads then writes the folder.
    work: tokio::sync::Mutex<()>,
    /// The import under way or just done, for its progress page.
    job: progress::Slot,
}

impl Desk {
    /// Prepares a desk for `cases` (created 0700 if missing) with the
    /// investigators' key folders, for the address `addr` it is bound to.
    pub fn new(cases: &Path, key_dirs: &[PathBuf], addr: SocketAddr) -> Result<Desk, DeskError> {
        if !addr.ip().is_loopback() {
            return Err(DeskError::NotLoopback(addr));
        }
        crate::private_fs::make_dir(cases).map_err(|e| DeskError::Cases(cases.to_path_buf(), e))?;
        Ok(Desk {
            cases: cases.to_path_buf(),
            host: addr.to_string(),
            token: Zeroizing::new(crate::crypto::hex(&crate::crypto::random_id())),
            csrf: Zeroizing::new(crate::crypto::hex(&crate::crypto::random_id())),
            catalog: Catalog::load()?,
            people: People::load(key_dirs).map_err(DeskError::Key)?,
            mat2: find_on_path("mat2"),
            work: tokio::sync::Mutex::new(()),
            job: progress::Slot::default(),
        })
    }

    /// The address to open, with the token: printed once, never logged.
    pub fn address(&self) -> String {
        format!("http://{}/?t={}", self.host, self.token.as_str())
    }

    /// The outgoing actions file.
    pub fn outgoing(&self) -> PathBuf {
        self.cases.join(crate::casework::ACTIONS_FILE)
    }

    /// The investigators, for the start-up lines.
    pub fn people(&self) -> &People {
        &self.people
    }
}

/// The first `name` on `PATH`.
fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

/// Every route of the desk, behind the guard.
pub fn router(desk: Arc<Desk>) -> Router {
    Router::new()
        .route("/", get(pages::list))
        .route("/desk.css", get(pages::stylesheet))
        .route("/lang/{code}", get(pages::language))
        .route("/case/{id}", get(pages::case))
        .route("/case/{id}/file/{sub}/{name}", get(act::download))
        .route("/case/{id}/clean/{sub}/{name}", post(act::clean_copy))
        .route("/case/{id}/status", post(act::status))
        .route("/case/{id}/reply", post(act::reply))
        .route("/case/{id}/delete", get(pages::confirm_delete).post(act::delete))
        .route("/import", get(pages::import_form).post(act::import_path))
        .route("/import/progress", get(progress::progress))
        // A bundle can be large; it streams to a file in the cases folder.
        .route("/import/upload", post(act::import_upload).layer(DefaultBodyLimit::disable()))
        .route("/keys", get(pages::keys).post(act::unlock))
        .route("/outgoing", get(pages::outgoing))
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn_with_state(desk.clone(), guard::guard))
        .with_state(desk)
}

/// Serves the desk on `listener` until `shutdown` completes.
pub async fn run(
    listener: tokio::net::TcpListener,
    desk: Arc<Desk>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(desk)).with_graceful_shutdown(shutdown).await
}

#[cfg(test)]
mod tests;
