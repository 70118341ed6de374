#!/usr/bin/env bash
# `make bench`: the dashboard's server-side rendering under load, the worker's memory, then delivery's speed and a metrics scrape's cost on SQLite
# and on PostgreSQL (TEST_DATABASE_URL, or a throw-away cluster), then several workers on
# PostgreSQL (failover time, throughput with 1–3 workers). Prints the figures;
# docs/benchmarks.md records them.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
source scripts/pg-temp.sh
trap stop_temp_postgres EXIT

scripts/bootstrap.sh test

step "server-side rendering under load (release build, wrk)"
env -u TEST_DATABASE_URL cargo bench -p server --bench pages

step "worker memory"
env -u TEST_DATABASE_URL cargo bench -p worker --bench memory

step "delivery benchmark on SQLite"
env -u TEST_DATABASE_URL cargo bench -p worker --bench delivery

step "metrics scrape on SQLite"
env -u TEST_DATABASE_URL cargo bench -p service --bench metrics

step "delivery benchmark on PostgreSQL"
if [[ -z "${TEST_DATABASE_URL:-}" ]]; then
  start_temp_postgres
fi
cargo bench -p worker --bench delivery

step "metrics scrape on PostgreSQL"
cargo bench -p service --bench metrics

step "several workers on PostgreSQL: failover and throughput"
cargo bench -p worker --bench leases
