//! Session metrics: the state folded from a session's events, and its snapshot.
//!
//! [`SessionMetrics::observe`] updates the state with each recorded event; [`snapshot`]
//! renders the DESIGN.md §7 shape, in camelCase for `metrics()` and snake_case for the props of
//! `session_summary`. The state is persisted with the session (every page load of a multi-page
//! shop is a fresh wasm instance), in a compact form of its own ([`SessionMetrics::to_value`]).
//! Formulas and edge cases are documented in METRICS.md.

use crate::cart::{Cart, CartLine};
use crate::event::DropReason;
use crate::funnel::{FunnelDef, FunnelProgress};
use crate::json::Value;
use crate::money;
use crate::session::SessionState;
use crate::wire::{Event, Source};

/// Visible time after which a session is engaged, ms (GA4: 10 s).
pub const ENGAGED_AFTER_MS: i64 = 10_000;

/// One order of the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// Order id.
    pub id: String,
    /// Value in minor units.
    pub value: i64,
    /// Currency of `value`.
    pub currency: String,
}

/// Everything the snapshot needs that events change.
#[derive(Debug, Clone, PartialEq, Default)]
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
    /// Distinct orders.
    pub orders: Vec<Order>,
    /// Refunded amounts per currency.
    pub refunds: Vec<(String, i64)>,
    /// Experiment assignments: key → variation.
    pub experiments: Vec<(String, u32)>,
    /// Dropped events by reason.
    pub dropped: Vec<(DropReason, u64)>,
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
                    if !self.orders.iter().any(|o| &o.id == id) {
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
        self.funnels.resize(custom.len(), FunnelProgress::default());
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
        self.dropped.iter().map(|(_, n)| n).sum()
    }

    /// Records a visibility change at `now`.
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
        self.revenue()
            .into_iter()
            .map(|(c, total)| {
                let n = self.orders.iter().filter(|o| o.currency == c).count() as i64;
                let avg = if n == 0 { 0 } else { (total + n / 2).div_euclid(n) };
                (c, avg)
            })
            .collect()
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

    /// Compact persisted form (short keys; see [`SessionMetrics::from_value`]).
    pub fn to_value(&self) -> Value {
        let s = |v: &Option<String>| v.clone().map_or(Value::Null, Value::Str);
        let n = |v: i64| Value::Num(v as f64);
        let progress = |p: &FunnelProgress| {
            Value::Obj(vec![
                ("r".into(), Value::Arr(p.reached_at.iter().map(|t| t.map_or(Value::Null, n)).collect())),
                ("o".into(), n(p.in_order as i64)),
            ])
        };
        let pairs = |list: &[(String, i64)]| {
            Value::Arr(list.iter().map(|(c, v)| Value::Arr(vec![Value::Str(c.clone()), n(*v)])).collect())
        };
        let mut src = String::new();
        if let Some(source) = &self.source {
            let e = Event { src: Some(source.clone()), ..Event::default() };
            e.write_to(&mut src);
        }
        Value::Obj(vec![
            ("pv".into(), n(i64::from(self.page_views))),
            ("lp".into(), s(&self.landing_page)),
            ("xp".into(), s(&self.exit_page)),
            ("ref".into(), s(&self.referrer)),
            ("src".into(), crate::json::parse(&src).ok().and_then(|v| v.get("src").cloned()).unwrap_or(Value::Null)),
            ("eng".into(), n(self.engaged_ms)),
            ("vis".into(), self.visible_since.map_or(Value::Null, n)),
            ("f".into(), progress(&self.funnel)),
            ("fs".into(), Value::Arr(self.funnels.iter().map(progress).collect())),
            ("ck".into(), Value::Bool(self.cart.known)),
            (
                "cl".into(),
                Value::Arr(
                    self.cart
                        .lines
                        .iter()
                        .map(|l| {
                            Value::Arr(vec![
                                Value::Str(l.id.clone()),
                                s(&l.variant),
                                n(l.quantity),
                                l.unit_price.map_or(Value::Null, n),
                                Value::Str(l.currency.clone()),
                            ])
                        })
                        .collect(),
                ),
            ),
            ("bc".into(), Value::Bool(self.began_checkout)),
            (
                "ord".into(),
                Value::Arr(
                    self.orders
                        .iter()
                        .map(|o| Value::Arr(vec![Value::Str(o.id.clone()), n(o.value), Value::Str(o.currency.clone())]))
                        .collect(),
                ),
            ),
            ("rf".into(), pairs(&self.refunds)),
            (
                "exp".into(),
                Value::Arr(
                    self.experiments
                        .iter()
                        .map(|(k, v)| Value::Arr(vec![Value::Str(k.clone()), n(i64::from(*v))]))
                        .collect(),
                ),
            ),
            (
                "dr".into(),
                Value::Arr(
                    self.dropped
                        .iter()
                        .map(|(r, c)| Value::Arr(vec![Value::Str(r.as_str().into()), n(*c as i64)]))
                        .collect(),
                ),
            ),
        ])
    }

    /// Reads [`SessionMetrics::to_value`]; `None` if anything is malformed.
    pub fn from_value(v: &Value) -> Option<SessionMetrics> {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        let int = |v: &Value| v.as_i64();
        let progress = |p: &Value| -> Option<FunnelProgress> {
            Some(FunnelProgress {
                reached_at: p.get("r")?.as_array()?.iter().map(Value::as_i64).collect(),
                in_order: usize::try_from(p.get("o")?.as_i64()?).ok()?,
            })
        };
        let arr = |k: &str| v.get(k).and_then(Value::as_array).unwrap_or(&[]);
        let pair = |x: &Value| -> Option<(String, i64)> {
            let a = x.as_array()?;
            Some((a.first()?.as_str()?.to_owned(), a.get(1)?.as_i64()?))
        };
        let src = match v.get("src") {
            Some(Value::Obj(_)) => Some(crate::wire::decode_source(v.get("src")?, "src").ok()?),
            _ => None,
        };
        Some(SessionMetrics {
            page_views: u32::try_from(v.get("pv").and_then(int)?).ok()?,
            landing_page: s("lp"),
            exit_page: s("xp"),
            referrer: s("ref"),
            source: src,
            engaged_ms: v.get("eng").and_then(int)?,
            visible_since: v.get("vis").and_then(int),
            funnel: progress(v.get("f")?)?,
            funnels: arr("fs").iter().map(progress).collect::<Option<_>>()?,
            cart: Cart {
                known: matches!(v.get("ck"), Some(Value::Bool(true))),
                lines: arr("cl")
                    .iter()
                    .map(|l| {
                        let a = l.as_array()?;
                        Some(CartLine {
                            id: a.first()?.as_str()?.to_owned(),
                            variant: a.get(1)?.as_str().map(str::to_owned),
                            quantity: a.get(2)?.as_i64().filter(|q| *q > 0)?,
                            unit_price: a.get(3)?.as_i64(),
                            currency: a.get(4)?.as_str()?.to_owned(),
                        })
                    })
                    .collect::<Option<_>>()?,
            },
            began_checkout: matches!(v.get("bc"), Some(Value::Bool(true))),
            orders: arr("ord")
                .iter()
                .map(|o| {
                    let a = o.as_array()?;
                    Some(Order {
                        id: a.first()?.as_str()?.to_owned(),
                        value: a.get(1)?.as_i64()?,
                        currency: a.get(2)?.as_str()?.to_owned(),
                    })
                })
                .collect::<Option<_>>()?,
            refunds: arr("rf").iter().map(pair).collect::<Option<_>>()?,
            experiments: arr("exp")
                .iter()
                .map(|x| pair(x).and_then(|(k, v)| Some((k, u32::try_from(v).ok()?))))
                .collect::<Option<_>>()?,
            dropped: arr("dr")
                .iter()
                .map(|x| pair(x).and_then(|(k, v)| Some((DropReason::parse(&k)?, u64::try_from(v).ok()?))))
                .collect::<Option<_>>()?,
        })
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

fn key(style: KeyStyle, camel: &str) -> String {
    match style {
        KeyStyle::Camel => camel.to_owned(),
        KeyStyle::Snake => {
            let mut out = String::with_capacity(camel.len() + 4);
            for c in camel.chars() {
                if c.is_ascii_uppercase() {
                    out.push('_');
                    out.push(c.to_ascii_lowercase());
                } else {
                    out.push(c);
                }
            }
            out
        }
    }
}

fn money_map(list: &[(String, i64)]) -> Value {
    Value::Obj(list.iter().map(|(c, v)| (c.clone(), Value::Num(*v as f64))).collect())
}

fn funnel_value(style: KeyStyle, def: &FunnelDef, p: &FunnelProgress) -> Value {
    let k = |c: &str| key(style, c);
    let opt_str = |v: Option<&str>| v.map_or(Value::Null, |s| Value::Str(s.to_owned()));
    let mut prev: Option<i64> = None;
    let steps = def
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let at = p.reached_at.get(i).copied().flatten();
            let since = match (at, prev) {
                (Some(a), Some(b)) => Value::Num((a - b) as f64),
                _ => Value::Null,
            };
            if at.is_some() {
                prev = at;
            }
            Value::Obj(vec![
                (k("name"), Value::Str(step.name.clone())),
                (k("reachedAt"), at.map_or(Value::Null, |t| Value::Num(t as f64))),
                (k("sincePreviousMs"), since),
            ])
        })
        .collect();
    let name_at = |i: Option<usize>| opt_str(i.and_then(|i| def.steps.get(i)).map(|s| s.name.as_str()));
    Value::Obj(vec![
        (k("name"), Value::Str(def.name.clone())),
        (k("steps"), Value::Arr(steps)),
        (k("furthestStep"), name_at(p.furthest_index())),
        (k("furthestIndex"), p.furthest_index().map_or(Value::Num(-1.0), |i| Value::Num(i as f64))),
        (k("dropOffStep"), name_at(p.drop_off_index())),
        (k("skippedSteps"), Value::Bool(p.skipped_steps())),
        (k("converted"), Value::Bool(p.converted())),
    ])
}

