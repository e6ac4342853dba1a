#!/usr/bin/env bash
# Runs every check: formatting, clippy (host and wasm32), rustdoc, host tests (the collector's store
# tests on SQLite and on ClickHouse, served by scripts/clickhouse-dev.py over chDB), browser tests of
# the wasm shell, node tests of js/, the size budget, and end-to-end tests in Chromium against the
# real collector (on SQLite, then the store-heavy ones on ClickHouse). Installs what it needs first
# (scripts/setup.sh, idempotent).
source "$(dirname "$0")/env.sh"
start=$(date +%s)

bash scripts/setup.sh

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy (host, all targets)"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "cargo clippy (SDK for wasm32)"
cargo clippy -p funnelcake --target wasm32-unknown-unknown --all-targets --quiet -- -D warnings

step "cargo doc (rustdoc warnings are errors: broken or private links)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet

step "ClickHouse for the store tests (scripts/clickhouse-dev.py: ClickHouse's HTTP interface over chDB)"
chdir=$(mktemp -d)
"$CLICKHOUSE_VENV/bin/python" scripts/clickhouse-dev.py --path "$chdir/data" >"$chdir/log" 2>&1 &
chpid=$!
trap 'kill "$chpid" 2>/dev/null || true; wait "$chpid" 2>/dev/null || true; rm -rf "$chdir"' EXIT
for _ in $(seq 300); do
  grep -q "listening on" "$chdir/log" && break
  kill -0 "$chpid" 2>/dev/null || { cat "$chdir/log"; exit 1; }
  sleep 0.1
done
FC_TEST_CLICKHOUSE=$(sed -n 's/^clickhouse-dev listening on //p' "$chdir/log")
[ -n "$FC_TEST_CLICKHOUSE" ] || { echo "clickhouse-dev did not start"; cat "$chdir/log"; exit 1; }
export FC_TEST_CLICKHOUSE
echo "ClickHouse (chDB) at $FC_TEST_CLICKHOUSE"

step "cargo test --workspace (collector store tests on SQLite and ClickHouse)"
cargo test --workspace --quiet

step "wasm-pack test --headless --chrome (browser shell in Chromium)"
wasm-pack test --headless --chrome --chromedriver "$CHROMEDRIVER"

step "node --test js/test scripts/test"
node --test js/test/ scripts/test/

step "build SDK and collector"
bash scripts/build.sh
cargo build -p funnelcake-collector --quiet

step "size budget"
bash scripts/size-check.sh

step "end-to-end tests (playwright-core + Chromium + collector)"
node --test --test-concurrency=1 tests/e2e/

step "end-to-end tests of the store's reads and writes again, the collector on ClickHouse"
FC_E2E_CLICKHOUSE="$FC_TEST_CLICKHOUSE" node --test --test-concurrency=1 \
  tests/e2e/storefront.test.mjs tests/e2e/dashboard.test.mjs tests/e2e/widgets.test.mjs \
  tests/e2e/experiment.test.mjs tests/e2e/delivery.test.mjs tests/e2e/scale.test.mjs

echo
echo "all checks passed in $(( $(date +%s) - start )) s"
