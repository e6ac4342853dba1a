//! The ClickHouse store: what the shared KPI and API tests (which run on it too, with
//! `FC_TEST_CLICKHOUSE`) do not show. Events come back as they went in, retention is the
//! tables' TTL, and the HTTP interface is spoken as ClickHouse expects (checked against a
//! listener of the test's own, so these run without ClickHouse as well).

use std::sync::{Arc, Mutex};

use funnelcake_collector::store::{StoreError, StoredEvent};
use funnelcake_collector::{ClickHouseConfig, ClickHouseStore, Store};
use funnelcake_core::json::Value;
use funnelcake_core::wire::{Item, Source};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

mod common;

const DAY: i64 = 86_400_000;

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// An event with every part the wire format has, text that needs escaping included.
fn rich(n: u64, ts: i64) -> StoredEvent {
    let mut s = common::stored("shop", n, "s-1", "add_to_cart", ts, n);
    let e = &mut s.event;
    e.uid = Some("user 'quoted' \\ \"7\"".into());
    e.referrer = Some("https://www.google.com/".into());
    e.title = Some("Tab\there — naïve café 🍰\nnext line".into());
    e.props = vec![("coupon".into(), Value::Str("SAVE10".into())), ("n".into(), Value::Num(2.5))];
    e.items = vec![Item {
        id: "sku-1".into(),
        name: Some("Mug".into()),
        price: Some(1999),
        qty: 2,
        cat: vec!["Kitchen".into()],
        ..Item::default()
    }];
    e.value = Some(3998);
    e.cur = Some("EUR".into());
    e.exp = vec![("btn".into(), 1)];
    e.src = Some(Source { kind: "paid_search".into(), source: Some("google".into()), ..Source::default() });
    s.received_at = ts + 500;
    s.ua_family = "Firefox";
    s.device = "mobile";
    s
}

#[tokio::test]
async fn events_come_back_as_they_were_stored_and_repeats_are_duplicates() {
    let Some(url) = common::clickhouse_url() else {
        return eprintln!("FC_TEST_CLICKHOUSE not set: skipped (scripts/test.sh sets it)");
    };
    let store = common::clickhouse(&url).await;
    let t = now() - 3_600_000;
    let (a, b) = (rich(1, t), rich(2, t + 1000));
    // The second copy of `a` in the same write is a duplicate too.
    assert_eq!(store.insert(vec![a.clone(), b.clone(), a.clone()]).await.unwrap(), vec![true, true, false]);
    assert_eq!(store.insert(vec![b.clone()]).await.unwrap(), vec![false]);
    let back = store.recent_events("shop", 10).await.unwrap();
    assert_eq!(back, vec![b, a]);
    assert!(store.recent_events("other", 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn retention_is_the_tables_ttl() {
    let Some(url) = common::clickhouse_url() else {
        return eprintln!("FC_TEST_CLICKHOUSE not set: skipped (scripts/test.sh sets it)");
    };
    let kept = common::clickhouse(&url).await;
    let t = now();
    let (old, new) = (
        common::stored("shop", 1, "s-old", "page_view", t - 40 * DAY, 1),
        common::stored("shop", 2, "s-new", "page_view", t - DAY, 1),
    );
    kept.insert(vec![old.clone(), new.clone()]).await.unwrap();
    assert_eq!(kept.recent_events("shop", 10).await.unwrap().len(), 2, "no retention: everything kept");

    // Another store on a database of its own, keeping 30 days: the 40-day-old event is past its
    // TTL, which ClickHouse applies as it merges parts, or at once when asked.
    let database = format!("fc_test_ttl_{}", std::process::id());
    let config =
        ClickHouseConfig { url: url.clone(), ca_file: None, database, user: None, password: None, retention_days: 30 };
    let store = ClickHouseStore::open(config.clone()).await.unwrap();
    store.insert(vec![old, new.clone()]).await.unwrap();
    store.apply_retention().await.unwrap();
    assert_eq!(store.recent_events("shop", 10).await.unwrap(), vec![new]);
    // Opened again with retention off, the TTL is removed (and opening twice is harmless).
    ClickHouseStore::open(ClickHouseConfig { retention_days: 0, ..config.clone() }).await.unwrap();
    ClickHouseStore::open(ClickHouseConfig { retention_days: 0, ..config }).await.unwrap();
}

/// A listener that answers like ClickHouse's HTTP interface: 200 with no rows when the request
/// carries user `fc` and key `pw`, 516 otherwise; it keeps each request's head. With `tls`, it
/// speaks TLS with that certificate and key.
async fn fake_clickhouse(tls: Option<tokio_rustls::TlsAcceptor>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let scheme = if tls.is_some() { "https" } else { "http" };
    let url = format!("{scheme}://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let (log, tls) = (log.clone(), tls.clone());
            tokio::spawn(async move {
                match tls {
                    Some(acceptor) => {
                        if let Ok(stream) = acceptor.accept(sock).await {
                            answer(stream, log).await;
                        }
                    }
                    None => answer(sock, log).await,
                }
            });
        }
    });
    (url, seen)
}

/// Answers the requests of one connection (see [`fake_clickhouse`]).
async fn answer(mut sock: impl AsyncRead + AsyncWrite + Unpin, log: Arc<Mutex<Vec<String>>>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                let ok = head.contains("x-clickhouse-user: fc") && head.contains("x-clickhouse-key: pw");
                log.lock().unwrap().push(String::from_utf8_lossy(&buf[..end]).into_owned());
                buf.drain(..end + 4 + len);
                let answer = if ok {
                    "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n".to_owned()
                } else {
                    let text = "Code: 516. DB::Exception: fc: Authentication failed. (AUTHENTICATION_FAILED)";
                    format!("HTTP/1.1 516 Unknown\r\ncontent-length: {}\r\n\r\n{text}", text.len())
                };
                if sock.write_all(answer.as_bytes()).await.is_err() {
                    return;
                }
                continue;
            }
        }
        match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

