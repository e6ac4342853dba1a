//! Session metrics: the state folded from a session's events, and its snapshot.
//!
//! [`SessionMetrics::observe`] updates the state with each recorded event; [`snapshot`]
//! renders the DESIGN.md §7 shape, in camelCase for `metrics()` and snake_case for the props of
//! `session_summary`. The state is persisted with the session (every page load of a multi-page
//! shop is a fresh wasm instance), in a compact form of its own ([`SessionMetrics::write_persisted`]).
//! Formulas and edge cases are documented in METRICS.md.

use crate::cart::{Cart, CartLine};
use crate::event::DropReason;
use crate::funnel::{FunnelDef, FunnelProgress};
use crate::json::{self, Cursor, Row, Value};
use crate::money;
use crate::session::SessionState;
use crate::text::split_at_byte;
use crate::wire::{Event, Source};

/// How long a `session_summary`'s text may grow before its lists of cart lines and orders stop,
/// marked `lists_cut` (half of the 32 KB an event may have): a cart of 200 lines with long ids
/// made a summary too large to send, and the session went missing from the collector's figures,
/// which read the summary's counts, sums and funnel, not its lists.
pub const SUMMARY_LISTS_BYTES: usize = crate::tracker::MAX_EVENT_BYTES / 2;

/// Visible time after which a session is engaged, ms (GA4: 10 s).
pub const ENGAGED_AFTER_MS: i64 = 10_000;

/// Orders a session's metrics follow: its first 50 distinct orders (as many as the tracker
/// remembers to drop repeats). Past them purchases are still recorded and sent, and the collector
/// counts every one; the in-page figures stop there, so a session that stays open for hundreds
/// of orders (a kiosk) keeps its memory, its persisted state and its summary bounded (the
/// summary would otherwise outgrow `MAX_EVENT_BYTES` after some 500 orders and be dropped).
pub const MAX_ORDERS: usize = crate::session::RECENT_ORDERS;

/// Experiments a session carries: the first 50 it is exposed to. Every event and summary of the
/// session lists them, so a page with keys made per product (one experiment per page, say) would
/// otherwise grow every event past the 32 KB an event may have, and all would be dropped. Past
/// them an exposure is still assigned and its `experiment_viewed` sent (at each call, as there is
/// no room to remember it), but later events do not carry it.
pub const MAX_EXPERIMENTS: usize = 50;

/// One order of the session.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Order {
    /// Order id.
    pub id: String,
    /// Value in minor units.
    pub value: i64,
    /// Currency of `value`.
    pub currency: String,
}

/// Everything the snapshot needs that events change.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionMetrics {
    /// `page_view` events.
    pub page_views: u32,
    /// URL of the page where the session started.
    pub landing_page: Option<String>,
    /// URL of the latest page view (the landing page until there is one).
    pub exit_page: Option<String>,
    /// Referrer of the landing page.
    pub referrer: Option<String>,
    /// Traffic source, classified at session start.
    pub source: Option<Source>,
    /// Visible time accumulated so far, ms.
    pub engaged_ms: i64,
    /// Start of the current visible span, if the page is visible.
    pub visible_since: Option<i64>,
    /// Progress through the default funnel.
    pub funnel: FunnelProgress,
    /// Progress through each custom funnel (same order as the config).
    pub funnels: Vec<FunnelProgress>,
    /// The cart.
    pub cart: Cart,
    /// A `begin_checkout` happened.
    pub began_checkout: bool,
    /// Distinct orders (the first [`MAX_ORDERS`]).
    pub orders: Vec<Order>,
    /// Refunded amounts per currency.
    pub refunds: Vec<(String, i64)>,
    /// Experiment assignments: key → variation.
    pub experiments: Vec<(String, u32)>,
    /// Dropped events by reason.
    pub dropped: Vec<(DropReason, u64)>,
}

