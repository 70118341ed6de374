# Sourced by scripts/test.sh: start_temp_postgres starts a throw-away PostgreSQL cluster on a
# free port and exports TEST_DATABASE_URL; stop_temp_postgres stops it and deletes its files.

start_temp_postgres() {
  local bin
  bin=$(compgen -G '/usr/lib/postgresql/*/bin' | sort -V | tail -n 1)
  [[ -x "$bin/initdb" ]] || { echo "PostgreSQL server binaries not found (scripts/bootstrap.sh test installs them)" >&2; return 1; }
  PG_TEMP_DIR=$(mktemp -d /tmp/herald-pg.XXXXXX)
  local port run=()
  port=$(free_port)
  # initdb refuses to run as root; use Debian's postgres user then.
  if [[ $(id -u) -eq 0 ]]; then chown postgres: "$PG_TEMP_DIR"; run=(runuser -u postgres --); fi
  "${run[@]}" "$bin/initdb" -D "$PG_TEMP_DIR/data" -U postgres -A trust -E UTF8 --no-sync >"$PG_TEMP_DIR/initdb.log" 2>&1 ||
    { cat "$PG_TEMP_DIR/initdb.log" >&2; return 1; }
  # Durability is pointless for a throw-away cluster; turning it off makes the suite faster.
  "${run[@]}" "$bin/pg_ctl" -D "$PG_TEMP_DIR/data" -l "$PG_TEMP_DIR/server.log" -w -t 60 \
    -o "-p $port -k $PG_TEMP_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null || { cat "$PG_TEMP_DIR/server.log" >&2; return 1; }
  PG_TEMP_BIN=$bin
  PG_TEMP_RUN=("${run[@]}")
  export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
  echo "throw-away PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on port $port"
}

stop_temp_postgres() {
  [[ -n "${PG_TEMP_DIR:-}" ]] || return 0
  "${PG_TEMP_RUN[@]}" "$PG_TEMP_BIN/pg_ctl" -D "$PG_TEMP_DIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PG_TEMP_DIR"
  unset PG_TEMP_DIR TEST_DATABASE_URL
}
