#!/usr/bin/env bash
# `make run`: install what is missing, build, then run the server and the worker together on the
# embedded SQLite default (or whatever .env / the environment configures). Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

scripts/bootstrap.sh build
build_site
build_bins

bin=$(target_dir)/debug
export LEPTOS_SITE_ROOT=${LEPTOS_SITE_ROOT:-target/site}

pids=()
stop() {
  trap - INT TERM EXIT
  ((${#pids[@]})) && kill -TERM "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

step "starting Herald"
"$bin/herald-worker" &
pids+=($!)
"$bin/herald-server" &
pids+=($!)

# Both binaries migrate under a lock, so starting them together is safe.
addr=${LEPTOS_SITE_ADDR:-127.0.0.1:3000}
if wait_http "http://$addr/api/health" 120; then
  printf '\n  Herald is running: \033[1m%s\033[0m   (Ctrl-C stops it)\n' "${PUBLIC_URL:-http://localhost:${addr##*:}}"
  if link=$("$bin/herald-server" login-link 2>/dev/null); then
    printf '  Sign in with this one-time link (10 minutes): \033[1m%s\033[0m\n  Another one: make login-link\n\n' "$link"
  else
    printf '  Get a sign-in link: make login-link (several operators: add --telegram-id)\n\n'
  fi
fi
# If either process exits, stop the other and report.
wait -n "${pids[@]}"
