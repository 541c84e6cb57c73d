//! The multipart extractor every upload route uses: axum's `Multipart` with a
//! cap on what the parser may buffer while it looks for a part's headers
//! (multer buffers a part header, and the preamble before the first part,
//! without a limit of its own).
//!
//! Never reads a part's content itself.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::extract::{FromRequest, Multipart, Request};

use super::body::{Gauge, GuardedBody, Pace};

/// A multipart body whose part headers are capped at [`super::body::MAX_PART_HEAD`].
pub struct Parts {
    /// The parser.
    inner: Multipart,
    /// Armed while the parser looks for the next part's headers.
    gauge: Arc<Gauge>,
}

impl<S: Send + Sync> FromRequest<S> for Parts {
    type Rejection = MultipartRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        // The route's layer has wrapped the body and left its gauge; a route
        // without that layer still gets the header cap, with a gauge of its own.
        let (req, gauge) = match req.extensions().get::<Arc<Gauge>>().cloned() {
            Some(g) => (req, g),
            None => {
                let g = Arc::new(Gauge::default());
                let pace = Pace { max_bytes: u64::MAX, min_rate: 0, window: std::time::Duration::from_secs(3600) };
                let gauge = g.clone();
                (req.map(move |b| Body::new(GuardedBody::new(b, pace, gauge))), g)
            }
        };
        let inner = Multipart::from_request(req, state).await?;
        Ok(Parts { inner, gauge })
    }
}

impl Parts {
    /// The next part, its headers read under the cap.
    pub async fn next_field(&mut self) -> Result<Option<Field<'_>>, MultipartError> {
        self.gauge.arm();
        let field = self.inner.next_field().await;
        self.gauge.disarm();
        field
    }
}
