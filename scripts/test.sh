#!/usr/bin/env bash
# Runs every check: formatting, clippy (host and wasm32), rustdoc, host tests, browser tests of the wasm
# shell, node tests of js/, the size budget, and end-to-end tests in Chromium against the real
# collector. Installs what it needs first (scripts/setup.sh, idempotent).
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

step "cargo test --workspace"
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

echo
echo "all checks passed in $(( $(date +%s) - start )) s"
