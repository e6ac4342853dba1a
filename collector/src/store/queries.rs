//! The SQLite store's read queries: KPIs, funnels, landing pages, campaigns, figures per day,
//! delivery counts, live figures and experiments. What they answer, and the arithmetic on their
//! rows that ClickHouse shares, is in [`crate::query`].

use rusqlite::{params, Connection};

use crate::query::*;
use crate::store::StoreError;

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
    let mut parts = KpiParts::default();
    parts.totals = totals;
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
