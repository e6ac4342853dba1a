//! What the read API answers, for either store: the range and segment of a read, the shapes of
//! its answers (KPIs, funnels, landing pages, campaigns, figures per day, delivery counts, live
//! figures, experiment results) and the arithmetic on the rows both stores' queries return, so
//! SQLite and ClickHouse give the same numbers. The SQL is each store's own
//! (`store/queries.rs`, `clickhouse/`).
//!
//! Session-level figures come from the `sessions` table: one row per session, holding the
//! metrics the browser computed (its latest `session_summary`, highest `seq`). Order figures come
//! from the `orders` table (one row per order id). Definitions are in METRICS.md ("Collector
//! KPIs"); each has a hand-worked test in `collector/tests/kpis.rs`.

mod experiment;
mod funnel;

use serde::Serialize;

pub use experiment::*;
pub use funnel::*;

/// Traffic-source kinds the SDK classifies into.
pub const SOURCE_KINDS: [&str; 6] = ["direct", "organic_search", "paid_search", "social", "email", "referral"];

/// Orders (`o`) with their sessions (`s`), for every query that needs both. Led by the orders,
/// each session found by its key: orders have no index by session, and a plain `JOIN` filtered
/// on the sessions let SQLite lead with them and scan the orders once per session (experiment
/// results took 58 s over a million events that way; querybench).
pub(crate) const ORDERS_WITH_SESSIONS: &str = "orders o CROSS JOIN sessions s ON s.site = o.site AND s.sid = o.sid";

/// Device classes the collector reduces a User-Agent to (`bot` only with `--keep-bots`).
pub const DEVICES: [&str; 4] = ["desktop", "mobile", "tablet", "bot"];

/// Which sessions a read counts: all, or those from one traffic-source kind and/or one device
/// class. Orders count when their session does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Segment {
    /// One of [`SOURCE_KINDS`].
    pub source: Option<&'static str>,
    /// One of [`DEVICES`].
    pub device: Option<&'static str>,
}

impl Segment {
    /// A segment from the read API's `source` and `device` parameters (empty means any); the
    /// name of the parameter whose value is not a known one otherwise.
    pub fn parse(source: Option<&str>, device: Option<&str>) -> Result<Segment, &'static str> {
        fn pick(list: &[&'static str], v: Option<&str>) -> Result<Option<&'static str>, ()> {
            match v.filter(|v| !v.is_empty()) {
                None => Ok(None),
                Some(v) => list.iter().find(|k| **k == v).map(|k| Some(*k)).ok_or(()),
            }
        }
        Ok(Segment {
            source: pick(&SOURCE_KINDS, source).map_err(|_| "source")?,
            device: pick(&DEVICES, device).map_err(|_| "device")?,
        })
    }

    /// The SQL condition on the sessions table (columns prefixed with `prefix`, e.g. `s.`),
    /// starting with ` AND`; empty for all sessions. The values are the constants above, never
    /// request text.
    pub(crate) fn sql(&self, prefix: &str) -> String {
        let mut out = String::new();
        for (column, value) in [("src_kind", self.source), ("device", self.device)] {
            if let Some(v) = value {
                out.push_str(&format!(" AND {prefix}{column} = '{v}'"));
            }
        }
        out
    }

    /// What the order queries read `FROM`: the orders table, or, for a segment, the orders of
    /// its sessions (same columns).
    pub(crate) fn orders(&self) -> String {
        if *self == Segment::default() {
            return "orders".to_owned();
        }
        format!("(SELECT o.* FROM {ORDERS_WITH_SESSIONS} WHERE 1 = 1{})", self.sql("s."))
    }
}

/// Default funnel step names, in order (the SDK's default funnel).
pub const DEFAULT_STEPS: [&str; 7] = funnelcake_core::funnel::DEFAULT_STEPS;

/// A half-open time range `[from, to)` in epoch ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// Inclusive start.
    pub from: i64,
    /// Exclusive end.
    pub to: i64,
}

