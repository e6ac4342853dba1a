//! Token-bucket rate limits: per client IP (requests) and per site (events).
//!
//! A bucket holds up to `burst` tokens and refills at `rate` tokens per second. A request that
//! finds too few tokens gets 429 with `Retry-After` set to when enough will have refilled,
//! which the SDK's retry table honours. Buckets live in memory, per collector instance.

use std::collections::HashMap;
use std::sync::Mutex;

/// A set of token buckets keyed by string.
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, i64)>>,
}

/// Most buckets kept before idle (full) ones are forgotten.
const MAX_BUCKETS: usize = 100_000;

impl RateLimiter {
    /// A limiter refilling `rate` tokens/s up to `burst`; `rate == 0` disables it.
    pub fn new(rate: f64, burst: f64) -> RateLimiter {
        RateLimiter { rate, burst: burst.max(1.0), buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes `n` tokens from `key`'s bucket at `now` (ms). `Err(seconds)` says when to retry.
    ///
    /// ```
    /// use funnelcake_collector::limit::RateLimiter;
    /// let l = RateLimiter::new(10.0, 20.0);
    /// assert!(l.take("ip", 20.0, 0).is_ok());
    /// assert_eq!(l.take("ip", 5.0, 0), Err(1));
    /// assert!(l.take("ip", 5.0, 500).is_ok(), "half a second refills 5 tokens");
    /// ```
    pub fn take(&self, key: &str, n: f64, now: i64) -> Result<(), u64> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let Ok(mut buckets) = self.buckets.lock() else { return Ok(()) };
        if buckets.len() >= MAX_BUCKETS {
            let (rate, burst) = (self.rate, self.burst);
            buckets.retain(|_, (tokens, at)| *tokens + (now - *at) as f64 / 1000.0 * rate < burst);
        }
        let (tokens, at) = buckets.entry(key.to_owned()).or_insert((self.burst, now));
        let refilled = (*tokens + (now - *at).max(0) as f64 / 1000.0 * self.rate).min(self.burst);
        *at = now;
        if refilled >= n {
            *tokens = refilled - n;
            Ok(())
        } else {
            *tokens = refilled;
            let wait = ((n.min(self.burst) - refilled) / self.rate).ceil().max(1.0);
            Err(wait as u64)
        }
    }
}
