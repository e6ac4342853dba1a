//! KPIs, funnels and the live stream on a fixed data set. Every expected number is worked out by
//! hand in the comments from the sessions and orders listed below.
//!
//! Range: day D (2026-11-20 UTC) and D+1, i.e. [D, D + 2 days).
//!
//! | session | visitor | start    | dur ms  | pv | engaged | new | converted | reached steps (default funnel) | in order to | source         | btn | device  |
//! |---------|---------|----------|---------|----|---------|-----|-----------|-------------------------------|-------------|----------------|-----|---------|
//! | S1      | A1      | D+1h     | 120 000 | 3  | yes     | yes | yes       | all 7                         | 6 purchase  | organic_search | 0   | desktop |
//! | S2      | A2      | D+2h     | 0       | 1  | no      | yes | no        | page_view                     | 0           | direct         | -   | mobile  |
//! | S3      | A1      | D+1d+1h  | 60 000  | 2  | yes     | no  | no        | page_view, view_item, cart    | 2           | email          | 1   | mobile  |
//! | S4      | A3      | D+1d+2h  | 30 000  | 1  | yes     | yes | no        | pv, view_item, cart, checkout | 3           | paid_search    | 1   | tablet  |
//! | S5      | A4/u9   | D+1d+3h  | 300 000 | 4  | yes     | yes | yes       | pv, cart, purchase (skipped)  | 0           | organic_search | 0   | mobile  |
//! | S6      | A5/u9   | D−1d     | outside the range                                                                                                  |
//!
//! A session's device is the one of the User-Agent that sent its summary. Landing pages (with
//! tracking parameters the collector cuts off): S1 `/p?id=tr&utm_source=google`, S2 `/`, S3
//! `/p?utm_medium=email&id=tr`, S4 `/p?id=daypack&gclid=1`, S5 `/`.
//!
//! Orders: O0 (S6, user-9, D−1d, 10.00 USD, before the range), O1 (S1, A1, D+1h+2m, 50.00 USD),
//! O2 (S5, user-9, D+1d+3h+5m, 30.00 USD), O3 (S5, user-9, D+1d+3h+6m, 20.00 EUR); O1 is also sent
//! a second time under another event id (a replay): stored once.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use funnelcake_collector::{router, AppState, Settings};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

mod common;

const D: i64 = 1_795_132_800_000;
const H: i64 = 3_600_000;
const DAY: i64 = 24 * H;
const MIN: i64 = 60_000;
const NOW: i64 = D + DAY + 3 * H + 10 * MIN;

