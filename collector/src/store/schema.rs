//! The SQLite schema: the migrations that build it, each with the step that fills what it
//! adds from what is stored, applied in order at open (`PRAGMA user_version` counts them).

use std::path::Path;

use funnelcake_core::json;
use rusqlite::{params, Connection};

use super::columns::campaign_of;
use super::paths::fill_paths;
use super::{landing_key, StoreError};

/// A step a migration runs after its SQL, in the same transaction (filling a new table from
/// what is stored).
type Fill = fn(&Connection) -> Result<(), StoreError>;

/// Schema migrations, applied in order, each with the step that fills what it adds (if any);
/// `PRAGMA user_version` records how many have run.
const MIGRATIONS: &[(&str, Option<Fill>)] = &[
    (
        "
    CREATE TABLE events (
        site TEXT NOT NULL,
        id TEXT NOT NULL,
        type TEXT NOT NULL,
        ts INTEGER NOT NULL,
        client_ts INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        sid TEXT NOT NULL,
        aid TEXT NOT NULL,
        uid TEXT,
        seq INTEGER NOT NULL,
        url TEXT NOT NULL,
        referrer TEXT,
        title TEXT,
        props TEXT,
        items TEXT,
        value INTEGER,
        currency TEXT,
        order_id TEXT,
        exp TEXT,
        src TEXT,
        ua_family TEXT,
        device TEXT,
        PRIMARY KEY (site, id)
    ) WITHOUT ROWID;
    CREATE INDEX events_site_ts ON events (site, ts);
    CREATE INDEX events_site_sid ON events (site, sid, seq);
",
        None,
    ),
    (
        "
    CREATE TABLE sessions (
        site TEXT NOT NULL,
        sid TEXT NOT NULL,
        aid TEXT NOT NULL,
        seq INTEGER NOT NULL,
        ts INTEGER NOT NULL,
        final INTEGER NOT NULL,
        summary TEXT NOT NULL,
        PRIMARY KEY (site, sid)
    ) WITHOUT ROWID;
    CREATE INDEX sessions_site_ts ON sessions (site, ts);
",
        None,
    ),
    (
        "
    ALTER TABLE sessions ADD COLUMN started_at INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN duration_ms INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN page_views INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN engaged INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN new_visitor INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN converted INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN cart_abandoned INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN checkout_abandoned INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN added_to_cart INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN began_checkout INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN closed_index INTEGER NOT NULL DEFAULT -1;
    ALTER TABLE sessions ADD COLUMN reached_mask INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN src_kind TEXT NOT NULL DEFAULT 'direct';
    ALTER TABLE sessions ADD COLUMN exp TEXT;
    CREATE INDEX sessions_site_started ON sessions (site, started_at);
    CREATE TABLE orders (
        site TEXT NOT NULL,
        order_id TEXT NOT NULL,
        sid TEXT NOT NULL,
        customer TEXT NOT NULL,
        ts INTEGER NOT NULL,
        value INTEGER NOT NULL,
        currency TEXT NOT NULL,
        PRIMARY KEY (site, order_id)
    ) WITHOUT ROWID;
    CREATE INDEX orders_site_ts ON orders (site, ts);
    CREATE INDEX orders_site_customer ON orders (site, customer, ts);
",
        None,
    ),
    // Covering indexes: KPI and funnel scans read these instead of the wide rows (the summary
    // JSON, props, items), measured ~2x faster over 1M events (BENCHMARKS.md).
    (
        "
    CREATE INDEX sessions_kpi ON sessions (site, started_at, aid, new_visitor, page_views, duration_ms, engaged,
        converted, added_to_cart, began_checkout, closed_index, reached_mask, src_kind, exp);
    CREATE INDEX events_funnel ON events (site, sid, ts, seq, type);
",
        None,
    ),
    // Each session's event names in (ts, seq) order, kept at ingest, so funnels over ad-hoc
    // `steps` read one short row per session instead of every event (filled from the stored
    // events by `fill_paths`).
    (
        "
    CREATE TABLE session_paths (
        site TEXT NOT NULL,
        sid TEXT NOT NULL,
        last_ts INTEGER NOT NULL,
        last_seq INTEGER NOT NULL,
        full INTEGER NOT NULL,
        path BLOB NOT NULL,
        PRIMARY KEY (site, sid)
    ) WITHOUT ROWID;
",
        Some(fill_paths),
    ),
    // Each session's device class (from the User-Agent of the batch that brought its latest
    // summary), for KPIs, funnels and experiments per device; filled from the stored summaries.
    // The KPI index is made again with it, so segmented reads stay covered.
    (
        "
    ALTER TABLE sessions ADD COLUMN device TEXT NOT NULL DEFAULT '';
    UPDATE sessions SET device = COALESCE((SELECT e.device FROM events e
        WHERE e.site = sessions.site AND e.sid = sessions.sid AND e.seq = sessions.seq AND e.type = 'session_summary'
        LIMIT 1), '');
    DROP INDEX sessions_kpi;
    CREATE INDEX sessions_kpi ON sessions (site, started_at, aid, new_visitor, page_views, duration_ms, engaged,
        converted, added_to_cart, began_checkout, closed_index, reached_mask, src_kind, device, exp);
",
        None,
    ),
    // Each session's landing page without its tracking parameters, for landing pages with
    // their sessions and conversions (filled from the stored summaries by `fill_landing_pages`),
    // through an index of its own.
    (
        "
    ALTER TABLE sessions ADD COLUMN landing_page TEXT NOT NULL DEFAULT '';
    CREATE INDEX sessions_pages ON sessions (site, started_at, landing_page, converted, src_kind, device);
",
        Some(fill_landing_pages),
    ),
    // Each session's campaign (`source.source`, `.medium`, `.campaign`), for sessions,
    // conversions and revenue per campaign (filled from the stored summaries), through an index
    // of its own.
    (
        "
    ALTER TABLE sessions ADD COLUMN src_source TEXT NOT NULL DEFAULT '';
    ALTER TABLE sessions ADD COLUMN src_medium TEXT NOT NULL DEFAULT '';
    ALTER TABLE sessions ADD COLUMN src_campaign TEXT NOT NULL DEFAULT '';
    CREATE INDEX sessions_campaigns ON sessions (site, started_at, src_source, src_medium, src_campaign, converted,
        src_kind, device);
",
        Some(fill_campaigns),
    ),
    // Delivery counts per site and day of receipt (`Tally`); the events already stored are
    // counted as accepted on the day they arrived.
    (
        "
    CREATE TABLE ingest_days (
        site TEXT NOT NULL,
        day TEXT NOT NULL,
        batches INTEGER NOT NULL DEFAULT 0,
        accepted INTEGER NOT NULL DEFAULT 0,
        duplicates INTEGER NOT NULL DEFAULT 0,
        rejected INTEGER NOT NULL DEFAULT 0,
        bots INTEGER NOT NULL DEFAULT 0,
        client_dropped INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (site, day)
    ) WITHOUT ROWID;
    INSERT INTO ingest_days (site, day, accepted)
        SELECT site, date(received_at / 1000, 'unixepoch'), COUNT(*) FROM events GROUP BY 1, 2;
",
        None,
    ),
    // Sessions' `started_at` on the collector's clock: the summaries stored before were kept
    // on the browser's, while their events were corrected. The summary's own event still says
    // by how much (`ts − client_ts`).
    (
        "
    UPDATE sessions SET started_at = started_at + COALESCE((
        SELECT e.ts - e.client_ts FROM events e
        WHERE e.site = sessions.site AND e.sid = sessions.sid AND e.seq = sessions.seq AND e.type = 'session_summary'
        LIMIT 1), 0)
    WHERE started_at <> 0;
",
        None,
    ),
];

