//! ClickHouse storage over its HTTP interface: the store for more than one collector
//! (DESIGN.md §13, ARCHITECTURE.md "Beyond one machine").
//!
//! Collectors keep no state of their own here, so any number of them can run behind a load
//! balancer and write to one ClickHouse. Each table is a `ReplacingMergeTree` keyed as SQLite's
//! primary keys are: events by (site, event id), sessions by (site, session id) keeping the
//! summary with the highest `seq`, orders by (site, order id) keeping the first received. A
//! repeated event (a retry, a tab's queue taken over, two collectors given the same batch) is
//! therefore stored at most once as far as any read can tell, since every read uses `FINAL`.
//! Before inserting, the store asks which of the batch's ids are already stored, to answer which
//! events were duplicates and to count them; two collectors racing on the same event may both
//! answer "new", and the table still keeps it once. Delivery counts are a `SummingMergeTree`.
//!
//! Inserts use ClickHouse's asynchronous inserts and wait for them (`async_insert=1,
//! wait_for_async_insert=1`): the server gathers many small batches into one part, and a batch
//! is answered only once its rows are written. A batch's rows go to the orders and sessions
//! tables, then to events, then to the delivery counts, so a failure part way leaves its events
//! unstored and the retry writes everything again (the first three tables replace their rows;
//! the delivery counts of a failed attempt are counted again, the only figure that can be off).
//!
//! Retention (`--retention-days`) is each table's `TTL`, applied by ClickHouse as it merges.
//! `https://` goes through rustls with the Mozilla roots and, optionally, a private CA's.
//! Queries are the SQLite store's, in ClickHouse's dialect; the arithmetic on their rows is
//! shared ([`query`]).

use std::collections::HashSet;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value as Json};

use crate::query::{self, Money, Range, Segment};
use crate::store::{BoxFuture, EventColumns, SessionRow, Store, StoreError, StoredEvent, SummaryColumns, Tally};

/// How long one request to ClickHouse may take before the store gives up (the API then answers
/// 503 and the browser retries).
const TIMEOUT: Duration = Duration::from_secs(30);

/// Where ClickHouse is and who the collector is to it.
#[derive(Debug, Clone)]
pub struct ClickHouseConfig {
    /// Base address of the HTTP interface: `http://host:8123`, or `https://host:8443`.
    pub url: String,
    /// PEM file of the certificate authorities to trust for `https://`, besides the Mozilla
    /// roots built in (for a ClickHouse with a private CA's certificate).
    pub ca_file: Option<std::path::PathBuf>,
    /// Database of the collector's tables (created if missing).
    pub database: String,
    /// User (`X-ClickHouse-User`); ClickHouse's `default` when absent.
    pub user: Option<String>,
    /// Password (`X-ClickHouse-Key`).
    pub password: Option<String>,
    /// Days of data kept (each table's TTL); 0 keeps everything.
    pub retention_days: u32,
}

/// A store in ClickHouse.
pub struct ClickHouseStore {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    /// `http://host:port` or `https://host:port`, without a trailing slash.
    base: String,
    user: Option<String>,
    password: Option<String>,
    /// The database, checked to be a plain name (it is written into the SQL).
    db: String,
    /// Days of data kept; 0 keeps everything.
    retention_days: u32,
}

/// The tables, each with the time its rows are kept by (for the TTL).
const TABLES: [(&str, &str); 4] = [
    ("events", "toDateTime(intDiv(ts, 1000))"),
    ("sessions", "toDateTime(intDiv(started_at, 1000))"),
    ("orders", "toDateTime(intDiv(ts, 1000))"),
    ("ingest_days", "day"),
];

