//! Storage behind the [`Store`] trait, with SQLite as the default implementation.
//!
//! [`SqliteStore`] runs one writer thread that owns the write connection and commits queued
//! inserts in groups (one transaction for every request waiting at that moment), so concurrent
//! batches share an fsync. Reads use a separate connection (WAL lets them run during writes).
//! Each (site, event id) is stored once: a unique key plus `INSERT OR IGNORE` makes retries and
//! multi-tab double sends harmless, and the insert reports which events were duplicates.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::{mpsc, Mutex};
use std::thread::JoinHandle;

use funnelcake_core::json::{self, Value};
use funnelcake_core::wire::{self, Event};
use rusqlite::{params, Connection};
use tokio::sync::oneshot;

use crate::query;

/// An event as stored: the wire event plus what the collector adds.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// Site id.
    pub site: String,
    /// The event as received (its `ts` is the client's clock).
    pub event: Event,
    /// Event time corrected for client clock skew: `ts + (received_at − sent_at)`.
    pub ts: i64,
    /// Server receive time, epoch ms.
    pub received_at: i64,
    /// Browser family from the User-Agent.
    pub ua_family: &'static str,
    /// Device class from the User-Agent.
    pub device: &'static str,
}

/// What one batch brought besides the events it stores, counted per site and UTC day of
/// receipt (table `ingest_days`) in the same transaction as its events, with the events it
/// stored and those it repeated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Site id.
    pub site: String,
    /// Server receive time, epoch ms (its UTC day is the row counted into).
    pub received_at: i64,
    /// Events rejected: invalid, or larger than an event may be.
    pub rejected: i64,
    /// Events from known crawlers and audit tools, not stored.
    pub bots: i64,
    /// Events the browser reports it dropped (the batch's `dropped`: any drop reason of
    /// METRICS.md, from bad input and repeated orders to a full queue or a failed delivery).
    pub client_dropped: i64,
}

/// A storage failure; the API answers 503 so the client retries.
#[derive(Debug)]
pub struct StoreError(pub String);

impl core::fmt::Display for StoreError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "storage error: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError(e.to_string())
    }
}

impl From<rusqlite::types::FromSqlError> for StoreError {
    fn from(e: rusqlite::types::FromSqlError) -> Self {
        StoreError(e.to_string())
    }
}

/// A boxed future, for object-safe async trait methods.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the collector needs from storage.
pub trait Store: Send + Sync + 'static {
    /// Stores events, each (site, id) at most once. Returns, per event, `true` if it was new and
    /// `false` if it was a duplicate. Resolves only once the events are durable.
    fn insert(&self, events: Vec<StoredEvent>) -> BoxFuture<'_, Result<Vec<bool>, StoreError>>;

    /// Stores a batch's events as [`Store::insert`] does and, in the same transaction, adds to
    /// its site's delivery counts for the day: the events stored and repeated, and what `tally`
    /// says was rejected, left out as bots or dropped in the browser.
    fn insert_batch(&self, events: Vec<StoredEvent>, tally: Tally) -> BoxFuture<'_, Result<Vec<bool>, StoreError>>;

    /// The campaigns (source, medium, campaign) of the sessions of a segment started in a range,
    /// with their sessions, conversions and revenue, most sessions first, at most `limit`.
    fn campaigns(
        &self,
        site: &str,
        range: query::Range,
        segment: query::Segment,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<query::CampaignCount>, StoreError>>;

    /// Sessions, conversions, orders and revenue per UTC day, for the sessions of a segment.
    fn daily(
        &self,
        site: &str,
        range: query::Range,
        segment: query::Segment,
    ) -> BoxFuture<'_, Result<Vec<query::DayFigures>, StoreError>>;

    /// Delivery counts per day of receipt, for the days the range touches.
    fn ingest(&self, site: &str, range: query::Range) -> BoxFuture<'_, Result<query::Ingest, StoreError>>;

    /// The most recent `limit` events of `site`, newest first.
    fn recent_events(&self, site: &str, limit: usize) -> BoxFuture<'_, Result<Vec<StoredEvent>, StoreError>>;

    /// The latest summaries of `site`'s sessions, most recent first.
    fn sessions(&self, site: &str, limit: usize) -> BoxFuture<'_, Result<Vec<SessionRow>, StoreError>>;

    /// KPIs over a range, for the sessions of a segment.
    fn kpis(
        &self,
        site: &str,
        range: query::Range,
        segment: query::Segment,
    ) -> BoxFuture<'_, Result<query::Kpis, StoreError>>;

    /// A funnel over a range, for the sessions of a segment.
    fn funnel(
        &self,
        site: &str,
        range: query::Range,
        q: query::FunnelQuery,
        segment: query::Segment,
    ) -> BoxFuture<'_, Result<query::Funnel, StoreError>>;

    /// The landing pages of the sessions of a segment started in a range, most sessions first,
    /// at most `limit`.
    fn landing_pages(
        &self,
        site: &str,
        range: query::Range,
        segment: query::Segment,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<query::PageCount>, StoreError>>;

    /// Live figures at `now`.
    fn live(&self, site: &str, now: i64) -> BoxFuture<'_, Result<query::Live, StoreError>>;

    /// Results of experiment `key`, or of every experiment seen in the range when `None`, for
    /// the sessions of a segment; `weights` are the expected split for the sample-ratio-mismatch
    /// test.
    fn experiments(
        &self,
        site: &str,
        range: query::Range,
        key: Option<String>,
        weights: Option<Vec<f64>>,
        segment: query::Segment,
    ) -> BoxFuture<'_, Result<Vec<query::ExperimentResult>, StoreError>>;

    /// Waits until every acknowledged write is committed and stops the writer.
    fn shutdown(&self) -> BoxFuture<'_, ()>;
}

struct WriteJob {
    events: Vec<StoredEvent>,
    tally: Option<Tally>,
    reply: oneshot::Sender<Result<Vec<bool>, StoreError>>,
}

/// What the writer thread is asked to do.
enum Job {
    /// Store a batch's events.
    Write(WriteJob),
    /// Delete what is older than the time given (epoch ms); the reply gets the rows deleted.
    Prune(i64, Option<oneshot::Sender<Result<u64, StoreError>>>),
}

/// SQLite storage: one file, WAL, one writer thread with group commit.
pub struct SqliteStore {
    tx: Mutex<Option<mpsc::Sender<Job>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    reader: std::sync::Arc<Mutex<Connection>>,
}

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

/// Columns extracted from a `session_summary` for fast KPI and funnel queries.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SummaryColumns {
    /// `started_at`.
    pub started_at: i64,
    /// `duration_ms`.
    pub duration_ms: i64,
    /// `page_views`.
    pub page_views: i64,
    /// `engaged`.
    pub engaged: bool,
    /// `new_visitor`.
    pub new_visitor: bool,
    /// `converted`.
    pub converted: bool,
    /// `cart_abandoned`.
    pub cart_abandoned: bool,
    /// `checkout_abandoned`.
    pub checkout_abandoned: bool,
    /// The default funnel's `add_to_cart` step was reached (any order).
    pub added_to_cart: bool,
    /// The default funnel's `begin_checkout` step was reached (any order).
    pub began_checkout: bool,
    /// Closed-funnel progress: the last default-funnel step completed in order, -1 for none.
    /// The browser's `furthest_index`, except for a session that converted by skipping steps
    /// (`skipped_steps`), whose furthest step is the last one: there it is the longest prefix of
    /// reached steps with non-decreasing first timestamps.
    pub closed_index: i64,
    /// Bit *i* set when default-funnel step *i* was reached in any order (open funnel).
    pub reached_mask: i64,
    /// `source.kind`.
    pub src_kind: String,
    /// `experiments` as JSON text, if any.
    pub exp: Option<String>,
    /// `landing_page` without its tracking parameters ([`landing_key`]).
    pub landing_page: String,
    /// `source.source`, `source.medium` and `source.campaign` (empty when absent).
    pub campaign: [String; 3],
}

