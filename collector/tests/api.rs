//! Router tests without a socket: a temporary SQLite database and a fixed clock.

use std::io::Write as _;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use funnelcake_collector::error::ApiError;
use funnelcake_collector::{router, AppState, Settings, SqliteStore};
use funnelcake_core::retry::{classify, Disposition, SendResult};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

mod common;

const NOW: i64 = 1_732_270_001_000;

struct Harness {
    app: axum::Router,
    _dir: tempfile::TempDir,
}

fn harness(configure: impl FnOnce(&mut Settings)) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::for_tests(dir.path().join("t.sqlite3"));
    configure(&mut settings);
    let store = Arc::new(SqliteStore::open(&settings.db).unwrap());
    let state = AppState::new(store, settings, Arc::new(|| NOW));
    Harness { app: router(state), _dir: dir }
}

/// One harness per store (`common::stores`), for the tests whose outcome the store decides.
async fn each_store(configure: impl Fn(&mut Settings)) -> Vec<Harness> {
    let mut out = Vec::new();
    for (name, store, dir) in common::stores().await {
        eprintln!("store: {name}");
        let mut settings = Settings::for_tests(dir.path().join("t.sqlite3"));
        configure(&mut settings);
        out.push(Harness { app: router(AppState::new(store, settings, Arc::new(|| NOW))), _dir: dir });
    }
    out
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/../fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

async fn call(app: &axum::Router, req: Request<Body>) -> (StatusCode, Value, Option<String>) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let retry_after = res.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null), retry_after)
}

fn post(uri: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(uri).header("content-type", "text/plain;charset=UTF-8").body(body.into()).unwrap()
}

#[tokio::test]
async fn stores_the_golden_batch_once_and_reports_duplicates() {
    for h in each_store(|_| {}).await {
        let (status, body, _) = call(&h.app, post("/v1/batch", fixture("batch-v1.json"))).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, serde_json::json!({"accepted": 2, "duplicates": 0, "rejected": []}));
        let (_, again, _) = call(&h.app, post("/v1/batch", fixture("batch-v1.json"))).await;
        assert_eq!(again, serde_json::json!({"accepted": 0, "duplicates": 2, "rejected": []}));

        let (status, read, _) =
            call(&h.app, Request::get("/v1/sites/shop-1/events?limit=10").body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        let events = read["events"].as_array().unwrap();
        assert_eq!(events.len(), 2);
        let cart = events.iter().find(|e| e["t"] == "add_to_cart").unwrap();
        assert_eq!(cart["items"][0]["price"], 1999);
        assert_eq!(cart["exp"]["checkout-button"], 1);
        // Clock skew: the client sent at …000500 and we received at …001000, so +500 ms.
        assert_eq!(cart["ts"], 1_732_269_999_000_i64);
        assert_eq!(cart["ts_corrected"], 1_732_269_999_500_i64);
        let pv = events.iter().find(|e| e["t"] == "page_view").unwrap();
        assert_eq!(pv["src"]["kind"], "paid_search");
    }
}

/// The clock correction trusts the client's `sent_at` only so far: an event never dates after
/// it arrived. A `sent_at` behind the events' own times (a clock set back between recording and
/// sending, or a forged batch) would otherwise move them into the future (here by 56 years).
#[tokio::test]
async fn a_sent_at_behind_its_events_does_not_date_them_after_their_arrival() {
    for h in each_store(|_| {}).await {
        let body = format!(
            r#"{{"v":1,"site":"skew","sent_at":1000,"dropped":0,"events":[{{"id":"00000000000000000000000000000001","t":"page_view","ts":{},"sid":"00000000000000000000000000000002","aid":"00000000000000000000000000000003","seq":1,"url":"/"}}]}}"#,
            NOW - 60_000
        );
        let (status, _, _) = call(&h.app, post("/v1/batch", body)).await;
        assert_eq!(status, StatusCode::OK);
        let (_, read, _) = call(&h.app, Request::get("/v1/sites/skew/events").body(Body::empty()).unwrap()).await;
        assert_eq!(read["events"][0]["ts_corrected"], NOW, "at most the time it arrived");
    }
}

