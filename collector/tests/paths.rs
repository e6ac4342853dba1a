//! Funnels over ad-hoc `steps` read each session's event names from `session_paths`, kept at
//! ingest. These tests send events in the orders that make keeping it hard (later events first,
//! sessions interleaved in one batch, a session longer than its path holds, a database from
//! before the table existed) and check the counts against the events' time order.

mod common;

use funnelcake_collector::query::{FunnelQuery, Range, Segment};
use funnelcake_collector::store::{path_names, push_path, StoredEvent};
use funnelcake_collector::{SqliteStore, Store};
use funnelcake_core::json::Value;

const T0: i64 = 1_795_132_800_000;

fn event(n: u64, sid: &str, t: &str, ts: i64, seq: u64) -> StoredEvent {
    common::stored("p", n, sid, t, ts, seq)
}

/// A summary, so the session counts as started at `T0` (funnels consider sessions with one).
fn summary(n: u64, sid: &str) -> StoredEvent {
    let mut e = event(n, sid, "session_summary", T0 + 100_000, 1000);
    e.event.props = vec![("started_at".into(), Value::Num(T0 as f64)), ("final".into(), Value::Bool(true))];
    e
}

async fn funnel(store: &SqliteStore, steps: &[&str]) -> (i64, Vec<i64>, Vec<i64>) {
    let q = FunnelQuery { steps: steps.iter().map(|s| (*s).to_owned()).collect(), variant: None };
    let f = store.funnel("p", Range { from: T0, to: T0 + 86_400_000 }, q, Segment::default()).await.unwrap();
    (f.sessions, f.steps.iter().map(|s| s.closed).collect(), f.steps.iter().map(|s| s.open).collect())
}

#[tokio::test]
async fn events_that_arrive_out_of_order_are_matched_in_time_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("p.sqlite3")).unwrap();
    store.insert(vec![summary(1, "X"), summary(2, "Y")]).await.unwrap();
    // X: view_item at +20 arrives first, add_to_cart at +10 later: in time order the cart comes
    // first, so X does not complete view_item → add_to_cart. Y the other way round: it does.
    // The first batch interleaves the two sessions.
    store
        .insert(vec![event(10, "X", "view_item", T0 + 20, 2), event(11, "Y", "add_to_cart", T0 + 30, 3)])
        .await
        .unwrap();
    store
        .insert(vec![event(12, "Y", "view_item", T0 + 10, 1), event(13, "X", "add_to_cart", T0 + 10, 1)])
        .await
        .unwrap();
    // A retry of a stored event changes nothing.
    store.insert(vec![event(10, "X", "view_item", T0 + 20, 2)]).await.unwrap();
    assert_eq!(funnel(&store, &["view_item", "add_to_cart"]).await, (2, vec![2, 1], vec![2, 2]));
    // Y then goes on to a purchase, appended after what its path holds.
    store.insert(vec![event(14, "Y", "purchase", T0 + 40, 4)]).await.unwrap();
    assert_eq!(funnel(&store, &["view_item", "add_to_cart", "purchase"]).await, (2, vec![2, 1, 1], vec![2, 2, 1]));
    // Names are matched whole: a step that is a prefix of an event name matches nothing.
    assert_eq!(funnel(&store, &["view"]).await, (2, vec![0], vec![0]));
}

#[tokio::test]
async fn a_session_longer_than_its_path_is_read_from_its_events() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("p.sqlite3")).unwrap();
    let mut batch = vec![summary(1, "L")];
    // 300 page views (more names than a path holds), then the steps; one more batch after.
    batch.extend((0..300).map(|i| event(100 + i, "L", "page_view", T0 + i as i64, i)));
    batch.push(event(500, "L", "view_item", T0 + 1000, 400));
    store.insert(batch).await.unwrap();
    store.insert(vec![event(501, "L", "add_to_cart", T0 + 2000, 401)]).await.unwrap();
    assert_eq!(funnel(&store, &["page_view", "view_item", "add_to_cart"]).await, (1, vec![1, 1, 1], vec![1, 1, 1]));
    assert_eq!(funnel(&store, &["add_to_cart", "view_item"]).await, (1, vec![1, 0], vec![1, 1]));
    let conn = rusqlite::Connection::open(dir.path().join("p.sqlite3")).unwrap();
    let full: bool = conn.query_row("SELECT full FROM session_paths WHERE sid = 'L'", [], |r| r.get(0)).unwrap();
    assert!(full, "the session's path is marked full, not cut");
}

