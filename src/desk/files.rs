//! Attachments at the desk: downloads only, never rendered in the desk's
//! origin (`Content-Disposition: attachment`, `nosniff`, a sandboxing CSP
//! set by the guard), and a clean copy with `mat2` on a copy inside the
//! cases folder.
//!
//! Never modifies the original, never serves a path that is not a file the
//! case's `files/` folder lists, and leaves no copy behind.

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};

use super::guard::Download;
use super::pages::{lang, notice};
use super::view::is_submission_dir;
use super::Desk;

/// The attachment `name` of submission `sub` of case `id`, if it is one.
fn attachment(desk: &Desk, id: &str, sub: &str, name: &str) -> Option<PathBuf> {
    crate::crypto::unhex::<16>(id)?;
    if !is_submission_dir(sub) {
        return None;
    }
    let files = desk.cases.join(id).join(sub).join("files");
    // Only a name the folder lists: no `..`, no separator, no link elsewhere.
    let listed = std::fs::read_dir(&files).ok()?.flatten().any(|e| e.file_name().to_str() == Some(name));
    let path = files.join(name);
    (listed && std::fs::symlink_metadata(&path).ok()?.is_file()).then_some(path)
}

/// A file's bytes as a body, 64 KiB at a time: an attachment may be large.
fn streamed(file: tokio::fs::File) -> Body {
    use tokio::io::AsyncReadExt;
    Body::from_stream(futures_util::stream::unfold(Some(file), |f| async move {
        let mut f = f?;
        let mut buf = vec![0u8; 64 * 1024];
        match f.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(bytes::Bytes::from(buf)), Some(f)))
            }
            // Ends the body with the error, then the stream.
            Err(e) => Some((Err(e), None)),
        }
    }))
}

/// A download of `body` as `name`.
fn as_download(name: &str, body: Body) -> Response {
    let ascii: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || ".-_".contains(c) { c } else { '_' }).collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b".-_".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let disposition = format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}");
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    r.extensions_mut().insert(Download);
    r
}

/// `GET /case/{id}/file/{sub}/{name}`.
pub async fn download(
    State(desk): State<Arc<Desk>>,
    headers: HeaderMap,
    Path((id, sub, name)): Path<(String, String, String)>,
) -> Response {
    let file = match attachment(&desk, &id, &sub, &name) {
        Some(p) => tokio::fs::File::open(p).await.ok(),
        None => None,
    };
    match file {
        Some(f) => as_download(&name, streamed(f)),
        None => super::pages::not_found(State(desk), headers).await,
    }
}

/// `POST /case/{id}/clean/{sub}/{name}`: a copy without metadata, as a download.
pub async fn clean_copy(
    State(desk): State<Arc<Desk>>,
    headers: HeaderMap,
    Path((id, sub, name)): Path<(String, String, String)>,
) -> Response {
    let t = desk.catalog.tr(lang(&headers));
    let back = format!("/case/{id}");
    let Some(mat2) = desk.mat2.clone() else {
        return notice(&desk, &headers, "desk-clean-title", t.get("desk-mat2-missing"), &back, true);
    };
    let Some(original) = attachment(&desk, &id, &sub, &name) else {
        return super::pages::not_found(State(desk), headers).await;
    };
    let work = desk.cases.join(format!(".desk-clean-{}", crate::crypto::hex(&crate::crypto::random_id()[..8])));
    let run = {
        let (work, name) = (work.clone(), name.clone());
        tokio::task::spawn_blocking(move || clean(&mat2, &original, &work, &name))
    };
    let result = run.await.unwrap_or_else(|_| Err("mat2 stopped".into()));
    // The copy lives in the cases folder only for the moment mat2 takes.
    let _ = std::fs::remove_dir_all(&work);
    match result {
        Ok(bytes) => as_download(&format!("clean-{name}"), Body::from(bytes)),
        Err(why) => {
            let text = format!("{} {}", t.get("desk-clean-failed"), crate::safe_text::line(&why));
            notice(&desk, &headers, "desk-clean-title", text, &back, true)
        }
    }
}

/// Copies `original` into a new private folder `work`, runs mat2 on the
/// copy in place, and returns the cleaned bytes.
fn clean(
    mat2: &std::path::Path,
    original: &std::path::Path,
    work: &std::path::Path,
    name: &str,
) -> Result<Vec<u8>, String> {
    crate::private_fs::make_dir(work).map_err(|e| e.to_string())?;
    let copy = work.join(name);
    let mut to = crate::private_fs::create_new(&copy).map_err(|e| e.to_string())?;
    std::io::copy(&mut std::fs::File::open(original).map_err(|e| e.to_string())?, &mut to)
        .map_err(|e| e.to_string())?;
    drop(to);
    let out = std::process::Command::new(mat2).arg("--inplace").arg(&copy).output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(if said.is_empty() { String::from_utf8_lossy(&out.stdout).trim().to_string() } else { said });
    }
    std::fs::read(&copy).map_err(|e| e.to_string())
}