impl Default for SessionMetrics {
    /// Empty metrics. Not inlined: the struct is large, and each inlined copy of its
    /// initialisation is a run of stores in the wasm.
    #[inline(never)]
    fn default() -> SessionMetrics {
        SessionMetrics {
            page_views: 0,
            landing_page: None,
            exit_page: None,
            referrer: None,
            source: None,
            engaged_ms: 0,
            visible_since: None,
            funnel: FunnelProgress::default(),
            funnels: Vec::new(),
            cart: Cart::default(),
            began_checkout: false,
            orders: Vec::new(),
            refunds: Vec::new(),
            experiments: Vec::new(),
            dropped: Vec::new(),
        }
    }
}

impl SessionMetrics {
    /// Folds one recorded event in. Returns `true` if the snapshot changed.
    pub fn observe(&mut self, e: &Event, default: &FunnelDef, custom: &[FunnelDef]) -> bool {
        let mut changed = false;
        match e.t.as_str() {
            "page_view" => {
                self.page_views += 1;
                self.exit_page = Some(e.url.clone());
                changed = true;
            }
            "add_to_cart" => {
                self.cart.add(&e.items, e.cur.as_deref().unwrap_or(crate::currency::NO_CURRENCY));
                changed = true;
            }
            "remove_from_cart" => {
                self.cart.remove(&e.items);
                changed = true;
            }
            "view_cart" | "begin_checkout" => {
                if !e.items.is_empty() {
                    self.cart.replace(&e.items, e.cur.as_deref().unwrap_or(crate::currency::NO_CURRENCY));
                }
                if e.t == "begin_checkout" {
                    self.began_checkout = true;
                }
                changed = true;
            }
            "purchase" => {
                if let Some(id) = &e.order {
                    if self.orders.len() < MAX_ORDERS && !self.orders.iter().any(|o| &o.id == id) {
                        self.orders.push(Order {
                            id: id.clone(),
                            value: e.value.unwrap_or(0),
                            currency: e.cur.clone().unwrap_or_else(|| crate::currency::NO_CURRENCY.into()),
                        });
                    }
                }
                self.cart.clear();
                changed = true;
            }
            "refund" => {
                if let (Some(v), Some(c)) = (e.value, e.cur.as_deref()) {
                    money::add_to(&mut self.refunds, c, v);
                }
                changed = true;
            }
            _ => {}
        }
        changed |= self.funnel.observe(default, e);
        // Not `resize`, which clones its value (a `Vec` clone of its own in the wasm).
        self.funnels.truncate(custom.len());
        while self.funnels.len() < custom.len() {
            self.funnels.push(FunnelProgress::default());
        }
        for (p, def) in self.funnels.iter_mut().zip(custom) {
            changed |= p.observe(def, e);
        }
        changed
    }

