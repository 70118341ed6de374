#!/usr/bin/env bash
# Installs what Herald's build (and, with `test`, its test suite) needs, from package registries
# only: nothing downloads a prebuilt binary. Idempotent and quick when everything is present.
#   scripts/bootstrap.sh build     wasm target, cargo-leptos, the wasm-bindgen CLI matching Cargo.lock,
#                                  wasm-opt (binaryen 116, built from crates.io: the site is always
#                                  a release build)
#   scripts/bootstrap.sh test      the above, plus Chromium, PostgreSQL, python3's venv module and
#                                  the Playwright runner
#   scripts/bootstrap.sh release   the same as `build` (the image's build)
# Single steps, which the Dockerfile runs as separate layers so that building cargo-leptos (slow)
# depends on this script alone and not on Cargo.lock; several may be given at once:
#   wasm-target · cargo-leptos · wasm-bindgen (reads Cargo.lock) · wasm-opt
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

# cargo-leptos 0.3.11's lockfile needs rustc >= 1.96; 0.3.10 builds on stable 1.95 with its lockfile.
CARGO_LEPTOS_VERSION=0.3.10

wasm_target() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    step "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
}

cargo_leptos() {
  if [[ "$(cargo leptos --version 2>/dev/null || true)" != *"$CARGO_LEPTOS_VERSION"* ]]; then
    step "building cargo-leptos $CARGO_LEPTOS_VERSION (no_downloads: it uses the tools on PATH; takes ~15 min once)"
    cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads
  fi
}

# The CLI must equal the wasm-bindgen crate in Cargo.lock, or the wasm fails to bind.
wasm_bindgen() {
  local version
  version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
  if [[ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $version" ]]; then
    step "building wasm-bindgen-cli $version (matches Cargo.lock)"
    # Not --locked: its lockfile pins a crate the registry no longer serves.
    cargo install wasm-bindgen-cli --version "$version" --force
  fi
}

apt_install() {
  step "installing $* from Debian"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@"
}

# cargo-leptos (no_downloads) runs wasm-opt from PATH for `--release` builds. It is built from
# the wasm-opt crate, which bundles binaryen's source (~7 min once, needs a C++ compiler): older
# binaryen releases, such as Debian bookworm's 108, mangle the reference-typed table that rustc
# and wasm-bindgen now emit, and the site they output fails to start in the browser.
WASM_OPT_VERSION=0.116.1
wasm_opt() {
  if [[ "$(wasm-opt --version 2>/dev/null || true)" != *"version 116"* ]]; then
    command -v c++ >/dev/null || apt_install g++
    step "building wasm-opt $WASM_OPT_VERSION (binaryen 116, from crates.io; ~7 min once)"
    cargo install wasm-opt --version "$WASM_OPT_VERSION" --locked
  fi
}

test_tools() {
  local packages=()
  [[ -x /usr/bin/chromium ]] || packages+=(chromium)
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || packages+=(postgresql)
  # herald-backup's tests: sqlite3 for SQLite backups; pg_dump, pg_restore and psql come with
  # postgresql (its client package).
  command -v sqlite3 >/dev/null || packages+=(sqlite3)
  # make bench's load generator for the server-side rendering benchmark.
  command -v wrk >/dev/null || packages+=(wrk)
  command -v pg_dump >/dev/null || packages+=(postgresql-client)
  # scripts/deploy-check.sh keeps hadolint (from PyPI) in a virtualenv under target/tools.
  python3 -c 'import venv, ensurepip' 2>/dev/null || packages+=(python3-venv)
  # Node runs the Playwright tests and the wasm tests (wasm-bindgen-test-runner, which comes with
  # the wasm-bindgen CLI, hands them to it).
  command -v npm >/dev/null || packages+=(nodejs npm)
  ((${#packages[@]} == 0)) || apt_install "${packages[@]}"
  if [[ ! -d end2end/node_modules ]] || [[ end2end/package-lock.json -nt end2end/node_modules ]]; then
    step "installing the Playwright test runner (it drives Debian's Chromium; no browser download)"
    (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error && touch node_modules)
  fi
}

build() { wasm_target; cargo_leptos; wasm_bindgen; wasm_opt; }

(($#)) || set -- build
for what in "$@"; do
  case $what in
    build) build ;;
    test) build; test_tools ;;
    release) build ;;
    wasm-target) wasm_target ;;
    cargo-leptos) cargo_leptos ;;
    wasm-bindgen) wasm_bindgen ;;
    wasm-opt) wasm_opt ;;
    *) echo "usage: scripts/bootstrap.sh [build | test | release | wasm-target | cargo-leptos | wasm-bindgen | wasm-opt]..." >&2; exit 2 ;;
  esac
done
