//! Delivery policy: when to send, what to send, what a response means, what to persist.
//!
//! The core decides, the shell acts:
//! - [`Tracker::take_batch`]: the batch to `fetch` now, if one is due (`flushAt` events, the
//!   oldest `flushIntervalMs` old, `maxBatchBytes` queued, a retry due, or forced by `flush()`);
//! - [`Tracker::complete`]: apply the retry table (`crate::retry`) to the response;
//! - [`Tracker::send_unload`]: on page hide, everything unsent in beacon-sized chunks, each
//!   beaconed by the shell as it is made; accepted beacons park their events (persisted, resent
//!   after a reload or if the page becomes visible again), refused ones return to the queue;
//! - [`Tracker::queue_to_persist`]: the queue's persisted form, when it should be written;
//! - [`Tracker::restore_queue`]: events from storage (this tab's reload, or a closed tab's queue).
//!
//! One batch is in flight at a time, so events arrive in order and a retried batch carries the
//! same ids.

use crate::event::DropReason;
use crate::json::Value;
use crate::queue::EventQueue;
use crate::retry::{backoff_ms, classify, Disposition, SendResult, MAX_EVENT_AGE_MS};
use crate::tracker::{Outgoing, Tracker};
use crate::wire::encode_batch_raw;

/// A queue this small (bytes) is persisted after every change; a larger one at most once per
/// [`PERSIST_INTERVAL_MS`] (and always on page hide), to keep main-thread work per event small.
pub const PERSIST_EAGER_BYTES: usize = 32 * 1024;
/// Least time between writes of a large persisted queue, ms.
pub const PERSIST_INTERVAL_MS: i64 = 1_000;
/// Largest request sent with `keepalive` (fetch) or `sendBeacon`, bytes. Browsers cap the bodies
/// of all keepalive requests in flight from a page at 64 KiB
/// (<https://fetch.spec.whatwg.org/#http-network-or-cache-fetch>, step "inflightKeepaliveBytes"):
/// a large keepalive fetch in flight at unload would make every beacon fail. Larger fetches go
/// without keepalive (their events stay in the persisted queue until acknowledged), and unload
/// beacons are cut to this size so several fit in the budget.
pub const KEEPALIVE_MAX_BYTES: usize = 16 * 1024;

impl Tracker {
    /// Events waiting to be delivered (including any in flight or parked in a beacon).
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// `true` while a batch from [`Tracker::take_batch`] awaits its [`Tracker::complete`]
    /// (one at a time: the next batch is taken only after it lands).
    pub fn sending(&self) -> bool {
        self.in_flight.is_some()
    }

    /// The queue (for inspection and tests).
    pub fn queue(&self) -> &EventQueue {
        &self.queue
    }

    fn due(&self, now: i64) -> bool {
        let Some(oldest) = self.queue.front() else { return false };
        self.queue.sendable() >= self.cfg.flush_at as usize
            || self.queue.bytes() >= self.cfg.max_batch_bytes as usize
            || oldest.attempts > 0
            || self.split_limit.is_some()
            || now - oldest.ts >= i64::from(self.cfg.flush_interval_ms)
    }