    /// Counts `n` dropped events.
    pub fn count_drop(&mut self, reason: DropReason, n: u64) {
        match self.dropped.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, c)) => *c += n,
            None => self.dropped.push((reason, n)),
        }
    }

    /// Total dropped events.
    pub fn dropped_total(&self) -> u64 {
        let mut total = 0;
        for (_, n) in &self.dropped {
            total += n;
        }
        total
    }

    /// Records a visibility change at `now`. Not inlined: the tracker calls it from five places.
    #[inline(never)]
    pub fn set_visible(&mut self, visible: bool, now: i64) {
        match (visible, self.visible_since) {
            (true, None) => self.visible_since = Some(now),
            (false, Some(since)) => {
                self.engaged_ms += (now - since).max(0);
                self.visible_since = None;
            }
            _ => {}
        }
    }

    /// Visible time up to `now`, ms.
    pub fn engaged_ms_at(&self, now: i64) -> i64 {
        self.engaged_ms + self.visible_since.map_or(0, |s| (now - s).max(0))
    }

    /// Revenue per currency (sum of distinct orders' values).
    pub fn revenue(&self) -> Vec<(String, i64)> {
        let mut sums = Vec::new();
        for o in &self.orders {
            money::add_to(&mut sums, &o.currency, o.value);
        }
        sums
    }

    /// Average order value per currency: revenue ÷ orders in that currency, rounded half up.
    pub fn aov(&self) -> Vec<(String, i64)> {
        let mut out = self.revenue();
        for (c, total) in &mut out {
            let n = self.orders.iter().filter(|o| o.currency == *c).count() as i64;
            *total = if n == 0 { 0 } else { (*total + n / 2).div_euclid(n) };
        }
        out
    }

    /// Engaged: visible ≥ 10 s, or ≥ 2 page views, or an order.
    pub fn engaged_at(&self, now: i64) -> bool {
        self.engaged_ms_at(now) >= ENGAGED_AFTER_MS || self.page_views >= 2 || !self.orders.is_empty()
    }

    /// Cart abandoned: the net cart is not empty and nothing was bought.
    pub fn cart_abandoned(&self) -> bool {
        self.cart.count() > 0 && self.orders.is_empty()
    }

    /// Checkout abandoned: checkout began and nothing was bought.
    pub fn checkout_abandoned(&self) -> bool {
        self.began_checkout && self.orders.is_empty()
    }

    /// Writes the persisted form: one positional array (read by [`SessionMetrics::read_persisted`]),
    /// `[page views, landing page, exit page, referrer, engaged ms, visible since, cart known,
    /// began checkout, source, default funnel, [custom funnels], [cart lines], [orders],
    /// [refunds], [experiments], [drops]]`. A source is `[kind, source, medium, campaign, term,
    /// content]` or `null`; a funnel `[steps in order, reached at…]`; the other lists are flat,
    /// five values per cart line (id, variant, quantity, unit price, currency), three per order
    /// (id, value, currency) and two per refund, experiment or drop (name, number).
    pub fn write_persisted(&self, w: &mut Row) {
        let progress = |w: &mut Row, p: &FunnelProgress| {
            w.open();
            w.int(p.in_order as i64);
            for t in &p.reached_at {
                w.opt_int(*t);
            }
            w.close();
        };
        w.open();
        w.int(i64::from(self.page_views));
        for t in [&self.landing_page, &self.exit_page, &self.referrer] {
            w.opt_text(t.as_deref());
        }
        w.int(self.engaged_ms);
        w.opt_int(self.visible_since);
        w.int(i64::from(self.cart.known));
        w.int(i64::from(self.began_checkout));
        match &self.source {
            Some(x) => {
                w.open();
                w.text(&x.kind);
                for f in [&x.source, &x.medium, &x.campaign, &x.term, &x.content] {
                    w.opt_text(f.as_deref());
                }
                w.close();
            }
            None => w.opt_int(None),
        }
        progress(w, &self.funnel);
        w.open();
        for p in &self.funnels {
            progress(w, p);
        }
        w.close();
        w.open();
        for l in &self.cart.lines {
            w.text(&l.id);
            w.opt_text(l.variant.as_deref());
            w.int(l.quantity);
            w.opt_int(l.unit_price);
            w.text(&l.currency);
        }
        w.close();
        w.open();
        for o in &self.orders {
            w.text(&o.id);
            w.int(o.value);
            w.text(&o.currency);
        }
        w.close();
        // Three loops, not one helper over a `dyn Iterator` of pairs: each `map` adapter's
        // vtable (`next`, `nth`, `advance_by`) was its own code (−297 bytes gzip before the order).
        w.open();
        for (currency, v) in &self.refunds {
            w.text(currency);
            w.int(*v);
        }
        w.close();
        w.open();
        for (key, v) in &self.experiments {
            w.text(key);
            w.int(i64::from(*v));
        }
        w.close();
        w.open();
        for (reason, n) in &self.dropped {
            w.text(reason.as_str());
            w.int(*n as i64);
        }
        w.close();
        w.close();
    }

    /// Fills `self` from the form [`SessionMetrics::write_persisted`] writes; `None` if anything
    /// is malformed, with `self` partly filled (the caller starts again from a default). Written
    /// field by field into a value the caller owns, so a read that fails part-way has nothing of
    /// its own to drop: read into a struct literal or returned by value, each `?` drops the fields
    /// read so far and the result is moved: 2.0 KB more wasm, 0.8 KB gzip (BENCHMARKS.md, size steps). Plain
    /// loops rather than `collect::<Option<Vec<_>>>()`: each of those is its own iterator
    /// instantiation in the wasm.
    pub fn read_persisted(&mut self, mut c: Cursor) -> Option<()> {
        self.page_views = u32::try_from(c.int()?).ok()?;
        c.opt_text_into(&mut self.landing_page)?;
        c.opt_text_into(&mut self.exit_page)?;
        c.opt_text_into(&mut self.referrer)?;
        self.engaged_ms = c.int()?;
        self.visible_since = c.opt_int()?;
        self.cart.known = c.int()? == 1;
        self.began_checkout = c.int()? == 1;
        if let Some(mut x) = c.list() {
            let s = self.source.insert(Source::default());
            x.text_into(&mut s.kind)?;
            for f in [&mut s.source, &mut s.medium, &mut s.campaign, &mut s.term, &mut s.content] {
                x.opt_text_into(f)?;
            }
        }
        self.funnel = FunnelProgress::read(c.list()?)?;
        let mut list = c.list()?;
        while !list.done() {
            self.funnels.push(FunnelProgress::read(list.list()?)?);
        }
        list = c.list()?;
        while !list.done() {
            self.cart.lines.push(CartLine::default());
            let l = self.cart.lines.last_mut()?;
            list.text_into(&mut l.id)?;
            list.opt_text_into(&mut l.variant)?;
            l.quantity = list.int().filter(|q| *q > 0)?;
            l.unit_price = list.opt_int()?;
            list.text_into(&mut l.currency)?;
        }
        list = c.list()?;
        while !list.done() {
            self.orders.push(Order::default());
            let o = self.orders.last_mut()?;
            list.text_into(&mut o.id)?;
            o.value = list.int()?;
            list.text_into(&mut o.currency)?;
        }
        list = c.list()?;
        while !list.done() {
            self.refunds.push((list.text()?, list.int()?));
        }
        list = c.list()?;
        while !list.done() {
            self.experiments.push((list.text()?, u32::try_from(list.int()?).ok()?));
        }
        list = c.list()?;
        while !list.done() {
            self.dropped.push((DropReason::parse(&list.text()?)?, u64::try_from(list.int()?).ok()?));
        }
        Some(())
    }
}

