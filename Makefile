# Herald's entry points. Each installs what it needs first (see scripts/bootstrap.sh).
.PHONY: run test dev lint login-link bench image chaos

## Build and run Herald (server + worker) on the embedded SQLite default. Ctrl-C stops it.
run:
	@scripts/run.sh

## Run every test: Rust on SQLite and PostgreSQL, the wasm build, the browser tests.
test:
	@scripts/test.sh

## Server-side rendering under load, the worker's memory, delivery's speed and a metrics scrape's
## cost on SQLite and PostgreSQL, printed.
bench:
	@scripts/bench.sh

## The chaos harness, long version: the real binaries under random actions and faults, then the
## delivery invariants, on SQLite and PostgreSQL (docs/reliability.md; `scripts/chaos.sh --short`).
chaos:
	@scripts/chaos.sh $(ARGS)

## Print a one-time dashboard link (with several operators: make login-link ARGS="--telegram-id 123").
login-link:
	@cargo run -q -p server --bin herald-server -- login-link $(ARGS)

## cargo-leptos watch loop for the server and UI (run the worker alongside with `cargo run -p worker`).
dev:
	@scripts/bootstrap.sh build
	cargo leptos watch

## The container image's /app (release build, ~30 min) in target/image, as the Dockerfile lays it out.
image:
	@scripts/bootstrap.sh release
	@scripts/image.sh target/image

## Formatting and clippy only.
lint:
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy -p frontend -p app -p domain --features app/hydrate --target wasm32-unknown-unknown --all-targets -- -D warnings
