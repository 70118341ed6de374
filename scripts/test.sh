#!/usr/bin/env bash
# `make test`: install what is missing, then run every check and test Herald has:
#   lints · Rust tests on SQLite · wasm tests under Node · Rust tests on PostgreSQL · chaos harness (short) · wasm build ·
#   browser tests ·
#   deployment checks (compose.yaml, Dockerfile, the image's build steps and a smoke test).
# TEST_DATABASE_URL (a PostgreSQL server URL) is used when given; otherwise a throw-away cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
source scripts/pg-temp.sh

log=$(mktemp /tmp/herald-test.XXXXXX)
cleanup() {
  stop_temp_postgres
  rm -f "$log"
}
trap cleanup EXIT

scripts/bootstrap.sh test

step "lints: rustfmt and clippy (server side and wasm side)"
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
cargo clippy -p frontend -p app -p domain --features app/hydrate --target wasm32-unknown-unknown --all-targets -- -D warnings

step "Rust tests on SQLite"
cargo test 2>&1 | tee -a "$log"

# The browser computes time zone offsets with its own Intl database (domain/src/timezone/intl.rs);
# these check it against the server's tables, under Node, whose Intl is the browsers' own.
step "Rust tests in wasm: the browser's time zone offsets"
cargo test -p domain --target wasm32-unknown-unknown --test intl 2>&1 | tee -a "$log"

step "Rust tests on PostgreSQL"
if [[ -n "${TEST_DATABASE_URL:-}" ]]; then
  echo "using TEST_DATABASE_URL"
  cargo test 2>&1 | tee -a "$log"
else
  start_temp_postgres
  cargo test 2>&1 | tee -a "$log"
  stop_temp_postgres
fi

# The real binaries under random operator actions and faults (kill -9, SIGTERM, a PostgreSQL
# restart), then the delivery invariants; a few trials per database (docs/reliability.md).
step "chaos harness, short: SQLite and PostgreSQL, then three workers on PostgreSQL"
scripts/chaos.sh --short 2>&1 | tee -a "$log"

# The browser tests run herald-server, herald-worker and herald-fixture (mostly built by the
# Rust tests already) with the wasm site built here.
build_bins
build_site
step "browser tests (headless Chromium)"
scripts/e2e.sh 2>&1 | tee -a "$log"

# Reuses the builds above (scripts/image.sh --debug), so it adds little time.
step "deployment checks: compose.yaml, Dockerfile, the image's build steps"
scripts/deploy-check.sh 2>&1 | tee -a "$log"

# One closing line for the whole run, summed over every suite above.
passed=$(grep -hoE '(test result: [a-z]+\. )?[0-9]+ passed' "$log" | grep -oE '[0-9]+ passed' | awk '{s += $1} END {print s + 0}')
failed=$(grep -hoE '[0-9]+ failed' "$log" | awk '{s += $1} END {print s + 0}')
step "all suites ran: SQLite, PostgreSQL, browser, deployment"
echo "summary: $passed passed, $failed failed"
((failed == 0))