impl FunnelProgress {
    /// Reads the `[steps in order, reached at…]` form written by
    /// [`SessionMetrics::write_persisted`].
    fn read(mut c: Cursor) -> Option<FunnelProgress> {
        let in_order = usize::try_from(c.int()?).ok()?;
        let mut reached_at = Vec::new();
        while let Some(r) = c.value() {
            reached_at.push(r.as_i64());
        }
        Some(FunnelProgress { reached_at, in_order })
    }
}

/// Key style of a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStyle {
    /// `sessionId`: what `metrics()` returns to JS.
    Camel,
    /// `session_id`: the props of `session_summary`.
    Snake,
}

/// Writes JSON text directly (no intermediate value tree). The keys are taken in order from
/// `keys`, a space-separated list in camelCase (converted on the fly for [`KeyStyle::Snake`]):
/// each write names only its value, not its key (a key at every call was two numbers of code
/// each, about 40 times).
struct Writer {
    out: String,
    style: KeyStyle,
    comma: bool,
    /// The keys still to write, in order.
    keys: &'static str,
}

impl Writer {
    /// Writes the next key of `keys`.
    fn key(&mut self) {
        let (camel, rest) = split_at_byte(self.keys, b' ').unwrap_or((self.keys, ""));
        self.keys = rest;
        if self.comma {
            self.out.push(',');
        }
        self.out.push('"');
        // Keys are ASCII: by byte, without decoding characters.
        for b in camel.bytes() {
            if self.style == KeyStyle::Snake && b.is_ascii_uppercase() {
                self.out.push('_');
                self.out.push(b.to_ascii_lowercase() as char);
            } else {
                self.out.push(b as char);
            }
        }
        self.out.push_str("\":");
        self.comma = true;
    }

