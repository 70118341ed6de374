# syntax=docker/dockerfile:1
# Herald's image: herald-server (the default command), herald-worker and herald-backup in one image.
#   docker build --build-arg HERALD_GIT_COMMIT="$(git rev-parse --short=12 HEAD)" -t herald .
# or `docker compose build` (compose.yaml). The build steps themselves are scripts/image.sh, which
# `make test` also runs outside Docker, with a smoke test of the result.

# ---- builder -------------------------------------------------------------------------------
FROM rust:1.95-slim-trixie AS builder
SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# g++: the wasm-opt crate builds binaryen (wasm-opt for the release wasm) from source. make and
# perl: cargo-leptos builds a vendored OpenSSL (through cargo-generate). pkg-config: lets -sys
# crates find system libraries.
# Versions are not pinned: the trixie base image fixes the suite, and pins of Debian package
# versions break the build at every point release.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends g++ make perl pkg-config \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src

# The tools, in layers of their own. cargo-leptos (~15 min to build) and wasm-opt (~7 min) depend
# on the bootstrap script only; the wasm-bindgen CLI must match Cargo.lock, so it comes after
# Cargo.lock.
COPY scripts/bootstrap.sh scripts/lib.sh scripts/
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    scripts/bootstrap.sh wasm-target cargo-leptos wasm-opt
COPY Cargo.lock ./
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    scripts/bootstrap.sh wasm-bindgen

# The build. Dependencies are cached with BuildKit cache mounts (the registry and target/), not
# with cargo-chef: chef's `cook` builds dependencies with plain cargo, and cannot reproduce what
# cargo-leptos does for the wasm (its own target/front directory, the wasm-release profile, its
# RUSTFLAGS), so that layer would miss and the wasm's dependencies would build twice. The target
# directory lives only in the cache mount, so the results are copied out to /out.
COPY . .
# No .git in the build context: the commit shown by /api/health and /health comes from here.
ARG HERALD_GIT_COMMIT=
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    scripts/image.sh /out

# ---- runtime -------------------------------------------------------------------------------
FROM debian:trixie-slim
ARG HERALD_GIT_COMMIT=
LABEL org.opencontainers.image.title="Herald" \
      org.opencontainers.image.description="Self-hosted WhatsApp reminder bot: herald-server (dashboard), herald-worker (WhatsApp sessions, job queue, Telegram bot), herald-backup" \
      org.opencontainers.image.licenses="AGPL-3.0-or-later" \
      org.opencontainers.image.revision="${HERALD_GIT_COMMIT}" \
      org.opencontainers.image.base.name="docker.io/library/debian:trixie-slim"

# ca-certificates: TLS to WhatsApp and Telegram. postgresql-client (17, as compose's postgres:17)
# and sqlite3: herald-backup's pg_dump/pg_restore/psql and SQLite online backups.
# tini as PID 1: both binaries handle SIGTERM themselves, so signals alone would not need it, but
# `docker compose exec` runs herald-backup (and its pg_dump, sqlite3, tar) inside the container,
# and whatever such a process leaves orphaned is re-parented to PID 1 — tini reaps it, Herald's
# binaries would not. tini passes SIGTERM on and exits with the binary's status.
# The herald user (uid/gid 10001) has no home and no login shell; /data is its only writable place.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates postgresql-client sqlite3 tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 herald \
 && useradd --system --uid 10001 --gid herald --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin herald \
 && install -d -o herald -g herald -m 0750 /data

COPY --from=builder /out /app

ENV PATH=/app/bin:$PATH \
    LEPTOS_SITE_ADDR=0.0.0.0:3000 \
    LEPTOS_SITE_ROOT=/app/site \
    DATA_DIR=/data \
    DATABASE_URL=sqlite:///data/herald.db \
    WORKER_HEALTH_ADDR=0.0.0.0:8081 \
    LOG_FORMAT=json

WORKDIR /app
# herald, by number: a runtime can check it is not root without reading /etc/passwd.
USER 10001:10001
# Declared after /data is created and owned by herald: a new volume starts with that ownership.
VOLUME /data
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["herald-server", "healthcheck"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["herald-server"]
