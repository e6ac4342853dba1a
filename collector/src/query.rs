//! Read queries over SQLite: KPIs, funnels and live figures.
//!
//! Session-level figures come from the `sessions` table: one row per session, holding the
//! metrics the browser computed (its latest `session_summary`, highest `seq`). Order figures come
//! from the `orders` table (one row per order id). Definitions are in METRICS.md ("Collector
//! KPIs"); each has a hand-worked test in `collector/tests/kpis.rs`.

use rusqlite::{params, Connection};
use serde::Serialize;

use crate::store::StoreError;

/// Traffic-source kinds the SDK classifies into.
pub const SOURCE_KINDS: [&str; 6] = ["direct", "organic_search", "paid_search", "social", "email", "referral"];

/// Orders (`o`) with their sessions (`s`), for every query that needs both. Led by the orders,
/// each session found by its key: orders have no index by session, and a plain `JOIN` filtered
/// on the sessions let SQLite lead with them and scan the orders once per session (experiment
/// results took 58 s over a million events that way; querybench).
const ORDERS_WITH_SESSIONS: &str = "orders o CROSS JOIN sessions s ON s.site = o.site AND s.sid = o.sid";

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
    fn orders(&self) -> String {
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

/// Computes the KPIs of `site` over `range`, for the sessions of `segment`.
pub fn kpis(conn: &Connection, site: &str, range: Range, segment: Segment) -> Result<Kpis, StoreError> {
    // One pass over the sessions (covering index `sessions_kpi`) for the totals, one for the
    // breakdowns by traffic source and device (sessions and converted sessions per pair).
    let where_ = format!("FROM sessions WHERE site = ?1 AND started_at >= ?2 AND started_at < ?3{}", segment.sql(""));
    let totals: [i64; 11] = conn
        .prepare_cached(&format!(
            "SELECT COUNT(*), COUNT(DISTINCT aid), COUNT(DISTINCT CASE WHEN new_visitor THEN aid END),
                COALESCE(SUM(page_views), 0), COALESCE(SUM(duration_ms), 0), COALESCE(SUM(engaged), 0),
                COALESCE(SUM(converted), 0), COALESCE(SUM(added_to_cart), 0),
                COALESCE(SUM(added_to_cart AND NOT converted), 0), COALESCE(SUM(began_checkout), 0),
                COALESCE(SUM(began_checkout AND NOT converted), 0) {where_}"
        ))?
        .query_row(params![site, range.from, range.to], |r| {
            let mut t = [0i64; 11];
            for (i, v) in t.iter_mut().enumerate() {
                *v = r.get(i)?;
            }
            Ok(t)
        })?;
    let mut parts = KpiParts { totals, ..KpiParts::default() };
    {
        let mut stmt =
            conn.prepare_cached(&format!("SELECT src_kind, device, COUNT(*), SUM(converted) {where_} GROUP BY 1, 2"))?;
        let mut rows = stmt.query(params![site, range.from, range.to])?;
        while let Some(r) = rows.next()? {
            parts.count(r.get_ref(0)?.as_str()?, r.get_ref(1)?.as_str()?, r.get(2)?, r.get(3)?);
        }
    }
    let order_rows = segment.orders();
    {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT currency, COUNT(*), SUM(value), COUNT(DISTINCT customer) FROM {order_rows}
             WHERE site = ?1 AND ts >= ?2 AND ts < ?3 GROUP BY currency ORDER BY currency"
        ))?;
        let rows = stmt.query_map(params![site, range.from, range.to], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?, r.get::<_, i64>(3)?))
        })?;
        parts.currencies = rows.collect::<Result<_, _>>()?;
    }
    // A segment's customers are those with an order in the range from its sessions; whether one
    // is new or repeat is read from all their orders.
    parts.customers = conn
        .prepare_cached(&format!(
            "WITH active AS (SELECT DISTINCT customer FROM {order_rows} WHERE site = ?1 AND ts >= ?2 AND ts < ?3),
              history AS (SELECT o.customer, MIN(o.ts) AS first, COUNT(*) AS n FROM orders o
                          JOIN active a ON a.customer = o.customer
                          WHERE o.site = ?1 AND o.ts < ?3 GROUP BY o.customer)
         SELECT COALESCE(SUM(first >= ?2), 0), COUNT(*), COALESCE(SUM(n >= 2), 0) FROM history"
        ))?
        .query_row(params![site, range.from, range.to], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    let mut per_day = conn.prepare_cached(&format!(
        "SELECT date(ts / 1000, 'unixepoch') AS day, COUNT(*) FROM {order_rows}
         WHERE site = ?1 AND ts >= ?2 AND ts < ?3 GROUP BY day ORDER BY day"
    ))?;
    parts.orders_per_day = per_day
        .query_map(params![site, range.from, range.to], |r| Ok(DayCount { day: r.get(0)?, orders: r.get(1)? }))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(parts.finish())
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

/// The landing pages of the sessions of `segment` started in the range, most sessions first
/// (then by page), at most `limit`.
pub fn landing_pages(
    conn: &Connection,
    site: &str,
    range: Range,
    segment: Segment,
    limit: usize,
) -> Result<Vec<PageCount>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT landing_page, COUNT(*) AS n, SUM(converted) FROM sessions INDEXED BY sessions_pages
         WHERE site = ?1 AND started_at >= ?2 AND started_at < ?3{}
         GROUP BY landing_page ORDER BY n DESC, landing_page LIMIT ?4",
        segment.sql("")
    ))?;
    let rows = stmt.query_map(params![site, range.from, range.to, limit as i64], |r| {
        let (sessions, conversions) = (r.get(1)?, r.get(2)?);
        Ok(PageCount { page: r.get(0)?, sessions, conversions, conversion_rate: ratio(conversions, sessions) })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
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

/// The campaigns of the sessions of `segment` started in the range (sessions with no source,
/// medium or campaign, direct visits, left out), most sessions first, then by source, medium
/// and campaign; at most `limit`, each with the revenue of its sessions' orders.
pub fn campaigns(
    conn: &Connection,
    site: &str,
    range: Range,
    segment: Segment,
    limit: usize,
) -> Result<Vec<CampaignCount>, StoreError> {
    // The sessions counted, their columns prefixed with `p`.
    let filter = |p: &str| {
        format!(
            "{p}site = ?1 AND {p}started_at >= ?2 AND {p}started_at < ?3
             AND ({p}src_source <> '' OR {p}src_medium <> '' OR {p}src_campaign <> ''){}",
            segment.sql(p)
        )
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT src_source, src_medium, src_campaign, COUNT(*) AS n, SUM(converted) FROM sessions
         INDEXED BY sessions_campaigns WHERE {}
         GROUP BY 1, 2, 3 ORDER BY n DESC, 1, 2, 3 LIMIT ?4",
        filter("")
    ))?;
    let mut list = stmt
        .query_map(params![site, range.from, range.to, limit as i64], |r| {
            let (sessions, conversions) = (r.get(3)?, r.get(4)?);
            Ok(CampaignCount {
                source: r.get(0)?,
                medium: r.get(1)?,
                campaign: r.get(2)?,
                sessions,
                conversions,
                conversion_rate: ratio(conversions, sessions),
                revenue: Vec::new(),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut money = conn.prepare_cached(&format!(
        "SELECT s.src_source, s.src_medium, s.src_campaign, o.currency, SUM(o.value)
         FROM {ORDERS_WITH_SESSIONS}
         WHERE o.site = ?1 AND {} GROUP BY 1, 2, 3, 4 ORDER BY 4",
        filter("s.")
    ))?;
    let mut rows = money.query(params![site, range.from, range.to])?;
    while let Some(r) = rows.next()? {
        let key = [r.get_ref(0)?.as_str()?, r.get_ref(1)?.as_str()?, r.get_ref(2)?.as_str()?];
        add_campaign_revenue(&mut list, key, Money { currency: r.get(3)?, amount: r.get(4)? });
    }
    Ok(list)
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

/// Sessions, conversions, orders and revenue per UTC day for the sessions of `segment` (and
/// their orders), every day with a session or an order, in order.
pub fn daily(conn: &Connection, site: &str, range: Range, segment: Segment) -> Result<Vec<DayFigures>, StoreError> {
    let mut days = Days::default();
    let mut sessions = conn.prepare_cached(&format!(
        "SELECT date(started_at / 1000, 'unixepoch') AS day, COUNT(*), COALESCE(SUM(converted), 0) FROM sessions
         WHERE site = ?1 AND started_at >= ?2 AND started_at < ?3{} GROUP BY day",
        segment.sql("")
    ))?;
    let mut rows = sessions.query(params![site, range.from, range.to])?;
    while let Some(r) = rows.next()? {
        days.sessions(r.get(0)?, r.get(1)?, r.get(2)?);
    }
    let mut orders = conn.prepare_cached(&format!(
        "SELECT date(ts / 1000, 'unixepoch') AS day, currency, COUNT(*), SUM(value) FROM {}
         WHERE site = ?1 AND ts >= ?2 AND ts < ?3 GROUP BY day, currency ORDER BY day, currency",
        segment.orders()
    ))?;
    let mut rows = orders.query(params![site, range.from, range.to])?;
    while let Some(r) = rows.next()? {
        days.orders(r.get(0)?, r.get(2)?, Money { currency: r.get(1)?, amount: r.get(3)? });
    }
    Ok(days.finish())
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

/// Delivery counts of `site` for the UTC days of receipt from `range.from`'s to that of its
/// last millisecond.
pub fn ingest(conn: &Connection, site: &str, range: Range) -> Result<Ingest, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT day, batches, accepted, duplicates, rejected, bots, client_dropped FROM ingest_days
         WHERE site = ?1 AND day >= date(?2 / 1000, 'unixepoch') AND day <= date((?3 - 1) / 1000, 'unixepoch')
         ORDER BY day",
    )?;
    let days = stmt
        .query_map(params![site, range.from, range.to], |r| {
            Ok(IngestDay {
                day: r.get(0)?,
                batches: r.get(1)?,
                accepted: r.get(2)?,
                duplicates: r.get(3)?,
                rejected: r.get(4)?,
                bots: r.get(5)?,
                client_dropped: r.get(6)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Ingest::of_days(days))
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

/// What a funnel query asks for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FunnelQuery {
    /// Event names of the steps; empty for the default funnel.
    pub steps: Vec<String>,
    /// Only sessions in this experiment variation: (experiment key, variation index).
    pub variant: Option<(String, i64)>,
}

/// One funnel step's counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelStepCount {
    /// Step (event) name.
    pub name: String,
    /// Closed funnel: sessions that completed this step and every earlier one, in order.
    pub closed: i64,
    /// Open funnel: sessions that reached this step, in any order.
    pub open: i64,
    /// Closed-funnel sessions lost since the previous step.
    pub drop_off: i64,
    /// `closed / previous closed` (1 for the first step; null after an empty step).
    pub rate_from_previous: Option<f64>,
    /// `closed / first step's closed`.
    pub rate_from_start: Option<f64>,
}

/// A funnel result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Funnel {
    /// Sessions considered (started in the range, in the variant if any).
    pub sessions: i64,
    /// The steps.
    pub steps: Vec<FunnelStepCount>,
}

/// A funnel from each step's closed and open counts.
pub(crate) fn finish(names: Vec<String>, closed: Vec<i64>, open: Vec<i64>, sessions: i64) -> Funnel {
    let first = closed.first().copied().unwrap_or(0);
    let steps = names
        .into_iter()
        .enumerate()
        .map(|(i, name)| {
            let prev = if i == 0 { closed[0] } else { closed[i - 1] };
            FunnelStepCount {
                name,
                closed: closed[i],
                open: open[i],
                drop_off: if i == 0 { 0 } else { prev - closed[i] },
                rate_from_previous: ratio(closed[i], prev),
                rate_from_start: ratio(closed[i], first),
            }
        })
        .collect();
    Funnel { sessions, steps }
}

fn variant_clause(q: &FunnelQuery) -> (&'static str, String, i64) {
    match &q.variant {
        Some((key, idx)) => {
            let mut path = String::from("$.\"");
            path.push_str(&key.replace('"', ""));
            path.push('"');
            (" AND json_extract(exp, ?4) = ?5", path, *idx)
        }
        None => (" AND ?4 IS NOT NULL AND ?5 IS NOT NULL", String::new(), 0),
    }
}

/// Computes a funnel over the sessions of `segment`. The default funnel reads the per-session
/// progress the browser computed; custom `steps` are matched over stored events with the SDK's
/// rule (greedy, in order, other events allowed between steps) for the closed funnel, and any
/// order for the open one.
pub fn funnel(
    conn: &Connection,
    site: &str,
    range: Range,
    q: &FunnelQuery,
    segment: Segment,
) -> Result<Funnel, StoreError> {
    let (clause, path, idx) = variant_clause(q);
    if q.steps.is_empty() {
        let n = DEFAULT_STEPS.len();
        let mut sql = String::from("SELECT COUNT(*)");
        for i in 0..n {
            sql.push_str(&format!(
                ", COALESCE(SUM(closed_index >= {i}), 0), COALESCE(SUM((reached_mask >> {i}) & 1), 0)"
            ));
        }
        sql.push_str(" FROM sessions WHERE site = ?1 AND started_at >= ?2 AND started_at < ?3");
        sql.push_str(clause);
        sql.push_str(&segment.sql(""));
        let (sessions, closed, open) = conn.query_row(&sql, params![site, range.from, range.to, path, idx], |r| {
            let mut closed = Vec::with_capacity(n);
            let mut open = Vec::with_capacity(n);
            for i in 0..n {
                closed.push(r.get::<_, i64>(1 + 2 * i)?);
                open.push(r.get::<_, i64>(2 + 2 * i)?);
            }
            Ok((r.get::<_, i64>(0)?, closed, open))
        })?;
        return Ok(finish(DEFAULT_STEPS.iter().map(|s| (*s).to_owned()).collect(), closed, open, sessions));
    }
    // Custom steps: each session's event names in time order, kept at ingest (`session_paths`);
    // a session with too many events for its path has its events read instead.
    let steps: Vec<String> = q.steps.iter().map(|s| funnelcake_core::event::canonical_name(s).to_owned()).collect();
    let mut sql = String::from(
        "SELECT s.sid, p.full, p.path FROM sessions s LEFT JOIN session_paths p ON p.site = s.site AND p.sid = s.sid
         WHERE s.site = ?1 AND s.started_at >= ?2 AND s.started_at < ?3",
    );
    sql.push_str(clause);
    sql.push_str(&segment.sql("s."));
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(params![site, range.from, range.to, path, idx])?;
    let mut matcher = StepMatcher::new(&steps);
    let mut sessions = 0i64;
    while let Some(row) = rows.next()? {
        sessions += 1;
        if row.get::<_, Option<bool>>(1)? == Some(true) {
            let sid = row.get_ref(0)?.as_str()?;
            crate::store::for_each_path_event(conn, site, sid, |_, _, name| matcher.observe(name))?;
        } else if let Some(path) = row.get_ref(2)?.as_bytes_or_null()? {
            crate::store::path_names(path).for_each(|name| matcher.observe(name));
        }
        matcher.end_session();
    }
    Ok(matcher.finish(q.steps.clone(), sessions))
}

/// Counts sessions through ad-hoc funnel steps with the SDK's rule: the closed funnel matches
/// steps greedily in order (other events allowed between them), the open one in any order.
pub(crate) struct StepMatcher<'a> {
    steps: &'a [String],
    next: usize,
    reached: Vec<bool>,
    closed: Vec<i64>,
    open: Vec<i64>,
}

impl<'a> StepMatcher<'a> {
    pub fn new(steps: &'a [String]) -> Self {
        let n = steps.len();
        StepMatcher { steps, next: 0, reached: vec![false; n], closed: vec![0; n], open: vec![0; n] }
    }

    /// One event of the current session, in time order.
    pub fn observe(&mut self, name: &[u8]) {
        for (i, s) in self.steps.iter().enumerate() {
            if s.as_bytes() == name {
                self.reached[i] = true;
            }
        }
        if self.steps.get(self.next).is_some_and(|s| s.as_bytes() == name) {
            self.next += 1;
        }
    }

    /// The funnel of the sessions seen (`names` as asked), out of `sessions` considered.
    pub fn finish(self, names: Vec<String>, sessions: i64) -> Funnel {
        finish(names, self.closed, self.open, sessions)
    }

    /// Counts the current session and starts the next.
    pub fn end_session(&mut self) {
        for c in &mut self.closed[..self.next] {
            *c += 1;
        }
        for (o, r) in self.open.iter_mut().zip(&mut self.reached) {
            *o += i64::from(*r);
            *r = false;
        }
        self.next = 0;
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

/// Computes the live figures at `now`.
pub fn live(conn: &Connection, site: &str, now: i64) -> Result<Live, StoreError> {
    let active_sessions: i64 = conn.query_row(
        "SELECT COUNT(DISTINCT sid) FROM events WHERE site = ?1 AND ts >= ?2",
        params![site, now - 5 * 60_000],
        |r| r.get(0),
    )?;
    let today = funnel(conn, site, Range::day_of(now), &FunnelQuery::default(), Segment::default())?;
    Ok(Live { ts: now, active_sessions, today })
}

/// One variation's results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariationResult {
    /// Variation index (0 is the control).
    pub variation: i64,
    /// Sessions exposed to it (started in the range).
    pub sessions: i64,
    /// Of those, sessions with an order.
    pub conversions: i64,
    /// `conversions / sessions`.
    pub conversion_rate: Option<f64>,
    /// Wilson 95% interval of the conversion rate.
    pub conversion_ci: Option<(f64, f64)>,
    /// Revenue of those sessions' orders, per currency.
    pub revenue: Vec<Money>,
    /// Revenue ÷ sessions, per currency (rounded half up).
    pub revenue_per_session: Vec<Money>,
    /// Revenue ÷ orders, per currency (rounded half up).
    pub aov: Vec<Money>,
    /// Relative lift of the conversion rate over the control (`null` for the control).
    pub lift: Option<f64>,
    /// 95% interval of the lift (delta method).
    pub lift_ci: Option<(f64, f64)>,
    /// Two-sided p-value of the difference with the control (pooled two-proportion z-test).
    pub p_value: Option<f64>,
}

/// Sample-ratio-mismatch check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Srm {
    /// Chi-square statistic against the expected weights.
    pub chi2: f64,
    /// Its p-value.
    pub p_value: f64,
    /// The expected weights used (equal unless given).
    pub weights: Vec<f64>,
    /// `true` when `p_value < 0.001`: the split is not what the weights say; results are suspect.
    pub warning: bool,
}

/// An experiment's results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExperimentResult {
    /// Experiment key.
    pub key: String,
    /// Sessions exposed, all variations.
    pub sessions: i64,
    /// Per variation, in index order (missing indices have zero sessions).
    pub variations: Vec<VariationResult>,
    /// Sample-ratio-mismatch test (`null` with fewer than two variations).
    pub srm: Option<Srm>,
}

/// The keys of experiments seen in the sessions of `segment` started in the range.
pub fn experiment_keys(
    conn: &Connection,
    site: &str,
    range: Range,
    segment: Segment,
) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT DISTINCT j.key FROM sessions s, json_each(s.exp) j
         WHERE s.site = ?1 AND s.started_at >= ?2 AND s.started_at < ?3 AND s.exp IS NOT NULL{} ORDER BY j.key",
        segment.sql("s.")
    ))?;
    let keys = stmt.query_map(params![site, range.from, range.to], |r| r.get(0))?.collect::<Result<Vec<_>, _>>()?;
    Ok(keys)
}

/// Results of experiment `key` over the sessions of `segment`; `weights` are the expected split
/// for the SRM test.
pub fn experiment(
    conn: &Connection,
    site: &str,
    range: Range,
    key: &str,
    weights: Option<&[f64]>,
    segment: Segment,
) -> Result<ExperimentResult, StoreError> {
    let path = format!("$.\"{}\"", key.replace('"', ""));
    let mut counts: Vec<(i64, i64)> = Vec::new();
    {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT CAST(json_extract(exp, ?4) AS INTEGER) AS v, COUNT(*), COALESCE(SUM(converted), 0) FROM sessions
             WHERE site = ?1 AND started_at >= ?2 AND started_at < ?3 AND json_extract(exp, ?4) IS NOT NULL{}
             GROUP BY v ORDER BY v",
            segment.sql("")
        ))?;
        let rows = stmt.query_map(params![site, range.from, range.to, path], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
        })?;
        for row in rows {
            let (v, n, c) = row?;
            count_variation(&mut counts, v, n, c);
        }
    }
    let mut money: Vec<(i64, String, i64, i64)> = Vec::new();
    {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT CAST(json_extract(s.exp, ?4) AS INTEGER) AS v, o.currency, COUNT(*), SUM(o.value)
             FROM {ORDERS_WITH_SESSIONS}
             WHERE o.site = ?1 AND s.started_at >= ?2 AND s.started_at < ?3 AND json_extract(s.exp, ?4) IS NOT NULL{}
             GROUP BY v, o.currency ORDER BY v, o.currency",
            segment.sql("s.")
        ))?;
        let rows = stmt.query_map(params![site, range.from, range.to, path], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
        for row in rows {
            money.push(row?);
        }
    }
    Ok(experiment_result(key, &counts, &money, weights))
}