#[tokio::test]
async fn accepts_the_design_example_with_nulls_and_gzip_bodies() {
    for h in each_store(|_| {}).await {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(fixture("batch-v1-nulls.json").as_bytes()).unwrap();
        let (status, body, _) = call(&h.app, post("/v1/batch?enc=gzip", gz.finish().unwrap())).await;
        assert_eq!((status, body["accepted"].as_u64()), (StatusCode::OK, Some(1)));
    }
}

#[tokio::test]
async fn rejects_bad_events_individually_and_bad_bodies_with_a_named_error() {
    let h = harness(|_| {});
    let body = r#"{"v":1,"site":"shop-1","sent_at":1,"events":[
        {"id":"00000000000000000000000000000001","t":"a","ts":1,"sid":"s","aid":"a","seq":1,"url":"/"},
        {"id":"00000000000000000000000000000002","t":"a","ts":1,"sid":"s","aid":"a","seq":"x","url":"/"}]}"#;
    let (status, res, _) = call(&h.app, post("/v1/batch", body)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(res["accepted"], 1);
    assert_eq!(res["rejected"], serde_json::json!([{"index": 1, "reason": "events[1].seq: expected an integer"}]));

    let (status, res, _) = call(&h.app, post("/v1/batch", "{\"v\":1,")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(res["error"], "invalid_body");
    assert_eq!(res["message"], "body is not valid JSON: unexpected end");

    // A site id the collector would not store: named, and nothing of the batch kept.
    let (status, res, _) =
        call(&h.app, post("/v1/batch", r#"{"v":1,"site":"shop\r\n1","sent_at":1,"events":[]}"#)).await;
    assert_eq!((status, res["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_body")));
    assert_eq!(res["message"], "site: must be 1 to 128 characters, none of them an ASCII control character");

    let (status, res, _) = call(&h.app, post("/v1/batch?enc=gzip", "not gzip")).await;
    assert_eq!((status, res["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_gzip")));
}

/// An address in the page an event describes is personal data the analytics never need: it is
/// stored as `(redacted)` (GA4's data redaction), unless the collector is told to keep it.
#[tokio::test]
async fn email_addresses_in_pages_are_stored_redacted_unless_told_to_keep_them() {
    let body = r#"{"v":1,"site":"shop-1","sent_at":1,"events":[
        {"id":"00000000000000000000000000000001","t":"page_view","ts":1,"sid":"s","aid":"a","seq":1,
         "url":"/thanks?email=jane.doe%40example.com&order=7","ref":"https://mail.example.net/?to=jane@example.com",
         "title":"Thanks, jane@example.com","props":{"note":"ask jane@example.com"},
         "src":{"kind":"email","source":"newsletter","medium":"email","term":"jane@example.com"}},
        {"id":"00000000000000000000000000000002","t":"session_summary","ts":2,"sid":"s","aid":"a","seq":2,"url":"/",
         "props":{"landing_page":"/thanks?email=jane.doe%40example.com","exit_page":"/@shop.name",
                  "source":{"kind":"email","content":"jane%40example.com","referrer":"https://mail.example.net/?to=jane@example.com"}}}]}"#;
    let stored = |app: &axum::Router| {
        let req = Request::get("/v1/sites/shop-1/events").body(Body::empty()).unwrap();
        let app = app.clone();
        async move { call(&app, req).await.1["events"].as_array().unwrap().clone() }
    };
    for h in each_store(|_| {}).await {
        let (_, res, _) = call(&h.app, post("/v1/batch", body)).await;
        assert_eq!(res["accepted"], 2);
        let events = stored(&h.app).await;
        let of = |t: &str| events.iter().find(|e| e["t"] == t).unwrap().clone();
        let (summary, view) = (of("session_summary"), of("page_view"));
        assert_eq!(view["url"], "/thanks?email=(redacted)&order=7");
        assert_eq!(view["ref"], "https://mail.example.net/?to=(redacted)");
        assert_eq!(view["title"], "Thanks, (redacted)");
        assert_eq!(
            (&view["src"]["source"], &view["src"]["term"]),
            (&serde_json::json!("newsletter"), &serde_json::json!("(redacted)"))
        );
        // A property is the page's own choice of what to send.
        assert_eq!(view["props"]["note"], "ask jane@example.com");
        let props = &summary["props"];
        assert_eq!(props["landing_page"], "/thanks?email=(redacted)");
        assert_eq!(props["exit_page"], "/@shop.name");
        assert_eq!(props["source"]["referrer"], "https://mail.example.net/?to=(redacted)");
        assert_eq!(
            (&props["source"]["kind"], &props["source"]["content"]),
            (&serde_json::json!("email"), &serde_json::json!("(redacted)"))
        );
    }
    let h = harness(|s| s.keep_emails = true);
    call(&h.app, post("/v1/batch", body)).await;
    let events = stored(&h.app).await;
    let of = |t: &str| events.iter().find(|e| e["t"] == t).unwrap().clone();
    assert_eq!(of("page_view")["url"], "/thanks?email=jane.doe%40example.com&order=7");
    assert_eq!(of("session_summary")["props"]["landing_page"], "/thanks?email=jane.doe%40example.com");
}

#[tokio::test]
async fn stores_nothing_from_known_crawlers_unless_told_to() {
    const GOOGLEBOT: &str = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Googlebot/2.1; +http://www.google.com/bot.html) Chrome/130.0.6723.69 Safari/537.36";
    let crawl = || {
        let mut req = post("/v1/batch", fixture("batch-v1.json"));
        req.headers_mut().insert("user-agent", GOOGLEBOT.parse().unwrap());
        req
    };
    let stored = |app: &axum::Router| {
        let req = Request::get("/v1/sites/shop-1/events").body(Body::empty()).unwrap();
        let app = app.clone();
        async move { call(&app, req).await.1["events"].as_array().unwrap().clone() }
    };

    for h in each_store(|_| {}).await {
        let (status, res, _) = call(&h.app, crawl()).await;
        assert_eq!(status, StatusCode::OK);
        let bot = serde_json::json!({"accepted": 0, "duplicates": 0,
        "rejected": [{"index": 0, "reason": "bot"}, {"index": 1, "reason": "bot"}]});
        assert_eq!(res, bot);
        assert!(stored(&h.app).await.is_empty());
        let (_, kpis, _) = call(&h.app, Request::get("/v1/sites/shop-1/metrics").body(Body::empty()).unwrap()).await;
        assert_eq!(kpis["kpis"]["sessions"], 0);
    }
    for h in each_store(|s| s.keep_bots = true).await {
        let (_, res, _) = call(&h.app, crawl()).await;
        assert_eq!(res["accepted"], 2);
        let events = stored(&h.app).await;
        assert_eq!(events.len(), 2);
        assert_eq!(events[0]["ua"], serde_json::json!({"family": "Bot", "device": "bot"}));
    }
}

#[tokio::test]
async fn delivery_counts_say_what_was_stored_repeated_rejected_and_dropped() {
    for h in each_store(|_| {}).await {
        // The golden batch (2 events, `dropped: 2`), then the same batch again, as after a lost
        // answer: its events are duplicates and its `dropped` is not counted twice.
        call(&h.app, post("/v1/batch", fixture("batch-v1.json"))).await;
        call(&h.app, post("/v1/batch", fixture("batch-v1.json"))).await;
        // One good event, one bad, three dropped in the browser.
        let body = r#"{"v":1,"site":"shop-1","sent_at":1,"dropped":3,"events":[
        {"id":"00000000000000000000000000000005","t":"a","ts":1,"sid":"s","aid":"a","seq":1,"url":"/"},
        {"id":"00000000000000000000000000000006","t":"a","ts":1,"sid":"s","aid":"a","seq":"x","url":"/"}]}"#;
        call(&h.app, post("/v1/batch", body)).await;
        // A crawler's two events (its `dropped` is not the site's).
        let mut crawl = post("/v1/batch", fixture("batch-v1.json"));
        crawl.headers_mut().insert("user-agent", "Mozilla/5.0 (compatible; bingbot/2.0)".parse().unwrap());
        call(&h.app, crawl).await;

        let (status, res, _) = call(&h.app, Request::get("/v1/sites/shop-1/ingest").body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        let day = serde_json::json!({"batches": 4, "accepted": 3, "duplicates": 2, "rejected": 1, "bots": 2,
        "client_dropped": 5});
        assert_eq!(res["ingest"]["totals"], day);
        let mut dated = day.clone();
        dated["day"] = "2024-11-22".into();
        assert_eq!(res["ingest"]["days"], serde_json::json!([dated]));
        // Another site, or days before any batch: nothing.
        let (_, res, _) = call(&h.app, Request::get("/v1/sites/shop-2/ingest").body(Body::empty()).unwrap()).await;
        assert_eq!(res["ingest"]["days"], serde_json::json!([]));
        let (_, res, _) =
            call(&h.app, Request::get("/v1/sites/shop-1/ingest?from=0&to=86400000").body(Body::empty()).unwrap()).await;
        assert_eq!(res["ingest"]["totals"]["batches"], 0);
    }
}

