//! `funnelcake-collector` binary: parse settings, open SQLite, serve until SIGINT/SIGTERM, then
//! flush pending writes before exiting.

use std::io::Write as _;
use std::sync::Arc;

use clap::Parser;
use funnelcake_collector::{router, system_clock, AppState, Settings, SqliteStore, Store};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let settings = Settings::parse();
    let store = match SqliteStore::open(&settings.db) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            tracing::error!(db = %settings.db.display(), error = %e, "cannot open database");
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
    tracing::info!(db = %settings.db.display(), www = %settings.www.display(), "collector ready");
    // Tests and scripts read this line to find the port.
    println!("funnelcake-collector listening on http://{addr}");
    let _ = std::io::stdout().flush();
    let state = AppState::new(store.clone(), settings, system_clock());
    let app = router(state.clone()).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let signal = async move {
        shutdown_signal().await;
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

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