fn config(url: &str, password: &str) -> ClickHouseConfig {
    ClickHouseConfig {
        url: url.to_owned(),
        ca_file: None,
        database: "shop_events".into(),
        user: Some("fc".into()),
        password: Some(password.into()),
        retention_days: 0,
    }
}

#[tokio::test]
async fn speaks_clickhouse_http_with_credentials_and_names_what_fails() {
    let (url, seen) = fake_clickhouse(None).await;
    let Err(StoreError(message)) = ClickHouseStore::open(config(&url, "wrong")).await else {
        panic!("a wrong password must fail to open");
    };
    assert!(message.contains("516") && message.contains("Authentication failed"), "{message}");

    let store = ClickHouseStore::open(config(&url, "pw")).await.unwrap();
    let heads = seen.lock().unwrap().clone();
    // Statements go in the body of a POST to `/`; the database is created, then its tables.
    assert!(heads.iter().all(|h| h.starts_with("POST / HTTP/1.1")), "{heads:?}");
    // Parameters travel in the address, percent-encoded, never spliced into the SQL.
    seen.lock().unwrap().clear();
    store.sessions("it's a site", 5).await.unwrap();
    let head = seen.lock().unwrap()[0].clone();
    assert!(head.starts_with("POST /?param_site=it%27s%20a%20site&param_limit=5 HTTP/1.1"), "{head}");

    // Nothing listening, an address without its scheme, a database name that is not a plain name: each named.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let Err(StoreError(m)) = ClickHouseStore::open(config(&closed, "pw")).await else { panic!() };
    assert!(m.starts_with("ClickHouse:"), "{m}");
    let Err(StoreError(m)) = ClickHouseStore::open(config("ch.example:8443", "pw")).await else { panic!() };
    assert!(m.contains("must start with http:// or https://"), "{m}");
    let Err(StoreError(m)) =
        ClickHouseStore::open(ClickHouseConfig { database: "x; DROP".into(), ..config(&url, "pw") }).await
    else {
        panic!()
    };
    assert!(m.contains("letters, digits and _ only"), "{m}");
}

#[tokio::test]
async fn two_collectors_on_one_clickhouse_store_a_batch_sent_to_both_once() {
    let Some(url) = common::clickhouse_url() else {
        return eprintln!("FC_TEST_CLICKHOUSE not set: skipped (scripts/test.sh sets it)");
    };
    // Two collectors' stores on one database, as behind a load balancer: a batch whose answer
    // was lost is sent again and lands on the other collector.
    let first = common::clickhouse(&url).await;
    let database = first.database().to_owned();
    let config = ClickHouseConfig { url, ca_file: None, database, user: None, password: None, retention_days: 0 };
    let second = ClickHouseStore::open(config).await.unwrap();
    let t = now() - 60_000;
    let batch: Vec<StoredEvent> =
        (1..=3).map(|n| common::stored("shop", n, "s-1", "page_view", t + n as i64, n)).collect();
    let tally = || funnelcake_collector::store::Tally { site: "shop".into(), received_at: t, ..Default::default() };
    assert_eq!(first.insert_batch(batch.clone(), tally()).await.unwrap(), vec![true; 3]);
    assert_eq!(second.insert_batch(batch, tally()).await.unwrap(), vec![false; 3]);
    for store in [&first, &second] {
        assert_eq!(store.recent_events("shop", 10).await.unwrap().len(), 3);
        let range = funnelcake_collector::query::Range { from: t - 1, to: t + 1 };
        let ingest = store.ingest("shop", range).await.unwrap();
        assert_eq!((ingest.totals.batches, ingest.totals.accepted, ingest.totals.duplicates), (2, 3, 3));
    }
}

