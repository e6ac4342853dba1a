//! What the store tests share.
// Each test crate uses some of these.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use funnelcake_collector::store::StoredEvent;
use funnelcake_collector::{ClickHouseConfig, ClickHouseStore, SqliteStore, Store};
use funnelcake_core::wire::Event;

/// An event of `site` as stored, its id made from `n`, received when it happened (no skew), from
/// a desktop Chrome.
pub fn stored(site: &str, n: u64, sid: &str, t: &str, ts: i64, seq: u64) -> StoredEvent {
    StoredEvent {
        site: site.into(),
        event: Event {
            id: format!("{n:032x}"),
            t: t.into(),
            ts,
            sid: sid.into(),
            aid: format!("a-{sid}"),
            seq,
            url: "/".into(),
            ..Event::default()
        },
        ts,
        received_at: ts,
        ua_family: "Chrome",
        device: "desktop",
    }
}

/// The ClickHouse HTTP interface the tests use, from `FC_TEST_CLICKHOUSE` (`scripts/test.sh`
/// starts `scripts/clickhouse-dev.py` and sets it); `None` runs the tests on SQLite alone.
pub fn clickhouse_url() -> Option<String> {
    std::env::var("FC_TEST_CLICKHOUSE").ok().filter(|u| !u.is_empty())
}

/// A ClickHouse store in a database of its own (dropped first if a run before left it).
pub async fn clickhouse(url: &str) -> ClickHouseStore {
    static N: AtomicU32 = AtomicU32::new(0);
    let database = format!("fc_test_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
    let config = ClickHouseConfig {
        url: url.to_owned(),
        ca_file: None,
        database,
        user: None,
        password: None,
        retention_days: 0,
    };
    ClickHouseStore::open(config).await.unwrap_or_else(|e| panic!("FC_TEST_CLICKHOUSE={url}: {e}"))
}

/// Every store a test runs against, each empty, with its name: SQLite (in the directory that
/// comes with it) and, with `FC_TEST_CLICKHOUSE`, ClickHouse.
pub async fn stores() -> Vec<(&'static str, Arc<dyn Store>, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Arc::new(SqliteStore::open(&dir.path().join("t.sqlite3")).unwrap());
    let mut out: Vec<(&'static str, Arc<dyn Store>, tempfile::TempDir)> = vec![("sqlite", sqlite, dir)];
    if let Some(url) = clickhouse_url() {
        out.push(("clickhouse", Arc::new(clickhouse(&url).await), tempfile::tempdir().unwrap()));
    }
    out
}
