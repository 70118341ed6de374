#!/usr/bin/env bash
# `make chaos`: the chaos harness (crate chaos/, binary herald-chaos) against the real
# herald-server and herald-worker on the simulator, on SQLite and on PostgreSQL: random operator
# actions and injected faults, then the delivery invariants (docs/reliability.md).
#   scripts/chaos.sh            the long version: 25 one-worker trials per database, then 25
#                               trials of three workers sharing PostgreSQL
#   scripts/chaos.sh --short    the test suite's: 2 one-worker trials per database (~3
#                               minutes). The three-worker pass is not in it while it still
#                               finds an open defect now and then (docs/reliability.md,
#                               "Several workers").
# Any other arguments go to one herald-chaos run (--seed S --trials 1 --db sqlite replays a
# trial; --db postgres --workers 3 runs several workers).
# TEST_DATABASE_URL (a PostgreSQL server URL) is used when given, without the restart fault;
# otherwise a throw-away cluster is started, and restarted once per PostgreSQL trial.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
source scripts/pg-temp.sh
trap stop_temp_postgres EXIT

step "building herald-server, herald-worker and herald-chaos"
cargo build -p server -p worker -p chaos --bins

if [[ -z "${TEST_DATABASE_URL:-}" ]] && [[ " $* " != *" --db sqlite "* ]]; then
  start_temp_postgres
  # pg_ctl restart reuses the server's options; its log goes where the first start's went.
  export CHAOS_PG_RESTART="${PG_TEMP_RUN[*]} $PG_TEMP_BIN/pg_ctl -D $PG_TEMP_DIR/data -l $PG_TEMP_DIR/server.log -w -t 60 -m fast restart"
fi

# Every pass runs, even after one failed; the script exits with the worst status (1: an
# invariant broke, 2: a pass could not run).
status=0
pass() {
  step "herald-chaos $*"
  "$(target_dir)/debug/herald-chaos" "$@" || status=$(($? > status ? $? : status))
}

if [[ $# -eq 0 ]]; then
  pass
  pass --db postgres --workers 3
elif [[ $# -eq 1 && $1 == --short ]]; then
  pass --short
else
  pass "$@"
fi
exit "$status"