#[tokio::test]
async fn custom_funnels_match_the_sqlite_stores_step_matcher_on_random_sessions() {
    let Some(url) = common::clickhouse_url() else {
        return eprintln!("FC_TEST_CLICKHOUSE not set: skipped (scripts/test.sh sets it)");
    };
    use funnelcake_collector::query::{FunnelQuery, Range, Segment};
    // xorshift64: the same sessions on every run.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let t0 = now() - 2 * DAY;
    let mut events = Vec::new();
    let mut id = 0u64;
    for s in 0..300u64 {
        let sid = format!("s-{s}");
        let start = t0 + s as i64 * 1000;
        let mut summary = common::stored("shop", 1_000_000 + s, &sid, "session_summary", start, 999);
        summary.event.props = vec![("started_at".into(), Value::Num(start as f64))];
        events.push(summary);
        for seq in 1..=next(12) {
            id += 1;
            let name = ["a", "b", "c", "d"][next(4) as usize];
            // Few distinct times: many ties, which (ts, seq) orders.
            let e = common::stored("shop", id, &sid, name, start + next(4) as i64 * 10, seq);
            if next(10) == 0 {
                events.push(e.clone()); // sent twice
            }
            events.push(e);
        }
    }
    // Arrival order shuffled, in several writes: sessions' events arrive out of order.
    for i in (1..events.len()).rev() {
        events.swap(i, next(i as u64 + 1) as usize);
    }
    let dir = tempfile::tempdir().unwrap();
    let sqlite = funnelcake_collector::SqliteStore::open(&dir.path().join("f.sqlite3")).unwrap();
    let clickhouse = common::clickhouse(&url).await;
    for chunk in events.chunks(97) {
        sqlite.insert(chunk.to_vec()).await.unwrap();
        clickhouse.insert(chunk.to_vec()).await.unwrap();
    }
    let range = Range { from: t0 - DAY, to: t0 + DAY };
    let funnels: [&[&str]; 8] = [
        &["a", "b"],
        &["a", "a"],
        &["b", "a", "c"],
        &["a", "b", "c", "d"],
        &["d"],
        &["a", "a", "a"],
        &["c", "b", "a", "b"],
        &["e", "a"],
    ];
    for steps in funnels {
        let q = FunnelQuery { steps: steps.iter().map(|s| (*s).to_owned()).collect(), variant: None };
        let want = sqlite.funnel("shop", range, q.clone(), Segment::default()).await.unwrap();
        let got = clickhouse.funnel("shop", range, q, Segment::default()).await.unwrap();
        assert_eq!(got, want, "steps {steps:?}");
        assert_eq!(want.sessions, 300);
    }
}

#[tokio::test]
async fn https_with_the_mozilla_roots_or_a_private_ca() {
    use tokio_rustls::rustls;
    // A ClickHouse behind TLS with a certificate of its own for 127.0.0.1.
    let key = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let der = rustls::pki_types::PrivateKeyDer::Pkcs8(key.signing_key.serialize_der().into());
    let server = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![key.cert.der().clone()], der)
        .unwrap();
    let (url, seen) = fake_clickhouse(Some(tokio_rustls::TlsAcceptor::from(Arc::new(server)))).await;
    assert!(url.starts_with("https://127.0.0.1:"));

    // Its CA is not among the Mozilla roots: refused, and the error says why.
    let Err(StoreError(m)) = ClickHouseStore::open(config(&url, "pw")).await else {
        panic!("a certificate no root vouches for must be refused");
    };
    assert!(m.contains("certificate"), "{m}");
    assert!(seen.lock().unwrap().is_empty(), "nothing sent before the certificate is trusted");

    // Trusted through --clickhouse-ca-file: every statement goes over TLS.
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, key.cert.pem()).unwrap();
    let store = ClickHouseStore::open(ClickHouseConfig { ca_file: Some(ca.clone()), ..config(&url, "pw") }).await;
    assert!(store.is_ok(), "{:?}", store.err());
    assert!(!seen.lock().unwrap().is_empty());

    // A CA file that is missing or holds no certificate is named.
    for (path, content) in [(dir.path().join("missing.pem"), None), (dir.path().join("empty.pem"), Some("not a pem"))] {
        if let Some(text) = content {
            std::fs::write(&path, text).unwrap();
        }
        let Err(StoreError(m)) =
            ClickHouseStore::open(ClickHouseConfig { ca_file: Some(path.clone()), ..config(&url, "pw") }).await
        else {
            panic!("{} must be refused", path.display());
        };
        assert!(m.contains(&path.display().to_string()), "{m}");
    }
}
