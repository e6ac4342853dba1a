//! The tracker: turns calls into wire events and decides when to send what.
//!
//! Pull-based, with no clock or timer of its own. The shell calls [`Tracker::record`] with
//! the time and page context, asks [`Tracker::take_batch`] what to send, reports how the send
//! ended with [`Tracker::complete`], and sleeps until [`Tracker::next_wake`]. One batch is in
//! flight at a time, so events are delivered in order and a retried batch keeps its event ids.

use crate::config::Config;
use crate::id::{new_id, Entropy};
use crate::json::Value;
use crate::retry::{backoff_ms, classify, Disposition, SendResult, MAX_EVENT_AGE_MS};
use crate::session::SessionState;
use crate::wire::{Batch, Event};

/// Where the visitor is when an event happens (captured by the shell at call time).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PageContext {
    /// Path and query of the page.
    pub url: String,
    /// `document.referrer`, if not empty.
    pub referrer: Option<String>,
    /// `document.title`, if not empty.
    pub title: Option<String>,
}

/// A batch the shell should send now.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// Handle to pass back to [`Tracker::complete`].
    pub id: u64,
    /// Wire-format JSON body.
    pub body: String,
    /// Number of events in the body.
    pub count: usize,
}

#[derive(Debug, Clone)]
struct Queued {
    event: Event,
    attempts: u32,
}

/// One site's tracker state.
#[derive(Debug)]
pub struct Tracker {
    cfg: Config,
    state: SessionState,
    queue: Vec<Queued>,
    in_flight: Option<(u64, usize)>,
    next_batch_id: u64,
    retry_at: i64,
    dropped_unreported: u64,
    dropped_total: u64,
}

impl Tracker {
    /// A tracker with the given config and persisted identity/session.
    pub fn new(cfg: Config, state: SessionState) -> Tracker {
        Tracker {
            cfg,
            state,
            queue: Vec::new(),
            in_flight: None,
            next_batch_id: 1,
            retry_at: 0,
            dropped_unreported: 0,
            dropped_total: 0,
        }
    }

    /// The resolved config.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Identity and session, for the shell to persist after each change.
    pub fn state(&self) -> &SessionState {
        &self.state
    }

    /// Events waiting to be delivered (including any in flight).
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// Events dropped since the tracker started.
    pub fn dropped_total(&self) -> u64 {
        self.dropped_total
    }

    /// Records an event of type `t` at `now`.
    ///
    /// ```
    /// use funnelcake_core::{config::*, id::SplitMix64, session::SessionState, tracker::*};
    /// let cfg = Config::resolve(&RawConfig { site: Some("s".into()), ..Default::default() }).unwrap().0;
    /// let mut rng = SplitMix64(1);
    /// let mut t = Tracker::new(cfg, SessionState::new(&mut rng));
    /// let ctx = PageContext { url: "/".into(), ..Default::default() };
    /// t.record("page_view", vec![], &ctx, 1_000, &mut rng);
    /// assert_eq!(t.pending(), 1);
    /// assert!(t.take_batch(1_000, false).is_none()); // not due yet
    /// let out = t.take_batch(1_000, true).unwrap(); // explicit flush
    /// assert_eq!(out.count, 1);
    /// ```
    pub fn record(&mut self, t: &str, props: Vec<(String, Value)>, ctx: &PageContext, now: i64, rng: &mut dyn Entropy) {
        let timeout = i64::from(self.cfg.session_timeout_min) * 60_000;
        let (sid, seq) = self.state.next_seq(now, timeout, rng);
        let event = Event {
            id: new_id(rng),
            t: t.to_owned(),
            ts: now,
            sid,
            aid: self.state.anonymous_id.clone(),
            uid: self.state.user_id.clone(),
            seq,
            url: ctx.url.clone(),
            referrer: ctx.referrer.clone(),
            title: ctx.title.clone(),
            props,
            ..Event::default()
        };
        self.queue.push(Queued { event, attempts: 0 });
    }

    /// When the shell should next call [`Tracker::take_batch`], epoch ms; `None` when idle.
    pub fn next_wake(&self) -> Option<i64> {
        if self.in_flight.is_some() {
            return None;
        }
        let oldest = self.queue.first()?;
        let due = if self.full_or_retrying() {
            oldest.event.ts
        } else {
            oldest.event.ts + i64::from(self.cfg.flush_interval_ms)
        };
        Some(due.max(self.retry_at))
    }

