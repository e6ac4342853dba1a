//! Storage behind the [`Store`] trait, with SQLite as the default implementation.
//!
//! [`SqliteStore`] runs one writer thread that owns the write connection and commits queued
//! inserts in groups (one transaction for every request waiting at that moment), so concurrent
//! batches share an fsync. Reads use a separate connection (WAL lets them run during writes).
//! Each (site, event id) is stored once: a unique key plus `INSERT OR IGNORE` makes retries and
//! multi-tab double sends harmless, and the insert reports which events were duplicates.
//!
//! Here: what every store shares (the stored event, delivery counts, the trait). `columns`: the
//! columns both stores keep of an event and a summary. The SQLite store: `sqlite` (opening,
//! reads, the trait), `writer` (the writer thread: group commit, retention), `schema` (the
//! migrations) and `paths` (each session's event names, for funnels over ad-hoc steps). The
//! queries themselves are in [`crate::query`]; ClickHouse is [`crate::clickhouse`].

mod columns;
mod paths;
mod queries;
mod schema;
mod sqlite;
mod writer;

use std::future::Future;
use std::pin::Pin;

use funnelcake_core::wire::Event;

pub use columns::{landing_key, EventColumns, SummaryColumns};
pub use paths::{for_each_path_event, path_names, push_path, MAX_PATH_BYTES};
pub use sqlite::SqliteStore;

use crate::query;

/// An event as stored: the wire event plus what the collector adds.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// Site id.
    pub site: String,
    /// The event as received (its `ts` is the client's clock).
    pub event: Event,
    /// Event time corrected for client clock skew: `ts + (received_at − sent_at)`, at most
    /// `received_at`.
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
