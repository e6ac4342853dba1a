//! funnelcake-collector: the reference collector.
//!
//! `POST /v1/batch` validates a wire-format batch (decoded by `funnelcake_core::wire`, the same
//! definition the SDK encodes with), corrects client clock skew, dedupes by (site, event id) and
//! stores it. The router takes its [`Store`] and its clock as parts, so tests run it without a
//! socket against a temporary database and a fixed clock.
#![deny(missing_docs)]

pub mod clickhouse;
pub mod error;
pub mod extract;
pub mod ingest;
pub mod limit;
pub mod query;
pub mod read;
pub mod redact;
pub mod settings;
pub mod stats;
pub mod store;
pub mod useragent;

use std::sync::Arc;

use axum::http::{Method, Uri};
use axum::routing::{any, get, post};
use axum::Router;
use tower_http::services::ServeDir;

use crate::error::ApiError;

pub use clickhouse::{ClickHouseConfig, ClickHouseStore};
pub use settings::Settings;
pub use store::{SqliteStore, Store};

/// A clock returning epoch ms; swapped for a fixed one in tests.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
    })
}

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    /// Where events go.
    pub store: Arc<dyn Store>,
    /// Runtime settings.
    pub settings: Arc<Settings>,
    /// The clock.
    pub clock: Clock,
    /// Rate limits (built from the settings).
    pub limits: Arc<Limits>,
    /// Flips to `true` when shutdown begins: long-lived responses (the live stream) end, so a
    /// graceful shutdown does not wait for them forever.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    shutdown_tx: Arc<tokio::sync::watch::Sender<bool>>,
}

/// The rate limiters.
pub struct Limits {
    /// Requests per client IP.
    pub ip: limit::RateLimiter,
    /// Events per site.
    pub site: limit::RateLimiter,
}

impl AppState {
    /// State with limiters built from `settings`.
    pub fn new(store: Arc<dyn Store>, settings: Settings, clock: Clock) -> AppState {
        let limits = Limits {
            ip: limit::RateLimiter::new(settings.rate_ip, settings.rate_ip * 2.0),
            site: limit::RateLimiter::new(settings.rate_site, settings.rate_site * 2.0),
        };
        let (tx, rx) = tokio::sync::watch::channel(false);
        AppState {
            store,
            settings: Arc::new(settings),
            clock,
            limits: Arc::new(limits),
            shutdown: rx,
            shutdown_tx: Arc::new(tx),
        }
    }

    /// Starts the shutdown: live streams end.
    pub fn begin_shutdown(&self) {
        let _ = self.shutdown_tx.send(true);
    }
}

fn cors(settings: &Settings) -> tower_http::cors::CorsLayer {
    use axum::http::{header, HeaderValue};
    use tower_http::cors::{AllowOrigin, CorsLayer};
    let origins = &settings.cors_origins;
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::POST, Method::GET])
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION, header::CONTENT_ENCODING])
        .max_age(std::time::Duration::from_secs(86_400))
}

/// The built SDK's files, as a page should get them: the `.br` or `.gz` copy beside a file
/// (scripts/precompress.mjs writes them) when the browser accepts it, with `Vary:
/// Accept-Encoding` (the wasm is 31 KB in brotli against 79 KB raw), and cached as
/// [`sdk_cache`] says.
fn sdk_files(dir: &std::path::Path) -> Router {
    let files = ServeDir::new(dir).precompressed_br().precompressed_gzip();
    let versions = Arc::new(SdkVersions { dir: dir.to_owned(), known: Default::default() });
    Router::new().fallback_service(files).layer(axum::middleware::from_fn_with_state(versions, sdk_cache))
}