impl SummaryColumns {
    /// Reads the columns from a summary's props (snake_case snapshot); missing fields default.
    /// `skew` is the batch's clock correction (`received_at − sent_at`), applied to
    /// `started_at` as to every event time, so a session is counted on the collector's clock
    /// like its events and orders.
    pub fn from_props(props: &[(String, Value)], skew: i64) -> SummaryColumns {
        let v = Value::Obj(props.to_vec());
        let b = |k: &str| matches!(v.get(k), Some(Value::Bool(true)));
        let n = |k: &str| v.get(k).and_then(Value::as_i64).unwrap_or(0);
        let funnel = v.get("funnel");
        let steps = funnel.and_then(|f| f.get("steps")).and_then(Value::as_array).unwrap_or(&[]);
        let reached_at = |i: usize| steps.get(i).and_then(|s| s.get("reached_at")).and_then(Value::as_i64);
        let reached = |i: usize| reached_at(i).is_some();
        let furthest = funnel.and_then(|f| f.get("furthest_index")).and_then(Value::as_i64).unwrap_or(-1);
        let skipped = matches!(funnel.and_then(|f| f.get("skipped_steps")), Some(Value::Bool(true)));
        let closed_index = if skipped {
            let mut last = i64::MIN;
            let mut idx = -1;
            for i in 0..steps.len() {
                match reached_at(i) {
                    Some(t) if t >= last => {
                        last = t;
                        idx = i as i64;
                    }
                    _ => break,
                }
            }
            idx
        } else {
            furthest
        };
        let reached_mask = (0..steps.len().min(62)).filter(|i| reached(*i)).fold(0i64, |m, i| m | (1 << i));
        let exp = v.get("experiments").filter(|e| e.as_object().is_some_and(|o| !o.is_empty())).map(Value::to_json);
        SummaryColumns {
            started_at: match n("started_at") {
                0 => 0,
                t => t.saturating_add(skew),
            },
            duration_ms: n("duration_ms"),
            page_views: n("page_views"),
            engaged: b("engaged"),
            new_visitor: b("new_visitor"),
            converted: b("converted"),
            cart_abandoned: b("cart_abandoned"),
            checkout_abandoned: b("checkout_abandoned"),
            added_to_cart: reached(2),
            began_checkout: reached(3),
            closed_index,
            reached_mask,
            src_kind: v
                .get("source")
                .and_then(|s| s.get("kind"))
                .and_then(Value::as_str)
                .unwrap_or("direct")
                .to_owned(),
            exp,
            landing_page: v.get("landing_page").and_then(Value::as_str).map(landing_key).unwrap_or_default(),
            campaign: campaign_of(v.get("source")),
        }
    }
}

