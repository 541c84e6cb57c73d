//! The desk's guards against the real router: the token, the Host, forms
//! from elsewhere, and attachments that must never render in the desk.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use tower::ServiceExt;

use super::{router, Desk};

/// A case id and an attachment that would run script if rendered.
const CASE: &str = "0123456789abcdef0123456789abcdef";
const SUB: &str = "000000000001-tip";
const HTML: &[u8] = b"<script>document.title='pwned'</script><h1>hi</h1>";
/// A file whose metadata mat2 removes (the "created by" entry).
const TORRENT: &[u8] = b"d8:announce3:foo10:created by13:SECRET-AUTHOR4:infod6:lengthi1e4:name1:x\
12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaaee";

/// A desk on a folder holding one case with an HTML attachment.
fn desk() -> (tempfile::TempDir, Arc<Desk>) {
    let root = tempfile::tempdir().unwrap();
    let keys = root.path().join("ani");
    crate::keys::keygen(&keys, "2026-11-29", None).unwrap();
    let cases = root.path().join("cases");
    let files = cases.join(CASE).join(SUB).join("files");
    std::fs::create_dir_all(&files).unwrap();
    std::fs::write(files.join("evil.html"), HTML).unwrap();
    std::fs::write(files.join("t.torrent"), TORRENT).unwrap();
    let d = Desk::new(&cases, &[keys], "127.0.0.1:4567".parse().unwrap()).unwrap();
    (root, Arc::new(d))
}

/// A request from the desk's own page: its Host and its cookie.
fn own(d: &Desk, method: &str, uri: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, "127.0.0.1:4567")
        .header(header::COOKIE, format!("peluit_desk_4567={}", d.token.as_str()))
}

async fn send(d: &Arc<Desk>, req: Request<Body>) -> axum::response::Response {
    router(d.clone()).oneshot(req).await.unwrap()
}

#[tokio::test]
async fn a_request_without_the_token_is_refused() {
    let (_root, d) = desk();
    let bare = Request::get("/").header(header::HOST, "127.0.0.1:4567").body(Body::empty()).unwrap();
    assert_eq!(send(&d, bare).await.status(), StatusCode::FORBIDDEN);
    let wrong = format!("/?t={}", "0".repeat(32));
    let guess = Request::get(wrong).header(header::HOST, "127.0.0.1:4567").body(Body::empty()).unwrap();
    assert_eq!(send(&d, guess).await.status(), StatusCode::FORBIDDEN);
    let cookie = Request::get(format!("/case/{CASE}/file/{SUB}/evil.html"))
        .header(header::HOST, "127.0.0.1:4567")
        .header(header::COOKIE, format!("peluit_desk_4567={}", "f".repeat(32)))
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&d, cookie).await.status(), StatusCode::FORBIDDEN);
    // The printed address: the token moves into a strict cookie, out of the URL.
    let entry = Request::get(d.address().trim_start_matches("http://127.0.0.1:4567"))
        .header(header::HOST, "127.0.0.1:4567")
        .body(Body::empty())
        .unwrap();
    let r = send(&d, entry).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[header::LOCATION], "/");
    let set = r.headers()[header::SET_COOKIE].to_str().unwrap().to_string();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains(d.token.as_str()), "{set}");
    let page = send(&d, own(&d, "GET", "/").body(Body::empty()).unwrap()).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().contains("default-src 'none'"));
}

#[tokio::test]
async fn a_foreign_host_is_refused_even_with_the_token() {
    let (_root, d) = desk();
    for host in ["localhost:4567", "evil.example", "127.0.0.1:4568", "127.0.0.1"] {
        let mut req = own(&d, "GET", "/").body(Body::empty()).unwrap();
        req.headers_mut().insert(header::HOST, host.parse().unwrap());
        assert_eq!(send(&d, req).await.status(), StatusCode::FORBIDDEN, "{host}");
    }
}

