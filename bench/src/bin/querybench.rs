//! Query benchmark: stores N generated events (default 1,000,000: ~100,000 sessions of 10
//! events, each with a session summary, 1 in 10 with an order) through the real store, then
//! times the read queries. Each query runs 5 times; the median and the worst are reported.
//!
//! `cargo run --release -p funnelcake-bench --bin querybench -- [events]`; with
//! `FC_BENCH_CLICKHOUSE=http://host:8123` the same through the ClickHouse store, in a database
//! of its own (`querybench_<pid>`, dropped by nobody: it is the benchmark's).

use std::time::Instant;

use funnelcake_bench::{event_id, percentile};
use funnelcake_collector::query::{FunnelQuery, Range, Segment};
use funnelcake_collector::store::StoredEvent;
use funnelcake_collector::{ClickHouseConfig, ClickHouseStore, Store};
use funnelcake_core::json::{parse, Value};
use funnelcake_core::wire::Event;

const T0: i64 = 1_795_132_800_000;
const STEPS: [&str; 7] =
    ["page_view", "view_item", "add_to_cart", "begin_checkout", "add_shipping_info", "add_payment_info", "purchase"];

fn summary_props(sid: u64, start: i64, depth: usize) -> Vec<(String, Value)> {
    let steps: Vec<String> = STEPS
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let at = if i < depth { (start + i as i64 * 1000).to_string() } else { "null".into() };
            format!(r#"{{"name":"{s}","reached_at":{at},"since_previous_ms":null}}"#)
        })
        .collect();
    let kinds = ["direct", "organic_search", "paid_search", "social", "email", "referral"];
    let text = format!(
        r#"{{"started_at":{start},"duration_ms":{},"page_views":{},"engaged":{},"new_visitor":{},"converted":{},
            "source":{{"kind":"{}","source":"s{}","medium":"m{}","campaign":"c{}"}},"landing_page":"/p/{}?utm_source=x","funnel":{{"steps":[{}],"furthest_index":{},"skipped_steps":false}},
            "experiments":{{"btn":{}}},"final":true}}"#,
        (sid % 600) * 1000,
        1 + sid % 5,
        sid % 3 != 0,
        sid % 4 == 0,
        depth == 7,
        kinds[(sid % 6) as usize],
        sid % 10,
        sid % 3,
        sid % 40,
        sid % 200,
        steps.join(","),
        depth as i64 - 1,
        sid % 2
    );
    parse(&text).expect("summary json").as_object().expect("object").to_vec()
}

