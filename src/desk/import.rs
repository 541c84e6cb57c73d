//! Importing a bundle at the desk: a path typed in, or an upload streamed to
//! a private file inside the cases folder, opened by [`crate::decrypt`]
//! exactly as `peluit decrypt` opens it (the pin checked first, what does not
//! open set aside with its reason); then what is new, read off the folder.
//!
//! Never writes a bundle or plaintext outside the cases folder.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use tokio::io::AsyncWriteExt;

use super::pages::{lang, render, ImportPage};
use super::view::submission_dirs;
use super::Desk;
use crate::decrypt::{self, DecryptSummary, QUARANTINE_DIR};

/// What an import brought.
pub struct Imported {
    /// The counts `decrypt` returns.
    pub summary: DecryptSummary,
    /// Cases whose tip arrived now.
    pub new_cases: Vec<String>,
    /// Cases that received a follow-up now.
    pub follow_ups: Vec<String>,
    /// (case, reason) of what was set aside now.
    pub set_aside: Vec<(String, String)>,
    /// The deployment and recipients this bundle pinned, on first contact.
    pub first_pin: Option<(String, Vec<String>)>,
}

/// The submission folders and reason files of the cases folder.
fn snapshot(cases: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    for e in std::fs::read_dir(cases).into_iter().flatten().flatten() {
        let case = e.path();
        for sub in submission_dirs(&case) {
            out.insert(case.join(sub));
        }
        for r in std::fs::read_dir(case.join(QUARANTINE_DIR)).into_iter().flatten().flatten() {
            out.insert(r.path());
        }
    }
    out
}

/// Opens `bundle` into the cases folder with every open investigator's identity.
pub(super) fn open_bundle(desk: &Desk, bundle: impl std::io::Read + std::io::Seek) -> Result<Imported, String> {
    // `import` checked that someone's keys are open; they cannot close again.
    let ids = desk.people.identities().ok_or("no identity")?;
    let pinned_before = decrypt::pin::load(&desk.cases).ok().flatten().is_some();
    let before = snapshot(&desk.cases);
    let summary = decrypt::decrypt(bundle, &ids, &desk.cases).map_err(|e| e.to_string())?;
    let mut out =
        Imported { summary, new_cases: Vec::new(), follow_ups: Vec::new(), set_aside: Vec::new(), first_pin: None };
    for p in snapshot(&desk.cases).difference(&before) {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let in_quarantine = p.parent().and_then(|d| d.file_name()).is_some_and(|n| n == QUARANTINE_DIR);
        let case_dir = if in_quarantine { p.parent().and_then(Path::parent) } else { p.parent() };
        let case = case_dir.and_then(|d| d.file_name()).map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if in_quarantine {
            out.set_aside.push((case, std::fs::read_to_string(p).unwrap_or_default()));
        } else if name.ends_with("-tip") {
            out.new_cases.push(case);
        } else {
            out.follow_ups.push(case);
        }
    }
    out.follow_ups.dedup();
    if !pinned_before {
        out.first_pin = decrypt::pin::load(&desk.cases).ok().flatten().map(|p| (p.deployment_id, p.recipients));
    }
    Ok(out)
}

/// Starts an import (see `progress.rs`), or says why it cannot start.
async fn import(desk: Arc<Desk>, headers: &HeaderMap, bundle: PathBuf, remove: bool) -> Response {
    let t = desk.catalog.tr(lang(headers));
    let any_open = desk.people.list().iter().any(|p| p.open);
    let error = if any_open {
        match super::progress::start(desk.clone(), bundle.clone(), remove) {
            Ok(r) => return r,
            Err(e) => e,
        }
    } else {
        t.get("desk-key-locked")
    };
    if remove {
        let _ = std::fs::remove_file(&bundle);
    }
    render(&ImportPage { t, f: desk.frame(), outcome: None, error, any_open }, StatusCode::BAD_REQUEST)
}

/// The import-by-path form.
#[derive(serde::Deserialize)]
pub struct PathForm {
    /// The bundle's path, e.g. on a USB stick.
    path: String,
}

/// `POST /import`.
pub async fn import_path(State(desk): State<Arc<Desk>>, headers: HeaderMap, Form(form): Form<PathForm>) -> Response {
    import(desk, &headers, PathBuf::from(form.path.trim()), false).await
}

/// `POST /import/upload`: the bundle streams into a private file inside the
/// cases folder (it is ciphertext, but stays there all the same), is
/// opened, and is removed.
pub async fn import_upload(State(desk): State<Arc<Desk>>, headers: HeaderMap, mut parts: Multipart) -> Response {
    let tmp = desk.cases.join(format!(".desk-upload-{}.tar", crate::crypto::hex(&crate::crypto::random_id()[..8])));
    let stored = async {
        let mut field = parts.next_field().await.ok().flatten().ok_or("no file")?;
        let file = crate::private_fs::create_new(&tmp).map_err(|_| "cannot write")?;
        let mut file = tokio::fs::File::from_std(file);
        while let Some(chunk) = field.chunk().await.map_err(|_| "upload cut")? {
            file.write_all(&chunk).await.map_err(|_| "cannot write")?;
        }
        file.sync_all().await.map_err(|_| "cannot write")
    }
    .await;
    match stored {
        // The import removes the file once it is done.
        Ok(()) => import(desk, &headers, tmp, true).await,
        Err(why) => {
            let _ = std::fs::remove_file(&tmp);
            let t = desk.catalog.tr(lang(&headers));
            let any_open = desk.people.list().iter().any(|p| p.open);
            let page = ImportPage { t, f: desk.frame(), outcome: None, error: why.to_string(), any_open };
            render(&page, StatusCode::BAD_REQUEST)
        }
    }
}

impl Imported {
    /// The counts in words.
    pub fn counts(&self, t: &crate::i18n::Tr<'_>) -> String {
        let s = &self.summary;
        let n = |v: usize| v.to_string();
        let (cases, subs, files, messages, deleted) =
            (n(s.cases), n(s.submissions), n(s.files), n(s.messages), n(s.deleted));
        t.args(
            "desk-imported-counts",
            &[("cases", &cases), ("subs", &subs), ("files", &files), ("messages", &messages), ("deleted", &deleted)],
        )
    }
}
