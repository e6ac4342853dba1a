//! What to do with a batch after a send attempt: the one retry table.
//!
//! The SDK applies [`classify`] to every response; the collector's error mapping is tested
//! against the same function, so a status the collector returns always means what the client
//! expects. Backoff is exponential from 1 s, doubling, with full jitter and a 60 s cap;
//! `Retry-After` is honoured up to 10 minutes.

/// First backoff step, ms.
pub const BASE_BACKOFF_MS: u64 = 1_000;
/// Largest computed backoff, ms.
pub const MAX_BACKOFF_MS: u64 = 60_000;
/// Largest `Retry-After` honoured, ms.
pub const MAX_RETRY_AFTER_MS: u64 = 600_000;
/// Events older than this are given up on, ms (24 h).
pub const MAX_EVENT_AGE_MS: i64 = 24 * 60 * 60 * 1000;

/// How a send attempt ended, as the shell observed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendResult {
    /// An HTTP response arrived with this status; `retry_after_ms` from its `Retry-After`.
    Status {
        /// HTTP status code.
        code: u16,
        /// Parsed `Retry-After`, ms.
        retry_after_ms: Option<u64>,
    },
    /// No response: DNS, connection refused, offline, aborted.
    NetworkError,
}

impl SendResult {
    /// What the browser reported: an HTTP `status` (0 when no response came) and the
    /// `Retry-After` header, if any. Only its delay-seconds form is read (an HTTP date, or
    /// anything else, counts as absent); the cap is applied by the retry schedule.
    pub fn from_response(status: u16, retry_after: Option<&str>) -> SendResult {
        if status == 0 {
            return SendResult::NetworkError;
        }
        let retry_after_ms = retry_after
            .and_then(|v| crate::json::parse_number(v.trim_ascii()))
            .filter(|s| *s >= 0.0)
            .map(|s| (s * 1000.0) as u64);
        SendResult::Status { code: status, retry_after_ms }
    }

    /// `true` for a 2xx response: the collector took the batch.
    pub fn is_success(self) -> bool {
        matches!(self, SendResult::Status { code: 200..=299, .. })
    }
}

/// The decision for a batch after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Delivered: remove from the queue.
    Delivered,
    /// Rejected for good: remove and count as dropped.
    Drop,
    /// Too large: split in halves and retry each (a single event is dropped).
    Split,
    /// Try again later.
    Retry,
}

/// The retry table (DESIGN.md §8).
///
/// | status | disposition |
/// |---|---|
/// | 2xx | delivered |
/// | 400, 401, 403, 404, 422 | drop (counted) |
/// | 413 | split and retry halves |
/// | 408, 429, 5xx except 501 and 505, network error | retry with backoff |
/// | 501, 505, any other status | drop (counted) |
///
/// ```
/// use funnelcake_core::retry::{classify, Disposition, SendResult};
/// let st = |code| SendResult::Status { code, retry_after_ms: None };
/// assert_eq!(classify(st(204)), Disposition::Delivered);
/// assert_eq!(classify(st(503)), Disposition::Retry);
/// assert_eq!(classify(st(413)), Disposition::Split);
/// assert_eq!(classify(st(400)), Disposition::Drop);
/// ```
pub fn classify(result: SendResult) -> Disposition {
    match result {
        SendResult::NetworkError => Disposition::Retry,
        SendResult::Status { code, .. } => match code {
            200..=299 => Disposition::Delivered,
            413 => Disposition::Split,
            408 | 429 => Disposition::Retry,
            501 | 505 => Disposition::Drop,
            500..=599 => Disposition::Retry,
            _ => Disposition::Drop,
        },
    }
}

/// Delay before attempt number `attempt + 1` after `attempt` failed attempts (≥ 1).
///
/// Full jitter: a uniform draw in `[0, min(60 s, 1 s · 2^(attempt-1))]`, using `jitter` in
/// `[0, 1)`. A `Retry-After` from the server wins when it is longer, capped at 10 minutes.
///
/// ```
/// use funnelcake_core::retry::backoff_ms;
/// assert_eq!(backoff_ms(1, 0.999_999, None), 999);
/// assert_eq!(backoff_ms(20, 0.5, None), 30_000);
/// assert_eq!(backoff_ms(1, 0.0, Some(5_000)), 5_000);
/// assert_eq!(backoff_ms(1, 0.0, Some(10_000_000)), 600_000);
/// ```
pub fn backoff_ms(attempt: u32, jitter: f64, retry_after_ms: Option<u64>) -> u64 {
    let exp = attempt.saturating_sub(1).min(16);
    let cap = (BASE_BACKOFF_MS << exp).min(MAX_BACKOFF_MS);
    let jitter = if jitter.is_finite() { jitter.clamp(0.0, 1.0) } else { 0.5 };
    let drawn = (cap as f64 * jitter) as u64;
    match retry_after_ms {
        Some(ra) => drawn.max(ra.min(MAX_RETRY_AFTER_MS)),
        None => drawn,
    }
}