impl Range {
    /// The UTC day of `at` (epoch ms), the live figures' "today".
    pub fn day_of(at: i64) -> Range {
        let from = at - at.rem_euclid(86_400_000);
        Range { from, to: from + 86_400_000 }
    }
}

/// An amount per currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Money {
    /// ISO 4217 code (`XXX` for none).
    pub currency: String,
    /// Minor units.
    pub amount: i64,
}

/// Orders on one UTC day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayCount {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    /// Orders that day.
    pub orders: i64,
}

/// Sessions from one traffic-source kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceCount {
    /// `direct`, `organic_search`, `paid_search`, `social`, `email` or `referral`.
    pub kind: String,
    /// Sessions.
    pub sessions: i64,
    /// Of those, sessions with an order.
    pub conversions: i64,
}

/// Sessions on one device class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceCount {
    /// `desktop`, `mobile`, `tablet` (or `bot`, with `--keep-bots`).
    pub device: String,
    /// Sessions.
    pub sessions: i64,
    /// Of those, sessions with an order.
    pub conversions: i64,
}

/// The KPIs of a site over a range (definitions in METRICS.md).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Kpis {
    /// Sessions started in the range.
    pub sessions: i64,
    /// Distinct anonymous ids among them.
    pub unique_visitors: i64,
    /// Distinct anonymous ids among them whose session was their first visit.
    pub new_visitors: i64,
    /// Page views in those sessions.
    pub page_views: i64,
    /// `page_views / sessions`.
    pub pages_per_session: Option<f64>,
    /// Mean session duration, ms (rounded).
    pub avg_session_duration_ms: Option<i64>,
    /// GA4: `1 − engaged_sessions / sessions`.
    pub bounce_rate: Option<f64>,
    /// Sessions with ≥ 10 s visible, ≥ 2 page views or an order.
    pub engaged_sessions: i64,
    /// Sessions with an order / sessions.
    pub conversion_rate: Option<f64>,
    /// Distinct orders placed in the range.
    pub orders: i64,
    /// Revenue per currency (gross).
    pub revenue: Vec<Money>,
    /// Average order value per currency (rounded half up).
    pub aov: Vec<Money>,
    /// Sessions that added to cart and did not buy / sessions that added to cart.
    pub cart_abandonment_rate: Option<f64>,
    /// Sessions that began checkout and did not buy / sessions that began checkout.
    pub checkout_abandonment_rate: Option<f64>,
    /// Customers whose first order ever was placed in the range.
    pub new_customers: i64,
    /// Customers with an order in the range who had ≥ 2 orders by its end / customers with an
    /// order in the range.
    pub repeat_customer_rate: Option<f64>,
    /// Revenue per customer in the range, per currency (revenue ÷ customers who paid in that
    /// currency, rounded half up).
    pub customer_lifetime_value: Vec<Money>,
    /// Orders per UTC day in the range.
    pub orders_per_day: Vec<DayCount>,
    /// Sessions per traffic-source kind, most first.
    pub traffic_sources: Vec<SourceCount>,
    /// Sessions per device class, most first.
    pub devices: Vec<DeviceCount>,
}

pub(crate) fn ratio(num: i64, den: i64) -> Option<f64> {
    if den == 0 {
        None
    } else {
        Some(num as f64 / den as f64)
    }
}

pub(crate) fn div_round(total: i64, n: i64) -> i64 {
    if n == 0 {
        0
    } else {
        (total + n / 2).div_euclid(n)
    }
}

/// `(kind, sessions, conversions)` for each of `kinds` with sessions, from `pairs` (sessions and
/// conversions per kind, in the order of `kinds`): most sessions first, then by name.
fn breakdown<'a>(kinds: &[&'a str], pairs: &[i64]) -> Vec<(&'a str, i64, i64)> {
    let mut list: Vec<_> =
        kinds.iter().zip(pairs.chunks(2)).filter(|(_, p)| p[0] > 0).map(|(k, p)| (*k, p[0], p[1])).collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    list
}