    /// The batch to send now, if one is due (or `force`d by `flush()` or a page hide).
    ///
    /// Takes events oldest first up to `flushAt`… `maxBatchBytes`; nothing is taken while a batch
    /// is in flight or a backoff is running (unless forced).
    pub fn take_batch(&mut self, now: i64, force: bool) -> Option<Outgoing> {
        if self.in_flight.is_some() || self.queue.is_empty() {
            return None;
        }
        let due = self.full_or_retrying() || now - self.queue[0].event.ts >= i64::from(self.cfg.flush_interval_ms);
        if !force && (!due || now < self.retry_at) {
            return None;
        }
        let limit = self.cfg.max_batch_bytes as usize;
        let mut batch =
            Batch { site: self.cfg.site.clone(), sent_at: now, dropped: self.dropped_unreported, events: Vec::new() };
        let mut size = batch.encode().len();
        for q in &self.queue {
            let len = q.event.encoded_len() + 1;
            if !batch.events.is_empty() && size + len > limit {
                break;
            }
            size += len;
            batch.events.push(q.event.clone());
        }
        let id = self.next_batch_id;
        self.next_batch_id += 1;
        let count = batch.events.len();
        self.in_flight = Some((id, count));
        Some(Outgoing { id, body: batch.encode(), count })
    }

    /// Applies the outcome of sending batch `id`: removes delivered or rejected events, or
    /// schedules a retry. `jitter` is a uniform draw in `[0, 1)` for the backoff.
    pub fn complete(&mut self, id: u64, result: SendResult, now: i64, jitter: f64) {
        let Some((flying, count)) = self.in_flight else { return };
        if flying != id {
            return;
        }
        self.in_flight = None;
        let count = count.min(self.queue.len());
        match classify(result) {
            Disposition::Delivered => {
                self.queue.drain(..count);
                self.dropped_unreported = 0;
                self.retry_at = 0;
            }
            Disposition::Drop => self.drop_front(count),
            Disposition::Split | Disposition::Retry => {
                let max_attempts = self.cfg.max_attempts;
                let mut attempts = 0;
                for q in &mut self.queue[..count] {
                    q.attempts += 1;
                    attempts = attempts.max(q.attempts);
                }
                let expired = self.queue[..count]
                    .iter()
                    .take_while(|q| q.attempts >= max_attempts || now - q.event.ts > MAX_EVENT_AGE_MS)
                    .count();
                self.drop_front(expired);
                let retry_after = match result {
                    SendResult::Status { retry_after_ms, .. } => retry_after_ms,
                    SendResult::NetworkError => None,
                };
                self.retry_at = now + backoff_ms(attempts, jitter, retry_after) as i64;
            }
        }
    }

    /// `flushAt` events are waiting, or the oldest has already failed an attempt.
    fn full_or_retrying(&self) -> bool {
        self.queue.len() >= self.cfg.flush_at as usize || self.queue.first().is_some_and(|q| q.attempts > 0)
    }

    fn drop_front(&mut self, n: usize) {
        self.queue.drain(..n);
        self.dropped_unreported += n as u64;
        self.dropped_total += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RawConfig;
    use crate::id::SplitMix64;

    fn tracker(rng: &mut SplitMix64) -> Tracker {
        let raw = RawConfig { site: Some("shop-1".into()), flush_at: Some(3.0), ..Default::default() };
        Tracker::new(Config::resolve(&raw).unwrap().0, SessionState::new(rng))
    }

    #[test]
    fn sends_when_flush_at_is_reached_and_keeps_ids_on_retry() {
        let mut rng = SplitMix64(9);
        let mut t = tracker(&mut rng);
        let ctx = PageContext { url: "/".into(), ..Default::default() };
        for i in 0..3 {
            t.record("page_view", vec![], &ctx, 100 + i, &mut rng);
        }
        let first = t.take_batch(103, false).unwrap();
        assert_eq!(first.count, 3);
        assert!(t.take_batch(103, true).is_none(), "one batch in flight at a time");
        t.complete(first.id, SendResult::Status { code: 503, retry_after_ms: Some(2_000) }, 200, 0.0);
        assert_eq!(t.pending(), 3);
        assert_eq!(t.next_wake(), Some(2_200));
        assert!(t.take_batch(1_000, false).is_none(), "backoff running");
        let again = t.take_batch(2_200, false).unwrap();
        let ids = |b: &str| {
            crate::wire::decode_batch(b).unwrap().events.into_iter().map(|e| e.unwrap().id).collect::<Vec<_>>()
        };
        assert_eq!(ids(&first.body), ids(&again.body));
        t.complete(again.id, SendResult::Status { code: 200, retry_after_ms: None }, 2_300, 0.0);
        assert_eq!(t.pending(), 0);
    }

    #[test]
    fn a_rejected_batch_is_dropped_counted_and_reported_in_the_next() {
        let mut rng = SplitMix64(4);
        let mut t = tracker(&mut rng);
        let ctx = PageContext::default();
        t.record("a", vec![], &ctx, 1, &mut rng);
        let b = t.take_batch(1, true).unwrap();
        t.complete(b.id, SendResult::Status { code: 400, retry_after_ms: None }, 2, 0.5);
        assert_eq!((t.pending(), t.dropped_total()), (0, 1));
        t.record("b", vec![], &ctx, 3, &mut rng);
        let next = crate::wire::decode_batch(&t.take_batch(3, true).unwrap().body).unwrap();
        assert_eq!(next.dropped, 1);
    }
}
