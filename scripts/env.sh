# Sourced by the other scripts: repository root, PATH with cargo and node_modules/.bin, helpers.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$ROOT/node_modules/.bin:$PATH"
export CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
# The wasm-bindgen version pinned in Cargo.toml (wasm-bindgen-cli must match it exactly).
WASM_BINDGEN_VERSION="$(sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' Cargo.toml)"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# chDB (ClickHouse's engine as a Python package, from PyPI) for the ClickHouse store's tests, in a
# virtualenv of its own outside the repository (about 0.9 GB, shared by clones).
CHDB_VERSION="4.4.0"
CLICKHOUSE_VENV="${FC_CLICKHOUSE_VENV:-$HOME/.cache/funnelcake/chdb-$CHDB_VERSION}"
