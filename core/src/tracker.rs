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

use crate::config::{Config, Consent, Privacy};
use crate::event::{normalize, DropReason, Normalized};
use crate::funnel::FunnelDef;
use crate::id::{new_id, Entropy};
use crate::json::Value;
use crate::metrics::{snapshot, snapshot_json, KeyStyle};
use crate::queue::{EventQueue, Queued};
use crate::session::SessionState;
use crate::source;
use crate::wire::Event;

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

/// One site's tracker state.
#[derive(Debug)]
pub struct Tracker {
    pub(crate) cfg: Config,
    default_funnel: FunnelDef,
    state: SessionState,
    pub(crate) queue: EventQueue,
    /// The batch in flight: (id, event count).
    pub(crate) in_flight: Option<(u64, usize)>,
    pub(crate) next_batch_id: u64,
    pub(crate) retry_at: i64,
    /// After a 413: batches hold at most this many events until one is delivered.
    pub(crate) split_limit: Option<usize>,
    /// The queue changed since it was last persisted.
    pub(crate) queue_dirty: bool,
    pub(crate) queue_persisted_at: i64,
    /// Drops carried by the batch in flight.
    pub(crate) in_flight_dropped: u64,
    enqueued_total: u64,
    /// `enqueued_total` after the last hide's summary.
    hidden_at_total: u64,
    dropped_unreported: u64,
    dropped_total: u64,
    visible: bool,
    /// Do Not Track or Global Privacy Control is on (read by the shell).
    privacy_signal: bool,
}

