//! Core hot paths under criterion: `cargo bench -p funnelcake-bench --bench core`.
//!
//! What one `track()` costs inside the wasm, minus the JS boundary: normalising an event with
//! three items, the whole `Tracker::track` (normalise, session, funnel and metrics update, wire
//! encoding, queueing), the funnel update alone (the default funnel and a custom one with item,
//! prefix and currency conditions), batch encoding of 20 queued events, the metrics snapshot
//! `metrics()` returns, persisting/restoring the session state, and a purchase and the state's
//! write in a session that has already seen 10,000 orders. Native code, so absolute times are lower
//! than in the browser; the browser figures are `bench/browser` (BENCHMARKS.md).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use funnelcake_core::config::{Config, RawConfig};
use funnelcake_core::event::normalize;
use funnelcake_core::funnel::{FunnelDef, FunnelProgress};
use funnelcake_core::id::SplitMix64;
use funnelcake_core::json::{parse, read_tape, write_tape, Value};
use funnelcake_core::metrics::KeyStyle;
use funnelcake_core::session::SessionState;
use funnelcake_core::tracker::{PageContext, Tracker};
use funnelcake_core::wire::encode_batch_raw;

const THREE_ITEMS: &str = r#"{"currency":"USD","value":"212.00","items":[
  {"item_id":"TR-1","item_name":"Trail Runner","item_brand":"Cakewalk","item_category":"Footwear","item_variant":"EU 42","price":119,"quantity":1},
  {"item_id":"SK-2","item_name":"Merino Hiking Socks","item_category":"Accessories","price":"18.00","quantity":"2"},
  {"item_id":"TP-5","item_name":"Trekking Poles","item_category":"Accessories/Poles","price":57,"quantity":1}]}"#;

fn props() -> Vec<(String, Value)> {
    parse(THREE_ITEMS).unwrap().as_object().unwrap().to_vec()
}

fn tracker() -> (Tracker, SplitMix64, PageContext) {
    let raw = RawConfig { site: Some("bench".into()), flush_at: Some(500.0), ..RawConfig::default() };
    let cfg: Config = Config::resolve(raw).unwrap().0;
    let mut rng = SplitMix64(42);
    let state = SessionState::new(&mut rng);
    let ctx = PageContext { url: "/cart".into(), host: "shop.example".into(), ..PageContext::default() };
    (Tracker::new(cfg, state), rng, ctx)
}

/// Keeps the bounded queue from filling: every 400 events, delivers what is queued as a 2xx would.
fn deliver_when_full(t: &mut Tracker, now: i64) {
    if t.pending() > 400 {
        while let Some(out) = t.take_batch(now, true) {
            let ok = funnelcake_core::retry::SendResult::Status { code: 200, retry_after_ms: None };
            t.complete(out.id, ok, now, 0.0);
        }
    }
}