/// What the KPIs are computed from, as a store reads it: the session totals, sessions and
/// conversions per traffic source and device, the orders per currency and per day, and the
/// customer counts. Each store fills it with its own queries; [`KpiParts::finish`] does the
/// arithmetic once for all.
#[derive(Debug, Default)]
pub(crate) struct KpiParts {
    /// Sessions, visitors, new visitors, page views, duration sum, engaged, converted, added to
    /// cart, cart abandoned, began checkout, checkout abandoned.
    pub totals: [i64; 11],
    by_source: [i64; 2 * SOURCE_KINDS.len()],
    by_device: [i64; 2 * DEVICES.len()],
    /// Per currency, in order: orders, revenue, distinct customers.
    pub currencies: Vec<(String, i64, i64, i64)>,
    /// New customers, customers with an order in the range, of those with ≥ 2 orders by its end.
    pub customers: (i64, i64, i64),
    /// Orders per UTC day, in order.
    pub orders_per_day: Vec<DayCount>,
}

impl KpiParts {
    /// Adds `n` sessions (`converted` of them with an order) from one traffic source and device.
    pub fn count(&mut self, source: &str, device: &str, n: i64, converted: i64) {
        for (kinds, value, sums) in
            [(&SOURCE_KINDS[..], source, &mut self.by_source[..]), (&DEVICES[..], device, &mut self.by_device[..])]
        {
            if let Some(i) = kinds.iter().position(|k| *k == value) {
                sums[2 * i] += n;
                sums[2 * i + 1] += converted;
            }
        }
    }

    /// The KPIs.
    pub fn finish(self) -> Kpis {
        let [sessions, visitors, new_visitors, page_views, duration_sum, engaged, converted, carts, cart_left, checkouts, checkout_left] =
            self.totals;
        let traffic_sources = breakdown(&SOURCE_KINDS, &self.by_source)
            .into_iter()
            .map(|(kind, sessions, conversions)| SourceCount { kind: kind.to_owned(), sessions, conversions })
            .collect();
        let devices = breakdown(&DEVICES, &self.by_device)
            .into_iter()
            .map(|(device, sessions, conversions)| DeviceCount { device: device.to_owned(), sessions, conversions })
            .collect();
        let mut revenue = Vec::new();
        let mut aov = Vec::new();
        let mut clv = Vec::new();
        let mut orders = 0;
        for (currency, n, total, customers) in self.currencies {
            orders += n;
            revenue.push(Money { currency: currency.clone(), amount: total });
            aov.push(Money { currency: currency.clone(), amount: div_round(total, n) });
            clv.push(Money { currency, amount: div_round(total, customers) });
        }
        let (new_customers, customers, repeat) = self.customers;
        Kpis {
            sessions,
            unique_visitors: visitors,
            new_visitors,
            page_views,
            pages_per_session: ratio(page_views, sessions),
            avg_session_duration_ms: (sessions > 0).then(|| div_round(duration_sum, sessions)),
            bounce_rate: ratio(sessions - engaged, sessions),
            engaged_sessions: engaged,
            conversion_rate: ratio(converted, sessions),
            orders,
            revenue,
            aov,
            cart_abandonment_rate: ratio(cart_left, carts),
            checkout_abandonment_rate: ratio(checkout_left, checkouts),
            new_customers,
            repeat_customer_rate: ratio(repeat, customers),
            customer_lifetime_value: clv,
            orders_per_day: self.orders_per_day,
            traffic_sources,
            devices,
        }
    }
}

/// Sessions that landed on one page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PageCount {
    /// The landing page's path, without its query.
    pub page: String,
    /// Sessions that started there.
    pub sessions: i64,
    /// Of those, sessions with an order.
    pub conversions: i64,
    /// `conversions / sessions`.
    pub conversion_rate: Option<f64>,
}

