//! A request body that enforces its route's limits while it is read: a most
//! number of bytes, a minimum average rate, and a cap on what a multipart
//! parser may buffer while it looks for the end of a part's headers. What
//! went wrong is kept in a shared [`Gauge`], so that the route's layer can
//! answer 413 or 408 whatever the handler made of the error.
//!
//! Never holds or copies the data it counts.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use http_body::Frame;
use tokio::time::{Instant, Sleep};

/// Most bytes a multipart parser may take from the body while it looks for
/// the end of one part's headers (boundary and headers included). Twice the
/// largest frame the server reads at once (`max_buf_size` in `run`), so a
/// header that straddles two frames still fits.
pub const MAX_PART_HEAD: u64 = 128 * 1024;

/// Why a body was cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    /// More bytes than the route accepts, or a part header over its cap.
    TooLarge,
    /// Slower than the minimum rate, or silent for too long.
    TooSlow,
}

/// Shared between the body and the route's layer.
#[derive(Default)]
pub struct Gauge {
    /// 0: fine; 1: too large; 2: too slow.
    cut: AtomicU8,
    /// True while a multipart parser looks for a part's headers.
    armed: AtomicBool,
    /// Bytes delivered since the gauge was armed.
    armed_bytes: AtomicU64,
}

impl Gauge {
    /// Why the body was cut, if it was.
    pub fn cut(&self) -> Option<Cut> {
        match self.cut.load(Ordering::Relaxed) {
            1 => Some(Cut::TooLarge),
            2 => Some(Cut::TooSlow),
            _ => None,
        }
    }

    /// Records a cut and makes the error the parser sees.
    fn record(&self, cut: Cut) -> axum::Error {
        self.cut.store(if cut == Cut::TooLarge { 1 } else { 2 }, Ordering::Relaxed);
        axum::Error::new(match cut {
            Cut::TooLarge => "request body over its limit",
            Cut::TooSlow => "request body too slow",
        })
    }

    /// Starts counting what a multipart parser reads for a part's headers.
    pub fn arm(&self) {
        self.armed_bytes.store(0, Ordering::Relaxed);
        self.armed.store(true, Ordering::Relaxed);
    }

    /// Stops counting: the parser has found the headers.
    pub fn disarm(&self) {
        self.armed.store(false, Ordering::Relaxed);
    }
}

/// What a [`GuardedBody`] enforces.
#[derive(Clone, Copy, Debug)]
pub struct Pace {
    /// Most bytes in the body.
    pub max_bytes: u64,
    /// Bytes per second the body must average over each window (0: only the
    /// silence check).
    pub min_rate: u64,
    /// The window; also the longest silence allowed.
    pub window: Duration,
}

/// Wraps a request body with its route's limits.
pub struct GuardedBody {
    /// The real body.
    inner: Body,
    /// The limits.
    pace: Pace,
    /// Shared with the route's layer and the multipart extractor.
    gauge: Arc<Gauge>,
    /// Bytes so far.
    total: u64,
    /// When the current window started, and the bytes in it.
    window: (Instant, u64),
    /// When the last frame came.
    last: Instant,
    /// Wakes the body at the next check.
    sleep: Pin<Box<Sleep>>,
    /// Set after a frame delivered while armed: the next poll yields, so that
    /// the parser looks at what it has before it takes more.
    yield_next: bool,
}

impl GuardedBody {
    /// Wraps `inner`; the first window starts now.
    pub fn new(inner: Body, pace: Pace, gauge: Arc<Gauge>) -> GuardedBody {
        let now = Instant::now();
        GuardedBody {
            inner,
            pace,
            gauge,
            total: 0,
            window: (now, 0),
            last: now,
            sleep: Box::pin(tokio::time::sleep_until(now + pace.window)),
            yield_next: false,
        }
    }

    /// The next moment a check is due: the end of the window or of the
    /// allowed silence, whichever is first.
    fn next_check(&self) -> Instant {
        (self.window.0 + self.pace.window).min(self.last + self.pace.window)
    }

    /// Counts a data frame; an error when it breaks a limit.
    fn count(&mut self, len: u64) -> Result<(), axum::Error> {
        self.total += len;
        self.window.1 += len;
        self.last = Instant::now();
        if self.total > self.pace.max_bytes {
            return Err(self.gauge.record(Cut::TooLarge));
        }
        if self.gauge.armed.load(Ordering::Relaxed) {
            let seen = self.gauge.armed_bytes.fetch_add(len, Ordering::Relaxed) + len;
            if seen > MAX_PART_HEAD {
                return Err(self.gauge.record(Cut::TooLarge));
            }
            self.yield_next = true;
        }
        let next = self.next_check();
        self.sleep.as_mut().reset(next);
        Ok(())
    }

