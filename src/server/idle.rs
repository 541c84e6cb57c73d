//! A request body that fails when no data arrives for a while: a client that
//! trickles its upload cannot hold a connection and an intake open forever.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use http_body::Frame;
use tokio::time::{Instant, Sleep};

/// Wraps a body with an idle deadline that restarts at every frame.
pub struct IdleBody {
    /// The real body.
    inner: Body,
    /// How long a silence may last.
    idle: Duration,
    /// When the current silence ends the body.
    sleep: Pin<Box<Sleep>>,
}

impl IdleBody {
    /// Wraps `inner`.
    pub fn new(inner: Body, idle: Duration) -> IdleBody {
        IdleBody { inner, idle, sleep: Box::pin(tokio::time::sleep(idle)) }
    }
}

impl http_body::Body for IdleBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                let next = Instant::now() + this.idle;
                this.sleep.as_mut().reset(next);
                Poll::Ready(frame)
            }
            Poll::Pending => match this.sleep.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(axum::Error::new("request body idle for too long")))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
