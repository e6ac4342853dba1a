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
//!
//! Here: the configuration, opening (tables, TTL) and the `Store` trait. `http`: requests,
//! parameters and TLS. `write`: storing a batch. `kpis`: KPIs, funnels and experiments.
//! `lists`: the other reads.

mod http;
mod kpis;
mod lists;
mod write;

use http::{array, escape, int, text, tls_config, utc_date, utc_day};
use kpis::range_params;

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