/// Query parameters that say how a visitor arrived, not which page it is: campaign tags and
/// ad-click ids (GA4, Google Ads, Meta, Microsoft, TikTok, X, LinkedIn, Mailchimp, Yandex,
/// Instagram, GA's cross-domain linker) and the SDK's own forced-variation parameter, separated
/// by spaces. Names ending in `_` are prefixes.
const TRACKING_PARAMS: &str =
    "utm_ fc_exp_ gclid gclsrc gbraid wbraid dclid fbclid msclkid ttclid twclid li_fat_id mc_cid mc_eid yclid igshid _gl";

/// A summary's `source` as (source, medium, campaign), empty where absent. A source the SDK
/// classified from an ad click id alone (`gclid`: no source, medium or campaign) gets its kind
/// (`paid_search`) as the medium, so its sessions are listed among the campaigns.
fn campaign_of(source: Option<&Value>) -> [String; 3] {
    let field = |k: &str| source.and_then(|s| s.get(k)).and_then(Value::as_str).unwrap_or("").to_owned();
    let mut c = ["source", "medium", "campaign"].map(field);
    let kind = field("kind");
    if c.iter().all(String::is_empty) && !kind.is_empty() && kind != "direct" {
        c[1] = kind;
    }
    c
}

/// A page address without its tracking parameters (`utm_*`, ad-click ids such as `gclid`: the
/// list is `TRACKING_PARAMS`), so that one page reached from many campaigns is one landing page,
/// while parameters that pick the page (a product id) stay.
///
/// ```
/// use funnelcake_collector::store::landing_key;
/// assert_eq!(landing_key("/p?id=7&utm_source=x&GCLID=y"), "/p?id=7");
/// assert_eq!(landing_key("/?utm_medium=email&fc_exp_btn=1"), "/");
/// assert_eq!(landing_key("/search?q=utm_source&gbraid=1&page=2"), "/search?q=utm_source&page=2");
/// assert_eq!(landing_key("/cart"), "/cart");
/// ```
pub fn landing_key(url: &str) -> String {
    let Some((path, query)) = url.split_once('?') else { return url.to_owned() };
    let tracking = |param: &str| {
        let name = param.split('=').next().unwrap_or("").to_ascii_lowercase();
        TRACKING_PARAMS.split(' ').any(|t| if t.ends_with('_') { name.starts_with(t) } else { name == t })
    };
    let kept: Vec<&str> = query.split('&').filter(|p| !p.is_empty() && !tracking(p)).collect();
    if kept.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", kept.join("&"))
    }
}

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

/// One session's latest summary (the `session_summary` with the highest `seq`).
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRow {
    /// Session id.
    pub sid: String,
    /// Anonymous id.
    pub aid: String,
    /// `seq` of the summary kept.
    pub seq: u64,
    /// Skew-corrected time of that summary.
    pub ts: i64,
    /// `true` if it is the final summary.
    pub final_: bool,
    /// The summary's props (snake_case metrics snapshot), JSON text.
    pub summary: String,
}

fn open(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
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

fn obj_json(members: &[(String, Value)]) -> Option<String> {
    if members.is_empty() {
        None
    } else {
        Some(Value::Obj(members.to_vec()).to_json())
    }
}

/// Writes the parts of an event stored as JSON text, in wire form.
fn part_json(e: &Event, key: &str) -> Option<String> {
    let mut wire = String::new();
    e.write_to(&mut wire);
    let v = json::parse(&wire).ok()?;
    v.get(key).map(Value::to_json)
}

/// Longest session path kept, bytes: about 150 event names. A session with more events is
/// marked `full`, and funnels read its events instead (so every append rewrites a short row).
pub const MAX_PATH_BYTES: usize = 2000;

/// Appends one event name to a session path: its length in bytes, `:`, the name (exact for any
/// name, with no separator a name could contain).
pub fn push_path(path: &mut Vec<u8>, name: &[u8]) {
    path.extend_from_slice(name.len().to_string().as_bytes());
    path.push(b':');
    path.extend_from_slice(name);
}

/// The event names of a path written by [`push_path`], in order; stops at anything malformed.
pub fn path_names(path: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = path;
    std::iter::from_fn(move || {
        let colon = rest.iter().position(|b| *b == b':')?;
        let len: usize = std::str::from_utf8(&rest[..colon]).ok()?.parse().ok()?;
        let name = rest.get(colon + 1..colon + 1 + len)?;
        rest = &rest[colon + 1 + len..];
        Some(name)
    })
}

/// Calls `f` with the (ts, seq, name) of each of `sid`'s events that its path holds: every event
/// but its `session_summary`s, in (ts, seq) order.
pub fn for_each_path_event(
    conn: &Connection,
    site: &str,
    sid: &str,
    mut f: impl FnMut(i64, i64, &[u8]),
) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT ts, seq, type FROM events WHERE site = ?1 AND sid = ?2 AND type <> 'session_summary'
         ORDER BY ts, seq",
    )?;
    let mut rows = stmt.query(params![site, sid])?;
    while let Some(row) = rows.next()? {
        f(row.get(0)?, row.get(1)?, row.get_ref(2)?.as_bytes()?);
    }
    Ok(())
}

