#!/usr/bin/env bash
# Installs everything the build, demo and tests need. Idempotent: each step is skipped when its
# tool is already present at the right version, so a machine that has everything finishes in
# seconds. Needs only the package registries (crates.io, Debian, npm), never GitHub downloads.
source "$(dirname "$0")/env.sh"

if ! command -v cargo >/dev/null; then
  echo "setup: cargo not found; install Rust with rustup first" >&2
  exit 1
fi

# The toolchain pinned in rust-toolchain.toml, with its components and the wasm target (rustup
# installs it on first use too, but not every rustup version does so unasked).
toolchain=$(sed -n 's/^channel = "\(.*\)"/\1/p' rust-toolchain.toml)
if ! rustup toolchain list | grep -q "^$toolchain-"; then
  step "rustup toolchain install $toolchain"
  rustup toolchain install "$toolchain" --profile minimal -c clippy -c rustfmt -t wasm32-unknown-unknown
fi

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  step "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  step "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes, once)"
  cargo install wasm-bindgen-cli --version "=$WASM_BINDGEN_VERSION" --locked
fi

if ! command -v wasm-pack >/dev/null; then
  step "cargo install wasm-pack (a few minutes, once)"
  cargo install wasm-pack --locked
fi

if [ ! -x "$CHROMIUM" ] || [ ! -x "$CHROMEDRIVER" ]; then
  step "apt-get install chromium chromium-driver"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver
fi

# npm ci when node_modules is missing or older than the lockfile.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "npm ci (binaryen for wasm-opt, playwright-core, terser, typescript)"
  npm ci --no-audit --no-fund
fi

# chDB for the ClickHouse store's tests (scripts/clickhouse-dev.py serves ClickHouse's HTTP
# interface over it).
if ! "$CLICKHOUSE_VENV/bin/python" -c "import chdb" 2>/dev/null; then
  step "pip install chdb==$CHDB_VERSION into $CLICKHOUSE_VENV (ClickHouse for the store tests, once)"
  rm -rf "$CLICKHOUSE_VENV"
  if ! python3 -m venv "$CLICKHOUSE_VENV"; then
    # Debian's own python3 keeps venv in a package of its own.
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv
    rm -rf "$CLICKHOUSE_VENV"
    python3 -m venv "$CLICKHOUSE_VENV"
  fi
  "$CLICKHOUSE_VENV/bin/pip" install --quiet --disable-pip-version-check "chdb==$CHDB_VERSION" "chdb-core==26.9.0"
fi

echo "setup: ok (wasm-bindgen $WASM_BINDGEN_VERSION, $(wasm-pack --version), $(wasm-opt --version | head -1), $("$CHROMIUM" --version 2>/dev/null))"