fn benches(c: &mut Criterion) {
    c.bench_function("normalize add_to_cart, 3 items", |b| {
        b.iter_batched(props, |p| black_box(normalize("add_to_cart", p, None)), BatchSize::SmallInput)
    });

    c.bench_function("Tracker::track add_to_cart, 3 items (normalise, funnel, metrics, encode, queue)", |b| {
        let (mut t, mut rng, ctx) = tracker();
        let mut now = 1_732_270_000_000;
        b.iter_batched(
            props,
            |p| {
                now += 10;
                deliver_when_full(&mut t, now);
                black_box(t.track("add_to_cart", p, &ctx, now, &mut rng))
            },
            BatchSize::SmallInput,
        )
    });

    c.bench_function("Tracker::track page_view", |b| {
        let (mut t, mut rng, ctx) = tracker();
        let mut now = 1_732_270_000_000;
        b.iter(|| {
            now += 10;
            deliver_when_full(&mut t, now);
            black_box(t.track("page_view", Vec::new(), &ctx, now, &mut rng))
        })
    });

    // 20 queued events (the default flushAt), each with three items, as wire JSON.
    let (mut t, mut rng, ctx) = tracker();
    for i in 0..20 {
        t.track("add_to_cart", props(), &ctx, 1_732_270_000_000 + i, &mut rng).unwrap();
    }
    let body = t.take_batch(1_732_270_001_000, true).unwrap().body;
    let events: Vec<_> =
        funnelcake_core::wire::decode_batch(&body).unwrap().events.into_iter().map(Result::unwrap).collect();
    let json: Vec<String> = events
        .iter()
        .map(|e| {
            let mut s = String::new();
            e.write_to(&mut s);
            s
        })
        .collect();
    let refs: Vec<&str> = json.iter().map(String::as_str).collect();

    // One add_to_cart (3 items) through the default funnel and a custom funnel whose steps test
    // an item's category, an item id prefix and the event's own currency: every step of both is
    // checked, as on each event in the tracker.
    let event = &events[0];
    let custom = FunnelDef::from_value(
        &mut parse(
            r#"{"name":"gear","steps":["view_item",{"event":"add_to_cart","where":{"category":"Footwear"}},
            {"event":"add_to_cart","where":{"item_id":"TP-*"}},{"event":"begin_checkout","where":{"cur":"USD"}},"purchase"]}"#,
        )
        .unwrap(),
    )
    .unwrap();
    let funnels = [FunnelDef::default_funnel(), custom];
    // The event completes a step of each (the custom one through its category condition).
    for f in &funnels {
        assert!(FunnelProgress::new(f.steps.len()).observe(f, event), "{}", f.name);
    }
    c.bench_function("funnel update: one add_to_cart, default funnel + 5-step custom funnel with conditions", |b| {
        b.iter_batched(
            || funnels.iter().map(|f| FunnelProgress::new(f.steps.len())).collect::<Vec<_>>(),
            |mut progress| {
                for (p, f) in progress.iter_mut().zip(&funnels) {
                    black_box(p.observe(f, black_box(event)));
                }
                progress
            },
            BatchSize::SmallInput,
        )
    });
    c.bench_function("encode a batch of 20 events (3 items each)", |b| {
        b.iter(|| black_box(encode_batch_raw("bench", 1_732_270_001_000, 0, black_box(&refs))))
    });

    c.bench_function("metrics() snapshot JSON after 20 events", |b| {
        b.iter(|| black_box(t.snapshot_json(1_732_270_002_000, KeyStyle::Camel)))
    });

    // Restored as the wasm restores it: the stored JSON in the tape form (which the page's
    // `JSON.parse` and js/env.js's walk make, outside this native figure) read with `read_tape`.
    let json = t.state().to_json();
    let mut tape = String::new();
    write_tape(&parse(&json).unwrap(), &mut tape);
    c.bench_function("persist + restore the session state", |b| {
        b.iter(|| {
            black_box(black_box(t.state()).to_json());
            black_box(read_tape(black_box(&tape)).and_then(|v| SessionState::from_value(&v)))
        })
    });
    println!("session state: {} bytes of JSON", json.len());

    // A session that stays open for many orders (a kiosk, a busy account): each purchase and
    // each commit's state write should cost what they cost in a session of one order.
    let (mut t, mut rng, ctx) = tracker();
    let mut now = 1_732_270_000_000;
    let mut order = 0;
    let mut purchase = |t: &mut Tracker, rng: &mut SplitMix64| {
        order += 1;
        now += 10;
        deliver_when_full(t, now);
        let p = parse(&format!(r#"{{"transaction_id":"T-{order:08}","currency":"USD","value":"19.99"}}"#)).unwrap();
        t.track("purchase", p.as_object().unwrap().to_vec(), &ctx, now, rng)
    };
    for _ in 0..10_000 {
        purchase(&mut t, &mut rng).unwrap();
    }
    c.bench_function("Tracker::track purchase, in a session of 10,000 orders", |b| {
        b.iter(|| black_box(purchase(&mut t, &mut rng)))
    });
    c.bench_function("persist the session state, after 10,000 orders", |b| {
        b.iter(|| black_box(black_box(t.state()).to_json()))
    });
    println!("session state after 10,000 orders: {} bytes of JSON", t.state().to_json().len());
}

criterion_group!(core, benches);
criterion_main!(core);
