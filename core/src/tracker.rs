//! The tracker: turns calls into wire events, keeps the session metrics, and decides when to
//! send what.
//!
//! Pull-based, with no clock or timer of its own. The shell calls [`Tracker::track`] with the
//! time and page context, asks [`Tracker::take_batch`] what to send, reports how the send
//! ended with [`Tracker::complete`], and sleeps until [`Tracker::next_wake`]. One batch is in
//! flight at a time, so events are delivered in order and a retried batch keeps its event ids.
//!
//! Session boundaries: when an event arrives after the inactivity timeout, the old session's
//! final `session_summary` is queued first (timestamped at its last activity), then a new
//! session starts with its traffic source classified from the current page. On page hide the
//! shell calls [`Tracker::page_hidden`], which queues a provisional summary.

use crate::config::Config;
use crate::event::{normalize, DropReason, Normalized};
use crate::funnel::FunnelDef;
use crate::id::{new_id, Entropy};
use crate::json::Value;
use crate::metrics::{snapshot, snapshot_json, KeyStyle};
use crate::retry::{backoff_ms, classify, Disposition, SendResult, MAX_EVENT_AGE_MS};
use crate::session::SessionState;
use crate::source;
use crate::wire::{Batch, Event};

/// Largest event accepted, bytes of wire JSON (the collector's limit).
pub const MAX_EVENT_BYTES: usize = 32 * 1024;

/// Where the visitor is when an event happens (captured by the shell at call time).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PageContext {
    /// Path and query of the page.
    pub url: String,
    /// `document.referrer`, if not empty.
    pub referrer: Option<String>,
    /// `document.title`, if not empty.
    pub title: Option<String>,
    /// The page's host (`location.host`), to tell internal referrers from external ones.
    pub host: String,
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
    default_funnel: FunnelDef,
    state: SessionState,
    queue: Vec<Queued>,
    in_flight: Option<(u64, usize)>,
    next_batch_id: u64,
    retry_at: i64,
    dropped_unreported: u64,
    dropped_total: u64,
    visible: bool,
}