    /// A key given verbatim (currency codes, funnel names, reasons).
    fn raw_key(&mut self, k: &str) {
        if self.comma {
            self.out.push(',');
        }
        json::write_str(&mut self.out, k);
        self.out.push(':');
        self.comma = true;
    }

    fn open(&mut self, c: char) {
        self.out.push(c);
        self.comma = false;
    }

    fn close(&mut self, c: char) {
        self.out.push(c);
        self.comma = true;
    }

    /// Goes on with the keys `next`, once every key of the list before is written (checked in
    /// debug builds: a write without its key would name the next value wrongly).
    fn keys(&mut self, next: &'static str) {
        debug_assert!(self.keys.is_empty(), "keys not written: {}", self.keys);
        self.keys = next;
    }

    /// Starts an element of a list whose objects have the keys `keys`.
    fn item(&mut self, keys: &'static str) {
        if self.comma {
            self.out.push(',');
        }
        self.comma = false;
        self.keys(keys);
        self.open('{');
    }

    fn int(&mut self, v: i64) {
        self.key();
        json::write_int(&mut self.out, v);
    }

    fn bool(&mut self, v: bool) {
        self.key();
        self.out.push_str(if v { "true" } else { "false" });
    }

    fn str(&mut self, v: Option<&str>) {
        self.key();
        json::write_opt_str(&mut self.out, v);
    }

    fn opt_int(&mut self, v: Option<i64>) {
        self.key();
        json::write_opt_int(&mut self.out, v);
    }

    fn money(&mut self, list: &[(String, i64)]) {
        self.key();
        self.open('{');
        for (c, v) in list {
            self.raw_key(c);
            json::write_int(&mut self.out, *v);
        }
        self.close('}');
    }

    /// A funnel's object; the keys after it are the caller's again.
    fn funnel(&mut self, def: &FunnelDef, p: &FunnelProgress) {
        let after = std::mem::take(&mut self.keys);
        self.keys("name steps");
        self.open('{');
        self.str(Some(&def.name));
        self.key();
        self.open('[');
        let mut prev: Option<i64> = None;
        for (i, step) in def.steps.iter().enumerate() {
            let at = p.reached_at.get(i).copied().flatten();
            self.item("name reachedAt sincePreviousMs");
            self.str(Some(&step.name));
            self.opt_int(at);
            self.opt_int(at.zip(prev).map(|(a, b)| a - b));
            self.close('}');
            if at.is_some() {
                prev = at;
            }
        }
        self.close(']');
        self.keys("furthestStep furthestIndex dropOffStep skippedSteps converted");
        let name_at = |i: Option<usize>| i.and_then(|i| def.steps.get(i)).map(|s| s.name.as_str());
        self.str(name_at(p.furthest_index()));
        self.int(p.furthest_index().map_or(-1, |i| i as i64));
        self.str(name_at(p.drop_off_index()));
        self.bool(p.skipped_steps());
        self.bool(p.converted());
        self.close('}');
        self.keys(after);
    }
}

