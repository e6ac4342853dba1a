#!/usr/bin/env bash
# Builds everything and runs the collector with SQLite on http://127.0.0.1:8080, serving the
# demo storefront (www/), the dashboard and the built SDK. Ctrl-C stops it (pending writes are
# flushed first). Override with FC_ADDR, FC_DB, or FC_CLICKHOUSE_URL to store in ClickHouse (see
# `funnelcake-collector --help` and the README).
source "$(dirname "$0")/env.sh"
bash scripts/setup.sh
bash scripts/build.sh
step "cargo build --release -p funnelcake-collector"
cargo build --release -p funnelcake-collector --quiet
step "collector on http://${FC_ADDR:-127.0.0.1:8080}/ (Ctrl-C to stop)"
exec target/release/funnelcake-collector --dev
