//! The submission path end to end in one process: a fuzzed multipart body
//! through the real router into the intake, sealing and the store. Whatever
//! the body, the server answers (no panic) with a status from the fixed set.
#![no_main]
use std::sync::OnceLock;

use axum::body::Body;
use axum::http::Request;
use libfuzzer_sys::fuzz_target;
use peluit::keyset::KeySet;
use peluit::server::{self, App, Limits, Site};
use peluit::store::Store;
use tower::ServiceExt;

struct World {
    rt: tokio::runtime::Runtime,
    router: axum::Router,
    _dir: tempfile::TempDir,
}

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("store");
        let (_, public) = peluit::crypto::new_identity();
        let recipients = peluit::crypto::Recipients::parse(&public).expect("recipients");
        let limits = Limits { max_body: 1 << 20, submit_rate: 0, lookup_rate: 0, ..Limits::default() };
        let app = App::new(store, recipients, KeySet::default(), limits, Site::default()).expect("app");
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        World { rt, router: server::router(std::sync::Arc::new(app)), _dir: dir }
    })
}

fuzz_target!(|data: &[u8]| {
    let w = world();
    let req = Request::post("/api/v1/reports")
        .header("content-type", "multipart/form-data; boundary=XyZ")
        .body(Body::from(data.to_vec()))
        .expect("request");
    let resp = w.rt.block_on(w.router.clone().oneshot(req)).expect("infallible");
    let code = resp.status().as_u16();
    assert!([201, 400, 408, 413, 429, 503].contains(&code), "unexpected {code}");
});