/// The query parameters of one query: `(name, value)` for `{name:Type}` placeholders, values in
/// ClickHouse's text form.
type Params = Vec<(&'static str, String)>;

impl ClickHouseStore {
    /// Connects to ClickHouse, creates the database and tables if missing and sets their TTL.
    pub async fn open(config: ClickHouseConfig) -> Result<ClickHouseStore, StoreError> {
        let base = config.url.trim_end_matches('/').to_owned();
        if !base.starts_with("http://") && !base.starts_with("https://") {
            return Err(StoreError(format!("ClickHouse address {base:?}: must start with http:// or https://")));
        }
        let name_ok = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !name_ok(&config.database) {
            return Err(StoreError(format!("ClickHouse database {:?}: letters, digits and _ only", config.database)));
        }
        // Small requests and answers on kept-alive connections: without TCP_NODELAY, a request
        // written in two parts waits for the server's delayed ACK.
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        http.enforce_http(false);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls_config(config.ca_file.as_deref())?)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        // Idle connections are closed before ClickHouse's own keep-alive timeout (10 s by
        // default) can close them under a request.
        let client = Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(5)).build(connector);
        let store = ClickHouseStore {
            client,
            base,
            user: config.user,
            password: config.password,
            db: config.database,
            retention_days: config.retention_days,
        };
        store.migrate().await?;
        Ok(store)
    }

    /// The database of the collector's tables.
    pub fn database(&self) -> &str {
        &self.db
    }

    /// Creates what is missing and sets (or removes) the tables' TTL.
    async fn migrate(&self) -> Result<(), StoreError> {
        let (db, days) = (&self.db, self.retention_days);
        self.exec(&format!("CREATE DATABASE IF NOT EXISTS {db}"), vec![]).await?;
        for sql in [
            format!(
                "CREATE TABLE IF NOT EXISTS {db}.events (
                    site String, id String, type LowCardinality(String), ts Int64, client_ts Int64,
                    received_at Int64, sid String, aid String, uid Nullable(String), seq Int64, url String,
                    referrer Nullable(String), title Nullable(String), props Nullable(String),
                    items Nullable(String), value Nullable(Int64), currency Nullable(String),
                    order_id Nullable(String), exp Nullable(String), src Nullable(String),
                    ua_family Nullable(String), device Nullable(String),
                    INDEX events_ts ts TYPE minmax GRANULARITY 1,
                    INDEX events_sid sid TYPE bloom_filter GRANULARITY 4
                ) ENGINE = ReplacingMergeTree ORDER BY (site, id)"
            ),
            // `seq` is the version: a session keeps its latest summary, whatever order they came in.
            format!(
                "CREATE TABLE IF NOT EXISTS {db}.sessions (
                    site String, sid String, aid String, seq UInt64, ts Int64, final UInt8, summary String,
                    started_at Int64, duration_ms Int64, page_views Int64, engaged UInt8, new_visitor UInt8,
                    converted UInt8, cart_abandoned UInt8, checkout_abandoned UInt8, added_to_cart UInt8,
                    began_checkout UInt8, closed_index Int64, reached_mask Int64,
                    src_kind LowCardinality(String), exp String, device LowCardinality(String),
                    landing_page String, src_source String, src_medium String, src_campaign String
                ) ENGINE = ReplacingMergeTree(seq) ORDER BY (site, sid)"
            ),
            // `keep` is the version, higher for an earlier receipt: an order id sent again (another
            // device, a replay) keeps its first row, as SQLite's `INSERT OR IGNORE` does.
            format!(
                "CREATE TABLE IF NOT EXISTS {db}.orders (
                    site String, order_id String, sid String, customer String, ts Int64, value Int64,
                    currency LowCardinality(String), keep UInt64
                ) ENGINE = ReplacingMergeTree(keep) ORDER BY (site, order_id)"
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {db}.ingest_days (
                    site String, day Date, batches Int64, accepted Int64, duplicates Int64, rejected Int64,
                    bots Int64, client_dropped Int64
                ) ENGINE = SummingMergeTree ORDER BY (site, day)"
            ),
        ] {
            self.exec(&sql, vec![]).await?;
        }
        for (table, kept_by) in TABLES {
            if days > 0 {
                self.exec(&format!("ALTER TABLE {db}.{table} MODIFY TTL {kept_by} + toIntervalDay({days})"), vec![])
                    .await?;
            } else if let Err(e) = self.exec(&format!("ALTER TABLE {db}.{table} REMOVE TTL"), vec![]).await {
                // A table that never had one says so; anything else is a real failure.
                if !e.0.contains("doesn't have any table TTL") {
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Deletes, now, what the retention period has expired, and waits for it (ClickHouse does
    /// the same on its own as it merges parts, within hours: its `merge_with_ttl_timeout`).
    /// Nothing without a retention period.
    pub async fn apply_retention(&self) -> Result<(), StoreError> {
        if self.retention_days == 0 {
            return Ok(());
        }
        for (table, _) in TABLES {
            self.exec(&format!("ALTER TABLE {}.{table} MATERIALIZE TTL SETTINGS mutations_sync = 1", self.db), vec![])
                .await?;
        }
        Ok(())
    }

    /// Sends `sql` (with the query parameters) and returns the answer's text. With `data`, `sql`
    /// goes in the address and `data` is the body (an `INSERT ... FORMAT`'s rows).
    async fn request(&self, sql: &str, params: Params, data: Option<String>) -> Result<String, StoreError> {
        let mut url = format!("{}/?", self.base);
        let body = match data {
            Some(rows) => {
                url.push_str("query=");
                url.push_str(&percent_encode(sql));
                url.push('&');
                rows
            }
            None => sql.to_owned(),
        };
        for (name, value) in &params {
            url.push_str("param_");
            url.push_str(name);
            url.push('=');
            url.push_str(&percent_encode(value));
            url.push('&');
        }
        url.pop();
        let mut req = hyper::Request::post(url);
        if let Some(user) = &self.user {
            req = req.header("X-ClickHouse-User", user);
        }
        if let Some(password) = &self.password {
            req = req.header("X-ClickHouse-Key", password);
        }
        let req = req.body(Full::new(Bytes::from(body))).map_err(|e| StoreError(format!("ClickHouse request: {e}")))?;
        let answer = async {
            let res = self.client.request(req).await.map_err(|e| StoreError(format!("ClickHouse: {}", causes(&e))))?;
            let status = res.status();
            let bytes =
                res.into_body().collect().await.map_err(|e| StoreError(format!("ClickHouse answer: {e}")))?.to_bytes();
            let text = String::from_utf8_lossy(&bytes).into_owned();
            if status.is_success() {
                Ok(text)
            } else {
                Err(StoreError(format!("ClickHouse answered {status}: {}", text.trim())))
            }
        };
        tokio::time::timeout(TIMEOUT, answer)
            .await
            .map_err(|_| StoreError(format!("ClickHouse did not answer within {} s", TIMEOUT.as_secs())))?
    }

    /// Runs a statement that returns nothing.
    async fn exec(&self, sql: &str, params: Params) -> Result<(), StoreError> {
        self.request(sql, params, None).await.map(drop)
    }

    /// Inserts rows (JSON objects) into `table`, waiting until they are written.
    async fn insert_rows(&self, table: &str, rows: &[Json]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut data = String::new();
        for row in rows {
            data.push_str(&row.to_string());
            data.push('\n');
        }
        let sql = format!(
            "INSERT INTO {}.{table} SETTINGS async_insert = 1, wait_for_async_insert = 1 FORMAT JSONEachRow",
            self.db
        );
        self.request(&sql, vec![], Some(data)).await.map(drop)
    }

    /// Runs a query and returns its rows, each a JSON array of its columns.
    async fn rows(&self, sql: &str, params: Params) -> Result<Vec<Vec<Json>>, StoreError> {
        let text = self.request(&format!("{sql}\nFORMAT JSONCompactEachRow"), params, None).await?;
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| match serde_json::from_str(l) {
                Ok(Json::Array(row)) => Ok(row),
                _ => Err(StoreError(format!("ClickHouse answered a row that is not a JSON array: {l}"))),
            })
            .collect()
    }

    /// The ids of `site` among `ids` that are stored already.
    async fn stored_ids(&self, site: &str, ids: &[&str]) -> Result<HashSet<String>, StoreError> {
        let rows = self
            .rows(
                &format!(
                    "SELECT id FROM {}.events WHERE site = {{site:String}} AND id IN {{ids:Array(String)}}",
                    self.db
                ),
                vec![("site", escape(site)), ("ids", array(ids))],
            )
            .await?;
        Ok(rows.iter().map(|r| text(r, 0)).collect())
    }

    /// Stores events (and a batch's delivery counts); see the module's description.
    async fn write(&self, events: Vec<StoredEvent>, tally: Option<Tally>) -> Result<Vec<bool>, StoreError> {
        let mut known: HashSet<(String, String)> = HashSet::new();
        let mut sites: Vec<&str> = events.iter().map(|e| e.site.as_str()).collect();
        sites.sort_unstable();
        sites.dedup();
        for site in sites {
            let ids: Vec<&str> = events.iter().filter(|e| e.site == site).map(|e| e.event.id.as_str()).collect();
            for chunk in ids.chunks(500) {
                for id in self.stored_ids(site, chunk).await? {
                    known.insert((site.to_owned(), id));
                }
            }
        }
        let (mut event_rows, mut session_rows, mut order_rows) = (Vec::new(), Vec::new(), Vec::new());
        let mut inserted = Vec::with_capacity(events.len());
        let mut orders_seen: HashSet<(&str, &str)> = HashSet::new();
        for s in &events {
            let new = known.insert((s.site.clone(), s.event.id.clone()));
            inserted.push(new);
            if !new {
                continue;
            }
            let e = &s.event;
            let columns = EventColumns::of(s);
            event_rows.push(serde_json::to_value(&columns).map_err(|e| StoreError(e.to_string()))?);
            if e.t == "session_summary" {
                let c = SummaryColumns::from_props(&e.props, s.ts.saturating_sub(e.ts));
                let is_final =
                    e.props.iter().any(|(k, v)| k == "final" && *v == funnelcake_core::json::Value::Bool(true));
                session_rows.push(json!({
                    "site": s.site, "sid": e.sid, "aid": e.aid, "seq": e.seq, "ts": s.ts, "final": u8::from(is_final),
                    "summary": columns.props.as_deref().unwrap_or("{}"),
                    "started_at": c.started_at, "duration_ms": c.duration_ms, "page_views": c.page_views,
                    "engaged": u8::from(c.engaged), "new_visitor": u8::from(c.new_visitor),
                    "converted": u8::from(c.converted), "cart_abandoned": u8::from(c.cart_abandoned),
                    "checkout_abandoned": u8::from(c.checkout_abandoned), "added_to_cart": u8::from(c.added_to_cart),
                    "began_checkout": u8::from(c.began_checkout), "closed_index": c.closed_index,
                    "reached_mask": c.reached_mask, "src_kind": c.src_kind, "exp": c.exp.unwrap_or_default(),
                    "device": s.device, "landing_page": c.landing_page, "src_source": c.campaign[0],
                    "src_medium": c.campaign[1], "src_campaign": c.campaign[2],
                }));
            }
            // An order id twice in one write keeps its first row, as across writes.
            if let (true, Some(order)) = (e.t == "purchase", &e.order) {
                if !orders_seen.insert((s.site.as_str(), order.as_str())) {
                    continue;
                }
                order_rows.push(json!({
                    "site": s.site, "order_id": order, "sid": e.sid, "customer": e.uid.as_deref().unwrap_or(&e.aid),
                    "ts": s.ts, "value": e.value.unwrap_or(0), "currency": e.cur.as_deref().unwrap_or("XXX"),
                    "keep": u64::try_from(i64::MAX - s.received_at.max(0)).unwrap_or(0),
                }));
            }
        }
        // Orders and sessions together (each insert waits for ClickHouse's asynchronous-insert
        // flush, so one after the other would wait twice), then the events.
        futures_util::future::try_join(
            self.insert_rows("orders", &order_rows),
            self.insert_rows("sessions", &session_rows),
        )
        .await?;
        self.insert_rows("events", &event_rows).await?;
        if let Some(t) = tally {
            let accepted = inserted.iter().filter(|new| **new).count() as i64;
            let duplicates = inserted.len() as i64 - accepted;
            // A batch sent again (its answer was lost) repeats its `dropped` too: counted once.
            let client_dropped = if duplicates > 0 && accepted == 0 { 0 } else { t.client_dropped };
            self.exec(
                &format!(
                    "INSERT INTO {}.ingest_days SELECT {{site:String}}, {}, 1, {{accepted:Int64}}, {{duplicates:Int64}},
                         {{rejected:Int64}}, {{bots:Int64}}, {{dropped:Int64}}",
                    self.db,
                    utc_day("{at:Int64}")
                ),
                vec![
                    ("site", escape(&t.site)),
                    ("at", t.received_at.to_string()),
                    ("accepted", accepted.to_string()),
                    ("duplicates", duplicates.to_string()),
                    ("rejected", t.rejected.to_string()),
                    ("bots", t.bots.to_string()),
                    ("dropped", client_dropped.to_string()),
                ],
            )
            .await?;
        }
        Ok(inserted)
    }

    /// `FROM` for the sessions of a range and segment (`WHERE` included, more conditions may
    /// follow); parameters `site`, `from`, `to`.
    fn sessions_in(&self, segment: Segment) -> String {
        format!(
            "{}.sessions FINAL WHERE site = {{site:String}} AND started_at >= {{from:Int64}} AND started_at < {{to:Int64}}{}",
            self.db,
            segment.sql("")
        )
    }

    /// What the order queries read `FROM`: the orders, or those of a segment's sessions.
    fn orders_of(&self, segment: Segment) -> String {
        if segment == Segment::default() {
            return format!("{}.orders FINAL", self.db);
        }
        format!(
            "(SELECT * FROM {db}.orders FINAL WHERE site = {{site:String}} AND sid IN
                 (SELECT sid FROM {db}.sessions FINAL WHERE site = {{site:String}}{seg}))",
            db = self.db,
            seg = segment.sql("")
        )
    }

    async fn kpis(&self, site: &str, range: Range, segment: Segment) -> Result<query::Kpis, StoreError> {
        let p = || range_params(site, range);
        let sessions = self.sessions_in(segment);
        let totals = self
            .rows(
                &format!(
                    "SELECT count(), uniqExact(aid), uniqExactIf(aid, new_visitor = 1), sum(page_views),
                         sum(duration_ms), sum(engaged), sum(converted), sum(added_to_cart),
                         countIf(added_to_cart = 1 AND converted = 0), sum(began_checkout),
                         countIf(began_checkout = 1 AND converted = 0) FROM {sessions}"
                ),
                p(),
            )
            .await?;
        let mut parts = query::KpiParts::default();
        if let Some(row) = totals.first() {
            for (i, t) in parts.totals.iter_mut().enumerate() {
                *t = int(row, i);
            }
        }
        for r in self
            .rows(&format!("SELECT src_kind, device, count(), sum(converted) FROM {sessions} GROUP BY 1, 2"), p())
            .await?
        {
            parts.count(&text(&r, 0), &text(&r, 1), int(&r, 2), int(&r, 3));
        }
        let orders = self.orders_of(segment);
        let in_range = "site = {site:String} AND ts >= {from:Int64} AND ts < {to:Int64}";
        parts.currencies = self
            .rows(
                &format!(
                    "SELECT currency, count(), sum(value), uniqExact(customer) FROM {orders} WHERE {in_range}
                     GROUP BY currency ORDER BY currency"
                ),
                p(),
            )
            .await?
            .iter()
            .map(|r| (text(r, 0), int(r, 1), int(r, 2), int(r, 3)))
            .collect();
        // A segment's customers are those with an order in the range from its sessions; whether one
        // is new or repeat is read from all their orders.
        let customers = self
            .rows(
                &format!(
                    "SELECT countIf(first >= {{from:Int64}}), count(), countIf(n >= 2) FROM
                         (SELECT customer, min(ts) AS first, count() AS n FROM {db}.orders FINAL
                          WHERE site = {{site:String}} AND ts < {{to:Int64}}
                              AND customer IN (SELECT customer FROM {orders} WHERE {in_range})
                          GROUP BY customer)",
                    db = self.db
                ),
                p(),
            )
            .await?;
        if let Some(r) = customers.first() {
            parts.customers = (int(r, 0), int(r, 1), int(r, 2));
        }
        parts.orders_per_day = self
            .rows(
                &format!(
                    "SELECT {} AS day, count() FROM {orders} WHERE {in_range} GROUP BY day ORDER BY day",
                    utc_day("ts")
                ),
                p(),
            )
            .await?
            .iter()
            .map(|r| query::DayCount { day: text(r, 0), orders: int(r, 1) })
            .collect();
        Ok(parts.finish())
    }

    async fn funnel(
        &self,
        site: &str,
        range: Range,
        q: query::FunnelQuery,
        segment: Segment,
    ) -> Result<query::Funnel, StoreError> {
        let mut params = range_params(site, range);
        let mut sessions = self.sessions_in(segment);
        if let Some((key, idx)) = &q.variant {
            sessions.push_str(" AND JSONHas(exp, {vkey:String}) AND JSONExtractInt(exp, {vkey:String}) = {vidx:Int64}");
            params.push(("vkey", escape(key)));
            params.push(("vidx", idx.to_string()));
        }
        if q.steps.is_empty() {
            let n = query::DEFAULT_STEPS.len();
            let mut sql = String::from("SELECT count()");
            for i in 0..n {
                sql.push_str(&format!(
                    ", countIf(closed_index >= {i}), sum(bitAnd(bitShiftRight(reached_mask, {i}), 1))"
                ));
            }
            sql.push_str(" FROM ");
            sql.push_str(&sessions);
            let rows = self.rows(&sql, params).await?;
            let row = rows.first().cloned().unwrap_or_default();
            let closed = (0..n).map(|i| int(&row, 1 + 2 * i)).collect();
            let open = (0..n).map(|i| int(&row, 2 + 2 * i)).collect();
            let names = query::DEFAULT_STEPS.iter().map(|s| (*s).to_owned()).collect();
            return Ok(query::finish(names, closed, open, int(&row, 0)));
        }
        // Custom steps, matched in ClickHouse with the SDK's rule: each session's event names in
        // (ts, seq) order are folded through the steps greedily (`arrayFold`: the next step is
        // reached by the first event of its name after the one before), so only one row comes
        // back. (`windowFunnel` was tried: it counts a repeated step, `a, a`, wrong.) The open
        // funnel is whether each step's event occurs at all. `tests/clickhouse.rs` checks both
        // against the SQLite store's matcher on random sessions.
        let steps: Vec<String> = q.steps.iter().map(|s| funnelcake_core::event::canonical_name(s).to_owned()).collect();
        if steps.len() > STEP_PARAMS.len() {
            return Err(StoreError(format!("a funnel has at most {} steps, not {}", STEP_PARAMS.len(), steps.len())));
        }
        let names: Vec<&str> = steps.iter().map(String::as_str).collect();
        params.push(("steps", array(&names)));
        let mut reached = String::new();
        let mut counts = String::new();
        for (i, step) in steps.iter().enumerate() {
            let p = STEP_PARAMS[i];
            params.push((p, escape(step)));
            reached.push_str(&format!(", max(type = {{{p}:String}}) AS r{i}"));
            counts.push_str(&format!(", countIf(level > {i}), sum(r{i})"));
        }
        let sql = format!(
            "SELECT (SELECT count() FROM {sessions}){counts} FROM
                 (SELECT arrayFold((done, name) -> if(done < length({{steps:Array(String)}})
                              AND name = {{steps:Array(String)}}[done + 1], done + 1, done),
                          arrayMap(e -> e.3, arraySort(e -> (e.1, e.2), groupArray((ts, seq, type)))),
                          toUInt64(0)) AS level
                      {reached}
                  FROM {db}.events FINAL
                  WHERE site = {{site:String}} AND type != 'session_summary' AND sid IN (SELECT sid FROM {sessions})
                  GROUP BY sid)",
            db = self.db
        );
        let rows = self.rows(&sql, params).await?;
        let row = rows.first().cloned().unwrap_or_default();
        let closed = (0..steps.len()).map(|i| int(&row, 1 + 2 * i)).collect();
        let open = (0..steps.len()).map(|i| int(&row, 2 + 2 * i)).collect();
        Ok(query::finish(q.steps.clone(), closed, open, int(&row, 0)))
    }

    async fn experiments(
        &self,
        site: &str,
        range: Range,
        key: Option<String>,
        weights: Option<Vec<f64>>,
        segment: Segment,
    ) -> Result<Vec<query::ExperimentResult>, StoreError> {
        let sessions = self.sessions_in(segment);
        let keys = match key {
            Some(k) => vec![k],
            None => self
                .rows(
                    &format!(
                        "SELECT DISTINCT arrayJoin(JSONExtractKeys(exp)) AS k FROM {sessions} AND exp != '' ORDER BY k"
                    ),
                    range_params(site, range),
                )
                .await?
                .iter()
                .map(|r| text(r, 0))
                .collect(),
        };
        let mut results = Vec::with_capacity(keys.len());
        for key in keys {
            let mut params = range_params(site, range);
            params.push(("key", escape(&key)));
            let mut counts = Vec::new();
            for r in self
                .rows(
                    &format!(
                        "SELECT JSONExtractInt(exp, {{key:String}}) AS v, count(), sum(converted) FROM {sessions}
                         AND JSONHas(exp, {{key:String}}) GROUP BY v ORDER BY v"
                    ),
                    params.clone(),
                )
                .await?
            {
                query::count_variation(&mut counts, int(&r, 0), int(&r, 1), int(&r, 2));
            }
            let money: Vec<(i64, String, i64, i64)> = self
                .rows(
                    &format!(
                        "SELECT JSONExtractInt(s.exp, {{key:String}}) AS v, o.currency, count(), sum(o.value)
                         FROM {db}.orders AS o FINAL
                         INNER JOIN (SELECT sid, exp FROM {sessions} AND JSONHas(exp, {{key:String}})) AS s ON s.sid = o.sid
                         WHERE o.site = {{site:String}} GROUP BY v, o.currency ORDER BY v, o.currency",
                        db = self.db
                    ),
                    params,
                )
                .await?
                .iter()
                .map(|r| (int(r, 0), text(r, 1), int(r, 2), int(r, 3)))
                .collect();
            results.push(query::experiment_result(&key, &counts, &money, weights.as_deref()));
        }
        Ok(results)
    }

    async fn landing_pages(
        &self,
        site: &str,
        range: Range,
        segment: Segment,
        limit: usize,
    ) -> Result<Vec<query::PageCount>, StoreError> {
        let mut params = range_params(site, range);
        params.push(("limit", limit.to_string()));
        let rows = self
            .rows(
                &format!(
                    "SELECT landing_page, count() AS n, sum(converted) FROM {} GROUP BY landing_page
                     ORDER BY n DESC, landing_page LIMIT {{limit:UInt64}}",
                    self.sessions_in(segment)
                ),
                params,
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| {
                let (sessions, conversions) = (int(r, 1), int(r, 2));
                query::PageCount {
                    page: text(r, 0),
                    sessions,
                    conversions,
                    conversion_rate: query::ratio(conversions, sessions),
                }
            })
            .collect())
    }

    async fn campaigns(
        &self,
        site: &str,
        range: Range,
        segment: Segment,
        limit: usize,
    ) -> Result<Vec<query::CampaignCount>, StoreError> {
        let sessions =
            format!("{} AND (src_source != '' OR src_medium != '' OR src_campaign != '')", self.sessions_in(segment));
        let mut params = range_params(site, range);
        params.push(("limit", limit.to_string()));
        let mut list: Vec<query::CampaignCount> = self
            .rows(
                &format!(
                    "SELECT src_source, src_medium, src_campaign, count() AS n, sum(converted) FROM {sessions}
                     GROUP BY 1, 2, 3 ORDER BY n DESC, 1, 2, 3 LIMIT {{limit:UInt64}}"
                ),
                params.clone(),
            )
            .await?
            .iter()
            .map(|r| {
                let (sessions, conversions) = (int(r, 3), int(r, 4));
                query::CampaignCount {
                    source: text(r, 0),
                    medium: text(r, 1),
                    campaign: text(r, 2),
                    sessions,
                    conversions,
                    conversion_rate: query::ratio(conversions, sessions),
                    revenue: Vec::new(),
                }
            })
            .collect();
        for r in self
            .rows(
                &format!(
                    "SELECT s.src_source, s.src_medium, s.src_campaign, o.currency, sum(o.value)
                     FROM {db}.orders AS o FINAL
                     INNER JOIN (SELECT sid, src_source, src_medium, src_campaign FROM {sessions}) AS s ON s.sid = o.sid
                     WHERE o.site = {{site:String}} GROUP BY 1, 2, 3, 4 ORDER BY 4",
                    db = self.db
                ),
                params,
            )
            .await?
        {
            let key = [text(&r, 0), text(&r, 1), text(&r, 2)];
            let revenue = Money { currency: text(&r, 3), amount: int(&r, 4) };
            query::add_campaign_revenue(&mut list, [&key[0], &key[1], &key[2]], revenue);
        }
        Ok(list)
    }

    async fn daily(&self, site: &str, range: Range, segment: Segment) -> Result<Vec<query::DayFigures>, StoreError> {
        let mut days = query::Days::default();
        for r in self
            .rows(
                &format!(
                    "SELECT {} AS day, count(), sum(converted) FROM {} GROUP BY day",
                    utc_day("started_at"),
                    self.sessions_in(segment)
                ),
                range_params(site, range),
            )
            .await?
        {
            days.sessions(text(&r, 0), int(&r, 1), int(&r, 2));
        }
        for r in self
            .rows(
                &format!(
                    "SELECT {} AS day, currency, count(), sum(value) FROM {}
                     WHERE site = {{site:String}} AND ts >= {{from:Int64}} AND ts < {{to:Int64}}
                     GROUP BY day, currency ORDER BY day, currency",
                    utc_day("ts"),
                    self.orders_of(segment)
                ),
                range_params(site, range),
            )
            .await?
        {
            days.orders(text(&r, 0), int(&r, 2), Money { currency: text(&r, 1), amount: int(&r, 3) });
        }
        Ok(days.finish())
    }

    async fn ingest(&self, site: &str, range: Range) -> Result<query::Ingest, StoreError> {
        let rows = self
            .rows(
                &format!(
                    "SELECT toString(day), sum(batches), sum(accepted), sum(duplicates), sum(rejected), sum(bots),
                         sum(client_dropped) FROM {}.ingest_days
                     WHERE site = {{site:String}} AND day >= {} AND day <= {} GROUP BY day ORDER BY day",
                    self.db,
                    utc_date("{from:Int64}"),
                    utc_date("({to:Int64} - 1)")
                ),
                range_params(site, range),
            )
            .await?;
        Ok(query::Ingest::of_days(
            rows.iter()
                .map(|r| query::IngestDay {
                    day: text(r, 0),
                    batches: int(r, 1),
                    accepted: int(r, 2),
                    duplicates: int(r, 3),
                    rejected: int(r, 4),
                    bots: int(r, 5),
                    client_dropped: int(r, 6),
                })
                .collect(),
        ))
    }

    async fn live(&self, site: &str, now: i64) -> Result<query::Live, StoreError> {
        let rows = self
            .rows(
                &format!(
                    "SELECT uniqExact(sid) FROM {}.events WHERE site = {{site:String}} AND ts >= {{since:Int64}}",
                    self.db
                ),
                vec![("site", escape(site)), ("since", (now - 5 * 60_000).to_string())],
            )
            .await?;
        let today = self.funnel(site, Range::day_of(now), query::FunnelQuery::default(), Segment::default()).await?;
        Ok(query::Live { ts: now, active_sessions: rows.first().map_or(0, |r| int(r, 0)), today })
    }

    async fn recent_events(&self, site: &str, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let text = self
            .request(
                &format!(
                    "SELECT site, id, type, ts, client_ts, received_at, sid, aid, uid, seq, url, referrer, title, props,
                         items, value, currency, order_id, exp, src, ua_family, device
                     FROM {}.events FINAL WHERE site = {{site:String}} ORDER BY received_at DESC, ts DESC
                     LIMIT {{limit:UInt64}}
                     SETTINGS output_format_json_quote_64bit_integers = 0 FORMAT JSONEachRow",
                    self.db
                ),
                vec![("site", escape(site)), ("limit", limit.to_string())],
                None,
            )
            .await?;
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str::<EventColumns>(l)
                    .map(EventColumns::into_stored)
                    .map_err(|e| StoreError(format!("ClickHouse event row: {e}")))
            })
            .collect()
    }

    async fn sessions(&self, site: &str, limit: usize) -> Result<Vec<SessionRow>, StoreError> {
        let rows = self
            .rows(
                &format!(
                    "SELECT sid, aid, seq, ts, final, summary FROM {}.sessions FINAL WHERE site = {{site:String}}
                     ORDER BY ts DESC LIMIT {{limit:UInt64}}",
                    self.db
                ),
                vec![("site", escape(site)), ("limit", limit.to_string())],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| SessionRow {
                sid: text(r, 0),
                aid: text(r, 1),
                seq: int(r, 2) as u64,
                ts: int(r, 3),
                final_: int(r, 4) != 0,
                summary: text(r, 5),
            })
            .collect())
    }
}

