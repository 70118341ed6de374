# Helpers shared by Herald's scripts (sourced, not run).

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_http URL SECONDS: polls until URL answers 2xx, or fails after SECONDS.
wait_http() {
  local url=$1 deadline=$((SECONDS + $2))
  until curl -fsS -o /dev/null "$url" 2>/dev/null; do
    if ((SECONDS > deadline)); then echo "timed out waiting for $url" >&2; return 1; fi
    sleep 0.2
  done
}

# The built binaries and site, as cargo-leptos lays them out.
target_dir() { echo "${CARGO_TARGET_DIR:-$PWD/target}"; }

# build_site: the site under target/site (cargo-leptos) as phones get it: the wasm in the
# wasm-release profile, through wasm-opt, and the bundle precompressed (.br, .gz beside each file).
# What `make run`, the browser tests and the image serve; `make dev` keeps the fast debug loop.
build_site() {
  step "building the site (cargo leptos build --release --precompress --frontend-only)"
  cargo leptos build --release --precompress --frontend-only
}

# build_bins: herald-server and herald-worker in one cargo resolution, so they share artifacts.
build_bins() {
  step "building herald-server and herald-worker"
  cargo build --bins
}