/// Writes `sid`'s path again from its stored events (an event arrived out of order, or the
/// migration that added paths).
fn rebuild_path(conn: &Connection, site: &str, sid: &str) -> Result<(), StoreError> {
    let (mut path, mut last) = (Vec::new(), (i64::MIN, i64::MIN));
    for_each_path_event(conn, site, sid, |ts, seq, name| {
        last = (ts, seq);
        push_path(&mut path, name);
    })?;
    let full = path.len() > MAX_PATH_BYTES;
    if full {
        path.clear();
    }
    conn.prepare_cached(
        "INSERT OR REPLACE INTO session_paths (site, sid, last_ts, last_seq, full, path) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![site, sid, last.0, last.1, full, path])?;
    Ok(())
}

/// Fills `session_paths` from the stored events (run once, by the migration that adds it).
fn fill_paths(conn: &Connection) -> Result<(), StoreError> {
    let mut stmt = conn.prepare("SELECT DISTINCT site, sid FROM events")?;
    let sessions = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    for s in sessions {
        let (site, sid) = s?;
        rebuild_path(conn, &site, &sid)?;
    }
    Ok(())
}

/// Newly stored events of one session, in (ts, seq) order, whose names go into its path with
/// one write: a batch usually holds a run of one session's events.
struct PathRun<'a> {
    site: &'a str,
    sid: &'a str,
    first: (i64, i64),
    last: (i64, i64),
    names: Vec<u8>,
}

impl<'a> PathRun<'a> {
    /// A run that starts with the event.
    fn new(site: &'a str, e: &'a Event, ts: i64) -> Self {
        let key = (ts, e.seq as i64);
        let mut run = PathRun { site, sid: &e.sid, first: key, last: key, names: Vec::new() };
        push_path(&mut run.names, e.t.as_bytes());
        run
    }

    /// Adds the event to the run if it continues it; `false` if it starts a new one.
    fn extend(&mut self, site: &str, e: &Event, ts: i64) -> bool {
        let key = (ts, e.seq as i64);
        if self.site != site || self.sid != e.sid || key < self.last {
            return false;
        }
        self.last = key;
        push_path(&mut self.names, e.t.as_bytes());
        true
    }

    /// Writes the run into its session's path: appended when the run comes after everything the
    /// path holds, else the path is written again in order from the stored events.
    fn write(&self, tx: &Connection) -> Result<(), StoreError> {
        let appended = tx
            .prepare_cached(
                "INSERT INTO session_paths (site, sid, last_ts, last_seq, full, path)
                 VALUES (?1, ?2, ?5, ?6, ?7 > ?8, CASE WHEN ?7 > ?8 THEN X'' ELSE ?9 END)
                 ON CONFLICT (site, sid) DO UPDATE SET path = CAST(path || excluded.path AS BLOB),
                     last_ts = excluded.last_ts, last_seq = excluded.last_seq
                 WHERE full = 0 AND (?3, ?4) >= (last_ts, last_seq) AND octet_length(path) + ?7 <= ?8",
            )?
            .execute(params![
                self.site,
                self.sid,
                self.first.0,
                self.first.1,
                self.last.0,
                self.last.1,
                self.names.len() as i64,
                MAX_PATH_BYTES as i64,
                self.names
            ])?;
        if appended == 0 {
            let full: bool = tx
                .prepare_cached("SELECT full FROM session_paths WHERE site = ?1 AND sid = ?2")?
                .query_row(params![self.site, self.sid], |r| r.get(0))?;
            if !full {
                rebuild_path(tx, self.site, self.sid)?;
            }
        }
        Ok(())
    }
}

