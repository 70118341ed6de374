#!/usr/bin/env bash
# Installs what Herald's build (and, with `test`, its test suite) needs, from package registries
# only: nothing downloads a prebuilt binary. Idempotent and quick when everything is present.
#   scripts/bootstrap.sh build   wasm target, cargo-leptos, the wasm-bindgen CLI matching Cargo.lock
#   scripts/bootstrap.sh test    the above, plus Chromium, PostgreSQL and the Playwright runner
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

# cargo-leptos 0.3.11's lockfile needs rustc >= 1.96; 0.3.10 builds on stable 1.95 with its lockfile.
CARGO_LEPTOS_VERSION=0.3.10
what=${1:-build}

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [[ "$(cargo leptos --version 2>/dev/null || true)" != *"$CARGO_LEPTOS_VERSION"* ]]; then
  step "building cargo-leptos $CARGO_LEPTOS_VERSION (no_downloads: it uses the tools on PATH; takes ~15 min once)"
  cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads
fi

# The CLI must equal the wasm-bindgen crate in Cargo.lock, or the wasm fails to bind.
bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [[ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $bindgen_version" ]]; then
  step "building wasm-bindgen-cli $bindgen_version (matches Cargo.lock)"
  # Not --locked: its lockfile pins a crate the registry no longer serves.
  cargo install wasm-bindgen-cli --version "$bindgen_version" --force
fi

if [[ "$what" == test ]]; then
  packages=()
  [[ -x /usr/bin/chromium ]] || packages+=(chromium)
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || packages+=(postgresql)
  if ((${#packages[@]})); then
    step "installing ${packages[*]} from Debian"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${packages[@]}"
  fi
  if [[ ! -d end2end/node_modules ]] || [[ end2end/package-lock.json -nt end2end/node_modules ]]; then
    step "installing the Playwright test runner (it drives Debian's Chromium; no browser download)"
    (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error && touch node_modules)
  fi
fi
