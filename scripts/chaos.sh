#!/usr/bin/env bash
# `make chaos`: the chaos harness (crate chaos/, binary herald-chaos) against the real
# herald-server and herald-worker on the simulator, on SQLite and on PostgreSQL: random operator
# actions and injected faults, then the delivery invariants (docs/reliability.md).
#   scripts/chaos.sh            the long version: 25 one-worker trials per database, then 25
#                               trials of three workers sharing PostgreSQL
#   scripts/chaos.sh --short    the test suite's: 2 one-worker trials per database, then 2
#                               trials of three workers sharing PostgreSQL (~4 minutes)
# Any other arguments go to one herald-chaos run (--seed S --trials 1 --db sqlite replays a
# trial; --db postgres --workers 3 runs several workers).
# TEST_DATABASE_URL (a PostgreSQL server URL) is used when given, without the restart fault;
# otherwise a throw-away cluster is started, and restarted once per PostgreSQL trial.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
source scripts/pg-temp.sh

# A failed trial keeps its directory (logs, SQLite database); on the throw-away cluster, its
# PostgreSQL database is dumped into that directory before the cluster goes.
keep_failed_databases() {
  [[ -n "${PG_TEMP_DIR:-}" && $status -ne 0 ]] || return 0
  local db
  for db in $("$PG_TEMP_BIN/psql" "$TEST_DATABASE_URL" -Atc \
    "SELECT datname FROM pg_database WHERE datname LIKE 'herald_chaos_%'" 2>/dev/null); do
    local dir="target/chaos/postgres-${db#herald_chaos_}"
    mkdir -p "$dir"
    "$PG_TEMP_BIN/pg_dump" "${TEST_DATABASE_URL%/*}/$db" >"$dir/database.sql" &&
      echo "kept $db in $dir/database.sql"
  done
}
status=0
trap 'keep_failed_databases; stop_temp_postgres' EXIT
# The workers' logs at `info`, so that a failed trial's kept logs explain it.
export CHAOS_RUST_LOG=${CHAOS_RUST_LOG:-info}

step "building herald-server, herald-worker and herald-chaos"
cargo build -p server -p worker -p chaos --bins

if [[ -z "${TEST_DATABASE_URL:-}" ]] && [[ " $* " != *" --db sqlite "* ]]; then
  start_temp_postgres
  # pg_ctl restart reuses the server's options; its log goes where the first start's went.
  export CHAOS_PG_RESTART="${PG_TEMP_RUN[*]} $PG_TEMP_BIN/pg_ctl -D $PG_TEMP_DIR/data -l $PG_TEMP_DIR/server.log -w -t 60 -m fast restart"
fi

# Every pass runs, even after one failed; the script exits with the worst status (1: an
# invariant broke, 2: a pass could not run).
pass() {
  step "herald-chaos $*"
  "$(target_dir)/debug/herald-chaos" "$@" || status=$(($? > status ? $? : status))
}

if [[ $# -eq 0 ]]; then
  pass
  pass --db postgres --workers 3
elif [[ $# -eq 1 && $1 == --short ]]; then
  pass --short
  pass --short --db postgres --workers 3
else
  pass "$@"
fi
exit "$status"