/// Records variation `v`'s sessions and conversions (indices outside 0..100 are ignored).
pub(crate) fn count_variation(counts: &mut Vec<(i64, i64)>, v: i64, sessions: i64, conversions: i64) {
    if (0..100).contains(&v) {
        counts.resize(counts.len().max(v as usize + 1), (0, 0));
        counts[v as usize] = (sessions, conversions);
    }
}

/// An experiment's results from its sessions and conversions per variation (`counts`, by index)
/// and its orders per variation and currency (`money`: variation, currency, orders, revenue).
pub(crate) fn experiment_result(
    key: &str,
    counts: &[(i64, i64)],
    money: &[(i64, String, i64, i64)],
    weights: Option<&[f64]>,
) -> ExperimentResult {
    let (nc, xc) = counts.first().copied().unwrap_or((0, 0));
    let variations: Vec<VariationResult> = counts
        .iter()
        .enumerate()
        .map(|(i, &(n, x))| {
            let mine = money.iter().filter(|m| m.0 == i as i64);
            let revenue: Vec<Money> = mine.clone().map(|m| Money { currency: m.1.clone(), amount: m.3 }).collect();
            let lift =
                if i == 0 { None } else { crate::stats::relative_lift(xc as f64, nc as f64, x as f64, n as f64) };
            VariationResult {
                variation: i as i64,
                sessions: n,
                conversions: x,
                conversion_rate: ratio(x, n),
                conversion_ci: crate::stats::wilson(x as f64, n as f64),
                revenue_per_session: revenue
                    .iter()
                    .map(|m| Money { currency: m.currency.clone(), amount: div_round(m.amount, n) })
                    .collect(),
                aov: mine.map(|m| Money { currency: m.1.clone(), amount: div_round(m.3, m.2) }).collect(),
                revenue,
                lift: lift.map(|l| l.0),
                lift_ci: lift.map(|l| (l.1, l.2)),
                p_value: if i == 0 {
                    None
                } else {
                    crate::stats::two_proportion_p(xc as f64, nc as f64, x as f64, n as f64)
                },
            }
        })
        .collect();
    let observed: Vec<f64> = counts.iter().map(|c| c.0 as f64).collect();
    let expected: Vec<f64> = match weights {
        Some(w) if w.len() == observed.len() => w.to_vec(),
        _ => vec![1.0; observed.len()],
    };
    let srm = crate::stats::srm(&observed, &expected).map(|(chi2, p_value)| {
        let total: f64 = expected.iter().sum();
        Srm { chi2, p_value, weights: expected.iter().map(|w| w / total).collect(), warning: p_value < 0.001 }
    });
    ExperimentResult { key: key.to_owned(), sessions: counts.iter().map(|c| c.0).sum(), variations, srm }
}