fn write_group(conn: &mut Connection, jobs: &[WriteJob]) -> Result<Vec<Vec<bool>>, StoreError> {
    let tx = conn.transaction()?;
    let mut results = Vec::with_capacity(jobs.len());
    {
        let mut stmt = tx.prepare_cached(
            "INSERT OR IGNORE INTO events (site, id, type, ts, client_ts, received_at, sid, aid, uid, seq, url,
             referrer, title, props, items, value, currency, order_id, exp, src, ua_family, device)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)",
        )?;
        // Keep the summary with the highest seq: summaries may arrive out of order (a retried
        // batch, a beacon racing a fetch).
        let mut summaries = tx.prepare_cached(
            "INSERT INTO sessions (site, sid, aid, seq, ts, final, summary, started_at, duration_ms, page_views,
                 engaged, new_visitor, converted, cart_abandoned, checkout_abandoned, added_to_cart, began_checkout,
                 closed_index, reached_mask, src_kind, exp, device, landing_page, src_source, src_medium, src_campaign)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23,
                 ?24, ?25, ?26)
             ON CONFLICT (site, sid) DO UPDATE SET aid = excluded.aid, seq = excluded.seq, ts = excluded.ts,
                 final = excluded.final, summary = excluded.summary, started_at = excluded.started_at,
                 duration_ms = excluded.duration_ms, page_views = excluded.page_views, engaged = excluded.engaged,
                 new_visitor = excluded.new_visitor, converted = excluded.converted,
                 cart_abandoned = excluded.cart_abandoned, checkout_abandoned = excluded.checkout_abandoned,
                 added_to_cart = excluded.added_to_cart, began_checkout = excluded.began_checkout,
                 closed_index = excluded.closed_index, reached_mask = excluded.reached_mask,
                 src_kind = excluded.src_kind, exp = excluded.exp, device = excluded.device,
                 landing_page = excluded.landing_page, src_source = excluded.src_source,
                 src_medium = excluded.src_medium, src_campaign = excluded.src_campaign
             WHERE excluded.seq > sessions.seq",
        )?;
        // A repeated order id (another device, a replay) is stored once.
        let mut orders = tx.prepare_cached(
            "INSERT OR IGNORE INTO orders (site, order_id, sid, customer, ts, value, currency)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        let mut tallies = tx.prepare_cached(
            "INSERT INTO ingest_days (site, day, batches, accepted, duplicates, rejected, bots, client_dropped)
             VALUES (?1, date(?2 / 1000, 'unixepoch'), 1, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (site, day) DO UPDATE SET batches = batches + 1, accepted = accepted + excluded.accepted,
                 duplicates = duplicates + excluded.duplicates, rejected = rejected + excluded.rejected,
                 bots = bots + excluded.bots, client_dropped = client_dropped + excluded.client_dropped",
        )?;
        let mut run: Option<PathRun<'_>> = None;
        for job in jobs {
            let mut inserted = Vec::with_capacity(job.events.len());
            for s in &job.events {
                let e = &s.event;
                let c = EventColumns::of(s);
                let n = stmt.execute(params![
                    c.site,
                    c.id,
                    c.r#type,
                    c.ts,
                    c.client_ts,
                    c.received_at,
                    c.sid,
                    c.aid,
                    c.uid,
                    c.seq,
                    c.url,
                    c.referrer,
                    c.title,
                    c.props,
                    c.items,
                    c.value,
                    c.currency,
                    c.order_id,
                    c.exp,
                    c.src,
                    c.ua_family,
                    c.device,
                ])?;
                inserted.push(n == 1);
                if n == 1 && e.t != "session_summary" && !run.as_mut().is_some_and(|r| r.extend(&s.site, e, s.ts)) {
                    if let Some(r) = run.take() {
                        r.write(&tx)?;
                    }
                    run = Some(PathRun::new(&s.site, e, s.ts));
                }
                if n == 1 && e.t == "session_summary" {
                    let is_final = e.props.iter().any(|(k, v)| k == "final" && *v == Value::Bool(true));
                    let c = SummaryColumns::from_props(&e.props, s.ts.saturating_sub(e.ts));
                    summaries.execute(params![
                        s.site,
                        e.sid,
                        e.aid,
                        e.seq as i64,
                        s.ts,
                        is_final,
                        obj_json(&e.props),
                        c.started_at,
                        c.duration_ms,
                        c.page_views,
                        c.engaged,
                        c.new_visitor,
                        c.converted,
                        c.cart_abandoned,
                        c.checkout_abandoned,
                        c.added_to_cart,
                        c.began_checkout,
                        c.closed_index,
                        c.reached_mask,
                        c.src_kind,
                        c.exp,
                        s.device,
                        c.landing_page,
                        c.campaign[0],
                        c.campaign[1],
                        c.campaign[2],
                    ])?;
                }
                if n == 1 && e.t == "purchase" {
                    if let Some(order) = &e.order {
                        let customer = e.uid.as_deref().unwrap_or(&e.aid);
                        let cur = e.cur.as_deref().unwrap_or("XXX");
                        orders.execute(params![s.site, order, e.sid, customer, s.ts, e.value.unwrap_or(0), cur])?;
                    }
                }
            }
            if let Some(t) = &job.tally {
                let accepted = inserted.iter().filter(|new| **new).count() as i64;
                let duplicates = inserted.len() as i64 - accepted;
                // A batch sent again (its answer was lost) repeats its `dropped` too: counted once.
                let resent = duplicates > 0 && accepted == 0;
                let client_dropped = if resent { 0 } else { t.client_dropped };
                tallies.execute(params![
                    t.site,
                    t.received_at,
                    accepted,
                    duplicates,
                    t.rejected,
                    t.bots,
                    client_dropped
                ])?;
            }
            results.push(inserted);
        }
        if let Some(r) = run {
            r.write(&tx)?;
        }
    }
    tx.commit()?;
    Ok(results)
}

/// How often the writer deletes what is older than the retention period.
const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);
/// Rows deleted per table per site in one prune step: each step is a short transaction, and
/// the write groups waiting meanwhile are committed between steps.
const PRUNE_CHUNK: i64 = 5_000;