/// Fills the sessions' `landing_page` from their stored summaries (run once, by the migration
/// that adds the column).
fn fill_landing_pages(conn: &Connection) -> Result<(), StoreError> {
    let mut read = conn.prepare("SELECT site, sid, json_extract(summary, '$.landing_page') FROM sessions")?;
    let mut write = conn.prepare("UPDATE sessions SET landing_page = ?3 WHERE site = ?1 AND sid = ?2")?;
    let mut rows = read.query([])?;
    while let Some(r) = rows.next()? {
        if let Some(url) = r.get_ref(2)?.as_str_or_null()? {
            write.execute(params![r.get_ref(0)?.as_str()?, r.get_ref(1)?.as_str()?, landing_key(url)])?;
        }
    }
    Ok(())
}

/// Fills the sessions' campaign columns from their stored summaries (run once, by the
/// migration that adds them).
fn fill_campaigns(conn: &Connection) -> Result<(), StoreError> {
    let mut read = conn.prepare("SELECT site, sid, json_extract(summary, '$.source') FROM sessions")?;
    let mut write = conn.prepare(
        "UPDATE sessions SET src_source = ?3, src_medium = ?4, src_campaign = ?5 WHERE site = ?1 AND sid = ?2",
    )?;
    let mut rows = read.query([])?;
    while let Some(r) = rows.next()? {
        let source = r.get_ref(2)?.as_str_or_null()?.and_then(|t| json::parse(t).ok());
        let [s, m, c] = campaign_of(source.as_ref());
        write.execute(params![r.get_ref(0)?.as_str()?, r.get_ref(1)?.as_str()?, s, m, c])?;
    }
    Ok(())
}

pub(super) fn open(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(conn)
}

pub(super) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (i, (sql, fill)) in MIGRATIONS.iter().enumerate().skip(usize::try_from(version).unwrap_or(0)) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        if let Some(fill) = fill {
            fill(&tx)?;
        }
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}