/// How long a browser may keep an SDK file. The script asks for the wasm by its build's version
/// (`funnelcake.wasm?v=<first 8 hex digits of its SHA-256>`, scripts/build.sh); when that
/// version is the file's, the response says `max-age` of a year and `immutable`, so a repeat
/// view takes the wasm from the cache without asking (a new build is a new URL). Anything else
/// gets `no-cache`: the browser asks again on each load and gets a 304 while the file is
/// unchanged. That covers the script, whose URL is the page's and carries no version, and a
/// version that is not the file's (a script of the build before, during a deploy), which must
/// not pin the new file under the old URL.
async fn sdk_cache(
    axum::extract::State(versions): axum::extract::State<Arc<SdkVersions>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{header, HeaderValue, StatusCode};
    let version = req.uri().query().and_then(|q| q.split('&').find_map(|p| p.strip_prefix("v="))).map(str::to_owned);
    let path = req.uri().path().trim_start_matches('/').to_owned();
    let mut res = next.run(req).await;
    let served = res.status() == StatusCode::OK || res.status() == StatusCode::NOT_MODIFIED;
    let pinned = match version {
        // Only a path ServeDir has just served (so inside `dir`), named plainly.
        Some(v) if served && !path.split('/').any(|s| s.is_empty() || s.starts_with('.')) => {
            versions.of(&path).await.is_some_and(|f| f == v)
        }
        _ => false,
    };
    let cache = if pinned { "public, max-age=31536000, immutable" } else { "no-cache" };
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    res
}

/// The versions of the SDK's files, each hashed once per content: kept with the modification
/// time and length it was computed for, so a versioned request costs a `stat`, and a rebuild
/// while the collector runs is hashed again.
struct SdkVersions {
    dir: std::path::PathBuf,
    known: std::sync::Mutex<std::collections::HashMap<String, (std::time::SystemTime, u64, String)>>,
}

impl SdkVersions {
    /// The version of `path` (relative to the SDK's directory) as scripts/build.sh writes it:
    /// the first 8 hex digits of its SHA-256. `None` if it cannot be read.
    async fn of(&self, path: &str) -> Option<String> {
        let file = self.dir.join(path);
        let meta = tokio::fs::metadata(&file).await.ok()?;
        let stamp = (meta.modified().ok()?, meta.len());
        let known =
            self.known.lock().ok().and_then(|k| k.get(path).filter(|e| (e.0, e.1) == stamp).map(|e| e.2.clone()));
        if known.is_some() {
            return known;
        }
        let bytes = tokio::fs::read(&file).await.ok()?;
        let digest = ring::digest::digest(&ring::digest::SHA256, &bytes);
        let v: String = digest.as_ref()[..4].iter().map(|b| format!("{b:02x}")).collect();
        if let Ok(mut k) = self.known.lock() {
            k.insert(path.to_owned(), (stamp.0, stamp.1, v.clone()));
        }
        Some(v)
    }
}

/// Builds the full router: API routes, the built SDK under `/funnelcake/`, and `www/`.
pub fn router(state: AppState) -> Router {
    let sdk = sdk_files(&state.settings.sdk_dir);
    let www = ServeDir::new(&state.settings.www);
    let api = Router::new()
        .route("/v1/batch", post(ingest::post_batch))
        .route("/v1/sites/{site}/events", get(ingest::get_events))
        .route("/v1/sites/{site}/sessions", get(ingest::get_sessions))
        .route("/v1/sites/{site}/metrics", get(read::get_metrics))
        .route("/v1/sites/{site}/funnel", get(read::get_funnel))
        .route("/v1/sites/{site}/pages", get(read::get_pages))
        .route("/v1/sites/{site}/campaigns", get(read::get_campaigns))
        .route("/v1/sites/{site}/daily", get(read::get_daily))
        .route("/v1/sites/{site}/ingest", get(read::get_ingest))
        .route("/v1/sites/{site}/live", get(read::get_live))
        .route("/v1/sites/{site}/experiments", get(read::get_experiments))
        .route("/v1/sites/{site}/experiments/{key}", get(read::get_experiment))
        .method_not_allowed_fallback(|method: Method, uri: Uri| async move {
            ApiError::method_not_allowed(method.as_str(), uri.path())
        })
        // Anything else under /v1/ is an API path that does not exist: a JSON 404, not the
        // static files' empty one.
        .route("/v1/{*rest}", any(|uri: Uri| async move { ApiError::not_found(&format!("API path {}", uri.path())) }))
        .layer(cors(&state.settings));
    Router::new()
        .merge(api)
        .route("/healthz", get(|| async { "ok" }))
        .nest_service("/funnelcake", sdk)
        .fallback_service(www)
        .with_state(state)
}