#[tokio::test]
async fn enforces_size_limits_and_allowed_sites() {
    let h = harness(|s| s.sites = vec!["shop-1".into()]);
    let (status, res, _) = call(&h.app, post("/v1/batch", fixture("batch-v1.json").replace("shop-1", "other"))).await;
    assert_eq!((status, res["error"].as_str()), (StatusCode::FORBIDDEN, Some("site_not_allowed")));

    let event = r#"{"id":"00000000000000000000000000000001","t":"a","ts":1,"sid":"s","aid":"a","seq":1}"#;
    let many = format!(r#"{{"v":1,"site":"shop-1","sent_at":1,"events":[{}]}}"#, vec![event; 501].join(","));
    let (status, res, _) = call(&h.app, post("/v1/batch", many)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(res["message"], "batch has 501 events; at most 500 are accepted");

    let huge = "x".repeat((1 << 20) + 1);
    let (status, _, _) = call(&h.app, post("/v1/batch", huge)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn raw_events_are_only_readable_in_dev_mode() {
    let h = harness(|s| s.dev = false);
    let (status, res, _) = call(&h.app, Request::get("/v1/sites/shop-1/events").body(Body::empty()).unwrap()).await;
    assert_eq!((status, res["error"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
}

/// The collector's errors must mean to the SDK what the collector intends: the client's retry
/// table (funnelcake_core::retry::classify) decides on exactly these statuses.
#[test]
fn error_statuses_match_the_client_retry_table() {
    let cases = [
        (ApiError::bad_request("invalid_body", "x"), Disposition::Drop),
        (ApiError::forbidden_site("x"), Disposition::Drop),
        (ApiError::unauthorized(), Disposition::Drop),
        (ApiError::not_found("x"), Disposition::Drop),
        (ApiError::too_large("x"), Disposition::Split),
        (ApiError::storage_unavailable(), Disposition::Retry),
    ];
    for (err, want) in cases {
        let got = classify(SendResult::Status { code: err.status.as_u16(), retry_after_ms: None });
        assert_eq!(got, want, "{}", err.code);
    }
    assert!(ApiError::storage_unavailable().retry_after_s.is_some(), "503 must carry Retry-After");
}

fn summary_event(id: u8, seq: u64, final_: bool, page_views: u32) -> String {
    format!(
        r#"{{"id":"{id:032x}","t":"session_summary","ts":1,"sid":"s-1","aid":"a-1","seq":{seq},"url":"/",
            "props":{{"page_views":{page_views},"final":{final_}}}}}"#
    )
}

#[tokio::test]
async fn sessions_keep_the_summary_with_the_highest_seq() {
    for h in each_store(|_| {}).await {
        let batch =
            |events: Vec<String>| format!(r#"{{"v":1,"site":"shop-1","sent_at":1,"events":[{}]}}"#, events.join(","));
        // Out of order: seq 5 arrives, then an older seq 3, then the final seq 7.
        for events in [
            vec![summary_event(1, 5, false, 2)],
            vec![summary_event(2, 3, false, 1)],
            vec![summary_event(3, 7, true, 4)],
        ] {
            let (status, _, _) = call(&h.app, post("/v1/batch", batch(events))).await;
            assert_eq!(status, StatusCode::OK);
        }
        let (_, res, _) = call(&h.app, Request::get("/v1/sites/shop-1/sessions").body(Body::empty()).unwrap()).await;
        let sessions = res["sessions"].as_array().unwrap();
        assert_eq!(sessions.len(), 1);
        assert_eq!((sessions[0]["seq"].as_u64(), sessions[0]["final"].as_bool()), (Some(7), Some(true)));
        assert_eq!(sessions[0]["summary"]["page_views"], 4);
        // A duplicate delivery of an older summary changes nothing.
        call(&h.app, post("/v1/batch", batch(vec![summary_event(1, 5, false, 2)]))).await;
        let (_, res, _) = call(&h.app, Request::get("/v1/sites/shop-1/sessions").body(Body::empty()).unwrap()).await;
        assert_eq!(res["sessions"][0]["seq"], 7);
    }
}

#[tokio::test]
async fn a_session_is_counted_on_the_collectors_clock_like_its_events() {
    // A phone whose clock is two days behind: its events and its summary's start are corrected
    // by the same `received_at − sent_at`, so today's KPIs count the session with its order.
    const DAY: i64 = 86_400_000;
    let client_now = NOW - 2 * DAY;
    let body = serde_json::json!({"v": 1, "site": "shop-1", "sent_at": client_now, "events": [
        {"id": format!("{:032x}", 1), "t": "purchase", "ts": client_now - 10_000, "sid": "s-1", "aid": "a-1", "seq": 2,
         "value": 1999, "cur": "USD", "order": "O-1"},
        {"id": format!("{:032x}", 2), "t": "session_summary", "ts": client_now, "sid": "s-1", "aid": "a-1", "seq": 3,
         "props": {"started_at": client_now - 60_000, "converted": true, "page_views": 1, "final": true}},
    ]});
    for h in each_store(|_| {}).await {
        let (status, _, _) = call(&h.app, post("/v1/batch", body.to_string())).await;
        assert_eq!(status, StatusCode::OK);
        for (from, sessions, orders) in [(NOW - 3_600_000, 1, 1), (client_now - 3_600_000, 0, 0)] {
            let to = from + 3_600_000 + 1;
            let uri = format!("/v1/sites/shop-1/metrics?from={from}&to={to}");
            let (status, res, _) = call(&h.app, Request::get(uri).body(Body::empty()).unwrap()).await;
            assert_eq!(status, StatusCode::OK, "{res}");
            let k = &res["kpis"];
            assert_eq!((k["sessions"].as_i64(), k["orders"].as_i64()), (Some(sessions), Some(orders)), "from {from}");
        }
        let (_, res, _) = call(&h.app, Request::get("/v1/sites/shop-1/sessions").body(Body::empty()).unwrap()).await;
        assert_eq!(
            res["sessions"][0]["summary"]["started_at"],
            client_now - 60_000,
            "the summary itself is kept as sent"
        );
    }
}

#[tokio::test]
async fn cors_preflight_is_answered_for_configured_origins_only() {
    let h = harness(|s| s.cors_origins = vec!["https://shop.example".into()]);
    let preflight = |origin: &str| {
        Request::builder()
            .method("OPTIONS")
            .uri("/v1/batch")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .body(Body::empty())
            .unwrap()
    };
    let res = h.app.clone().oneshot(preflight("https://shop.example")).await.unwrap();
    assert_eq!(res.headers().get("access-control-allow-origin").unwrap(), "https://shop.example");
    let res = h.app.clone().oneshot(preflight("https://evil.example")).await.unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after_per_ip_and_per_site() {
    let h = harness(|s| {
        s.rate_ip = 1.0; // burst 2
        s.rate_site = 5.0; // burst 10 events
    });
    let from = |ip: [u8; 4], body: String| {
        let mut req = post("/v1/batch", body);
        req.extensions_mut().insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((ip, 5000))));
        req
    };
    let one = |n: u8| {
        format!(
            r#"{{"v":1,"site":"shop-1","sent_at":1,"events":[{{"id":"{n:032x}","t":"a","ts":1,"sid":"s","aid":"a","seq":1}}]}}"#
        )
    };
    assert_eq!(call(&h.app, from([10, 0, 0, 1], one(1))).await.0, StatusCode::OK);
    assert_eq!(call(&h.app, from([10, 0, 0, 1], one(2))).await.0, StatusCode::OK);
    let (status, body, retry_after) = call(&h.app, from([10, 0, 0, 1], one(3))).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")));
    assert_eq!(retry_after.as_deref(), Some("1"));
    // Another IP is not affected, until the site's event budget runs out.
    let event = r#"{"id":"00000000000000000000000000000009","t":"a","ts":1,"sid":"s","aid":"a","seq":1}"#;
    let nine = format!(r#"{{"v":1,"site":"shop-1","sent_at":1,"events":[{}]}}"#, [event; 9].join(","));
    let (status, body, _) = call(&h.app, from([10, 0, 0, 2], nine)).await;
    // Site bucket: 10 − 2 accepted = 8 tokens (the IP-limited request never reached it); 9 needed,
    // the 1-token deficit refills in 0.2 s, rounded up to 1 s.
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("rate limit per site exceeded; retry in 1 s"))
    );
}

#[tokio::test]
async fn long_strings_are_truncated_to_the_documented_lengths() {
    for h in each_store(|_| {}).await {
        let body = format!(
            r#"{{"v":1,"site":"shop-1","sent_at":1,"events":[{{"id":"{:032x}","t":"a","ts":1,"sid":"s","aid":"a","seq":1,
            "url":"/{}","title":"{}","uid":"{}","props":{{"note":"{}","deep":["{}"]}}}}]}}"#,
            1,
            "u".repeat(5000),
            "é".repeat(600),
            "ü".repeat(300),
            "n".repeat(2000),
            "d".repeat(2000)
        );
        assert_eq!(call(&h.app, post("/v1/batch", body)).await.0, StatusCode::OK);
        let (_, read, _) = call(&h.app, Request::get("/v1/sites/shop-1/events").body(Body::empty()).unwrap()).await;
        let e = &read["events"][0];
        assert_eq!(e["url"].as_str().unwrap().chars().count(), 2048);
        assert_eq!(e["title"].as_str().unwrap().chars().count(), 512);
        assert_eq!(e["uid"].as_str().unwrap(), "ü".repeat(256), "the SDK's user id limit");
        assert_eq!(e["props"]["note"].as_str().unwrap().len(), 1024);
        assert_eq!(e["props"]["deep"][0].as_str().unwrap().len(), 1024);
    }
}