/// The writer: commits write jobs in groups (group commit); with a retention period
/// (`retain_ms`), also deletes what is older than that at start and every [`PRUNE_EVERY`].
fn writer_loop(mut conn: Connection, rx: mpsc::Receiver<Job>, retain_ms: Option<i64>) {
    let mut backlog = std::collections::VecDeque::new();
    let mut next_prune = std::time::Instant::now();
    loop {
        let now = std::time::Instant::now();
        let job = match (backlog.pop_front(), retain_ms) {
            (Some(job), _) => job,
            // Due: first, even if writes keep arriving (they are committed between its steps).
            (None, Some(keep)) if now >= next_prune => {
                next_prune = now + PRUNE_EVERY;
                Job::Prune(now_ms() - keep, None)
            }
            (None, Some(_)) => match rx.recv_timeout(next_prune - now) {
                Ok(job) => job,
                Err(mpsc::RecvTimeoutError::Timeout) => continue,
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            },
            (None, None) => match rx.recv() {
                Ok(job) => job,
                Err(_) => return,
            },
        };
        match job {
            Job::Write(first) => commit_writes(&mut conn, &rx, &mut backlog, Some(first)),
            Job::Prune(before, reply) => {
                let result = prune(&mut conn, before, |conn| commit_writes(conn, &rx, &mut backlog, None));
                match &result {
                    Err(e) => tracing::error!(error = %e, "pruning old data failed"),
                    Ok(0) => {}
                    Ok(n) => tracing::info!(rows = n, "deleted data older than the retention period"),
                }
                if let Some(reply) = reply {
                    let _ = reply.send(result);
                }
            }
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Commits `first` and the write jobs waiting behind it as one group; a job of another kind met
/// on the way goes to the `backlog`, after the group.
fn commit_writes(
    conn: &mut Connection,
    rx: &mpsc::Receiver<Job>,
    backlog: &mut std::collections::VecDeque<Job>,
    first: Option<WriteJob>,
) {
    const MAX_GROUP: usize = 64;
    let mut jobs: Vec<WriteJob> = first.into_iter().collect();
    while jobs.len() < MAX_GROUP {
        match rx.try_recv() {
            Ok(Job::Write(job)) => jobs.push(job),
            Ok(other) => {
                backlog.push_back(other);
                break;
            }
            Err(_) => break,
        }
    }
    if jobs.is_empty() {
        return;
    }
    match write_group(conn, &jobs) {
        Ok(results) => {
            for (job, r) in jobs.into_iter().zip(results) {
                let _ = job.reply.send(Ok(r));
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "group commit failed");
            for job in jobs {
                let _ = job.reply.send(Err(StoreError(e.0.clone())));
            }
        }
    }
}

/// Deletes every event, session (with its path), order and delivery count from before `before`
/// (epoch ms; a delivery count by its UTC day), in steps of at most [`PRUNE_CHUNK`] rows per
/// table and site, calling `between` after each step (the writer commits the writes waiting).
/// The rows deleted.
fn prune(conn: &mut Connection, before: i64, mut between: impl FnMut(&mut Connection)) -> Result<u64, StoreError> {
    // Each site once, by seeks on the events' primary key rather than a scan.
    let sites: Vec<String> = conn
        .prepare(
            "WITH RECURSIVE s(site) AS (SELECT MIN(site) FROM events
                 UNION ALL SELECT (SELECT MIN(site) FROM events WHERE site > s.site) FROM s WHERE s.site IS NOT NULL)
             SELECT site FROM s WHERE site IS NOT NULL
             UNION SELECT DISTINCT site FROM ingest_days",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    const STEPS: [&str; 4] = [
        "DELETE FROM events WHERE site = ?1 AND id IN
             (SELECT id FROM events WHERE site = ?1 AND ts < ?2 LIMIT ?3)",
        "DELETE FROM sessions WHERE site = ?1 AND sid IN
             (SELECT sid FROM sessions WHERE site = ?1 AND started_at < ?2 LIMIT ?3)",
        "DELETE FROM session_paths WHERE site = ?1 AND sid IN
             (SELECT sid FROM session_paths WHERE site = ?1 AND last_ts < ?2 LIMIT ?3)",
        "DELETE FROM orders WHERE site = ?1 AND order_id IN
             (SELECT order_id FROM orders WHERE site = ?1 AND ts < ?2 LIMIT ?3)",
    ];
    let mut total = 0u64;
    for site in &sites {
        // A row a site and day: at once.
        total += conn
            .prepare_cached("DELETE FROM ingest_days WHERE site = ?1 AND day < date(?2 / 1000, 'unixepoch')")?
            .execute(params![site, before])? as u64;
        loop {
            let tx = conn.transaction()?;
            let mut step = 0;
            for sql in STEPS {
                step += tx.prepare_cached(sql)?.execute(params![site, before, PRUNE_CHUNK])?;
            }
            tx.commit()?;
            total += step as u64;
            between(conn);
            if step == 0 {
                break;
            }
        }
    }
    Ok(total)
}

fn row_to_event(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredEvent> {
    Ok(EventColumns {
        site: row.get(0)?,
        id: row.get(1)?,
        r#type: row.get(2)?,
        ts: row.get(3)?,
        client_ts: row.get(4)?,
        received_at: row.get(5)?,
        sid: row.get(6)?,
        aid: row.get(7)?,
        uid: row.get(8)?,
        seq: row.get(9)?,
        url: row.get(10)?,
        referrer: row.get(11)?,
        title: row.get(12)?,
        props: row.get(13)?,
        items: row.get(14)?,
        value: row.get(15)?,
        currency: row.get(16)?,
        order_id: row.get(17)?,
        exp: row.get(18)?,
        src: row.get(19)?,
        ua_family: row.get(20)?,
        device: row.get(21)?,
    }
    .into_stored())
}

/// A stored event's columns, as every store keeps them (named as the columns are): the wire
/// event's fields, its props as a JSON object, its items, experiments and source in wire form,
/// and what the collector added.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EventColumns {
    /// Site id.
    pub site: String,
    /// Event id.
    pub id: String,
    /// Event name.
    pub r#type: String,
    /// Skew-corrected time, epoch ms.
    pub ts: i64,
    /// The client's time, epoch ms.
    pub client_ts: i64,
    /// Server receive time, epoch ms.
    pub received_at: i64,
    /// Session id.
    pub sid: String,
    /// Anonymous id.
    pub aid: String,
    /// User id.
    pub uid: Option<String>,
    /// Sequence number in the session.
    pub seq: i64,
    /// Page address.
    pub url: String,
    /// Referrer.
    pub referrer: Option<String>,
    /// Page title.
    pub title: Option<String>,
    /// Properties, a JSON object (none when empty).
    pub props: Option<String>,
    /// Items in wire form (none when empty).
    pub items: Option<String>,
    /// Value, minor units.
    pub value: Option<i64>,
    /// ISO 4217 currency.
    pub currency: Option<String>,
    /// Order id.
    pub order_id: Option<String>,
    /// Experiments in wire form (none when empty).
    pub exp: Option<String>,
    /// Traffic source in wire form.
    pub src: Option<String>,
    /// Browser family.
    pub ua_family: Option<String>,
    /// Device class.
    pub device: Option<String>,
}

impl EventColumns {
    /// The columns of a stored event.
    pub fn of(s: &StoredEvent) -> EventColumns {
        let e = &s.event;
        EventColumns {
            site: s.site.clone(),
            id: e.id.clone(),
            r#type: e.t.clone(),
            ts: s.ts,
            client_ts: e.ts,
            received_at: s.received_at,
            sid: e.sid.clone(),
            aid: e.aid.clone(),
            uid: e.uid.clone(),
            seq: e.seq as i64,
            url: e.url.clone(),
            referrer: e.referrer.clone(),
            title: e.title.clone(),
            props: obj_json(&e.props),
            items: if e.items.is_empty() { None } else { part_json(e, "items") },
            value: e.value,
            currency: e.cur.clone(),
            order_id: e.order.clone(),
            exp: if e.exp.is_empty() { None } else { part_json(e, "exp") },
            src: e.src.as_ref().and_then(|_| part_json(e, "src")),
            ua_family: Some(s.ua_family.to_owned()),
            device: Some(s.device.to_owned()),
        }
    }

    /// The stored event back (items, experiments and source through the wire decoder; an
    /// unknown browser family or device is `Other`).
    pub fn into_stored(self) -> StoredEvent {
        let parse = |s: Option<String>| s.and_then(|s| json::parse(&s).ok());
        let props = parse(self.props).and_then(|v| v.as_object().map(<[_]>::to_vec)).unwrap_or_default();
        let mut event = Event {
            id: self.id,
            t: self.r#type,
            ts: self.client_ts,
            sid: self.sid,
            aid: self.aid,
            uid: self.uid,
            seq: self.seq as u64,
            url: self.url,
            referrer: self.referrer,
            title: self.title,
            props,
            value: self.value,
            cur: self.currency,
            order: self.order_id,
            ..Event::default()
        };
        if let Some(v) = parse(self.items) {
            event.items = wire::decode_items(&v, "items").unwrap_or_default();
        }
        if let Some(v) = parse(self.exp) {
            event.exp = wire::decode_exp(&v, "exp").unwrap_or_default();
        }
        if let Some(v) = parse(self.src) {
            event.src = wire::decode_source(&v, "src").ok();
        }
        let intern = |s: Option<String>, options: &[&'static str]| -> &'static str {
            s.and_then(|s| options.iter().find(|o| **o == s).copied()).unwrap_or("Other")
        };
        StoredEvent {
            site: self.site,
            event,
            ts: self.ts,
            received_at: self.received_at,
            ua_family: intern(
                self.ua_family,
                &["Chrome", "Edge", "Firefox", "Safari", "Opera", "Samsung Internet", "Bot", "Other"],
            ),
            device: intern(self.device, &["desktop", "mobile", "tablet", "bot"]),
        }
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and starts the writer thread; keeps
    /// everything.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_retaining(path, None)
    }

    /// Opens the database at `path` as [`SqliteStore::open`] does; with `retain_days`, the
    /// writer deletes the events, sessions, orders and delivery counts older than that many
    /// days, at start and every hour, in short steps between write groups.
    pub fn open_retaining(path: &Path, retain_days: Option<u32>) -> Result<SqliteStore, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError(format!("cannot create {}: {e}", dir.display())))?;
        }
        let mut writer = open(path)?;
        migrate(&mut writer)?;
        let reader = open(path)?;
        let (tx, rx) = mpsc::channel();
        let handle = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer_loop(writer, rx, retain_days.map(|d| i64::from(d) * 86_400_000)))
            .map_err(|e| StoreError(e.to_string()))?;
        Ok(SqliteStore {
            tx: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(handle)),
            reader: std::sync::Arc::new(Mutex::new(reader)),
        })
    }
}