#[tokio::test]
async fn a_cross_site_post_or_one_without_the_form_token_is_refused() {
    let (_root, d) = desk();
    let form = "who=ani&passphrase=x";
    let post = |uri: String| own(&d, "POST", &uri).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    let with_csrf = format!("/keys?csrf={}", d.csrf.as_str());
    let cases = [
        post("/keys".into()).body(Body::from(form)).unwrap(),
        post(format!("/keys?csrf={}", "0".repeat(32))).body(Body::from(form)).unwrap(),
        post(with_csrf.clone()).header("sec-fetch-site", "cross-site").body(Body::from(form)).unwrap(),
        post(with_csrf.clone()).header("sec-fetch-site", "same-site").body(Body::from(form)).unwrap(),
        post(with_csrf.clone()).header(header::ORIGIN, "http://evil.example").body(Body::from(form)).unwrap(),
        post(with_csrf.clone()).header(header::ORIGIN, "null").body(Body::from(form)).unwrap(),
    ];
    for req in cases {
        let what = format!("{:?}", req.headers());
        assert_eq!(send(&d, req).await.status(), StatusCode::FORBIDDEN, "{what}");
    }
    // The same form from the desk's own page goes through (the key has no
    // passphrase, so unlocking it again succeeds).
    let ok = post(with_csrf)
        .header("sec-fetch-site", "same-origin")
        .header(header::ORIGIN, "http://127.0.0.1:4567")
        .body(Body::from(form))
        .unwrap();
    assert_eq!(send(&d, ok).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_html_attachment_is_only_a_sandboxed_download() {
    let (_root, d) = desk();
    let r = send(&d, own(&d, "GET", &format!("/case/{CASE}/file/{SUB}/evil.html")).body(Body::empty()).unwrap()).await;
    assert_eq!(r.status(), StatusCode::OK);
    let h = r.headers().clone();
    assert_eq!(h[header::CONTENT_TYPE], "application/octet-stream");
    assert!(h[header::CONTENT_DISPOSITION].to_str().unwrap().starts_with("attachment;"));
    assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(h[header::CONTENT_SECURITY_POLICY], "sandbox; default-src 'none'");
    let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
    assert_eq!(&body[..], HTML, "byte-exact");
    // Nothing outside the case's files/ folder, however the name is spelt.
    for path in [
        format!("/case/{CASE}/file/{SUB}/..%2F..%2F..%2Fani%2Fsigning.key"),
        format!("/case/{CASE}/file/{SUB}/.."),
        format!("/case/{CASE}/file/..%2F..%2Fani/signing.key"),
        format!("/case/..%2Fani/file/{SUB}/signing.key"),
    ] {
        let r = send(&d, own(&d, "GET", &path).body(Body::empty()).unwrap()).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn a_clean_copy_drops_metadata_and_never_touches_the_original() {
    let (root, d) = desk();
    let uri = format!("/case/{CASE}/clean/{SUB}/t.torrent?csrf={}", d.csrf.as_str());
    let req = own(&d, "POST", &uri).header("sec-fetch-site", "same-origin").body(Body::empty()).unwrap();
    let r = send(&d, req).await;
    if d.mat2.is_none() {
        // Said plainly in the page, and nothing made.
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        assert!(String::from_utf8_lossy(&body).contains("mat2"), "the page does not say mat2 is missing");
        return;
    }
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[header::CONTENT_SECURITY_POLICY], "sandbox; default-src 'none'");
    let disposition = r.headers()[header::CONTENT_DISPOSITION].to_str().unwrap().to_string();
    assert!(disposition.starts_with("attachment;") && disposition.contains("clean-t.torrent"), "{disposition}");
    let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
    assert!(!body.windows(13).any(|w| w == b"SECRET-AUTHOR") && body.starts_with(b"d8:announce"), "not cleaned");
    let original = std::fs::read(root.path().join("cases").join(CASE).join(SUB).join("files/t.torrent")).unwrap();
    assert_eq!(original, TORRENT, "the original changed");
    let left: Vec<_> = std::fs::read_dir(root.path().join("cases"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".desk-clean"))
        .collect();
    assert!(left.is_empty(), "the copy was left behind");
}

#[tokio::test]
async fn an_import_under_way_shows_how_much_is_read_then_its_outcome_once() {
    let (_root, d) = desk();
    // decrypt reads a bundle twice (the signature, then the contents): 1 MiB
    // read of a 1 MiB bundle is half way.
    let read = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(1024 * 1024));
    *d.job.lock().unwrap() = Some(super::progress::Job { read, total: 1024 * 1024, outcome: None });
    let page = |d: &Arc<Desk>| own(d, "GET", "/import/progress").body(Body::empty()).unwrap();
    let r = send(&d, page(&d)).await;
    let html = String::from_utf8(axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap().to_vec()).unwrap();
    assert!(html.contains("0.5 dari 1.0 MiB") && html.contains("http-equiv=\"refresh\""), "{html}");
    assert!(html.contains("value=\"500\""), "{html}");
    if let Some(job) = d.job.lock().unwrap().as_mut() {
        job.outcome = Some(Err("not a peluit export bundle".into()));
    }
    let r = send(&d, page(&d)).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let html = String::from_utf8(axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap().to_vec()).unwrap();
    assert!(html.contains("not a peluit export bundle") && !html.contains("refresh"), "{html}");
    // Shown once: then the page is the import form again.
    assert_eq!(send(&d, page(&d)).await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_follow_up_decrypt_found_unverified_is_never_shown_as_the_reporters_words() {
    let (root, d) = desk();
    let cases = root.path().join("cases");
    let pin = crate::decrypt::pin::Pinned {
        deployment_id: "d".into(),
        recipients: vec![crate::crypto::new_identity().1],
        keyset_version: 0,
        signers: Vec::new(),
        server_key: String::new(),
    };
    crate::decrypt::pin::save(&cases, &pin).unwrap();
    let case = cases.join(CASE);
    let day = "2026-11-28";
    let json = serde_json::json!({
        "id": CASE, "created": day, "status": "received",
        "timeline": [
            {"day": day, "status": "received"},
            {"day": day, "status": "closed", "seq": 7, "by": "ani", "audit": 7},
        ],
        "submissions": [], "unverified": [2], "unsigned": [7],
    });
    std::fs::write(case.join("case.json"), json.to_string()).unwrap();
    for (sub, text) in [(SUB, "the tip as the reporter wrote it"), ("000000000002-followup", "I withdraw, delete it")] {
        std::fs::create_dir_all(case.join(sub)).unwrap();
        let mut m = crate::model::Manifest::default();
        m.text = text.into();
        m.fields.what = format!("what of {sub}");
        std::fs::write(case.join(sub).join("report.json"), serde_json::to_vec(&m).unwrap()).unwrap();
    }
    let page = send(&d, own(&d, "GET", &format!("/case/{CASE}")).body(Body::empty()).unwrap()).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = String::from_utf8(axum::body::to_bytes(page.into_body(), 1 << 20).await.unwrap().to_vec()).unwrap();
    let catalog = crate::i18n::Catalog::load().unwrap();
    let t = catalog.tr(crate::i18n::Lang::Id);
    let warning = t.get("desk-unverified");
    assert_eq!(html.matches(&warning).count(), 1, "only the follow-up is marked");
    let (tip, followup) = html.split_at(html.find("000000000002-followup").unwrap());
    assert!(tip.contains("the tip as the reporter wrote it") && !tip.contains(&warning));
    assert!(followup.contains(&t.get("desk-kind-followup-unverified")) && followup.contains(&warning));
    // A status change no pinned investigator signed is marked where it shows:
    // the conversation and the timeline.
    assert_eq!(html.matches(&t.get("desk-unsigned")).count(), 2, "{html}");
    // The fields come from the one table, labelled in the page language.
    assert!(html.contains(&t.get("field-what")) && html.contains("what of 000000000002-followup"));
}