#[tokio::test]
async fn numbers_at_the_edges_of_f64_are_stored_and_read_back() {
    // A subnormal made the shared JSON writer loop for ever (a request that never finished and
    // a worker thread lost); now each is stored as the number closest to what was sent.
    for h in each_store(|_| {}).await {
        let body = format!(
            r#"{{"v":1,"site":"shop-1","sent_at":1,"events":[{{"id":"{:032x}","t":"a","ts":1,"sid":"s","aid":"a","seq":1,
            "url":"/","props":{{"tiny":1e-310,"least":5e-324,"huge":1.7e308,"neg":-2.5e-315}}}}]}}"#,
            1
        );
        let (status, body, _) = call(&h.app, post("/v1/batch", body)).await;
        assert_eq!((status, body["accepted"].as_u64()), (StatusCode::OK, Some(1)));
        let (_, read, _) = call(&h.app, Request::get("/v1/sites/shop-1/events").body(Body::empty()).unwrap()).await;
        let props = &read["events"][0]["props"];
        for (key, sent) in [("tiny", 1e-310), ("least", 5e-324), ("huge", 1.7e308), ("neg", -2.5e-315)] {
            let got = props[key].as_f64().unwrap();
            assert!(((got - sent) / sent).abs() < 1e-12, "{key}: {got:e}");
        }
    }
}