impl Store for ClickHouseStore {
    fn insert(&self, events: Vec<StoredEvent>) -> BoxFuture<'_, Result<Vec<bool>, StoreError>> {
        Box::pin(self.write(events, None))
    }

    fn insert_batch(&self, events: Vec<StoredEvent>, tally: Tally) -> BoxFuture<'_, Result<Vec<bool>, StoreError>> {
        Box::pin(self.write(events, Some(tally)))
    }

    fn campaigns(
        &self,
        site: &str,
        range: Range,
        segment: Segment,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<query::CampaignCount>, StoreError>> {
        let site = site.to_owned();
        Box::pin(async move { ClickHouseStore::campaigns(self, &site, range, segment, limit).await })
    }

    fn daily(
        &self,
        site: &str,
        range: Range,
        segment: Segment,
    ) -> BoxFuture<'_, Result<Vec<query::DayFigures>, StoreError>> {
        let site = site.to_owned();
        Box::pin(async move { ClickHouseStore::daily(self, &site, range, segment).await })
    }

    fn ingest(&self, site: &str, range: Range) -> BoxFuture<'_, Result<query::Ingest, StoreError>> {
        let site = site.to_owned();
        Box::pin(async move { ClickHouseStore::ingest(self, &site, range).await })
    }

    fn recent_events(&self, site: &str, limit: usize) -> BoxFuture<'_, Result<Vec<StoredEvent>, StoreError>> {
        let site = site.to_owned();
        Box::pin(async move { ClickHouseStore::recent_events(self, &site, limit).await })
    }

    fn sessions(&self, site: &str, limit: usize) -> BoxFuture<'_, Result<Vec<SessionRow>, StoreError>> {
        let site = site.to_owned();
        Box::pin(async move { ClickHouseStore::sessions(self, &site, limit).await })
    }

    fn kpis(&self, site: &str, range: Range, segment: Segment) -> BoxFuture<'_, Result<query::Kpis, StoreError>> {
        let site = site.to_owned();
        Box::pin(async move { ClickHouseStore::kpis(self, &site, range, segment).await })
    }

    fn funnel(
        &self,
        site: &str,
        range: Range,
        q: query::FunnelQuery,
        segment: Segment,
    ) -> BoxFuture<'_, Result<query::Funnel, StoreError>> {
        let site = site.to_owned();
        Box::pin(async move { ClickHouseStore::funnel(self, &site, range, q, segment).await })
    }

    fn landing_pages(
        &self,
        site: &str,
        range: Range,
        segment: Segment,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<query::PageCount>, StoreError>> {
        let site = site.to_owned();
        Box::pin(async move { ClickHouseStore::landing_pages(self, &site, range, segment, limit).await })
    }

    fn live(&self, site: &str, now: i64) -> BoxFuture<'_, Result<query::Live, StoreError>> {
        let site = site.to_owned();
        Box::pin(async move { ClickHouseStore::live(self, &site, now).await })
    }

    fn experiments(
        &self,
        site: &str,
        range: Range,
        key: Option<String>,
        weights: Option<Vec<f64>>,
        segment: Segment,
    ) -> BoxFuture<'_, Result<Vec<query::ExperimentResult>, StoreError>> {
        let site = site.to_owned();
        Box::pin(async move { ClickHouseStore::experiments(self, &site, range, key, weights, segment).await })
    }

    /// Nothing to flush: a write is answered only once ClickHouse has it.
    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