impl SqliteStore {
    /// Runs `f` on the read connection on the blocking pool.
    fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> BoxFuture<'_, Result<T, StoreError>> {
        let reader = self.reader.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let conn = reader.lock().map_err(|_| StoreError("reader poisoned".into()))?;
                f(&conn)
            })
            .await
            .map_err(|e| StoreError(e.to_string()))?
        })
    }

    /// Hands events (and a batch's tally) to the writer; resolves once they are committed.
    fn write(&self, events: Vec<StoredEvent>, tally: Option<Tally>) -> BoxFuture<'_, Result<Vec<bool>, StoreError>> {
        Box::pin(async move {
            if events.is_empty() && tally.is_none() {
                return Ok(Vec::new());
            }
            let (reply, rx) = oneshot::channel();
            self.send(Job::Write(WriteJob { events, tally, reply }))?;
            rx.await.map_err(|_| StoreError("writer stopped".into()))?
        })
    }

    /// Hands a job to the writer thread.
    fn send(&self, job: Job) -> Result<(), StoreError> {
        let sent = match self.tx.lock() {
            Ok(guard) => guard.as_ref().is_some_and(|tx| tx.send(job).is_ok()),
            Err(_) => false,
        };
        if sent {
            Ok(())
        } else {
            Err(StoreError("writer stopped".into()))
        }
    }

    /// Deletes, now, everything from before `before` (epoch ms) that the retention period would
    /// (see [`SqliteStore::open_retaining`]); the rows deleted.
    pub fn prune(&self, before: i64) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(async move {
            let (reply, rx) = oneshot::channel();
            self.send(Job::Prune(before, Some(reply)))?;
            rx.await.map_err(|_| StoreError("writer stopped".into()))?
        })
    }
}

