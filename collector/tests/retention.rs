//! Retention (`--retention-days`): what is older than the period is deleted from every table,
//! in steps between write groups, and nothing newer is touched.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use funnelcake_collector::query::{FunnelQuery, Range, Segment};
use funnelcake_collector::store::{StoredEvent, Tally};
use funnelcake_collector::{SqliteStore, Store};
use funnelcake_core::json::Value;

const DAY: i64 = 86_400_000;

fn event(n: u64, sid: &str, t: &str, ts: i64) -> StoredEvent {
    common::stored("r", n, sid, t, ts, n)
}

/// A session at `start`: a page view, a purchase with an order, and its summary.
fn session(n: u64, sid: &str, start: i64) -> Vec<StoredEvent> {
    let mut purchase = event(n + 1, sid, "purchase", start + 1000);
    purchase.event.order = Some(format!("order-{sid}"));
    purchase.event.value = Some(1000);
    purchase.event.cur = Some("USD".into());
    let mut summary = event(n + 2, sid, "session_summary", start + 2000);
    summary.event.props = vec![
        ("started_at".into(), Value::Num(start as f64)),
        ("converted".into(), Value::Bool(true)),
        ("final".into(), Value::Bool(true)),
    ];
    vec![event(n, sid, "page_view", start), purchase, summary]
}

fn tally(received_at: i64) -> Tally {
    Tally { site: "r".into(), received_at, client_dropped: 1, ..Tally::default() }
}

async fn counts(store: &SqliteStore, now: i64) -> (usize, i64, i64, usize, i64) {
    let all = Range { from: 0, to: now + DAY };
    let events = store.recent_events("r", 100_000).await.unwrap().len();
    let kpis = store.kpis("r", all, Segment::default()).await.unwrap();
    let ingest = store.ingest("r", all).await.unwrap();
    let steps = FunnelQuery { steps: vec!["page_view".into(), "purchase".into()], variant: None };
    let funnel = store.funnel("r", all, steps, Segment::default()).await.unwrap();
    (events, kpis.sessions, kpis.orders, ingest.days.len(), funnel.steps[1].closed)
}

#[tokio::test]
async fn pruning_deletes_what_is_older_from_every_table_and_nothing_newer() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("r.sqlite3")).unwrap();
    let now = 1_795_132_800_000;
    store.insert_batch(session(1, "old", now - 40 * DAY), tally(now - 40 * DAY)).await.unwrap();
    store.insert_batch(session(10, "new", now - DAY), tally(now - DAY)).await.unwrap();
    // More old events than one step deletes, so pruning takes several steps.
    let many: Vec<StoredEvent> = (0..12_000).map(|i| event(1000 + i, "busy", "view_item", now - 35 * DAY)).collect();
    store.insert(many).await.unwrap();
    assert_eq!(counts(&store, now).await, (12_006, 2, 2, 2, 2));

    // Writes sent while pruning are committed between its steps.
    let (pruned, written) =
        tokio::join!(store.prune(now - 30 * DAY), store.insert(session(100, "during", now - 10 * DAY)));
    assert_eq!(written.unwrap(), vec![true; 3]);
    // 12,003 old events, the old session, its path, its order and its day; the busy session
    // had no summary, so only its path.
    assert_eq!(pruned.unwrap(), 12_003 + 1 + 2 + 1 + 1);
    assert_eq!(counts(&store, now).await, (6, 2, 2, 1, 2));
    assert_eq!(store.prune(now - 30 * DAY).await.unwrap(), 0);
}

#[tokio::test]
async fn a_collector_with_a_retention_period_prunes_when_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.sqlite3");
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
    let store = SqliteStore::open(&path).unwrap();
    store.insert_batch(session(1, "old", now - 40 * DAY), tally(now - 40 * DAY)).await.unwrap();
    store.insert_batch(session(10, "new", now - DAY), tally(now - DAY)).await.unwrap();
    store.shutdown().await;
    drop(store);

    let store = SqliteStore::open_retaining(&path, Some(30)).unwrap();
    for _ in 0..100 {
        if counts(&store, now).await.0 == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(counts(&store, now).await, (3, 1, 1, 1, 1));
}