fn main() {
    let total: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let clickhouse = std::env::var("FC_BENCH_CLICKHOUSE").ok().filter(|u| !u.is_empty());
    let server = clickhouse.is_none().then(|| funnelcake_bench::start_server(2));
    let store: std::sync::Arc<dyn Store> = match (&server, &clickhouse) {
        (Some(server), _) => server.store.clone(),
        (None, Some(url)) => {
            let database = format!("querybench_{}", std::process::id());
            let config = ClickHouseConfig {
                url: url.clone(),
                ca_file: None,
                database,
                user: None,
                password: None,
                retention_days: 0,
            };
            println!("querybench: ClickHouse at {url}, database {}", config.database);
            std::sync::Arc::new(rt.block_on(ClickHouseStore::open(config)).expect("open ClickHouse"))
        }
        (None, None) => unreachable!("a server without ClickHouse"),
    };
    let sessions = total / 10;
    let load = Instant::now();
    let mut batch = Vec::with_capacity(10_000);
    let mut n = 0u64;
    for sid in 0..sessions {
        let start = T0 + (sid as i64 * 25_000) % (30 * 86_400_000);
        let depth = 1 + (sid % 7) as usize;
        let sid_s = format!("sess-{sid}");
        // Independent of the source (`sid % 6`): every source on every device.
        let device = ["desktop", "mobile", "tablet"][(sid / 6 % 3) as usize];
        for k in 0..9u64 {
            let t = STEPS[(k as usize).min(depth - 1)];
            let mut e = Event {
                id: event_id(sid, k),
                t: t.into(),
                ts: start + k as i64 * 1000,
                sid: sid_s.clone(),
                aid: format!("aid-{}", sid / 3),
                seq: k + 1,
                url: format!("/p/{k}"),
                ..Event::default()
            };
            if t == "purchase" {
                e.order = Some(format!("o-{sid}"));
                e.value = Some(4999);
                e.cur = Some("USD".into());
            }
            batch.push(StoredEvent {
                site: "bench".into(),
                ts: e.ts,
                event: e,
                received_at: e_ts(start),
                ua_family: "Chrome",
                device,
            });
            n += 1;
        }
        let summary = Event {
            id: event_id(sid, 99),
            t: "session_summary".into(),
            ts: start + 10_000,
            sid: sid_s,
            aid: format!("aid-{}", sid / 3),
            seq: 100,
            props: summary_props(sid, start, depth),
            ..Event::default()
        };
        batch.push(StoredEvent {
            site: "bench".into(),
            ts: summary.ts,
            event: summary,
            received_at: e_ts(start),
            ua_family: "Chrome",
            device,
        });
        n += 1;
        if batch.len() >= 10_000 {
            rt.block_on(store.insert(std::mem::take(&mut batch))).expect("insert");
        }
    }
    if !batch.is_empty() {
        rt.block_on(store.insert(batch)).expect("insert");
    }
    println!(
        "querybench: stored {n} events ({sessions} sessions with summaries) in {:.1} s",
        load.elapsed().as_secs_f64()
    );
    let range = Range { from: T0, to: T0 + 31 * 86_400_000 };
    let time = |name: &str, f: &dyn Fn()| {
        let mut ms: Vec<f64> = (0..5)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        ms.sort_by(|a, b| a.total_cmp(b));
        println!("  {name:<34} median {:>8.1} ms, worst {:>8.1} ms (target <= 200 ms)", percentile(&ms, 0.5), ms[4]);
    };
    time("KPIs (all of METRICS.md)", &|| {
        rt.block_on(store.kpis("bench", range, Segment::default())).expect("kpis");
    });
    time("default funnel (closed + open)", &|| {
        rt.block_on(store.funnel("bench", range, FunnelQuery::default(), Segment::default())).expect("funnel");
    });
    time("default funnel, one variation", &|| {
        let q = FunnelQuery { steps: vec![], variant: Some(("btn".into(), 1)) };
        rt.block_on(store.funnel("bench", range, q, Segment::default())).expect("funnel");
    });
    time("custom steps funnel (session paths)", &|| {
        let q = FunnelQuery { steps: vec!["view_item".into(), "add_to_cart".into(), "purchase".into()], variant: None };
        rt.block_on(store.funnel("bench", range, q, Segment::default())).expect("funnel");
    });
    // One segment (a sixth of the sources, a third of the devices): the sessions pass filters on
    // the covering index; the order figures join the orders to their sessions.
    let paid_mobile = Segment { source: Some("paid_search"), device: Some("mobile") };
    time("KPIs, paid search on mobile", &|| {
        rt.block_on(store.kpis("bench", range, paid_mobile)).expect("kpis");
    });
    time("default funnel, paid search on mobile", &|| {
        rt.block_on(store.funnel("bench", range, FunnelQuery::default(), paid_mobile)).expect("funnel");
    });
    time("sessions and orders per day", &|| {
        rt.block_on(store.daily("bench", range, Segment::default())).expect("daily");
    });
    time("experiment results (2 variations)", &|| {
        rt.block_on(store.experiments("bench", range, Some("btn".into()), None, Segment::default()))
            .expect("experiment");
    });
    time("every experiment seen (keys + results)", &|| {
        rt.block_on(store.experiments("bench", range, None, None, Segment::default())).expect("experiments");
    });
    time("campaigns (top 10 of 120, revenue)", &|| {
        rt.block_on(store.campaigns("bench", range, Segment::default(), 10)).expect("campaigns");
    });
    time("landing pages (top 10 of 200)", &|| {
        rt.block_on(store.landing_pages("bench", range, Segment::default(), 10)).expect("pages");
    });
    time("live (active sessions + today)", &|| {
        // "Now" just after the newest data, as on a live site.
        rt.block_on(store.live("bench", T0 + 30 * 86_400_000)).expect("live");
    });
    // Last, as it deletes: what a retention period does when a third of the data falls out of it
    // (SQLite; ClickHouse's retention is its tables' TTL, applied as it merges).
    if let Some(server) = &server {
        let t = Instant::now();
        let rows = rt.block_on(server.store.prune(T0 + 10 * 86_400_000)).expect("prune");
        println!("  prune the first 10 of 30 days: {rows} rows in {:.1} s", t.elapsed().as_secs_f64());
    }
}

fn e_ts(start: i64) -> i64 {
    start + 20_000
}