#[tokio::test]
async fn an_older_database_gets_its_paths_session_columns_and_delivery_counts_filled() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.sqlite3");
    let store = SqliteStore::open(&path).unwrap();
    let mut mobile = summary(1, "M");
    mobile.device = "mobile";
    mobile.event.props.push(("landing_page".into(), Value::Str("/p?id=1&utm_source=x".into())));
    let source =
        Value::Obj(vec![("source".into(), Value::Str("x".into())), ("campaign".into(), Value::Str("c".into()))]);
    mobile.event.props.push(("source".into(), source));
    store
        .insert(vec![
            mobile,
            event(2, "M", "add_to_cart", T0 + 30, 3),
            event(3, "M", "view_item", T0 + 10, 1),
            event(4, "M", "purchase", T0 + 40, 4),
        ])
        .await
        .unwrap();
    store.shutdown().await;
    drop(store);
    // A database as the collector left it before `session_paths`, the sessions' `device`,
    // `landing_page` and campaign, and `ingest_days`.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "DROP TABLE session_paths;
         DROP INDEX sessions_kpi;
         DROP INDEX sessions_pages;
         DROP INDEX sessions_campaigns;
         ALTER TABLE sessions DROP COLUMN src_source;
         ALTER TABLE sessions DROP COLUMN src_medium;
         ALTER TABLE sessions DROP COLUMN src_campaign;
         DROP TABLE ingest_days;
         ALTER TABLE sessions DROP COLUMN device;
         ALTER TABLE sessions DROP COLUMN landing_page;
         CREATE INDEX sessions_kpi ON sessions (site, started_at, aid, new_visitor, page_views, duration_ms, engaged,
             converted, added_to_cart, began_checkout, closed_index, reached_mask, src_kind, exp);
         PRAGMA user_version = 4;",
    )
    .unwrap();
    drop(conn);
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(funnel(&store, &["view_item", "add_to_cart", "purchase"]).await, (1, vec![1, 1, 1], vec![1, 1, 1]));
    let range = Range { from: T0, to: T0 + 86_400_000 };
    let kpis = store.kpis("p", range, Segment::default()).await.unwrap();
    assert_eq!((kpis.devices.len(), kpis.devices[0].device.as_str(), kpis.devices[0].sessions), (1, "mobile", 1));
    let pages = store.landing_pages("p", range, Segment::default(), 10).await.unwrap();
    assert_eq!((pages.len(), pages[0].page.as_str()), (1, "/p?id=1"));
    let campaigns = store.campaigns("p", range, Segment::default(), 10).await.unwrap();
    assert_eq!(
        (campaigns[0].source.as_str(), campaigns[0].medium.as_str(), campaigns[0].campaign.as_str()),
        ("x", "", "c")
    );
    // The events already stored count as accepted on the day they arrived.
    let ingest = store.ingest("p", range).await.unwrap();
    assert_eq!((ingest.totals.accepted, ingest.totals.batches, ingest.days.len()), (4, 0, 1));
}

#[tokio::test]
async fn an_older_database_gets_its_sessions_started_at_on_the_collectors_clock() {
    // Before, a summary's `started_at` was stored on the browser's clock while its events were
    // corrected; the migration corrects it by its summary event's own `ts − client_ts`.
    const SKEW: i64 = 2 * 86_400_000;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.sqlite3");
    let store = SqliteStore::open(&path).unwrap();
    let mut late = summary(1, "S");
    late.ts += SKEW;
    late.received_at += SKEW;
    // A summary stored without its event (retention can drop events before sessions) and one
    // without a start keep theirs.
    let mut lost = summary(2, "L");
    lost.ts += SKEW;
    let mut unstarted = summary(3, "U");
    unstarted.ts += SKEW;
    unstarted.event.props.retain(|(k, _)| k != "started_at");
    store.insert(vec![late, lost, unstarted]).await.unwrap();
    store.shutdown().await;
    drop(store);
    let started = |conn: &rusqlite::Connection, sid: &str| -> i64 {
        conn.query_row("SELECT started_at FROM sessions WHERE sid = ?1", [sid], |r| r.get(0)).unwrap()
    };
    let conn = rusqlite::Connection::open(&path).unwrap();
    assert_eq!((started(&conn, "S"), started(&conn, "L"), started(&conn, "U")), (T0 + SKEW, T0 + SKEW, 0));
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    conn.execute_batch(&format!(
        "UPDATE sessions SET started_at = {T0} WHERE sid IN ('S', 'L');
         DELETE FROM events WHERE sid = 'L';
         PRAGMA user_version = {};",
        version - 1
    ))
    .unwrap();
    drop(conn);
    SqliteStore::open(&path).unwrap().shutdown().await;
    let conn = rusqlite::Connection::open(&path).unwrap();
    assert_eq!((started(&conn, "S"), started(&conn, "L"), started(&conn, "U")), (T0 + SKEW, T0, 0));
}

