//! One in-process server for the HTTP fuzz targets: the real router, intake,
//! sealing and store over a temporary folder, with the rate limits off.
use std::sync::OnceLock;

use axum::body::{to_bytes, Body};
use axum::http::Request;
use peluit::investigators::Investigators;
use peluit::server::{self, App, Limits, Site};
use peluit::store::Store;
use tower::ServiceExt;

/// The server and what keeps it alive.
pub struct World {
    rt: tokio::runtime::Runtime,
    router: axum::Router,
    _dir: tempfile::TempDir,
}

/// The server, made on first use.
pub fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("store");
        let (_, public) = peluit::crypto::new_identity();
        let recipients = peluit::crypto::Recipients::parse(&public).expect("recipients");
        let limits = Limits { max_body: 1 << 20, submit_rate: 0, lookup_rate: 0, ..Limits::default() };
        let app = App::new(store, recipients, Investigators::default(), limits, Site::default()).expect("app");
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        World { rt, router: server::router(std::sync::Arc::new(app)), _dir: dir }
    })
}

impl World {
    /// POSTs `body` to `path`; returns the status and the answer's body.
    pub fn post(&self, path: &str, content_type: &str, body: Vec<u8>) -> (u16, Vec<u8>) {
        let req = Request::post(path).header("content-type", content_type).body(Body::from(body)).expect("request");
        self.rt.block_on(async {
            let resp = self.router.clone().oneshot(req).await.expect("infallible");
            let code = resp.status().as_u16();
            (code, to_bytes(resp.into_body(), 1 << 20).await.map(|b| b.to_vec()).unwrap_or_default())
        })
    }
}