#[tokio::test]
async fn bad_query_and_path_values_unknown_paths_and_methods_get_named_json_errors() {
    let h = harness(|_| {});
    let get = |uri: &str| Request::get(uri).body(Body::empty()).unwrap();
    for (req, status, code, names) in [
        (get("/v1/sites/shop-1/metrics?from=abc"), StatusCode::BAD_REQUEST, "invalid_query", "from"),
        (get("/v1/sites/shop-1/events?limit=-5"), StatusCode::BAD_REQUEST, "invalid_query", "limit"),
        (get("/v1/batch?enc=gzip&enc=x"), StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "GET"),
        (get("/v1/sites/%FF/funnel"), StatusCode::BAD_REQUEST, "invalid_path", "site"),
        (get("/v1/sites/shop-1/nothing"), StatusCode::NOT_FOUND, "not_found", "/v1/sites/shop-1/nothing"),
        (get("/v1/batches"), StatusCode::NOT_FOUND, "not_found", "/v1/batches"),
        (post("/v1/sites/shop-1/metrics", "{}"), StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "POST"),
    ] {
        let what = format!("{} {}", req.method(), req.uri());
        let (got, body, _) = call(&h.app, req).await;
        assert_eq!(got, status, "{what}");
        assert_eq!(body["error"], code, "{what}: {body}");
        assert!(body["message"].as_str().unwrap().contains(names), "{what}: {body}");
    }
}

