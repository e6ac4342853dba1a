//! Shared helpers of the benchmark binaries: an in-process collector and generated events.

use std::net::SocketAddr;
use std::sync::Arc;

use funnelcake_collector::{router, system_clock, AppState, Settings, SqliteStore, Store};

/// A collector serving on 127.0.0.1 (random port) from its own runtime thread.
pub struct Server {
    /// Address it listens on.
    pub addr: SocketAddr,
    /// The store, for direct queries.
    pub store: Arc<SqliteStore>,
    _dir: tempfile::TempDir,
}

/// Starts a collector with a fresh SQLite database, rate limits off, on `threads` runtime threads.
pub fn start_server(threads: usize) -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = Settings::for_tests(dir.path().join("bench.sqlite3"));
    settings.rate_ip = 0.0;
    settings.rate_site = 0.0;
    let store = Arc::new(SqliteStore::open(&settings.db).expect("open sqlite"));
    let (tx, rx) = std::sync::mpsc::channel();
    let state = AppState::new(store.clone() as Arc<dyn Store>, settings, system_clock());
    std::thread::spawn(move || {
        let rt =
            tokio::runtime::Builder::new_multi_thread().worker_threads(threads).enable_all().build().expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
            tx.send(listener.local_addr().expect("addr")).expect("send addr");
            let _ = axum::serve(listener, router(state)).await;
        });
    });
    let addr = rx.recv().expect("server address");
    Server { addr, store, _dir: dir }
}

/// A deterministic event id from two counters.
pub fn event_id(a: u64, b: u64) -> String {
    format!("{a:016x}{b:016x}")
}

/// One wire event of a typical shape (~250 bytes).
pub fn event_json(id: &str, t: &str, ts: i64, sid: &str, seq: u64) -> String {
    format!(
        r#"{{"id":"{id}","t":"{t}","ts":{ts},"sid":"{sid}","aid":"a-{sid}","seq":{seq},"url":"/p/sku-{seq}","title":"Trail Runner – Shop","props":{{"list":"search"}},"items":[{{"id":"SKU-{seq}","price":1999,"qty":1}}],"value":1999,"cur":"USD"}}"#
    )
}

/// Percentile of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}