impl Tracker {
    /// A tracker with the given config and persisted identity/session.
    pub fn new(cfg: Config, state: SessionState) -> Tracker {
        Tracker {
            cfg,
            default_funnel: FunnelDef::default_funnel(),
            state,
            queue: Vec::new(),
            in_flight: None,
            next_batch_id: 1,
            retry_at: 0,
            dropped_unreported: 0,
            dropped_total: 0,
            visible: false,
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

    /// Replaces identity and session with a newer copy (another tab of the same site wrote it).
    pub fn adopt_state(&mut self, state: SessionState) {
        self.state = state;
    }

    /// Events waiting to be delivered (including any in flight).
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// Events dropped since the tracker started (bad input, rejected or expired).
    pub fn dropped_total(&self) -> u64 {
        self.dropped_total
    }

    fn timeout_ms(&self) -> i64 {
        i64::from(self.cfg.session_timeout_min) * 60_000
    }

    /// The metrics snapshot at `now` (camelCase for `metrics()`, snake_case for summaries).
    pub fn snapshot(&self, now: i64, style: KeyStyle) -> Value {
        snapshot(&self.state, &self.default_funnel, &self.cfg.funnels, now, style)
    }

    /// The metrics snapshot at `now` as JSON text (what the shell hands to `JSON.parse`).
    pub fn snapshot_json(&self, now: i64, style: KeyStyle) -> String {
        snapshot_json(&self.state, &self.default_funnel, &self.cfg.funnels, now, style)
    }

    /// Counts a dropped event in the session metrics and the next batch's `dropped`.
    pub fn count_drop(&mut self, reason: DropReason, n: u64) {
        if n == 0 {
            return;
        }
        self.dropped_unreported += n;
        self.dropped_total += n;
        if let Some(s) = &mut self.state.session {
            s.metrics.count_drop(reason, n);
        }
    }

    /// Normalises and records an event. `Ok(true)` when the metrics snapshot changed.
    ///
    /// ```
    /// use funnelcake_core::{config::*, id::SplitMix64, session::SessionState, tracker::*};
    /// let cfg = Config::resolve(&RawConfig { site: Some("s".into()), ..Default::default() }).unwrap().0;
    /// let mut rng = SplitMix64(1);
    /// let mut t = Tracker::new(cfg, SessionState::new(&mut rng));
    /// let ctx = PageContext { url: "/".into(), ..Default::default() };
    /// t.track("page_view", vec![], &ctx, 1_000, &mut rng).unwrap();
    /// assert_eq!(t.pending(), 1);
    /// assert!(t.take_batch(1_000, false).is_none()); // not due yet
    /// let out = t.take_batch(1_000, true).unwrap(); // explicit flush
    /// assert_eq!(out.count, 1);
    /// ```
    pub fn track(
        &mut self,
        name: &str,
        props: Vec<(String, Value)>,
        ctx: &PageContext,
        now: i64,
        rng: &mut dyn Entropy,
    ) -> Result<bool, DropReason> {
        match normalize(name, props, self.cfg.currency.as_deref()) {
            Ok(n) => self.record(n, ctx, now, rng),
            Err(reason) => {
                self.start_session_if_needed(ctx, now, rng);
                self.count_drop(reason, 1);
                Err(reason)
            }
        }
    }

    /// Ends an expired session (queuing its final summary) and starts a new one if needed.
    fn start_session_if_needed(&mut self, ctx: &PageContext, now: i64, rng: &mut dyn Entropy) {
        let timeout = self.timeout_ms();
        if !self.state.expired(now, timeout) {
            return;
        }
        if let Some(last) = self.state.session.as_ref().map(|s| s.last_activity_at) {
            // The ended session's visible time stops at its last activity, not now.
            self.close_visible_span(last);
            self.queue_summary(true, last, rng);
        }
        self.state.touch(now, timeout, rng);
        if let Some(s) = &mut self.state.session {
            let m = &mut s.metrics;
            m.source = Some(source::classify(&ctx.url, ctx.referrer.as_deref(), &ctx.host));
            m.landing_page = Some(ctx.url.clone());
            m.exit_page = Some(ctx.url.clone());
            m.referrer = ctx.referrer.clone();
            if self.visible {
                m.set_visible(true, now);
            }
        }
    }

    /// Records an already normalised event.
    pub fn record(
        &mut self,
        n: Normalized,
        ctx: &PageContext,
        now: i64,
        rng: &mut dyn Entropy,
    ) -> Result<bool, DropReason> {
        self.start_session_if_needed(ctx, now, rng);
        if n.t == "purchase" && n.order.as_ref().is_some_and(|o| self.state.recent_orders.contains(o)) {
            self.count_drop(DropReason::DuplicateOrder, 1);
            return Err(DropReason::DuplicateOrder);
        }
        let timeout = self.timeout_ms();
        self.state.touch(now, timeout, rng);
        let Some((sid, seq)) = self.state.bump_seq() else { return Err(DropReason::MissingName) };
        let exp = self.state.session.as_ref().map(|s| s.metrics.experiments.clone()).unwrap_or_default();
        let event = Event {
            id: new_id(rng),
            t: n.t,
            ts: now,
            sid,
            aid: self.state.anonymous_id.clone(),
            uid: self.state.user_id.clone(),
            seq,
            url: ctx.url.clone(),
            referrer: ctx.referrer.clone(),
            title: ctx.title.clone(),
            props: n.props,
            items: n.items,
            value: n.value,
            cur: n.cur,
            order: n.order,
            exp,
            src: if seq == 1 { self.state.session.as_ref().and_then(|s| s.metrics.source.clone()) } else { None },
        };
        if event.encoded_len() > MAX_EVENT_BYTES {
            self.count_drop(DropReason::TooLarge, 1);
            return Err(DropReason::TooLarge);
        }
        let mut changed = false;
        if let Some(s) = &mut self.state.session {
            changed = s.metrics.observe(&event, &self.default_funnel, &self.cfg.funnels);
        }
        if event.t == "purchase" {
            if let Some(id) = &event.order {
                self.state.remember_order(id);
            }
        }
        self.queue.push(Queued { event, attempts: 0 });
        Ok(changed)
    }

    /// Queues a `session_summary` for the current session at `at`. `final_` marks the summary
    /// sent when the session ended (otherwise it is provisional, sent on page hide).
    fn queue_summary(&mut self, final_: bool, at: i64, rng: &mut dyn Entropy) {
        let Value::Obj(mut props) = self.snapshot(at, KeyStyle::Snake) else { return };
        props.push(("final".into(), Value::Bool(final_)));
        let url = self.state.session.as_ref().and_then(|s| s.metrics.exit_page.clone()).unwrap_or_default();
        let exp = self.state.session.as_ref().map(|s| s.metrics.experiments.clone()).unwrap_or_default();
        let Some((sid, seq)) = self.state.bump_seq() else { return };
        self.queue.push(Queued {
            event: Event {
                id: new_id(rng),
                t: "session_summary".into(),
                ts: at,
                sid,
                aid: self.state.anonymous_id.clone(),
                uid: self.state.user_id.clone(),
                seq,
                url,
                props,
                exp,
                ..Event::default()
            },
            attempts: 0,
        });
    }

    /// The page became visible (`visibilitychange`, or on load when visible).
    pub fn page_visible(&mut self, now: i64) {
        self.visible = true;
        if self.state.expired(now, self.timeout_ms()) {
            return; // the next event starts a session, visible from then on
        }
        if let Some(s) = &mut self.state.session {
            s.metrics.set_visible(true, now);
        }
    }

    /// A new page load: a visible span left open by a page that never reported hiding (crash,
    /// killed tab) is closed at the session's last activity rather than counted until now.
    pub fn page_loaded(&mut self) {
        if let Some(s) = &mut self.state.session {
            let last = s.last_activity_at;
            if s.metrics.visible_since.is_some() {
                s.metrics.set_visible(false, last);
            }
        }
    }

    /// The page was hidden: closes the visible span and queues a provisional summary (when a
    /// session is active). The shell then sends with `take_batch(now, true)`.
    pub fn page_hidden(&mut self, now: i64, rng: &mut dyn Entropy) {
        self.visible = false;
        let timeout = self.timeout_ms();
        if self.state.expired(now, timeout) {
            return;
        }
        if let Some(s) = &mut self.state.session {
            s.metrics.set_visible(false, now);
        }
        self.queue_summary(false, now, rng);
    }

    /// The page is hidden without a summary (used when a session ends while hidden).
    fn close_visible_span(&mut self, at: i64) {
        if let Some(s) = &mut self.state.session {
            s.metrics.set_visible(false, at);
        }
    }

    /// `identify(userId)`: later events carry `uid`.
    pub fn identify(&mut self, user_id: Option<String>) {
        self.state.user_id = user_id.filter(|u| !u.is_empty());
    }

    /// `reset()`: ends the session (final summary) and starts a new anonymous identity.
    pub fn reset(&mut self, now: i64, rng: &mut dyn Entropy) {
        if !self.state.expired(now, self.timeout_ms()) {
            self.queue_summary(true, now, rng);
        }
        self.state = SessionState::new(rng);
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
            Disposition::Drop => self.drop_front(count, DropReason::Rejected),
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
                self.drop_front(expired, DropReason::Expired);
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

    fn drop_front(&mut self, n: usize, reason: DropReason) {
        self.queue.drain(..n);
        self.count_drop(reason, n as u64);
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
            t.track("page_view", vec![], &ctx, 100 + i, &mut rng).unwrap();
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
        t.track("a", vec![], &ctx, 1, &mut rng).unwrap();
        let b = t.take_batch(1, true).unwrap();
        t.complete(b.id, SendResult::Status { code: 400, retry_after_ms: None }, 2, 0.5);
        assert_eq!((t.pending(), t.dropped_total()), (0, 1));
        t.track("b", vec![], &ctx, 3, &mut rng).unwrap();
        let next = crate::wire::decode_batch(&t.take_batch(3, true).unwrap().body).unwrap();
        assert_eq!(next.dropped, 1);
    }
}