/// An error with its causes (hyper's own says only "client error (Connect)"; the cause says
/// which: refused, a certificate no root vouches for, …).
fn causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        next = cause.source();
    }
    text
}

/// TLS for `https://`: the Mozilla roots, and those of `ca_file` if given.
fn tls_config(ca_file: Option<&std::path::Path>) -> Result<rustls::ClientConfig, StoreError> {
    use rustls_pki_types::{pem::PemObject, CertificateDer};
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let named = |e: &dyn std::fmt::Display| StoreError(format!("ClickHouse CA file {}: {e}", path.display()));
        let pem = std::fs::read(path).map_err(|e| named(&e))?;
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            roots.add(cert.map_err(|e| named(&e))?).map_err(|e| named(&e))?;
            added += 1;
        }
        if added == 0 {
            return Err(named(&"no PEM certificate in it"));
        }
    }
    Ok(rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Parameter names of funnel steps (a parameter name is `'static`).
const STEP_PARAMS: [&str; 32] = [
    "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "s12", "s13", "s14", "s15", "s16", "s17",
    "s18", "s19", "s20", "s21", "s22", "s23", "s24", "s25", "s26", "s27", "s28", "s29", "s30", "s31",
];

/// The parameters `site`, `from` and `to`.
fn range_params(site: &str, range: Range) -> Params {
    vec![("site", escape(site)), ("from", range.from.to_string()), ("to", range.to.to_string())]
}

/// The UTC day (`Date`) of an epoch-ms expression.
fn utc_date(ms: &str) -> String {
    format!("toDate(toDateTime(intDiv({ms}, 1000), 'UTC'))")
}

/// The UTC day of an epoch-ms expression as `YYYY-MM-DD` text.
fn utc_day(ms: &str) -> String {
    format!("toString({})", utc_date(ms))
}

/// A `String` parameter's value in ClickHouse's escaped text form.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c => out.push(c),
        }
    }
    out
}

