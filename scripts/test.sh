#!/usr/bin/env bash
# `make test`: install what is missing, then run every check and test Herald has:
#   lints · Rust tests on SQLite · Rust tests on PostgreSQL · wasm build · browser tests.
# TEST_DATABASE_URL (a PostgreSQL server URL) is used when given; otherwise a throw-away cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
source scripts/pg-temp.sh

log=$(mktemp /tmp/herald-test.XXXXXX)
stack_dir=""
pids=()
cleanup() {
  ((${#pids[@]})) && kill -TERM "${pids[@]}" 2>/dev/null && wait "${pids[@]}" 2>/dev/null || true
  stop_temp_postgres
  [[ -n "$stack_dir" ]] && rm -rf "$stack_dir"
  rm -f "$log"
}
trap cleanup EXIT

scripts/bootstrap.sh test

step "lints: rustfmt and clippy (server side and wasm side)"
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
cargo clippy -p frontend -p app --features app/hydrate --target wasm32-unknown-unknown -- -D warnings

step "Rust tests on SQLite"
cargo test 2>&1 | tee -a "$log"

step "Rust tests on PostgreSQL"
if [[ -n "${TEST_DATABASE_URL:-}" ]]; then
  echo "using TEST_DATABASE_URL"
  cargo test 2>&1 | tee -a "$log"
else
  start_temp_postgres
  cargo test 2>&1 | tee -a "$log"
  stop_temp_postgres
fi

# The Rust tests built herald-server and herald-worker (their integration tests run them);
# the browser tests use those binaries with the wasm site built here.
build_site

step "browser tests (headless Chromium)"
stack_dir=$(mktemp -d /tmp/herald-e2e.XXXXXX)
port=$(free_port)
health_port=$(free_port)
export DATABASE_URL="sqlite://$stack_dir/herald.db" DATA_DIR="$stack_dir" LEPTOS_SITE_ROOT=target/site \
  LEPTOS_SITE_ADDR="127.0.0.1:$port" WORKER_HEALTH_ADDR="127.0.0.1:$health_port" \
  PUBLIC_URL="http://127.0.0.1:$port" RUST_LOG=warn \
  WA_PROVIDER=sim SIM_TIME_SCALE=0.25
bin=$(target_dir)/debug
# The browser tests sign in with links from this binary's login-link command.
export HERALD_SERVER_BIN="$bin/herald-server"
"$bin/herald-worker" & pids+=($!)
"$bin/herald-server" & pids+=($!)
wait_http "http://127.0.0.1:$port/api/health" 60
wait_http "http://127.0.0.1:$health_port/health" 60
(cd end2end && BASE_URL="http://127.0.0.1:$port" npx playwright test) 2>&1 | tee -a "$log"

# One closing line for the whole run, summed over every suite above.
passed=$(grep -hoE '(test result: [a-z]+\. )?[0-9]+ passed' "$log" | grep -oE '[0-9]+ passed' | awk '{s += $1} END {print s + 0}')
failed=$(grep -hoE '[0-9]+ failed' "$log" | awk '{s += $1} END {print s + 0}')
step "all suites ran: SQLite, PostgreSQL, browser"
echo "summary: $passed passed, $failed failed"
((failed == 0))