impl Tracker {
    /// A tracker with the given config and persisted identity/session.
    pub fn new(cfg: Config, state: SessionState) -> Tracker {
        let queue = EventQueue::new(cfg.max_queue_events as usize, cfg.max_queue_bytes as usize);
        Tracker {
            cfg,
            default_funnel: FunnelDef::default_funnel(),
            state,
            queue,
            in_flight: None,
            next_batch_id: 1,
            retry_at: 0,
            split_limit: None,
            queue_dirty: false,
            queue_persisted_at: 0,
            in_flight_dropped: 0,
            enqueued_total: 0,
            hidden_at_total: 0,
            dropped_unreported: 0,
            dropped_total: 0,
            visible: false,
            privacy_signal: false,
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

    /// Takes `old`'s session state (see [`Tracker::take_over`]), under this tracker's privacy
    /// rules (no user id under an honoured signal).
    pub(crate) fn take_state(&mut self, old: &mut Tracker) {
        std::mem::swap(&mut self.state, &mut old.state);
        self.set_privacy_signal(self.privacy_signal);
    }

    /// Events dropped since the tracker started (bad input, overflow, rejected or expired).
    pub fn dropped_total(&self) -> u64 {
        self.dropped_total
    }

    /// Drops not yet reported to the collector (carried in the next batch's `dropped`).
    pub(crate) fn dropped_unreported(&self) -> u64 {
        self.dropped_unreported
    }

    /// A delivered batch carried `n` of the unreported drops.
    pub(crate) fn dropped_reported(&mut self, n: u64) {
        self.dropped_unreported = self.dropped_unreported.saturating_sub(n);
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
    /// let cfg = Config::resolve(RawConfig { site: Some("s".into()), ..Default::default() }).unwrap().0;
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
        if n.t == "purchase" && n.order.as_deref().is_some_and(|o| self.state.knows_order(o)) {
            self.count_drop(DropReason::DuplicateOrder, 1);
            return Err(DropReason::DuplicateOrder);
        }
        let timeout = self.timeout_ms();
        self.state.touch(now, timeout, rng);
        let page = (ctx.url.clone(), ctx.referrer.clone(), ctx.title.clone());
        let Some(event) = self.next_event(n, page, now, rng) else { return Err(DropReason::MissingName) };
        self.enqueue(&event, None)?;
        let mut changed = false;
        if let Some(s) = &mut self.state.session {
            changed = s.metrics.observe(&event, &self.default_funnel, &self.cfg.funnels);
        }
        if event.t == "purchase" {
            if let Some(id) = &event.order {
                self.state.remember_order(id);
            }
        }
        Ok(changed)
    }

    /// Queues a `session_summary` for the current session at `at`. `final_` marks the summary
    /// sent when the session ended (otherwise it is provisional, sent on page hide).
    fn queue_summary(&mut self, final_: bool, at: i64, rng: &mut dyn Entropy) {
        // The snapshot's text with `final` added as its last member, written into the event as
        // it is (the wasm has no JSON parser to read it back into values: `Event::write_with`).
        let mut props = self.snapshot_json(at, KeyStyle::Snake);
        props.pop();
        props.push_str(if final_ { ",\"final\":true}" } else { ",\"final\":false}" });
        let url = self.state.session.as_ref().and_then(|s| s.metrics.exit_page.clone()).unwrap_or_default();
        let n = Normalized { t: "session_summary".into(), ..Normalized::default() };
        // Not activity: the session's last activity stays where it was.
        if let Some(event) = self.next_event(n, (url, None, None), at, rng) {
            // Too large (over MAX_EVENT_BYTES) it is dropped and counted, as the collector would.
            let _ = self.enqueue(&event, Some(&props));
        }
    }

    /// `n` as the current session's next event at `now` on `page` (address, referrer, title),
    /// carrying the visitor (the session's experiments and, on its first event, its traffic
    /// source are added as it is encoded: `enqueue`); `None` when there is no session. The one
    /// place an event is put together (each struct literal of it was a run of stores in the
    /// wasm, with its drop).
    fn next_event(
        &mut self,
        n: Normalized,
        page: (String, Option<String>, Option<String>),
        now: i64,
        rng: &mut dyn Entropy,
    ) -> Option<Event> {
        let (sid, seq) = self.state.bump_seq()?;
        let (url, referrer, title) = page;
        Some(Event {
            id: new_id(rng),
            t: n.t,
            ts: now,
            sid,
            aid: self.state.anonymous_id.clone(),
            uid: self.state.user_id.clone(),
            seq,
            url,
            referrer,
            title,
            props: n.props,
            items: n.items,
            value: n.value,
            cur: n.cur,
            order: n.order,
            // The session's experiments, and its source on its first event, are written from
            // the session when the event is encoded (`enqueue`), not copied here.
            exp: Vec::new(),
            src: None,
        })
    }

    /// Events put in the queue since the tracker started (every one is later delivered,
    /// dropped and counted, or still pending).
    pub fn enqueued_total(&self) -> u64 {
        self.enqueued_total
    }

    /// Queues an event, counting any overflow drop. It is encoded once, here, for both the size
    /// check and the queue, with the session's experiments and (on the session's first event)
    /// its traffic source: over [`MAX_EVENT_BYTES`] it is dropped and counted as `too_large`
    /// (`Err`). While consent is denied (or privacy is `strict` under a privacy signal) nothing
    /// is queued: the event is counted as `consent_denied` (the page's own metrics still see it;
    /// nothing leaves the page).
    fn enqueue(&mut self, event: &Event, props: Option<&str>) -> Result<(), DropReason> {
        let m = self.state.session.as_ref().map(|s| &s.metrics);
        let src = m.and_then(|m| m.source.as_ref()).filter(|_| event.seq == 1);
        let q = Queued::new(event, props, m.map(|m| m.experiments.as_slice()), src);
        if q.json.len() > MAX_EVENT_BYTES {
            self.count_drop(DropReason::TooLarge, 1);
            return Err(DropReason::TooLarge);
        }
        if self.cfg.consent == Consent::Denied || self.strict_signal() {
            self.count_drop(DropReason::ConsentDenied, 1);
            return Ok(());
        }
        self.enqueued_total += 1;
        let dropped = self.queue.push_queued(q);
        self.count_drop(DropReason::QueueOverflow, dropped);
        self.queue_dirty = true;
        Ok(())
    }

    /// The page became visible (`visibilitychange`, or on load when visible). Events parked in
    /// an unload beacon are queued again: the page lives on, so resend them and let the
    /// collector's dedupe settle what the beacon already delivered.
    pub fn page_visible(&mut self, now: i64) {
        self.visible = true;
        if self.queue.len() > self.queue.sendable() {
            self.queue.unpark_all();
            self.queue_dirty = true;
        }
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
    /// session is active). The shell then sends what is unsent by beacon. Called again while
    /// hidden (`pagehide` after `visibilitychange`), it adds a summary only if events were
    /// queued since the last one.
    pub fn page_hidden(&mut self, now: i64, rng: &mut dyn Entropy) {
        if !self.visible && self.enqueued_total == self.hidden_at_total {
            return;
        }
        self.visible = false;
        let timeout = self.timeout_ms();
        if self.state.expired(now, timeout) {
            return;
        }
        if let Some(s) = &mut self.state.session {
            s.metrics.set_visible(false, now);
        }
        self.queue_summary(false, now, rng);
        self.hidden_at_total = self.enqueued_total;
    }

    /// The page is hidden without a summary (used when a session ends while hidden).
    fn close_visible_span(&mut self, at: i64) {
        if let Some(s) = &mut self.state.session {
            s.metrics.set_visible(false, at);
        }
    }

    /// `experiment(key, …)`: assigns this visitor (hashing the anonymous id, so the assignment
    /// is sticky per visitor, GrowthBook-compatible) and, the first time in a session that the
    /// visitor is in the experiment, records the assignment in the session (later events and the
    /// summary carry it) and queues an `experiment_viewed` exposure. `?fc_exp_<key>=<n>` in the
    /// page URL forces a variation for QA.
    pub fn experiment(
        &mut self,
        exp: &crate::experiment::Experiment,
        ctx: &PageContext,
        now: i64,
        rng: &mut dyn Entropy,
    ) -> crate::experiment::Assignment {
        let context = crate::experiment::Context {
            attributes: &[("id", &self.state.anonymous_id)],
            url: &ctx.url,
            query_prefix: "fc_exp_",
            ..crate::experiment::Context::default()
        };
        let a = crate::experiment::run(&context, exp);
        if !a.in_experiment {
            return a;
        }
        self.start_session_if_needed(ctx, now, rng);
        // Exposed in this session already (to this variation)? One pass finds and updates it.
        let v = a.variation as u32;
        let mut seen = false;
        if let Some(s) = &mut self.state.session {
            let list = &mut s.metrics.experiments;
            let room = list.len() < crate::metrics::MAX_EXPERIMENTS;
            match list.iter_mut().find(|(k, _)| *k == exp.key) {
                Some(e) => {
                    seen = e.1 == v;
                    e.1 = v;
                }
                None if room => list.push((exp.key.clone(), v)),
                None => {}
            }
        }
        if !seen {
            let props = vec![
                ("experiment_id".to_owned(), Value::Str(exp.key.clone())),
                ("variation_id".to_owned(), Value::Num(a.variation as f64)),
            ];
            let n = Normalized { t: "experiment_viewed".into(), props, ..Normalized::default() };
            let _ = self.record(n, ctx, now, rng);
        }
        a
    }

    /// `identify(userId)`: later events carry `uid`. Ignored while [`Tracker::anonymous_only`].
    /// `true` when the user id it leaves is not the one before (the shell records no
    /// `identify` event for one that changes nothing and carries no traits).
    pub fn identify(&mut self, user_id: Option<String>) -> bool {
        let id = user_id.filter(|u| !u.is_empty() && !self.anonymous_only());
        let changed = id != self.state.user_id;
        self.state.user_id = id;
        changed
    }

    /// The shell read Do Not Track / Global Privacy Control: `on` when either is set.
    pub fn set_privacy_signal(&mut self, on: bool) {
        self.privacy_signal = on;
        if self.anonymous_only() {
            self.state.user_id = None;
        }
    }

    /// A privacy signal is on and `privacy` is `strict`: nothing may leave the page.
    fn strict_signal(&self) -> bool {
        self.privacy_signal && self.cfg.privacy == Privacy::Strict
    }

    /// A privacy signal is on and honoured (`privacy` is not `ignore`): no user id is sent and
    /// nothing is persisted; ids live in memory for this page only.
    pub fn anonymous_only(&self) -> bool {
        self.privacy_signal && self.cfg.privacy != Privacy::Ignore
    }

    /// `consent(state)`. `Denied` discards every queued event not already in flight (counted
    /// as `consent_denied`); `Pending` keeps events in memory, unsent; `Granted` resumes.
    pub fn set_consent(&mut self, consent: Consent) {
        self.cfg.consent = consent;
        self.queue_dirty = true;
        if consent == Consent::Denied {
            let n = self.queue.discard_unsent();
            self.count_drop(DropReason::ConsentDenied, n as u64);
        }
    }

    /// Events may leave the page: consent is granted and privacy is not `strict` under a
    /// privacy signal.
    pub fn may_send(&self) -> bool {
        self.cfg.consent == Consent::Granted && !self.strict_signal()
    }

    /// State and queue may be written to storage: consent is granted and no honoured privacy
    /// signal is on.
    pub fn may_persist(&self) -> bool {
        self.cfg.consent == Consent::Granted && !self.anonymous_only()
    }

    /// `reset()`: ends the session (final summary) and starts a new anonymous identity.
    pub fn reset(&mut self, now: i64, rng: &mut dyn Entropy) {
        if !self.state.expired(now, self.timeout_ms()) {
            self.queue_summary(true, now, rng);
        }
        self.state = SessionState::new(rng);
    }
}
