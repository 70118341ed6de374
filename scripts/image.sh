#!/usr/bin/env bash
# The container image's build steps, in one script that the Dockerfile runs and that `make test`
# runs outside Docker (scripts/deploy-check.sh), so the two cannot drift apart.
#
#   scripts/image.sh [--debug] [--smoke] OUT_DIR
#
# Lays out OUT_DIR as the image's /app:
#   OUT_DIR/bin/herald-server, herald-worker, herald-backup (scripts/backup.sh), OUT_DIR/site
# --debug  builds the binaries without --release (quick; what `make test` checks); the site is
#          always the optimised one (scripts/lib.sh, build_site)
# --smoke  then runs the staged binaries as the image would and checks them (see smoke below)
#
# Why `cargo leptos build --frontend-only` plus one plain `cargo build` of both binaries, and not
# `cargo leptos build`: the server builds its LeptosOptions (site root, pkg dir, address) from
# Herald's configuration at run time, not from the LEPTOS_* environment cargo-leptos sets while
# compiling (the one compile-time value, LEPTOS_OUTPUT_NAME, is in .cargo/config.toml for plain
# cargo too), so cargo-leptos is needed for the wasm site only. And it would build the server
# alone, in a cargo invocation of its own: one `cargo build --bin herald-server --bin
# herald-worker` resolves the workspace once, so both binaries share every dependency's artifacts
# (the same ones `cargo build --bins` makes: in `make test` this step compiles nothing new).
# It is the combination the browser tests already run (scripts/e2e.sh: debug binaries, this site).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

usage() { echo "usage: scripts/image.sh [--debug] [--smoke] OUT_DIR" >&2; exit 2; }

release=(--release)
profile=release
smoke=false
out=
while (($#)); do
  case $1 in
    --debug) release=(); profile=debug ;;
    --smoke) smoke=true ;;
    -*) usage ;;
    *) [[ -z "$out" ]] || usage; out=$1 ;;
  esac
  shift
done
[[ -n "$out" ]] || usage
mkdir -p "$out"
out=$(cd "$out" && pwd)
[[ "$out" != / ]] || { echo "scripts/image.sh: OUT_DIR must not be /" >&2; exit 2; }

build() {
  # The Dockerfile keeps target/ in a cache mount: a file deleted from public/ must not linger.
  rm -rf target/site
  build_site

  step "building herald-server and herald-worker ($profile)"
  cargo build "${release[@]}" --locked --bin herald-server --bin herald-worker

  step "staging the image layout in $out"
  local bin
  bin=$(target_dir)/$profile
  rm -rf "${out:?}/bin" "${out:?}/site"
  mkdir -p "$out/bin"
  # Release binaries lose their symbol tables (about half their size: 160 MB down to 92 MB); a
  # panic still reports its message and source location.
  local strip=()
  [[ $profile == release ]] && strip=(--strip)
  install -m 0755 "${strip[@]}" "$bin/herald-server" "$bin/herald-worker" "$out/bin/"
  install -m 0755 scripts/backup.sh "$out/bin/herald-backup"
  # site-root in Cargo.toml's [workspace.metadata.leptos].
  cp -R target/site "$out/site"
  ls -l "$out/bin"
}

# Smoke check: the staged binaries run as in the image (working directory OUT_DIR, the image's
# environment), except on free loopback ports, a throw-away DATA_DIR and SQLite database, and the
# simulated WhatsApp provider. Prints one `ok - …` or `not ok - …` line per check; fails if any
# check failed. Needs promtool (scripts/deploy-check.sh installs it into target/tools/bin).
smoke_dir=
smoke_pids=()
smoke_cleanup() {
  local pid
  for pid in "${smoke_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${smoke_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  [[ -z "$smoke_dir" ]] || rm -rf "$smoke_dir"
}

