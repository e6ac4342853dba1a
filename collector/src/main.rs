//! `funnelcake-collector` binary: parse settings, open SQLite, serve until SIGINT/SIGTERM, then
//! flush pending writes before exiting.

use std::io::Write as _;
use std::sync::Arc;

use clap::Parser;
use funnelcake_collector::{
    router, system_clock, AppState, ClickHouseConfig, ClickHouseStore, Settings, SqliteStore, Store,
};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let settings = Settings::parse();
    let store = match open_store(&settings).await {
        Ok(s) => s,
        Err(e) => {
            match &settings.clickhouse_url {
                Some(url) => tracing::error!(url = %url, error = %e, "cannot open ClickHouse storage"),
                None => tracing::error!(db = %settings.db.display(), error = %e, "cannot open database"),
            }
            return std::process::ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(settings.addr).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(addr = %settings.addr, error = %e, "cannot listen");
            return std::process::ExitCode::FAILURE;
        }
    };
    let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
    if settings.dev {
        tracing::warn!("dev mode: read API is open and raw events are readable");
    }
    match &settings.clickhouse_url {
        Some(url) => {
            tracing::info!(clickhouse = %url, database = %settings.clickhouse_database, www = %settings.www.display(), "collector ready")
        }
        None => tracing::info!(db = %settings.db.display(), www = %settings.www.display(), "collector ready"),
    }
    // Handlers installed before the line below: a signal sent as soon as it is printed ends the
    // collector gracefully rather than by the default action.
    let stop = shutdown_signal();
    // Tests and scripts read this line to find the port.
    println!("funnelcake-collector listening on http://{addr}");
    let _ = std::io::stdout().flush();
    let state = AppState::new(store.clone(), settings, system_clock());
    let app = router(state.clone()).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let signal = async move {
        stop.await;
        tracing::info!("shutting down: finishing requests, ending live streams");
        state.begin_shutdown();
    };
    let served = axum::serve(listener, app).with_graceful_shutdown(signal).await;
    store.shutdown().await;
    match served {
        Ok(()) => {
            tracing::info!("stopped; pending writes flushed");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %e, "server error");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The store the settings name: ClickHouse with `--clickhouse-url`, else SQLite at `--db`.
async fn open_store(settings: &Settings) -> Result<Arc<dyn Store>, funnelcake_collector::store::StoreError> {
    let retain = (settings.retention_days > 0).then_some(settings.retention_days);
    Ok(match &settings.clickhouse_url {
        Some(url) => Arc::new(
            ClickHouseStore::open(ClickHouseConfig {
                url: url.clone(),
                ca_file: settings.clickhouse_ca_file.clone(),
                database: settings.clickhouse_database.clone(),
                user: settings.clickhouse_user.clone(),
                password: settings.clickhouse_password.clone(),
                retention_days: settings.retention_days,
            })
            .await?,
        ),
        None => Arc::new(SqliteStore::open_retaining(&settings.db, retain)?),
    })
}

/// SIGINT or SIGTERM. The handlers are installed when this is called, not when the future is
/// first polled (which `axum::serve` does from a task of its own, possibly after the first
/// requests were served).
#[cfg(unix)]
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, Signal, SignalKind};
    /// The next delivery of `s`; never, if its handler could not be installed.
    async fn next(s: Option<Signal>) {
        match s {
            Some(mut s) => {
                s.recv().await;
            }
            None => std::future::pending().await,
        }
    }
    let int = next(signal(SignalKind::interrupt()).ok());
    let term = next(signal(SignalKind::terminate()).ok());
    async move {
        tokio::select! { _ = int => {}, _ = term => {} }
    }
}

/// Ctrl-C (no SIGTERM outside Unix).
#[cfg(not(unix))]
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