/// The SDK's files: the precompressed copy the browser accepts (brotli first), the original
/// without one, each with the original's type, `Vary` and `no-cache`; a 304 while unchanged.
#[tokio::test]
async fn serves_the_sdk_precompressed_and_revalidated() {
    let sdk = tempfile::tempdir().unwrap();
    let wasm = b"\0asm\x01\0\0\0 the raw module".to_vec();
    std::fs::write(sdk.path().join("funnelcake.wasm"), &wasm).unwrap();
    std::fs::write(sdk.path().join("funnelcake.wasm.br"), b"brotli bytes").unwrap();
    std::fs::write(sdk.path().join("funnelcake.wasm.gz"), b"gzip bytes").unwrap();
    std::fs::write(sdk.path().join("funnelcake.js"), b"/* no copies beside it */").unwrap();
    let dir = sdk.path().to_owned();
    let h = harness(move |s| s.sdk_dir = dir);

    let get = |path: &str, accept: Option<&str>| {
        let mut req = Request::get(path);
        if let Some(a) = accept {
            req = req.header("accept-encoding", a);
        }
        req.body(Body::empty()).unwrap()
    };
    for (accept, encoding, body) in [
        (Some("gzip, deflate, br, zstd"), Some("br"), &b"brotli bytes"[..]),
        (Some("gzip"), Some("gzip"), &b"gzip bytes"[..]),
        (None, None, &wasm[..]),
    ] {
        let res = h.app.clone().oneshot(get("/funnelcake/funnelcake.wasm", accept)).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{accept:?}");
        let headers = res.headers().clone();
        assert_eq!(headers["content-type"], "application/wasm", "{accept:?}");
        assert_eq!(headers.get("content-encoding").map(|v| v.to_str().unwrap()), encoding, "{accept:?}");
        assert_eq!(headers["vary"], "accept-encoding");
        assert_eq!(headers["cache-control"], "no-cache");
        assert_eq!(&res.into_body().collect().await.unwrap().to_bytes()[..], body, "{accept:?}");
    }

    // A file without copies is sent as it is, to any browser.
    let res = h.app.clone().oneshot(get("/funnelcake/funnelcake.js", Some("br, gzip"))).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get("content-encoding").is_none());
    assert_eq!(res.headers()["cache-control"], "no-cache");

    // Asked again with the Last-Modified it was given: not modified, nothing sent.
    let first = h.app.clone().oneshot(get("/funnelcake/funnelcake.wasm", Some("br"))).await.unwrap();
    let modified = first.headers()["last-modified"].clone();
    let again = Request::get("/funnelcake/funnelcake.wasm")
        .header("accept-encoding", "br")
        .header("if-modified-since", modified)
        .body(Body::empty())
        .unwrap();
    let res = h.app.clone().oneshot(again).await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    assert!(res.into_body().collect().await.unwrap().to_bytes().is_empty());
}

