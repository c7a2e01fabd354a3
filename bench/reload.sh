#!/usr/bin/env bash
# Reload on save, measured on the real service: from a saved change to the new process
# answering (`devstack up --watch`: the watcher's debounce, the incremental build, the old
# process's drain, migrations, the new one's start until /health), against the incremental
# `cargo build -p service` alone, for the same change. Target: reload ≤ build + 500 ms.
#
#   bench/reload.sh [ROUNDS]      (default 3; debug builds, as `up` makes them)
#
# The change is `touch service/src/main.rs`: cargo recompiles the service crate and relinks,
# exactly as after an edit, and nothing in the tree is modified.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-3}"
cargo build -q --workspace --bins
cargo build -q -p service
BIN="$PWD/target/debug/devstack"
SOURCE="service/src/main.rs"
STATE=".devstack/state.json"
now_ms() { date +%s%3N; }
service_pid() { python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(next(c.get("pid") for c in s["components"] if c["name"]=="service"))' "$STATE" 2>/dev/null || echo 0; }

"$BIN" up --ephemeral --watch --postgres-port 0 --redis-port 0 --sqs-port 0 --service-port 0 >/tmp/slipway-reload-up.log 2>&1 &
UP=$!
trap 'kill -INT $UP 2>/dev/null; wait $UP 2>/dev/null || true' EXIT
until [ -s "$STATE" ]; do kill -0 "$UP" || { cat /tmp/slipway-reload-up.log; exit 1; }; sleep 0.1; done
URL=$(python3 -c 'import json; print(json.load(open(".devstack/state.json"))["env"]["SERVICE_URL"])')
sleep 1

printf '%-6s %12s %12s %12s\n' round "build (ms)" "reload (ms)" "overhead"
for round in $(seq 1 "$ROUNDS"); do
    # The build alone: the same change, built by hand (the watcher rebuilds after it, a no-op).
    touch "$SOURCE"; start=$(now_ms); cargo build -q -p service; build=$(( $(now_ms) - start ))
    sleep 2  # the watcher's own rebuild of that change is a no-op reload; let it pass
    until [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/health")" = 200 ]; do sleep 0.05; done
    before=$(service_pid)
    touch "$SOURCE"; start=$(now_ms)
    until pid=$(service_pid); [ "$pid" != "$before" ] && [ "$pid" != 0 ] \
          && [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/health")" = 200 ]; do sleep 0.02; done
    reload=$(( $(now_ms) - start ))
    printf '%-6s %12s %12s %+12s\n' "$round" "$build" "$reload" "$((reload - build))"
    sleep 2
done
