//! The routes, each POST route declared with its limits: its largest body,
//! its rate-limit bucket and whether it takes files (and so may hold an
//! upload slot). The router is built from this one table, so a POST route
//! cannot exist without its limits.
//!
//! Never reads a body: the limits are enforced by `guard::route`.

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, MethodRouter};
use axum::Router;

use super::{guard, investigators, pages, reports, status, App, Limits};

/// Largest body of a receipt lookup: a receipt is 25 characters.
pub const LOOKUP_BODY: u64 = 4 * 1024;

/// Largest actions file accepted over HTTP.
pub const MAX_ACTIONS_BODY: u64 = 32 * 1024 * 1024;

/// Which global token bucket a route draws from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BucketKind {
    /// Tips and follow-ups.
    Submit,
    /// Receipt lookups.
    Lookup,
    /// The investigators' transfer-key requests.
    Transfer,
}

/// What a POST route accepts, enforced before and while its body is read.
#[derive(Clone, Copy, Debug)]
pub struct RouteLimits {
    /// Largest body in bytes.
    pub body: u64,
    /// The rate-limit bucket.
    pub bucket: BucketKind,
    /// True when the route takes files: a body larger than the text limit
    /// (or of undeclared size) then draws from the upload pool.
    pub files: bool,
}

impl RouteLimits {
    /// A route that takes files, up to `body` bytes.
    fn files(body: u64, bucket: BucketKind) -> RouteLimits {
        RouteLimits { body, bucket, files: true }
    }

    /// A route that takes a small body, up to `body` bytes.
    fn small(body: u64, bucket: BucketKind) -> RouteLimits {
        RouteLimits { body, bucket, files: false }
    }
}

/// Every POST route with its handler and limits.
fn post_routes(l: &Limits) -> [(&'static str, MethodRouter<Arc<App>>, RouteLimits); 7] {
    use BucketKind::{Lookup, Submit, Transfer};
    [
        ("/submit", post(reports::submit_form), RouteLimits::files(l.max_body, Submit)),
        ("/status", post(status::status_form), RouteLimits::small(LOOKUP_BODY, Lookup)),
        ("/status/add", post(status::followup_form), RouteLimits::files(l.max_body, Submit)),
        ("/api/v1/reports", post(reports::submit_api), RouteLimits::files(l.max_body, Submit)),
        ("/api/v1/status", post(status::status_api), RouteLimits::small(LOOKUP_BODY, Lookup)),
        ("/api/v1/followups", post(status::followup_api), RouteLimits::files(l.max_body, Submit)),
        // Read only after the transfer key, time and nonce have been checked.
        ("/api/v1/actions", post(investigators::push_actions), RouteLimits::small(MAX_ACTIONS_BODY, Transfer)),
    ]
}

/// Builds the router with every route and layer.
pub fn router(app: Arc<App>) -> Router {
    let mut router = Router::new()
        .route("/", get(pages::home))
        .route("/submit", get(pages::submit_form))
        .route("/status", get(pages::status_form))
        .route("/about", get(pages::about))
        .route("/style.css", get(pages::stylesheet))
        .route("/api/v1/openapi.json", get(pages::openapi))
        .route("/api/v1/export", get(investigators::pull_export))
        .route("/api/v1/keys", get(investigators::published_keys));
    for (path, handler, limits) in post_routes(&app.limits) {
        let state = guard::RouteState { app: app.clone(), limits };
        router = router.route(path, handler.layer(axum::middleware::from_fn_with_state(state, guard::route)));
    }
    router
        .fallback(pages::not_found)
        // Every body limit is the route's own, enforced by its layer.
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn_with_state(app.clone(), guard::edge))
        .with_state(app)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::Site;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    /// A server with every bucket one token deep and refilling once an hour.
    fn app(dir: &std::path::Path) -> Arc<App> {
        app_at(dir, crate::clock::Clock::System)
    }

    /// The same on `clock`.
    fn app_at(dir: &std::path::Path, clock: crate::clock::Clock) -> Arc<App> {
        let id = age::x25519::Identity::generate();
        let recipients =
            crate::crypto::Recipients::parse(&id.to_public().to_string()).unwrap_or_else(|e| panic!("{e}"));
        let store = crate::store::Store::open_for_tests(dir);
        let limits = Limits {
            submit_rate: 1,
            submit_burst: 1,
            lookup_rate: 1,
            lookup_burst: 1,
            transfer_rate: 1,
            transfer_burst: 1,
            ..Limits::default()
        };
        let keys = crate::investigators::Investigators::default();
        Arc::new(App::new(store, recipients, keys, limits, Site::default(), clock).unwrap_or_else(|e| panic!("{e}")))
    }

    #[tokio::test]
    async fn every_post_route_draws_from_a_bucket() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let app = app(dir.path());
        let router = router(app.clone());
        for (path, _, limits) in post_routes(&app.limits) {
            let answers: Vec<u16> = futures_util::future::join_all((0..3).map(|_| {
                let req = Request::post(path)
                    .header("content-type", "application/json")
                    .body(Body::from("{}"))
                    .unwrap_or_else(|e| panic!("{e}"));
                router.clone().oneshot(req)
            }))
            .await
            .into_iter()
            .map(|r| r.map(|r| r.status().as_u16()).unwrap_or(0))
            .collect();
            assert!(answers.contains(&429), "{path} ({:?}) answered {answers:?}", limits.bucket);
        }
    }

    #[tokio::test]
    async fn a_tip_is_dated_by_the_clock_the_server_was_given() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        // 2031-03-04, 10:00 UTC.
        let app = app_at(dir.path(), crate::clock::Clock::Fixed(1_930_384_800));
        let req = Request::post("/api/v1/reports")
            .header("content-type", "application/json")
            .body(Body::from(r#"{"what": "x"}"#))
            .unwrap_or_else(|e| panic!("{e}"));
        let answer = router(app.clone()).oneshot(req).await.map(|r| r.status().as_u16());
        assert_eq!(answer.ok(), Some(201));
        let days: Vec<String> = app.store.all_reports().filter_map(Result::ok).map(|r| r.created).collect();
        assert_eq!(days, ["2031-03-04"]);
    }
}