/// An `Array(String)` parameter's value: `['a','b']`, each quoted and escaped.
fn array(items: &[&str]) -> String {
    let mut out = String::from("[");
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('\'');
        out.push_str(&escape(s).replace('\'', "\\'"));
        out.push('\'');
    }
    out.push(']');
    out
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.extend(['%', HEX[usize::from(b >> 4)] as char, HEX[usize::from(b & 15)] as char]);
        }
    }
    out
}

/// Column `i` of a row as an integer (ClickHouse may quote 64-bit integers); 0 if absent.
fn int(row: &[Json], i: usize) -> i64 {
    match row.get(i) {
        Some(Json::Number(n)) => n.as_i64().or_else(|| n.as_u64().map(|u| u as i64)).unwrap_or(0),
        Some(Json::String(s)) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

/// Column `i` of a row as text; empty if absent.
fn text(row: &[Json], i: usize) -> String {
    match row.get(i) {
        Some(Json::String(s)) => s.clone(),
        Some(Json::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_escaped_in_clickhouse_text_form() {
        assert_eq!(escape("a\\b\tc\nd"), "a\\\\b\\tc\\nd");
        assert_eq!(array(&["x", "it's"]), "['x','it\\'s']");
        assert_eq!(percent_encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    }

    #[test]
    fn integers_are_read_quoted_or_not() {
        let row = vec![json!(5), json!("-7"), json!(null)];
        assert_eq!((int(&row, 0), int(&row, 1), int(&row, 2), int(&row, 9)), (5, -7, 0, 0));
        assert_eq!((text(&row, 1), text(&row, 0), text(&row, 2)), ("-7".to_owned(), "5".to_owned(), String::new()));
    }
}
