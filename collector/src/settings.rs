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
        }
    }

    /// `true` if events for `site` are accepted.
    pub fn site_allowed(&self, site: &str) -> bool {
        self.sites.is_empty() || self.sites.iter().any(|s| s == site)
    }
}