#[tokio::test]
async fn a_wasm_asked_for_by_its_version_is_cached_for_good() {
    let sdk = tempfile::tempdir().unwrap();
    // SHA-256("abc") = ba7816bf 8f01cfea …: the version scripts/build.sh would give this file.
    std::fs::write(sdk.path().join("funnelcake.wasm"), b"abc").unwrap();
    std::fs::write(sdk.path().join("funnelcake.wasm.br"), b"brotli bytes").unwrap();
    std::fs::write(sdk.path().join("funnelcake.js"), b"/* script */").unwrap();
    let dir = sdk.path().to_owned();
    let h = harness(move |s| s.sdk_dir = dir);
    let cache = |path: &'static str, since: Option<axum::http::HeaderValue>| {
        let app = h.app.clone();
        async move {
            let mut req = Request::get(path).header("accept-encoding", "br");
            if let Some(t) = since {
                req = req.header("if-modified-since", t);
            }
            let res = app.oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
            let cache = res.headers()["cache-control"].to_str().unwrap().to_owned();
            (res.status(), cache, res.headers().get("last-modified").cloned())
        }
    };
    const FOREVER: &str = "public, max-age=31536000, immutable";
    let (status, c, modified) = cache("/funnelcake/funnelcake.wasm?v=ba7816bf", None).await;
    assert_eq!((status, c.as_str()), (StatusCode::OK, FOREVER));
    assert_eq!(cache("/funnelcake/funnelcake.wasm?x=1&v=ba7816bf", modified).await.1, FOREVER, "a 304");
    // Another build's version (a script from before a deploy), none, or a file that is not
    // there: asked again on each load, never pinned.
    for path in [
        "/funnelcake/funnelcake.wasm?v=deadbeef",
        "/funnelcake/funnelcake.wasm?v=",
        "/funnelcake/funnelcake.wasm",
        "/funnelcake/funnelcake.js?v=ba7816bf",
    ] {
        let (status, c, _) = cache(path, None).await;
        assert_eq!((status, c.as_str()), (StatusCode::OK, "no-cache"), "{path}");
    }
    let (status, c, _) = cache("/funnelcake/missing.wasm?v=ba7816bf", None).await;
    assert_eq!((status, c.as_str()), (StatusCode::NOT_FOUND, "no-cache"));

    // Rebuilt while the collector runs: the new file has the new version, the old one no more.
    std::fs::write(sdk.path().join("funnelcake.wasm"), b"abcd").unwrap(); // SHA-256 88d4266f …
    std::fs::remove_file(sdk.path().join("funnelcake.wasm.br")).unwrap();
    assert_eq!(cache("/funnelcake/funnelcake.wasm?v=ba7816bf", None).await.1, "no-cache");
    assert_eq!(cache("/funnelcake/funnelcake.wasm?v=88d4266f", None).await.1, FOREVER);
}
