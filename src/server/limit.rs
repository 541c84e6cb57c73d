//! Global token buckets for submissions and receipt lookups.
//!
//! Behind Tor every client is 127.0.0.1, so per-client limits mean nothing.
//! These buckets protect the machine (CPU, disk) and answer 429 at once
//! rather than queueing; the defaults sit near measured capacity, so that one
//! flooder cannot lock every reporter out with a low global limit. Tor's
//! onion-service proof-of-work is the first line against floods.

use std::sync::Mutex;
use std::time::Instant;

/// A token bucket refilled continuously.
pub struct Bucket {
    /// Tokens per second (0 disables the limit).
    rate: f64,
    /// Largest burst.
    burst: f64,
    /// (tokens, last refill).
    state: Mutex<(f64, Instant)>,
}

impl Bucket {
    /// A full bucket.
    pub fn new(rate: u32, burst: u32, now: Instant) -> Bucket {
        let burst = f64::from(burst.max(1));
        Bucket { rate: f64::from(rate), burst, state: Mutex::new((burst, now)) }
    }

    /// Takes one token if there is one at `now`.
    pub fn take(&self, now: Instant) -> bool {
        if self.rate == 0.0 {
            return true;
        }
        let Ok(mut s) = self.state.lock() else { return false };
        let elapsed = now.saturating_duration_since(s.1).as_secs_f64();
        s.0 = (s.0 + elapsed * self.rate).min(self.burst);
        s.1 = now;
        if s.0 >= 1.0 {
            s.0 -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn refuses_beyond_the_burst_and_recovers_at_the_rate() {
        let t0 = Instant::now();
        let b = Bucket::new(10, 3, t0);
        assert!(b.take(t0) && b.take(t0) && b.take(t0));
        assert!(!b.take(t0));
        assert!(!b.take(t0 + Duration::from_millis(50)), "half a token is not a token");
        assert!(b.take(t0 + Duration::from_millis(110)));
        // A long pause refills only up to the burst.
        let later = t0 + Duration::from_secs(60);
        assert!(b.take(later) && b.take(later) && b.take(later));
        assert!(!b.take(later));
    }

    #[test]
    fn rate_zero_means_unlimited() {
        let t0 = Instant::now();
        let b = Bucket::new(0, 1, t0);
        assert!((0..1000).all(|_| b.take(t0)));
    }
}
