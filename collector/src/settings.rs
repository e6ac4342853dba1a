//! Collector settings from flags and environment variables, with defaults.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Command-line flags (each also readable from the environment variable shown).
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "funnelcake-collector", version, about = "Reference collector for funnelcake")]
pub struct Settings {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "FC_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// SQLite database file (created with its directory if missing).
    #[arg(long, env = "FC_DB", default_value = "data/funnelcake.sqlite3")]
    pub db: PathBuf,
    /// Directory served at `/` (the demo storefront and dashboard).
    #[arg(long, env = "FC_WWW", default_value = "www")]
    pub www: PathBuf,
    /// Directory of the built SDK, served at `/funnelcake/`.
    #[arg(long, env = "FC_SDK_DIR", default_value = "dist/funnelcake")]
    pub sdk_dir: PathBuf,
    /// Development mode: read API without a token, and the raw events endpoint.
    #[arg(long, env = "FC_DEV")]
    pub dev: bool,
    /// Bearer token for the read API (required outside `--dev`).
    #[arg(long, env = "FC_READ_TOKEN")]
    pub read_token: Option<String>,
    /// Comma-separated site ids to accept; empty accepts any.
    #[arg(long, env = "FC_SITES", value_delimiter = ',')]
    pub sites: Vec<String>,
    /// Comma-separated origins allowed by CORS (`*` for any); empty allows none (same origin).
    #[arg(long, env = "FC_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// Requests per second per client IP (burst: twice that); 0 disables.
    #[arg(long, env = "FC_RATE_IP", default_value_t = 50.0)]
    pub rate_ip: f64,
    /// Events per second per site (burst: twice that); 0 disables.
    #[arg(long, env = "FC_RATE_SITE", default_value_t = 20_000.0)]
    pub rate_site: f64,
    /// Store events sent by known crawlers and page-audit tools (by User-Agent: Googlebot,
    /// Lighthouse, …). Off: their batches are answered 200 and nothing is stored, each event
    /// listed as rejected with the reason `bot`, so no KPI, funnel or experiment counts them.
    #[arg(long, env = "FC_KEEP_BOTS")]
    pub keep_bots: bool,
    /// Store email addresses found in an event's page URL, referrer, title or traffic source
    /// (and a session summary's landing and exit pages and source) as sent. Off: each is
    /// replaced by `(redacted)` before it is stored, as GA4's data redaction does.
    #[arg(long, env = "FC_KEEP_EMAILS")]
    pub keep_emails: bool,
    /// Days of data kept: events, sessions, orders and delivery counts older than this are
    /// deleted (at start, then hourly); 0 keeps everything.
    #[arg(long, env = "FC_RETENTION_DAYS", default_value_t = 0)]
    pub retention_days: u32,
    /// ClickHouse's HTTP interface (`http://host:8123`, or `https://host:8443`) to store in
    /// instead of SQLite, for several collectors behind a load balancer (`--db` is then unused).
    #[arg(long, env = "FC_CLICKHOUSE_URL")]
    pub clickhouse_url: Option<String>,
    /// ClickHouse database of the collector's tables (created if missing).
    #[arg(long, env = "FC_CLICKHOUSE_DATABASE", default_value = "funnelcake")]
    pub clickhouse_database: String,
    /// ClickHouse user (ClickHouse's `default` when absent).
    #[arg(long, env = "FC_CLICKHOUSE_USER")]
    pub clickhouse_user: Option<String>,
    /// ClickHouse password (better passed in the environment than on the command line).
    #[arg(long, env = "FC_CLICKHOUSE_PASSWORD", hide_env_values = true)]
    pub clickhouse_password: Option<String>,
    /// PEM file of certificate authorities to trust for an `https://` ClickHouse, besides the
    /// Mozilla roots built in.
    #[arg(long, env = "FC_CLICKHOUSE_CA_FILE")]
    pub clickhouse_ca_file: Option<PathBuf>,
}

impl Settings {
    /// Settings for tests: dev mode, every other value at its default.
    pub fn for_tests(db: PathBuf) -> Settings {
        Settings {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            db,
            www: PathBuf::from("www"),
            sdk_dir: PathBuf::from("dist/funnelcake"),
            dev: true,
            read_token: None,
            sites: Vec::new(),
            cors_origins: Vec::new(),
            rate_ip: 0.0,
            rate_site: 0.0,
            keep_bots: false,
            keep_emails: false,
            retention_days: 0,
            clickhouse_url: None,
            clickhouse_database: "funnelcake".into(),
            clickhouse_user: None,
            clickhouse_password: None,
            clickhouse_ca_file: None,
        }
    }

    /// `true` if events for `site` are accepted.
    pub fn site_allowed(&self, site: &str) -> bool {
        self.sites.is_empty() || self.sites.iter().any(|s| s == site)
    }
}
