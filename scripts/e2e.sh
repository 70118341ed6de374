#!/usr/bin/env bash
# The browser tests against a fresh stack: herald-server and herald-worker (debug builds) on a
# throw-away SQLite database with the simulated WhatsApp provider, driven by Playwright in
# headless Chromium. `make test` runs it after building everything; on its own
# (`scripts/e2e.sh --build [playwright args, e.g. tests/reminders.spec.ts]`) it builds first.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

if [[ "${1:-}" == "--build" ]]; then
  shift
  build_bins
  build_site
fi

stack_dir=$(mktemp -d /tmp/herald-e2e.XXXXXX)
pids=()
cleanup() {
  ((${#pids[@]})) && kill -TERM "${pids[@]}" 2>/dev/null && wait "${pids[@]}" 2>/dev/null || true
  rm -rf "$stack_dir"
}
trap cleanup EXIT

port=$(free_port)
health_port=$(free_port)
export DATABASE_URL="sqlite://$stack_dir/herald.db" DATA_DIR="$stack_dir" LEPTOS_SITE_ROOT=target/site \
  LEPTOS_SITE_ADDR="127.0.0.1:$port" WORKER_HEALTH_ADDR="127.0.0.1:$health_port" \
  PUBLIC_URL="http://127.0.0.1:$port" RUST_LOG=warn \
  WA_PROVIDER=sim SIM_TIME_SCALE=0.25 WORKER_ID=e2e-worker
bin=$(target_dir)/debug
# The browser tests sign in with links from this binary's login-link command, and reach the
# worker's simulator controls at WORKER_URL; herald-fixture sets up states the UI cannot reach
# in test time.
export HERALD_SERVER_BIN="$bin/herald-server" HERALD_FIXTURE_BIN="$bin/herald-fixture" \
  WORKER_URL="http://127.0.0.1:$health_port"
"$bin/herald-worker" & pids+=($!)
"$bin/herald-server" & pids+=($!)
wait_http "http://127.0.0.1:$port/api/health" 60
wait_http "http://127.0.0.1:$health_port/health" 60
# Each run keeps its failure artifacts in its own folder, so runs side by side do not clash.
cd end2end && BASE_URL="http://127.0.0.1:$port" \
  npx playwright test --output "test-results/$(basename "$stack_dir")" "$@"