    /// When the shell should next call [`Tracker::take_batch`] (or persist), epoch ms; `None`
    /// when idle.
    pub fn next_wake(&self) -> Option<i64> {
        // A small queue is written right after each change; only a throttled write needs a wake.
        let throttled = self.queue_dirty && self.queue.bytes() > PERSIST_EAGER_BYTES && self.may_persist();
        let persist = throttled.then_some(self.queue_persisted_at + PERSIST_INTERVAL_MS);
        let send = match (self.in_flight, self.queue.front()) {
            // Without consent to send there is nothing to wake for.
            (None, Some(oldest)) if self.may_send() => {
                let at =
                    if self.due(oldest.ts) { oldest.ts } else { oldest.ts + i64::from(self.cfg.flush_interval_ms) };
                Some(at.max(self.retry_at))
            }
            _ => None,
        };
        match (persist, send) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn outgoing(&mut self, body: String, count: usize) -> Outgoing {
        let id = self.next_batch_id;
        self.next_batch_id += 1;
        Outgoing { id, body, count }
    }

    /// The batch to send now, if one is due (or `force`d by `flush()`). Nothing is taken while a
    /// batch is in flight, or during a backoff unless forced.
    ///
    /// ```
    /// use funnelcake_core::{config::*, id::SplitMix64, session::SessionState, tracker::*};
    /// let cfg = Config::resolve(RawConfig { site: Some("s".into()), ..Default::default() }).unwrap().0;
    /// let mut rng = SplitMix64(1);
    /// let mut t = Tracker::new(cfg, SessionState::new(&mut rng));
    /// t.track("page_view", vec![], &PageContext::default(), 1_000, &mut rng).unwrap();
    /// assert!(t.take_batch(1_000, false).is_none(), "not due: 1 event, 0 ms old");
    /// assert!(t.take_batch(6_000, false).is_some(), "due: the oldest is flushIntervalMs old");
    /// ```
    pub fn take_batch(&mut self, now: i64, force: bool) -> Option<Outgoing> {
        if self.in_flight.is_some() || self.queue.sendable() == 0 || !self.may_send() {
            return None;
        }
        if !force && (!self.due(now) || now < self.retry_at) {
            return None;
        }
        let limit = self.cfg.max_batch_bytes as usize;
        let mut size = 64 + self.cfg.site.len();
        let mut events: Vec<&str> = Vec::new();
        for q in self.queue.iter().take(self.split_limit.unwrap_or(usize::MAX)) {
            if !events.is_empty() && size + q.json.len() + 1 > limit {
                break;
            }
            size += q.json.len() + 1;
            events.push(&q.json);
        }
        let (body, count) = (encode_batch_raw(&self.cfg.site, now, self.dropped_unreported(), &events), events.len());
        let out = self.outgoing(body, count);
        self.in_flight_dropped = self.dropped_unreported();
        self.queue.mark_in_flight(out.count);
        self.in_flight = Some((out.id, out.count));
        Some(out)
    }

    /// Applies the outcome of sending batch `id`. `jitter` is a uniform draw in `[0, 1)`.
    /// `false` (and nothing changes) when `id` is not the batch in flight, e.g. one taken by a
    /// tracker that has since been replaced.
    pub fn complete(&mut self, id: u64, result: SendResult, now: i64, jitter: f64) -> bool {
        let Some((flying, count)) = self.in_flight else { return false };
        if flying != id {
            return false;
        }
        self.in_flight = None;
        self.queue.land();
        self.queue_dirty = true;
        let count = count.min(self.queue.sendable());
        match classify(result) {
            Disposition::Delivered => {
                self.queue.remove_front(count);
                self.dropped_reported(self.in_flight_dropped);
                self.retry_at = 0;
                if self.split_limit.is_some_and(|l| count >= l) {
                    self.split_limit = None;
                }
            }
            Disposition::Drop => {
                self.queue.remove_front(count);
                self.count_drop(DropReason::Rejected, count as u64);
            }
            Disposition::Split if count <= 1 => {
                self.queue.remove_front(count);
                self.count_drop(DropReason::TooLarge, count as u64);
            }
            Disposition::Split => {
                // Retry at once with half as many events; no attempt is counted.
                self.split_limit = Some(count / 2);
                self.retry_at = now;
            }
            Disposition::Retry => {
                let max_attempts = self.cfg.max_attempts;
                let mut attempts = 0;
                // Events of this batch that are out of attempts or too old, from the front.
                let mut expired = 0;
                let mut leading = true;
                for q in self.queue.front_mut(count) {
                    q.attempts += 1;
                    attempts = attempts.max(q.attempts);
                    leading = leading && (q.attempts >= max_attempts || now - q.ts > MAX_EVENT_AGE_MS);
                    expired += usize::from(leading);
                }
                self.queue.remove_front(expired);
                self.count_drop(DropReason::Expired, expired as u64);
                let retry_after = match result {
                    SendResult::Status { retry_after_ms, .. } => retry_after_ms,
                    SendResult::NetworkError => None,
                };
                self.retry_at = now + backoff_ms(attempts, jitter, retry_after) as i64;
            }
        }
        true
    }

    /// On page hide: everything not in flight, in chunks of at most `maxBatchBytes` and
    /// [`KEEPALIVE_MAX_BYTES`], each handed to `beacon` (the shell's `sendBeacon`) in order until
    /// it refuses one. The events of accepted chunks stay parked (persisted, and resent if the
    /// page lives on: [`Tracker::page_visible`]); those of the refused chunk and the rest go back
    /// to the queue for the next send (or the next page load). Returns how many chunks were
    /// accepted. Each chunk is encoded when its turn comes, so at most one body exists at a time
    /// and none after a refusal.
    pub fn send_unload(&mut self, now: i64, mut beacon: impl FnMut(&Outgoing) -> bool) -> usize {
        if !self.may_send() {
            return 0;
        }
        self.queue_dirty = true;
        let dropped = self.dropped_unreported();
        let limit = (self.cfg.max_batch_bytes as usize).min(KEEPALIVE_MAX_BYTES);
        let mut chunk: Vec<&str> = Vec::new();
        let base = 64 + self.cfg.site.len();
        let mut size = base;
        let (mut accepted, mut sent) = (0, 0);
        // The parked events read in place (the queue borrowed; the batch ids are another field).
        let events = self.queue.park_unsent();
        let parked = events.len();
        // A chunk goes once the next event would not fit in it, or there is none.
        for (i, e) in events.iter().enumerate() {
            size += e.json.len() + 1;
            chunk.push(&e.json);
            if events.get(i + 1).is_none_or(|next| size + next.json.len() + 1 > limit) {
                let o = Outgoing {
                    id: self.next_batch_id,
                    body: encode_batch_raw(&self.cfg.site, now, dropped, &chunk),
                    count: chunk.len(),
                };
                self.next_batch_id += 1;
                if !beacon(&o) {
                    break;
                }
                accepted += 1;
                sent += o.count;
                chunk.clear();
                size = base;
            }
        }
        if accepted > 0 {
            // The first beacon carried the drop count.
            self.dropped_reported(dropped);
        }
        self.queue.unpark_newest(parked - sent);
        accepted
    }

    /// The queue's persisted form, if it should be written now: after every change while it is
    /// small, at most once per second when large, and always when `force`d (page hide).
    pub fn queue_to_persist(&mut self, now: i64, force: bool) -> Option<String> {
        let mut out = String::new();
        self.queue_parts_to_persist(now, force, &mut |part| out.push_str(part)).then_some(out)
    }

    /// [`Tracker::queue_to_persist`] as [`EventQueue::persisted_parts`]: `false` (and `f` not
    /// called) when nothing should be written now.
    pub fn queue_parts_to_persist(&mut self, now: i64, force: bool, f: &mut dyn FnMut(&str)) -> bool {
        if !self.queue_dirty || !self.may_persist() {
            return false;
        }
        let eager = self.queue.bytes() <= PERSIST_EAGER_BYTES;
        if !(force || eager || now - self.queue_persisted_at >= PERSIST_INTERVAL_MS) {
            return false;
        }
        self.queue_dirty = false;
        self.queue_persisted_at = now;
        self.queue.persisted_parts(f);
        true
    }

    /// Adds the events of a persisted queue read from storage (this tab's previous page, or a
    /// closed tab's queue: [`EventQueue::restore`]) behind the events already queued. Beacons
    /// of unknown fate are resent; the collector dedupes.
    pub fn restore_queue(&mut self, persisted: &Value) {
        let dropped = self.queue.restore(persisted);
        self.count_drop(DropReason::QueueOverflow, dropped);
        self.queue_dirty = true;
    }

    /// Lets go of every queued event, in flight and parked ones included, once the shell has
    /// persisted them for another tab to take over (a page going into the back/forward cache
    /// hands its queue on: a page there cannot send, and a lock it kept would stop the browser
    /// from restoring it). A response still to come for the batch in flight is then ignored
    /// ([`Tracker::complete`] answers `false`), so no event is acted on by two tabs.
    pub fn hand_over_queue(&mut self) {
        self.queue.land();
        self.queue.discard_unsent();
        self.in_flight = None;
    }

    /// Takes over from `old`, the tracker this one replaces (the SDK initialised again): batch
    /// ids go on from `old`'s, so a response still to come for its batch in flight is never
    /// taken for one of this tracker's; for the same site (then `true`), every event `old`
    /// queued is queued here, the batch in flight as unsent, within this tracker's queue bounds
    /// (its config's, from its next event on). Call it before this tracker queues
    /// anything.
    ///
    /// For the same site, `old`'s session state (identity, session, metrics) is taken over too
    /// when storage could not give this tracker a current one: `fresh` (the shell read no
    /// state: storage blocked, or not read under an honoured privacy signal) or `old` could not
    /// persist its own (consent not granted, or the privacy signal honoured). Ids that live in
    /// memory then live for the page, not for one `init`.
    pub fn take_over(&mut self, old: &mut Tracker, fresh: bool) -> bool {
        self.next_batch_id = old.next_batch_id;
        let same = old.cfg.site == self.cfg.site;
        if same {
            // Moved whole: `self`, new, has queued nothing yet.
            self.queue.take_events(&mut old.queue);
            self.queue_dirty = true;
            if fresh || !old.may_persist() {
                self.take_state(old);
            }
        } else {
            // Its events were written under its own site's key, where a page of that site takes
            // them over; held here they would only take memory (the shell does not free `old`).
            old.queue.land();
            old.queue.discard_unsent();
        }
        same
    }
}