struct Session {
    sid: &'static str,
    aid: &'static str,
    uid: Option<&'static str>,
    start: i64,
    duration: i64,
    page_views: i64,
    engaged: bool,
    new_visitor: bool,
    converted: bool,
    /// First timestamps of the 7 default steps (offsets from start), None if not reached.
    reached: [Option<i64>; 7],
    furthest: i64,
    skipped: bool,
    source: &'static str,
    btn: Option<u32>,
    device: &'static str,
    landing: &'static str,
    /// `source.source`, `.medium`, `.campaign`.
    utm: [&'static str; 3],
}

fn sessions() -> Vec<Session> {
    let all = [Some(0), Some(10), Some(20), Some(30), Some(40), Some(50), Some(60)];
    vec![
        Session {
            sid: "S1",
            aid: "A1",
            uid: None,
            start: D + H,
            duration: 120_000,
            page_views: 3,
            engaged: true,
            new_visitor: true,
            converted: true,
            reached: all,
            furthest: 6,
            skipped: false,
            source: "organic_search",
            device: "desktop",
            landing: "/p?id=tr&utm_source=google",
            utm: ["google", "organic", ""],
            btn: Some(0),
        },
        Session {
            sid: "S2",
            aid: "A2",
            uid: None,
            start: D + 2 * H,
            duration: 0,
            page_views: 1,
            engaged: false,
            new_visitor: true,
            converted: false,
            reached: [Some(0), None, None, None, None, None, None],
            furthest: 0,
            skipped: false,
            source: "direct",
            device: "mobile",
            landing: "/",
            utm: ["", "", ""],
            btn: None,
        },
        Session {
            sid: "S3",
            aid: "A1",
            uid: None,
            start: D + DAY + H,
            duration: 60_000,
            page_views: 2,
            engaged: true,
            new_visitor: false,
            converted: false,
            reached: [Some(0), Some(10), Some(20), None, None, None, None],
            furthest: 2,
            skipped: false,
            source: "email",
            device: "mobile",
            landing: "/p?utm_medium=email&id=tr",
            utm: ["newsletter", "email", "autumn"],
            btn: Some(1),
        },
        Session {
            sid: "S4",
            aid: "A3",
            uid: None,
            start: D + DAY + 2 * H,
            duration: 30_000,
            page_views: 1,
            engaged: true,
            new_visitor: true,
            converted: false,
            reached: [Some(0), Some(10), Some(20), Some(30), None, None, None],
            furthest: 3,
            skipped: false,
            source: "paid_search",
            device: "tablet",
            landing: "/p?id=daypack&gclid=1",
            utm: ["", "", ""],
            btn: Some(1),
        },
        Session {
            sid: "S5",
            aid: "A4",
            uid: Some("user-9"),
            start: D + DAY + 3 * H,
            duration: 300_000,
            page_views: 4,
            engaged: true,
            new_visitor: true,
            converted: true,
            reached: [Some(0), None, Some(20), None, None, None, Some(300)],
            furthest: 6,
            skipped: true,
            source: "organic_search",
            device: "mobile",
            landing: "/",
            utm: ["google", "organic", ""],
            btn: Some(0),
        },
        Session {
            sid: "S6",
            aid: "A5",
            uid: Some("user-9"),
            start: D - DAY,
            duration: 1_000,
            page_views: 1,
            engaged: true,
            new_visitor: true,
            converted: true,
            reached: [Some(0), None, None, None, None, None, Some(100)],
            furthest: 6,
            skipped: true,
            source: "direct",
            device: "desktop",
            landing: "/",
            utm: ["", "", ""],
            btn: None,
        },
    ]
}

const DESKTOP: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36";
const MOBILE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
const TABLET: &str = "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";

const STEPS: [&str; 7] =
    ["page_view", "view_item", "add_to_cart", "begin_checkout", "add_shipping_info", "add_payment_info", "purchase"];

fn id(n: usize) -> String {
    format!("{n:032x}")
}

fn summary(s: &Session, n: usize) -> Value {
    let steps: Vec<Value> = STEPS
        .iter()
        .enumerate()
        .map(|(i, name)| json!({"name": name, "reached_at": s.reached[i].map(|o| s.start + o), "since_previous_ms": null}))
        .collect();
    let experiments = match s.btn {
        Some(v) => json!({"btn": v}),
        None => json!({}),
    };
    json!({
        "id": id(n), "t": "session_summary", "ts": s.start + s.duration, "sid": s.sid, "aid": s.aid, "seq": 100,
        "url": "/", "props": {
            "session_id": s.sid, "started_at": s.start, "duration_ms": s.duration, "page_views": s.page_views,
            "engaged": s.engaged, "new_visitor": s.new_visitor, "converted": s.converted,
            "cart_abandoned": false, "checkout_abandoned": false,
            "source": {"kind": s.source, "source": s.utm[0], "medium": s.utm[1], "campaign": s.utm[2]},
            "landing_page": s.landing,
            "funnel": {"name": "default", "steps": steps, "furthest_index": s.furthest, "skipped_steps": s.skipped},
            "experiments": experiments, "final": true
        }
    })
}

/// The step events of each session (for the custom-steps funnel), plus the purchases.
fn events() -> Vec<Value> {
    let mut out = Vec::new();
    let mut n = 1000;
    for s in sessions() {
        for (i, name) in STEPS.iter().enumerate() {
            if let Some(offset) = s.reached[i] {
                if *name == "purchase" {
                    continue; // purchases below, with their order ids
                }
                n += 1;
                out.push(json!({"id": id(n), "t": name, "ts": s.start + offset, "sid": s.sid, "aid": s.aid, "uid": s.uid, "seq": i + 1, "url": "/"}));
            }
        }
    }
    let purchase = |n: usize, sid: &str, aid: &str, uid: Option<&str>, ts: i64, order: &str, value: i64, cur: &str| {
        json!({"id": id(n), "t": "purchase", "ts": ts, "sid": sid, "aid": aid, "uid": uid, "seq": 50, "url": "/thanks",
               "order": order, "value": value, "cur": cur})
    };
    out.push(purchase(2000, "S6", "A5", Some("user-9"), D - DAY + MIN, "O0", 1000, "USD"));
    out.push(purchase(2001, "S1", "A1", None, D + H + 2 * MIN, "O1", 5000, "USD"));
    out.push(purchase(2002, "S5", "A4", Some("user-9"), D + DAY + 3 * H + 5 * MIN, "O2", 3000, "USD"));
    out.push(purchase(2003, "S5", "A4", Some("user-9"), D + DAY + 3 * H + 6 * MIN, "O3", 2000, "EUR"));
    out.push(purchase(2004, "S1", "A1", None, D + H + 3 * MIN, "O1", 5000, "USD")); // replayed order id
    out
}

/// The data set loaded into each store (`common::stores`), behind a router with the fixed clock.
async fn loaded(configure: impl Fn(&mut Settings)) -> Vec<(axum::Router, tempfile::TempDir)> {
    let mut out = Vec::new();
    for (name, store, dir) in common::stores().await {
        eprintln!("store: {name}");
        let mut settings = Settings::for_tests(dir.path().join("k.sqlite3"));
        configure(&mut settings);
        let app = router(AppState::new(store, settings, Arc::new(|| NOW)));
        // sent_at equal to the receive clock: no skew correction, times stay as written.
        let post = |events: Vec<Value>, ua: &str| {
            let body = json!({"v": 1, "site": "kpi", "sent_at": NOW, "events": events}).to_string();
            let req = Request::post("/v1/batch").header("user-agent", ua).body(Body::from(body)).unwrap();
            let app = app.clone();
            async move { assert_eq!(app.oneshot(req).await.unwrap().status(), StatusCode::OK) }
        };
        post(events(), DESKTOP).await;
        for (i, s) in sessions().iter().enumerate() {
            let ua = match s.device {
                "mobile" => MOBILE,
                "tablet" => TABLET,
                _ => DESKTOP,
            };
            post(vec![summary(s, i + 1)], ua).await;
        }
        out.push((app, dir));
    }
    out
}

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, Value) {
    let res = app.clone().oneshot(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn range() -> String {
    format!("from={D}&to={}", D + 2 * DAY)
}

#[tokio::test]
async fn every_kpi_matches_its_hand_worked_value() {
    for (app, _dir) in loaded(|_| {}).await {
        let (status, body) = get(&app, &format!("/v1/sites/kpi/metrics?{}", range())).await;
        assert_eq!(status, StatusCode::OK);
        let k = &body["kpis"];
        // S1..S5 started in the range; S6 did not.
        assert_eq!(k["sessions"], 5);
        // A1 (S1, S3), A2, A3, A4.
        assert_eq!(k["unique_visitors"], 4);
        // First visits: A1 (S1), A2, A3, A4; S3 is A1 returning.
        assert_eq!(k["new_visitors"], 4);
        // 3 + 1 + 2 + 1 + 4.
        assert_eq!(k["page_views"], 11);
        assert_eq!(k["pages_per_session"], 2.2);
        // (120 000 + 0 + 60 000 + 30 000 + 300 000) / 5.
        assert_eq!(k["avg_session_duration_ms"], 102_000);
        // Engaged: S1, S3, S4, S5. Bounce = 1 − 4/5.
        assert_eq!(k["engaged_sessions"], 4);
        assert!((k["bounce_rate"].as_f64().unwrap() - 0.2).abs() < 1e-12);
        // Converted: S1, S5.
        assert_eq!(k["conversion_rate"], 0.4);
        // O1, O2, O3 (O0 is before the range; the O1 replay is stored once).
        assert_eq!(k["orders"], 3);
        assert_eq!(k["revenue"], json!([{"currency": "EUR", "amount": 2000}, {"currency": "USD", "amount": 8000}]));
        // USD 8000 / 2 orders; EUR 2000 / 1.
        assert_eq!(k["aov"], json!([{"currency": "EUR", "amount": 2000}, {"currency": "USD", "amount": 4000}]));
        // Added to cart: S1, S3, S4, S5; of those not converted: S3, S4 → 2/4.
        assert_eq!(k["cart_abandonment_rate"], 0.5);
        // Began checkout: S1, S4; not converted: S4 → 1/2.
        assert_eq!(k["checkout_abandonment_rate"], 0.5);
        // Customers with an order in range: A1 (first order O1, in range: new), user-9 (first order O0,
        // before the range: not new).
        assert_eq!(k["new_customers"], 1);
        // A1 has 1 order by the end of the range, user-9 has 3 (O0, O2, O3) → 1/2 repeat.
        assert_eq!(k["repeat_customer_rate"], 0.5);
        // USD: 8000 / 2 customers (A1, user-9); EUR: 2000 / 1 customer (user-9).
        assert_eq!(
            k["customer_lifetime_value"],
            json!([{"currency": "EUR", "amount": 2000}, {"currency": "USD", "amount": 4000}])
        );
        // O1 on D, O2 and O3 on D+1.
        assert_eq!(
            k["orders_per_day"],
            json!([{"day": "2026-11-20", "orders": 1}, {"day": "2026-11-21", "orders": 2}])
        );
        // organic_search: S1, S5 (both converted); then one each, by name.
        assert_eq!(
            k["traffic_sources"],
            json!([{"kind": "organic_search", "sessions": 2, "conversions": 2},
               {"kind": "direct", "sessions": 1, "conversions": 0},
               {"kind": "email", "sessions": 1, "conversions": 0},
               {"kind": "paid_search", "sessions": 1, "conversions": 0}])
        );
        // mobile: S2, S3, S5 (S5 converted); desktop S1 (converted); tablet S4.
        assert_eq!(
            k["devices"],
            json!([{"device": "mobile", "sessions": 3, "conversions": 1},
               {"device": "desktop", "sessions": 1, "conversions": 1},
               {"device": "tablet", "sessions": 1, "conversions": 0}])
        );
    }
}

#[tokio::test]
async fn kpis_funnels_and_experiments_per_source_and_device() {
    for (app, _dir) in loaded(|_| {}).await {
        let (status, body) = get(&app, &format!("/v1/sites/kpi/metrics?{}&device=mobile", range())).await;
        assert_eq!(status, StatusCode::OK);
        let k = &body["kpis"];
        // S2, S3, S5: A2, A1 (returning), A4.
        assert_eq!(
            (k["sessions"].as_i64(), k["unique_visitors"].as_i64(), k["new_visitors"].as_i64()),
            (Some(3), Some(3), Some(2))
        );
        // 1 + 2 + 4 page views; S5 converted.
        assert_eq!(k["page_views"], 7);
        assert!((k["conversion_rate"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-12);
        // The orders of S5 only: O2 (30.00 USD) and O3 (20.00 EUR), both on D+1.
        assert_eq!(k["orders"], 2);
        assert_eq!(k["revenue"], json!([{"currency": "EUR", "amount": 2000}, {"currency": "USD", "amount": 3000}]));
        assert_eq!(k["orders_per_day"], json!([{"day": "2026-11-21", "orders": 2}]));
        // Its one customer, user-9, first ordered before the range (O0) and has 3 orders by its end.
        assert_eq!((k["new_customers"].as_i64(), k["repeat_customer_rate"].as_f64()), (Some(0), Some(1.0)));
        assert_eq!(k["devices"], json!([{"device": "mobile", "sessions": 3, "conversions": 1}]));

        let (_, body) =
            get(&app, &format!("/v1/sites/kpi/metrics?{}&source=organic_search&device=desktop", range())).await;
        let k = &body["kpis"];
        // S1 alone, with O1, its customer's first order.
        assert_eq!(
            (k["sessions"].as_i64(), k["orders"].as_i64(), k["new_customers"].as_i64()),
            (Some(1), Some(1), Some(1))
        );
        assert_eq!(k["revenue"], json!([{"currency": "USD", "amount": 5000}]));
        let (_, body) =
            get(&app, &format!("/v1/sites/kpi/metrics?{}&source=organic_search&device=tablet", range())).await;
        assert_eq!((body["kpis"]["sessions"].as_i64(), body["kpis"]["orders"].as_i64()), (Some(0), Some(0)));
        assert_eq!(body["kpis"]["conversion_rate"], Value::Null);

        // Mobile: S2 (closed to 0), S3 (to 2), S5 (skipped: in order to 0).
        let (_, body) = get(&app, &format!("/v1/sites/kpi/funnel?{}&device=mobile", range())).await;
        assert_eq!(counts(&body, "closed"), vec![3, 1, 1, 0, 0, 0, 0]);
        assert_eq!(counts(&body, "open"), vec![3, 1, 2, 0, 0, 0, 1]);
        // The custom-steps funnel filters the same sessions: S3 viewed and added.
        let (_, body) =
            get(&app, &format!("/v1/sites/kpi/funnel?{}&device=mobile&steps=view_item,add_to_cart", range())).await;
        assert_eq!((body["funnel"]["sessions"].as_i64(), counts(&body, "closed")), (Some(3), vec![1, 1]));
        // Both filters with a variation: organic search on mobile in btn=0 is S5.
        let (_, body) =
            get(&app, &format!("/v1/sites/kpi/funnel?{}&source=organic_search&device=mobile&variant=btn:0", range()))
                .await;
        assert_eq!(body["funnel"]["sessions"], 1);

        // btn on mobile: S5 in 0 (converted, with O2 and O3), S3 in 1.
        let (_, body) = get(&app, &format!("/v1/sites/kpi/experiments/btn?{}&device=mobile", range())).await;
        let v = &body["experiment"]["variations"];
        assert_eq!((v[0]["sessions"].as_i64(), v[0]["conversions"].as_i64()), (Some(1), Some(1)));
        assert_eq!((v[1]["sessions"].as_i64(), v[1]["conversions"].as_i64()), (Some(1), Some(0)));
        assert_eq!(v[0]["revenue"], json!([{"currency": "EUR", "amount": 2000}, {"currency": "USD", "amount": 3000}]));
        // Direct traffic saw no experiment.
        let (_, body) = get(&app, &format!("/v1/sites/kpi/experiments?{}&source=direct", range())).await;
        assert_eq!(body["experiments"], json!([]));

        // Landing pages on mobile: `/` (S2, and S5 which converted), `/p?id=tr` (S3).
        let (_, body) = get(&app, &format!("/v1/sites/kpi/pages?{}&device=mobile", range())).await;
        assert_eq!(
            body["landing_pages"],
            json!([{"page": "/", "sessions": 2, "conversions": 1, "conversion_rate": 0.5},
               {"page": "/p?id=tr", "sessions": 1, "conversions": 0, "conversion_rate": 0.0}])
        );

        let (status, body) = get(&app, &format!("/v1/sites/kpi/metrics?{}&device=phone", range())).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_device")));
        assert_eq!(body["message"], "`device` must be one of desktop, mobile, tablet, bot");
        let (status, body) = get(&app, &format!("/v1/sites/kpi/funnel?{}&source=google", range())).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_source")));
    }
}

#[tokio::test]
async fn landing_pages_without_their_tracking_parameters() {
    for (app, _dir) in loaded(|_| {}).await {
        let (status, body) = get(&app, &format!("/v1/sites/kpi/pages?{}", range())).await;
        assert_eq!(status, StatusCode::OK);
        // `/`: S2, S5 (converted); `/p?id=tr`: S1 (converted), S3; `/p?id=daypack`: S4. Equal counts
        // by page.
        assert_eq!(
            body["landing_pages"],
            json!([{"page": "/", "sessions": 2, "conversions": 1, "conversion_rate": 0.5},
               {"page": "/p?id=tr", "sessions": 2, "conversions": 1, "conversion_rate": 0.5},
               {"page": "/p?id=daypack", "sessions": 1, "conversions": 0, "conversion_rate": 0.0}])
        );
        let (_, body) = get(&app, &format!("/v1/sites/kpi/pages?{}&limit=1", range())).await;
        assert_eq!(body["landing_pages"].as_array().unwrap().len(), 1);
        let (status, body) = get(&app, &format!("/v1/sites/kpi/pages?{}&limit=x", range())).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_query")));
    }
}

#[tokio::test]
async fn sessions_conversions_orders_and_revenue_per_day() {
    for (app, _dir) in loaded(|_| {}).await {
        let (status, body) = get(&app, &format!("/v1/sites/kpi/daily?{}", range())).await;
        assert_eq!(status, StatusCode::OK);
        // D: S1 (converted), S2; O1. D+1: S3, S4, S5 (converted); O2 (USD) and O3 (EUR).
        assert_eq!(
            body["days"],
            json!([
                {"day": "2026-11-20", "sessions": 2, "conversions": 1, "conversion_rate": 0.5, "orders": 1,
                 "revenue": [{"currency": "USD", "amount": 5000}]},
                {"day": "2026-11-21", "sessions": 3, "conversions": 1, "conversion_rate": 1.0 / 3.0, "orders": 2,
                 "revenue": [{"currency": "EUR", "amount": 2000}, {"currency": "USD", "amount": 3000}]}
            ])
        );
        // On mobile: S2 on D (no order); S3 and S5 on D+1, with S5's orders.
        let (_, body) = get(&app, &format!("/v1/sites/kpi/daily?{}&device=mobile", range())).await;
        let days = body["days"].as_array().unwrap();
        assert_eq!((days[0]["sessions"].as_i64(), days[0]["orders"].as_i64()), (Some(1), Some(0)));
        assert_eq!((days[1]["sessions"].as_i64(), days[1]["orders"].as_i64()), (Some(2), Some(2)));
    }
}

#[tokio::test]
async fn sessions_conversions_and_revenue_per_campaign() {
    for (app, _dir) in loaded(|_| {}).await {
        let (status, body) = get(&app, &format!("/v1/sites/kpi/campaigns?{}", range())).await;
        assert_eq!(status, StatusCode::OK);
        // google/organic: S1 (O1, 50.00 USD) and S5 (O2 30.00 USD, O3 20.00 EUR), both converted;
        // then one session each, by source: S4, paid search with no source, medium or campaign (an
        // ad click id alone), under its kind; newsletter/email/autumn (S3). S2 came direct: no row.
        assert_eq!(
            body["campaigns"],
            json!([
                {"source": "google", "medium": "organic", "campaign": "", "sessions": 2, "conversions": 2,
                 "conversion_rate": 1.0, "revenue": [{"currency": "EUR", "amount": 2000}, {"currency": "USD", "amount": 8000}]},
                {"source": "", "medium": "paid_search", "campaign": "", "sessions": 1, "conversions": 0,
                 "conversion_rate": 0.0, "revenue": []},
                {"source": "newsletter", "medium": "email", "campaign": "autumn", "sessions": 1, "conversions": 0,
                 "conversion_rate": 0.0, "revenue": []}
            ])
        );
        // On desktop, S1 alone; `limit` cuts the list.
        let (_, body) = get(&app, &format!("/v1/sites/kpi/campaigns?{}&device=desktop", range())).await;
        assert_eq!(body["campaigns"][0]["revenue"], json!([{"currency": "USD", "amount": 5000}]));
        assert_eq!(body["campaigns"].as_array().unwrap().len(), 1);
        let (_, body) = get(&app, &format!("/v1/sites/kpi/campaigns?{}&limit=2", range())).await;
        assert_eq!(body["campaigns"].as_array().unwrap().len(), 2);
    }
}

fn counts(body: &Value, key: &str) -> Vec<i64> {
    body["funnel"]["steps"].as_array().unwrap().iter().map(|s| s[key].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn the_default_funnel_closed_and_open() {
    for (app, _dir) in loaded(|_| {}).await {
        let (_, body) = get(&app, &format!("/v1/sites/kpi/funnel?{}", range())).await;
        // Closed (in order): S1 reaches step 6; S2 0; S3 2; S4 3; S5 skipped to purchase, in order only
        // to step 0.
        assert_eq!(counts(&body, "closed"), vec![5, 3, 3, 2, 1, 1, 1]);
        // Open (any order): view_item S1,S3,S4; add_to_cart S1,S3,S4,S5; purchase S1,S5.
        assert_eq!(counts(&body, "open"), vec![5, 3, 4, 2, 1, 1, 2]);
        assert_eq!(counts(&body, "drop_off"), vec![0, 2, 0, 1, 1, 0, 0]);
        assert_eq!(body["funnel"]["steps"][3]["rate_from_previous"].as_f64().unwrap(), 2.0 / 3.0);
        assert_eq!(body["funnel"]["steps"][6]["rate_from_start"].as_f64().unwrap(), 0.2);
        assert_eq!(body["funnel"]["sessions"], 5);
    }
}

#[tokio::test]
async fn the_funnel_per_experiment_variation() {
    for (app, _dir) in loaded(|_| {}).await {
        let (_, body) = get(&app, &format!("/v1/sites/kpi/funnel?{}&variant=btn:1", range())).await;
        // Variation 1: S3 (to step 2) and S4 (to step 3).
        assert_eq!(body["funnel"]["sessions"], 2);
        assert_eq!(counts(&body, "closed"), vec![2, 2, 2, 1, 0, 0, 0]);
        let (_, body) = get(&app, &format!("/v1/sites/kpi/funnel?{}&variant=btn:0", range())).await;
        // Variation 0: S1 (to 6) and S5 (in order to 0).
        assert_eq!(counts(&body, "closed"), vec![2, 1, 1, 1, 1, 1, 1]);
        let (status, body) = get(&app, &format!("/v1/sites/kpi/funnel?{}&variant=btn", range())).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_variant")));
    }
}

#[tokio::test]
async fn a_custom_steps_funnel_is_matched_over_events() {
    for (app, _dir) in loaded(|_| {}).await {
        let (_, body) = get(&app, &format!("/v1/sites/kpi/funnel?{}&steps=view_item,Product%20Added", range())).await;
        // view_item → add_to_cart in order: S1, S3, S4. S5 added to cart without viewing an item.
        assert_eq!(counts(&body, "closed"), vec![3, 3]);
        assert_eq!(counts(&body, "open"), vec![3, 4]);
        assert_eq!(body["funnel"]["steps"][1]["name"], "Product Added");
    }
}

#[tokio::test]
async fn the_live_stream_reports_active_sessions_and_todays_funnel() {
    for (app, _dir) in loaded(|_| {}).await {
        let res = app.clone().oneshot(Request::get("/v1/sites/kpi/live").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["content-type"], "text/event-stream");
        let mut body = res.into_body();
        let frame = body.frame().await.unwrap().unwrap().into_data().unwrap();
        let text = String::from_utf8(frame.to_vec()).unwrap();
        let data = text.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
        let live: Value = serde_json::from_str(data).unwrap();
        assert!(text.starts_with("event: live"), "{text}");
        // Events in the 5 minutes before NOW (D+1d+3h+10m): S5's purchases at +5m and +6m.
        assert_eq!(live["active_sessions"], 1);
        // Sessions started on D+1 (UTC): S3, S4, S5.
        assert_eq!(live["today"]["sessions"], 3);
        assert_eq!(live["ts"], NOW);
    }
}

#[tokio::test]
async fn the_read_api_needs_the_token_outside_dev_mode() {
    for (app, _dir) in loaded(|s| {
        s.dev = false;
        s.read_token = Some("s3cret".into());
    })
    .await
    {
        let (status, body) = get(&app, &format!("/v1/sites/kpi/metrics?{}", range())).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthorized")));
        let res = app
            .clone()
            .oneshot(
                Request::get(format!("/v1/sites/kpi/metrics?{}", range()))
                    .header("authorization", "Bearer s3cret")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let (status, _) = get(&app, &format!("/v1/sites/kpi/funnel?{}&token=s3cret", range())).await;
        assert_eq!(status, StatusCode::OK, "EventSource clients pass ?token=");
        let (status, _) = get(&app, &format!("/v1/sites/kpi/funnel?{}&token=wrong", range())).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn experiment_results_per_variation() {
    for (app, _dir) in loaded(|_| {}).await {
        let (status, body) = get(&app, &format!("/v1/sites/kpi/experiments/btn?{}", range())).await;
        assert_eq!(status, StatusCode::OK);
        let e = &body["experiment"];
        // btn=0: S1 and S5, both converted. btn=1: S3 and S4, neither converted.
        assert_eq!(e["sessions"], 4);
        let v0 = &e["variations"][0];
        let v1 = &e["variations"][1];
        assert_eq!((v0["sessions"].as_i64(), v0["conversions"].as_i64()), (Some(2), Some(2)));
        assert_eq!((v1["sessions"].as_i64(), v1["conversions"].as_i64()), (Some(2), Some(0)));
        // Orders of S1 (O1 50.00 USD) and S5 (O2 30.00 USD, O3 20.00 EUR).
        assert_eq!(v0["revenue"], json!([{"currency": "EUR", "amount": 2000}, {"currency": "USD", "amount": 8000}]));
        assert_eq!(
            v0["revenue_per_session"],
            json!([{"currency": "EUR", "amount": 1000}, {"currency": "USD", "amount": 4000}])
        );
        assert_eq!(v0["aov"], json!([{"currency": "EUR", "amount": 2000}, {"currency": "USD", "amount": 4000}]));
        assert_eq!(v1["revenue"], json!([]));
        // Lift of variation 1 over control: 0/2 vs 2/2 → −100%, zero variance; pooled z-test:
        // p = 0.5, se = sqrt(0.25 · (1/2 + 1/2)) = 0.5, z = −2, two-sided p = 0.0455.
        assert_eq!(v1["lift"], -1.0);
        assert!((v1["p_value"].as_f64().unwrap() - 0.045_500_263_896_358_4).abs() < 1e-6);
        assert!(v0["lift"].is_null() && v0["p_value"].is_null());
        // 2 vs 2 on equal weights: no mismatch.
        assert_eq!(
            (e["srm"]["chi2"].as_f64(), e["srm"]["p_value"].as_f64(), e["srm"]["warning"].as_bool()),
            (Some(0.0), Some(1.0), Some(false))
        );
        let (_, all) = get(&app, &format!("/v1/sites/kpi/experiments?{}", range())).await;
        assert_eq!(all["experiments"].as_array().unwrap().len(), 1);
        assert_eq!(all["experiments"][0]["key"], "btn");
        let (status, _) = get(&app, &format!("/v1/sites/kpi/experiments/btn?{}&weights=a,b", range())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
}