smoke() {
  step "smoke check of $out"
  [[ ! -d target/tools/bin ]] || PATH="$PWD/target/tools/bin:$PATH"
  command -v promtool >/dev/null || { echo "promtool not found (scripts/deploy-check.sh installs it)" >&2; return 1; }
  trap smoke_cleanup EXIT
  local dir port health_port token failures=0
  dir=$(mktemp -d /tmp/herald-smoke.XXXXXX)
  smoke_dir=$dir
  port=$(free_port)
  health_port=$(free_port)
  token=$(python3 -c 'import secrets; print(secrets.token_hex(24))')
  mkdir -p "$dir/data"

  # The Dockerfile's ENV, with the differences named above; nothing else from this shell leaks in.
  local environment=(
    PATH="$out/bin:/usr/local/bin:/usr/bin:/bin" HOME=/nonexistent TMPDIR="$dir"
    LEPTOS_SITE_ADDR="127.0.0.1:$port" LEPTOS_SITE_ROOT="$out/site" DATA_DIR="$dir/data"
    DATABASE_URL="sqlite://$dir/data/herald.db" WORKER_HEALTH_ADDR="127.0.0.1:$health_port"
    LOG_FORMAT=json PUBLIC_URL="http://127.0.0.1:$port" WA_PROVIDER=sim METRICS_TOKEN="$token"
  )
  run() { (cd "$out" && exec env -i "${environment[@]}" "$@"); }
  check() { # check DESCRIPTION COMMAND...
    local description=$1
    shift
    if "$@" >"$dir/check.out" 2>&1; then
      echo "ok - smoke: $description"
    else
      echo "not ok - smoke: $description"
      sed 's/^/    /' "$dir/check.out" | tail -n 20
      failures=$((failures + 1))
    fi
  }
  # until_ok SECONDS COMMAND...: retries COMMAND until it succeeds, for at most SECONDS.
  until_ok() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
      ((SECONDS < deadline)) || return 1
      sleep 0.5
    done
  }

  # Not through `run`: a backgrounded function is a shell of its own, and SIGTERM would reach that
  # shell instead of the binary. Here the subshell execs into env, which execs the binary.
  (cd "$out" && exec env -i "${environment[@]}" herald-worker) >"$dir/worker.log" 2>&1 &
  smoke_pids+=($!)
  (cd "$out" && exec env -i "${environment[@]}" herald-server) >"$dir/server.log" 2>&1 &
  smoke_pids+=($!)

  check "herald-server healthcheck exits 0 once the server is up" until_ok 120 run herald-server healthcheck
  check "herald-worker healthcheck exits 0 once the worker is up" until_ok 120 run herald-worker healthcheck

  local server="http://127.0.0.1:$port"
  metrics_ok() { # metrics_ok NAME URL [curl args]: fetched, passes promtool's lint, has herald_ series
    local name=$1 url=$2
    shift 2
    curl -fsS --max-time 10 "$@" "$url" >"$dir/$name.prom" &&
      promtool check metrics <"$dir/$name.prom" &&
      grep -q '^herald_' "$dir/$name.prom"
  }
  check "worker /metrics passes promtool check metrics" \
    metrics_ok worker "http://127.0.0.1:$health_port/metrics"
  check "server /metrics with the bearer token passes promtool check metrics" \
    metrics_ok server "$server/metrics" -H "Authorization: Bearer $token"
  status_is() { # status_is CODE URL [curl args]
    local want=$1 url=$2 got
    shift 2
    got=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "$@" "$url")
    [[ "$got" == "$want" ]] || { echo "$url answered $got, expected $want"; return 1; }
  }
  check "server /metrics without a token answers 401" status_is 401 "$server/metrics"
  check "server /metrics with a wrong token answers 401" \
    status_is 401 "$server/metrics" -H "Authorization: Bearer not-the-token-0123456789"
  serves_html() {
    curl -fsSL --max-time 10 -D "$dir/root.headers" "$server/" >"$dir/root.html" &&
      grep -qi '^content-type: text/html' "$dir/root.headers" &&
      grep -qi '<html' "$dir/root.html" &&
      grep -qE '/pkg/[0-9a-f]{16}/herald\.wasm' "$dir/root.html"
  }
  check "/ serves the HTML shell, which loads the bundle from /pkg/<hash>/" serves_html
  serves_wasm() {
    local address
    address=$(grep -oE '/pkg/[0-9a-f]{16}/herald\.wasm' "$dir/root.html" | head -n 1) &&
      curl -fsS --max-time 30 -D "$dir/wasm.headers" "$server$address" -o "$dir/herald.wasm" &&
      grep -qi '^content-type: application/wasm' "$dir/wasm.headers" &&
      grep -qi '^cache-control: public, max-age=31536000, immutable' "$dir/wasm.headers" &&
      cmp "$dir/herald.wasm" "$out/site/pkg/herald.wasm"
  }
  check "the page's wasm address is served immutable, as application/wasm, byte for byte" serves_wasm

  local archive=
  backs_up() {
    archive=$(run herald-backup create) && [[ -f "$archive" ]] &&
      run herald-backup verify "$archive"
  }
  check "herald-backup create and verify work from the image layout while Herald runs" backs_up
  refuses_restore() {
    local said
    if said=$(run herald-backup restore "$archive" 2>&1); then
      echo "restored while Herald runs: $said"
      return 1
    fi
    grep -q "Herald is running" <<<"$said" || { echo "$said"; return 1; }
  }
  check "herald-backup restore refuses while the server and worker run" refuses_restore

  # SIGTERM, as `docker stop` sends it: each must exit 0 by itself.
  stops_cleanly() { # stops_cleanly PID
    local pid=$1 status=0 watchdog
    kill -TERM "$pid"
    # A watchdog: SIGKILL after 40 s; it ends by itself once the process is gone.
    (for _ in {1..200}; do sleep 0.2; kill -0 "$pid" 2>/dev/null || exit 0; done
     echo "still running 40 s after SIGTERM; killed"; kill -KILL "$pid") &
    watchdog=$!
    wait "$pid" || status=$?
    wait "$watchdog" || true
    ((status == 0)) || { echo "exited with status $status"; return 1; }
  }
  check "herald-server exits 0 on SIGTERM" stops_cleanly "${smoke_pids[1]}"
  check "herald-worker exits 0 on SIGTERM" stops_cleanly "${smoke_pids[0]}"
  smoke_pids=()

  if ((failures)); then
    local name
    for name in server worker; do
      echo "--- last lines of herald-$name's log"
      tail -n 30 "$dir/$name.log"
    done
    return 1
  fi
}

build
if $smoke; then smoke; fi