/// Sessions from one campaign: a traffic source, medium and campaign name (empty where the
/// session's source has none).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CampaignCount {
    /// `utm_source`, or the search engine, social site or referrer host.
    pub source: String,
    /// `utm_medium`, or what the SDK classified (`organic`, `cpc`, `referral`, …).
    pub medium: String,
    /// `utm_campaign`.
    pub campaign: String,
    /// Sessions.
    pub sessions: i64,
    /// Of those, sessions with an order.
    pub conversions: i64,
    /// `conversions / sessions`.
    pub conversion_rate: Option<f64>,
    /// Revenue of those sessions' orders, per currency.
    pub revenue: Vec<Money>,
}

/// Adds revenue to the campaign (source, medium, campaign) of `list`, if listed.
pub(crate) fn add_campaign_revenue(list: &mut [CampaignCount], key: [&str; 3], revenue: Money) {
    if let Some(c) = list.iter_mut().find(|c| [c.source.as_str(), c.medium.as_str(), c.campaign.as_str()] == key) {
        c.revenue.push(revenue);
    }
}

/// One UTC day's sessions (by start) and orders (by time).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DayFigures {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    /// Sessions started that day.
    pub sessions: i64,
    /// Of those, sessions with an order.
    pub conversions: i64,
    /// `conversions / sessions`.
    pub conversion_rate: Option<f64>,
    /// Orders placed that day.
    pub orders: i64,
    /// Their revenue per currency.
    pub revenue: Vec<Money>,
}

/// [`DayFigures`] put together from a store's rows: sessions per day, orders per day and currency.
#[derive(Debug, Default)]
pub(crate) struct Days(std::collections::BTreeMap<String, DayFigures>);

impl Days {
    /// `n` sessions started on `day`, `converted` of them with an order.
    pub fn sessions(&mut self, day: String, n: i64, converted: i64) {
        let d = self.0.entry(day).or_default();
        (d.sessions, d.conversions) = (n, converted);
    }

    /// `n` orders placed on `day` in one currency, with their revenue.
    pub fn orders(&mut self, day: String, n: i64, revenue: Money) {
        let d = self.0.entry(day).or_default();
        d.orders += n;
        d.revenue.push(revenue);
    }

    /// Every day with a session or an order, in order.
    pub fn finish(self) -> Vec<DayFigures> {
        self.0
            .into_iter()
            .map(|(day, d)| DayFigures { day, conversion_rate: ratio(d.conversions, d.sessions), ..d })
            .collect()
    }
}

/// Delivery counts of one UTC day of receipt (or of several, added up).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IngestDay {
    /// `YYYY-MM-DD` (UTC); empty for a total.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub day: String,
    /// Batches received.
    pub batches: i64,
    /// Events stored.
    pub accepted: i64,
    /// Events received again (a retry after a lost answer, a tab's queue taken over) and not
    /// stored twice.
    pub duplicates: i64,
    /// Events rejected: invalid, or too large.
    pub rejected: i64,
    /// Events from known crawlers and audit tools, not stored.
    pub bots: i64,
    /// Events the browsers reported they dropped (any drop reason of METRICS.md).
    pub client_dropped: i64,
}

/// Delivery counts over the days of receipt a range touches.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Ingest {
    /// The days added up.
    pub totals: IngestDay,
    /// Each day with a batch, in order.
    pub days: Vec<IngestDay>,
}

impl Ingest {
    /// The days given, and their totals.
    pub fn of_days(days: Vec<IngestDay>) -> Ingest {
        let totals = days.iter().fold(IngestDay::default(), |t, d| IngestDay {
            day: String::new(),
            batches: t.batches + d.batches,
            accepted: t.accepted + d.accepted,
            duplicates: t.duplicates + d.duplicates,
            rejected: t.rejected + d.rejected,
            bots: t.bots + d.bots,
            client_dropped: t.client_dropped + d.client_dropped,
        });
        Ingest { totals, days }
    }
}

/// Live figures: sessions active in the last 5 minutes and today's default funnel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Live {
    /// Server time, epoch ms.
    pub ts: i64,
    /// Distinct sessions with an event in the last 5 minutes.
    pub active_sessions: i64,
    /// The default funnel for sessions started today (UTC).
    pub today: Funnel,
}