#[test]
fn a_path_holds_any_name_exactly() {
    let names = ["view_item", "12:ab", "", "Bestellung abgeschlossen ✓", "a:b:c", "9"];
    let mut path = Vec::new();
    for n in names {
        push_path(&mut path, n.as_bytes());
    }
    let back: Vec<&[u8]> = path_names(&path).collect();
    assert_eq!(back, names.iter().map(|n| n.as_bytes()).collect::<Vec<_>>());
    // Malformed input ends the list instead of panicking.
    assert_eq!(path_names(b"5:ab").count(), 0);
    assert_eq!(path_names(b"x:ab").count(), 0);
}

/// The closed and open counts worked out from every session's events sorted by time.
fn expected(sessions: &[Vec<(i64, &str)>], steps: &[&str]) -> (Vec<i64>, Vec<i64>) {
    let (mut closed, mut open) = (vec![0; steps.len()], vec![0; steps.len()]);
    for events in sessions {
        let mut sorted = events.clone();
        sorted.sort_by_key(|e| e.0);
        let mut next = 0;
        for (_, t) in &sorted {
            if steps.get(next) == Some(t) {
                next += 1;
            }
        }
        closed.iter_mut().take(next).for_each(|c| *c += 1);
        for (i, s) in steps.iter().enumerate() {
            open[i] += i64::from(sorted.iter().any(|(_, t)| t == s));
        }
    }
    (closed, open)
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

    /// Any events, cut into batches in any arrival order, give the counts of the events in time
    /// order (sessions of up to 250 events, so some outgrow their paths).
    #[test]
    fn any_arrival_order_gives_the_time_order_counts(
        lens in proptest::collection::vec(0usize..250, 1..4),
        seed in proptest::prelude::any::<u64>(),
        cuts in 1usize..12,
    ) {
        const NAMES: [&str; 4] = ["view_item", "add_to_cart", "begin_checkout", "purchase"];
        let mut rng = seed | 1;
        let mut next = move |n: u64| { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; rng % n };
        let mut sessions = Vec::new();
        let mut all = Vec::new();
        for (s, len) in lens.iter().enumerate() {
            let sid = format!("S{s}");
            all.push(summary(10_000 + s as u64, &sid));
            let mut events = Vec::new();
            for i in 0..*len {
                // Distinct times, so the time order is one order.
                let ts = T0 + (next(1000) * 1000 + i as u64) as i64;
                let t = NAMES[next(4) as usize];
                events.push((ts, t));
                all.push(event((s * 1000 + i) as u64, &sid, t, ts, i as u64));
            }
            sessions.push(events);
        }
        // Shuffle the arrival order, then send it in `cuts` batches.
        for i in (1..all.len()).rev() {
            all.swap(i, next(i as u64 + 1) as usize);
        }
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("p.sqlite3")).unwrap();
        let size = all.len().div_ceil(cuts).max(1);
        for batch in all.chunks(size) {
            rt.block_on(store.insert(batch.to_vec())).unwrap();
        }
        for steps in [&NAMES[..], &["add_to_cart", "view_item"][..], &["purchase"][..]] {
            let (n, closed, open) = rt.block_on(funnel(&store, steps));
            let (want_closed, want_open) = expected(&sessions, steps);
            proptest::prop_assert_eq!(n, lens.len() as i64);
            proptest::prop_assert_eq!(closed, want_closed);
            proptest::prop_assert_eq!(open, want_open);
        }
    }
}