/// The metrics snapshot of the current session at `now` (DESIGN.md §7) as JSON text. With no
/// session yet, the session fields are `null`/0.
pub fn snapshot_json(
    state: &SessionState,
    default: &FunnelDef,
    custom: &[FunnelDef],
    now: i64,
    style: KeyStyle,
) -> String {
    let empty = SessionMetrics::default();
    let (session, m) = match &state.session {
        Some(s) => (Some(s), &s.metrics),
        None => (None, &empty),
    };
    let mut w = Writer {
        out: String::with_capacity(1024),
        style,
        comma: false,
        keys: "sessionId anonymousId visitNumber newVisitor startedAt lastActivityAt durationMs engagedMs engaged \
            pageViews landingPage exitPage source kind source medium campaign term content referrer funnel funnels",
    };
    // The summary's lists stop at `SUMMARY_LISTS_BYTES` of text (`metrics()` has no such bound).
    let room = if style == KeyStyle::Snake { SUMMARY_LISTS_BYTES } else { usize::MAX };
    let mut cut = false;
    w.open('{');
    w.str(session.map(|s| s.id.as_str()));
    w.str(Some(&state.anonymous_id));
    w.int(session.map_or(0, |s| i64::from(s.visit_number)));
    w.bool(session.is_some_and(|s| s.visit_number <= 1));
    w.opt_int(session.map(|s| s.started_at));
    w.opt_int(session.map(|s| s.last_activity_at));
    w.int(session.map_or(0, |s| s.last_activity_at - s.started_at));
    w.int(m.engaged_ms_at(now));
    w.bool(m.engaged_at(now));
    w.int(i64::from(m.page_views));
    w.str(m.landing_page.as_deref());
    w.str(m.exit_page.as_deref());
    w.key();
    w.open('{');
    let src = m.source.as_ref();
    w.str(Some(src.map_or("direct", |s| s.kind.as_str())));
    w.str(src.and_then(|s| s.source.as_deref()));
    w.str(src.and_then(|s| s.medium.as_deref()));
    w.str(src.and_then(|s| s.campaign.as_deref()));
    w.str(src.and_then(|s| s.term.as_deref()));
    w.str(src.and_then(|s| s.content.as_deref()));
    w.str(m.referrer.as_deref());
    w.close('}');
    w.key();
    w.funnel(default, &m.funnel);
    w.key();
    w.open('{');
    let none = FunnelProgress::default();
    for (i, def) in custom.iter().enumerate() {
        w.raw_key(&def.name);
        w.funnel(def, m.funnels.get(i).unwrap_or(&none));
    }
    w.close('}');
    w.keys("cart state items");
    w.key();
    w.open('{');
    w.str(Some(if m.cart.known { "known" } else { "unknown" }));
    w.key();
    w.open('[');
    for l in &m.cart.lines {
        if w.out.len() > room {
            cut = true;
            break;
        }
        w.item("id variant quantity unitPrice currency");
        w.str(Some(&l.id));
        w.str(l.variant.as_deref());
        w.int(l.quantity);
        w.opt_int(l.unit_price);
        w.str(Some(&l.currency));
        w.close('}');
    }
    w.close(']');
    w.keys("count value cartAbandoned checkoutAbandoned orders");
    w.int(m.cart.count());
    w.money(&m.cart.value());
    w.close('}');
    w.bool(m.cart_abandoned());
    w.bool(m.checkout_abandoned());
    w.key();
    w.open('[');
    for o in &m.orders {
        if w.out.len() > room {
            cut = true;
            break;
        }
        w.item("id value currency");
        w.str(Some(&o.id));
        w.int(o.value);
        w.str(Some(&o.currency));
        w.close('}');
    }
    w.close(']');
    w.keys("orderCount revenue aov refunds converted experiments dropped total byReason listsCut");
    w.int(m.orders.len() as i64);
    w.money(&m.revenue());
    w.money(&m.aov());
    w.money(&m.refunds);
    w.bool(!m.orders.is_empty());
    w.key();
    w.open('{');
    for (k, v) in &m.experiments {
        w.raw_key(k);
        json::write_int(&mut w.out, i64::from(*v));
    }
    w.close('}');
    w.key();
    w.open('{');
    w.int(m.dropped_total() as i64);
    w.key();
    w.open('{');
    // In the stable order of `DropReason::ALL` (no sort: it would add ~3 KB to the wasm).
    for r in DropReason::ALL {
        if let Some((_, n)) = m.dropped.iter().find(|(d, _)| *d == r) {
            w.raw_key(r.as_str());
            json::write_int(&mut w.out, *n as i64);
        }
    }
    w.close('}');
    w.close('}');
    if cut {
        w.bool(true);
    }
    w.close('}');
    debug_assert_eq!(w.keys, if cut { "" } else { "listsCut" }, "keys not written");
    w.out
}

/// [`snapshot_json`] as a value, for tests (the session summary writes the text itself:
/// `Event::write_with`).
pub fn snapshot(state: &SessionState, default: &FunnelDef, custom: &[FunnelDef], now: i64, style: KeyStyle) -> Value {
    json::parse(&snapshot_json(state, default, custom, now, style)).unwrap_or_default()
}