    /// At a check: an error when the body is too slow, else the next window.
    fn check(&mut self, now: Instant) -> Result<(), axum::Error> {
        if now >= self.last + self.pace.window {
            return Err(self.gauge.record(Cut::TooSlow));
        }
        if now >= self.window.0 + self.pace.window {
            let needed = u128::from(self.pace.min_rate) * self.pace.window.as_millis() / 1000;
            if u128::from(self.window.1) < needed {
                return Err(self.gauge.record(Cut::TooSlow));
            }
            self.window = (now, 0);
        }
        let next = self.next_check();
        self.sleep.as_mut().reset(next);
        Ok(())
    }
}

impl http_body::Body for GuardedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        if this.gauge.cut().is_some() {
            return Poll::Ready(Some(Err(axum::Error::new("request body already cut"))));
        }
        if std::mem::take(&mut this.yield_next) && this.gauge.armed.load(Ordering::Relaxed) {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let len = frame.data_ref().map_or(0, |d| d.len() as u64);
                Poll::Ready(Some(this.count(len).map(|()| frame)))
            }
            Poll::Ready(other) => Poll::Ready(other),
            Poll::Pending => loop {
                if this.sleep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                if let Err(e) = this.check(Instant::now()) {
                    return Poll::Ready(Some(Err(e)));
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads the whole body.
    async fn read(body: GuardedBody) -> Result<usize, axum::Error> {
        axum::body::to_bytes(Body::new(body), usize::MAX).await.map(|b| b.len())
    }

    fn guarded(chunks: Vec<&'static [u8]>, pace: Pace) -> (GuardedBody, Arc<Gauge>) {
        let stream = futures_util::stream::iter(chunks.into_iter().map(|c| Ok::<_, std::io::Error>(Bytes::from(c))));
        let gauge = Arc::new(Gauge::default());
        (GuardedBody::new(Body::from_stream(stream), pace, gauge.clone()), gauge)
    }

    #[tokio::test]
    async fn a_body_over_its_limit_is_cut_as_too_large() {
        let pace = Pace { max_bytes: 5, min_rate: 0, window: Duration::from_secs(9) };
        let (body, gauge) = guarded(vec![b"abc", b"def"], pace);
        assert!(read(body).await.is_err());
        assert_eq!(gauge.cut(), Some(Cut::TooLarge));
        let (body, gauge) = guarded(vec![b"abc", b"de"], pace);
        assert_eq!(read(body).await.ok(), Some(5));
        assert_eq!(gauge.cut(), None);
    }

    #[tokio::test]
    async fn an_armed_gauge_caps_what_a_part_header_may_take() {
        let pace = Pace { max_bytes: u64::MAX, min_rate: 0, window: Duration::from_secs(9) };
        let big: &'static [u8] = Box::leak(vec![b'a'; 100 * 1024].into_boxed_slice());
        let (body, gauge) = guarded(vec![big, big], pace);
        gauge.arm();
        assert!(read(body).await.is_err());
        assert_eq!(gauge.cut(), Some(Cut::TooLarge));
        let (body, gauge) = guarded(vec![big, big], pace);
        assert!(read(body).await.is_ok(), "unarmed, data flows");
        assert_eq!(gauge.cut(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_trickle_below_the_rate_is_cut_though_never_silent() {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(1);
        let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|x| (x, rx)) });
        let gauge = Arc::new(Gauge::default());
        let pace = Pace { max_bytes: u64::MAX, min_rate: 100, window: Duration::from_secs(2) };
        let body = GuardedBody::new(Body::from_stream(stream), pace, gauge.clone());
        tokio::spawn(async move {
            for _ in 0..100 {
                tokio::time::sleep(Duration::from_millis(500)).await;
                if tx.send(Ok(Bytes::from_static(b"x"))).await.is_err() {
                    break;
                }
            }
        });
        let start = Instant::now();
        assert!(read(body).await.is_err());
        assert_eq!(gauge.cut(), Some(Cut::TooSlow));
        assert!(start.elapsed() <= Duration::from_secs(3), "{:?}", start.elapsed());
    }
}