impl Store for SqliteStore {
    fn kpis(
        &self,
        site: &str,
        range: query::Range,
        segment: query::Segment,
    ) -> BoxFuture<'_, Result<query::Kpis, StoreError>> {
        let site = site.to_owned();
        self.read(move |c| query::kpis(c, &site, range, segment))
    }

    fn funnel(
        &self,
        site: &str,
        range: query::Range,
        q: query::FunnelQuery,
        segment: query::Segment,
    ) -> BoxFuture<'_, Result<query::Funnel, StoreError>> {
        let site = site.to_owned();
        self.read(move |c| query::funnel(c, &site, range, &q, segment))
    }

    fn landing_pages(
        &self,
        site: &str,
        range: query::Range,
        segment: query::Segment,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<query::PageCount>, StoreError>> {
        let site = site.to_owned();
        self.read(move |c| query::landing_pages(c, &site, range, segment, limit))
    }

    fn live(&self, site: &str, now: i64) -> BoxFuture<'_, Result<query::Live, StoreError>> {
        let site = site.to_owned();
        self.read(move |c| query::live(c, &site, now))
    }

    fn experiments(
        &self,
        site: &str,
        range: query::Range,
        key: Option<String>,
        weights: Option<Vec<f64>>,
        segment: query::Segment,
    ) -> BoxFuture<'_, Result<Vec<query::ExperimentResult>, StoreError>> {
        let site = site.to_owned();
        self.read(move |c| {
            let keys = match key {
                Some(k) => vec![k],
                None => query::experiment_keys(c, &site, range, segment)?,
            };
            keys.iter().map(|k| query::experiment(c, &site, range, k, weights.as_deref(), segment)).collect()
        })
    }

    fn insert(&self, events: Vec<StoredEvent>) -> BoxFuture<'_, Result<Vec<bool>, StoreError>> {
        self.write(events, None)
    }

    fn insert_batch(&self, events: Vec<StoredEvent>, tally: Tally) -> BoxFuture<'_, Result<Vec<bool>, StoreError>> {
        self.write(events, Some(tally))
    }

    fn campaigns(
        &self,
        site: &str,
        range: query::Range,
        segment: query::Segment,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<query::CampaignCount>, StoreError>> {
        let site = site.to_owned();
        self.read(move |c| query::campaigns(c, &site, range, segment, limit))
    }

    fn daily(
        &self,
        site: &str,
        range: query::Range,
        segment: query::Segment,
    ) -> BoxFuture<'_, Result<Vec<query::DayFigures>, StoreError>> {
        let site = site.to_owned();
        self.read(move |c| query::daily(c, &site, range, segment))
    }

    fn ingest(&self, site: &str, range: query::Range) -> BoxFuture<'_, Result<query::Ingest, StoreError>> {
        let site = site.to_owned();
        self.read(move |c| query::ingest(c, &site, range))
    }

    fn recent_events(&self, site: &str, limit: usize) -> BoxFuture<'_, Result<Vec<StoredEvent>, StoreError>> {
        let site = site.to_owned();
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT site, id, type, ts, client_ts, received_at, sid, aid, uid, seq, url, referrer, title,
                        props, items, value, currency, order_id, exp, src, ua_family, device
                 FROM events WHERE site = ?1 ORDER BY received_at DESC, ts DESC LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![site, limit as i64], row_to_event)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn sessions(&self, site: &str, limit: usize) -> BoxFuture<'_, Result<Vec<SessionRow>, StoreError>> {
        let site = site.to_owned();
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT sid, aid, seq, ts, final, summary FROM sessions WHERE site = ?1 ORDER BY ts DESC LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![site, limit as i64], |r| {
                Ok(SessionRow {
                    sid: r.get(0)?,
                    aid: r.get(1)?,
                    seq: r.get::<_, i64>(2)? as u64,
                    ts: r.get(3)?,
                    final_: r.get(4)?,
                    summary: r.get(5)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            // Dropping the sender lets the writer finish the queued jobs and exit.
            if let Ok(mut tx) = self.tx.lock() {
                tx.take();
            }
            let handle = self.writer.lock().ok().and_then(|mut h| h.take());
            if let Some(h) = handle {
                let _ = tokio::task::spawn_blocking(move || h.join()).await;
            }
        })
    }
}
