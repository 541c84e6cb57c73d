//! How the server writes an answer: the page language of a request, a
//! rendered template, and bodies that hold a receipt or decrypted text,
//! zeroized once sent.
//!
//! Must never leave an unzeroized copy of a secret body behind.

use askama::Template;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};

use crate::i18n::Lang;

/// The page language of a request: `?lang=`, then `Accept-Language`.
pub fn lang_of(req: &Request<Body>) -> Lang {
    lang_from(req.uri(), req.headers())
}

/// The same, from the parts an extractor gives.
pub fn lang_from(uri: &Uri, headers: &HeaderMap) -> Lang {
    let query = uri.query().and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("lang=")));
    let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    Lang::negotiate(query, accept)
}

/// Renders a template, or a bare 500 if the template itself fails.
pub(super) fn render(t: &impl Template, status: StatusCode) -> Response {
    match t.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template error");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// A response body that holds a receipt or decrypted text: zeroized when
/// it is dropped, once it has been sent.
struct SecretBody(Vec<u8>);

impl AsRef<[u8]> for SecretBody {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for SecretBody {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

/// A response whose body is zeroized once sent.
pub(super) fn secret_response(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response {
    let body = Body::from(axum::body::Bytes::from_owner(SecretBody(body)));
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// A JSON answer that holds a receipt or decrypted text, zeroized once sent.
pub fn secret_json(status: StatusCode, value: &impl serde::Serialize) -> Response {
    match crate::model::secret_json(value) {
        Ok(mut body) => secret_response(status, "application/json", std::mem::take(&mut *body)),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// [`render`] for a page that holds a receipt or decrypted text.
pub(super) fn render_secret(t: &impl Template, status: StatusCode) -> Response {
    // Rendered once to learn the length, so the page is written into one
    // buffer and no outgrown copy of it is freed unzeroized.
    let mut len = crate::model::ByteCount::default();
    let html = t.render_into(&mut len).and_then(|()| {
        let mut html = String::with_capacity(len.0);
        t.render_into(&mut html).map(|()| html)
    });
    match html {
        Ok(html) => secret_response(status, "text/html; charset=utf-8", html.into_bytes()),
        Err(e) => {
            tracing::error!(error = %e, "template error");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