/// The metrics snapshot of the current session at `now` (DESIGN.md §7). With no session yet,
/// the session fields are `null`/0.
pub fn snapshot(state: &SessionState, default: &FunnelDef, custom: &[FunnelDef], now: i64, style: KeyStyle) -> Value {
    let k = |c: &str| key(style, c);
    let num = |v: i64| Value::Num(v as f64);
    let opt = |v: &Option<String>| v.clone().map_or(Value::Null, Value::Str);
    let empty = SessionMetrics::default();
    let (session, m) = match &state.session {
        Some(s) => (Some(s), &s.metrics),
        None => (None, &empty),
    };
    let src = m.source.clone().unwrap_or_else(|| Source { kind: "direct".into(), ..Source::default() });
    let custom_progress: Vec<FunnelProgress> =
        (0..custom.len()).map(|i| m.funnels.get(i).cloned().unwrap_or_default()).collect();
    let mut dropped = m.dropped.clone();
    dropped.sort_by_key(|(r, _)| *r);
    Value::Obj(vec![
        (k("sessionId"), session.map_or(Value::Null, |s| Value::Str(s.id.clone()))),
        (k("anonymousId"), Value::Str(state.anonymous_id.clone())),
        (k("visitNumber"), num(session.map_or(0, |s| i64::from(s.visit_number)))),
        (k("newVisitor"), Value::Bool(session.is_some_and(|s| s.visit_number <= 1))),
        (k("startedAt"), session.map_or(Value::Null, |s| num(s.started_at))),
        (k("lastActivityAt"), session.map_or(Value::Null, |s| num(s.last_activity_at))),
        (k("durationMs"), num(session.map_or(0, |s| s.last_activity_at - s.started_at))),
        (k("engagedMs"), num(m.engaged_ms_at(now))),
        (k("engaged"), Value::Bool(m.engaged_at(now))),
        (k("pageViews"), num(i64::from(m.page_views))),
        (k("landingPage"), opt(&m.landing_page)),
        (k("exitPage"), opt(&m.exit_page)),
        (
            k("source"),
            Value::Obj(vec![
                (k("kind"), Value::Str(src.kind.clone())),
                (k("source"), opt(&src.source)),
                (k("medium"), opt(&src.medium)),
                (k("campaign"), opt(&src.campaign)),
                (k("term"), opt(&src.term)),
                (k("content"), opt(&src.content)),
                (k("referrer"), opt(&m.referrer)),
            ]),
        ),
        (k("funnel"), funnel_value(style, default, &m.funnel)),
        (
            k("funnels"),
            Value::Obj(
                custom.iter().zip(&custom_progress).map(|(d, p)| (d.name.clone(), funnel_value(style, d, p))).collect(),
            ),
        ),
        (
            k("cart"),
            Value::Obj(vec![
                (k("state"), Value::Str(if m.cart.known { "known" } else { "unknown" }.into())),
                (
                    k("items"),
                    Value::Arr(
                        m.cart
                            .lines
                            .iter()
                            .map(|l| {
                                Value::Obj(vec![
                                    (k("id"), Value::Str(l.id.clone())),
                                    (k("variant"), opt(&l.variant)),
                                    (k("quantity"), num(l.quantity)),
                                    (k("unitPrice"), l.unit_price.map_or(Value::Null, num)),
                                    (k("currency"), Value::Str(l.currency.clone())),
                                ])
                            })
                            .collect(),
                    ),
                ),
                (k("count"), num(m.cart.count())),
                (k("value"), money_map(&m.cart.value())),
            ]),
        ),
        (k("cartAbandoned"), Value::Bool(m.cart_abandoned())),
        (k("checkoutAbandoned"), Value::Bool(m.checkout_abandoned())),
        (
            k("orders"),
            Value::Arr(
                m.orders
                    .iter()
                    .map(|o| {
                        Value::Obj(vec![
                            (k("id"), Value::Str(o.id.clone())),
                            (k("value"), num(o.value)),
                            (k("currency"), Value::Str(o.currency.clone())),
                        ])
                    })
                    .collect(),
            ),
        ),
        (k("orderCount"), num(m.orders.len() as i64)),
        (k("revenue"), money_map(&m.revenue())),
        (k("aov"), money_map(&m.aov())),
        (k("refunds"), money_map(&m.refunds)),
        (k("converted"), Value::Bool(!m.orders.is_empty())),
        (
            k("experiments"),
            Value::Obj(m.experiments.iter().map(|(e, v)| (e.clone(), Value::Num(f64::from(*v)))).collect()),
        ),
        (
            k("dropped"),
            Value::Obj(vec![
                (k("total"), num(m.dropped_total() as i64)),
                (
                    k("byReason"),
                    Value::Obj(dropped.iter().map(|(r, n)| (r.as_str().to_owned(), num(*n as i64))).collect()),
                ),
            ]),
        ),
    ])
}
