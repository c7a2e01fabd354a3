#!/usr/bin/env bash
# Reload on save, measured on the real service: from a saved change to the new process
# answering (`devstack up --watch`: the watcher's debounce, the incremental build, migrations,
# the new process's start until it listens and /health answers — the old one drains after,
# off the critical path, as the service is replaced start-first), against the incremental
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

"$BIN" up --ephemeral --watch --postgres-port 0 --redis-port 0 --sqs-port 0 --otlp-port 0 --otlp-grpc-port 0 --service-port 0 >/tmp/slipway-reload-up.log 2>&1 &
UP=$!
trap 'kill -INT $UP 2>/dev/null; wait $UP 2>/dev/null || true' EXIT
until [ -s "$STATE" ]; do kill -0 "$UP" || { cat /tmp/slipway-reload-up.log; exit 1; }; sleep 0.1; done
URL=$(python3 -c 'import json; print(json.load(open(".devstack/state.json"))["env"]["SERVICE_URL"])')
sleep 1

PORT="${URL##*:}"
SERVICE_CMD="$PWD/target/debug/service serve"
# The newest service process, and whether it holds a listener on the port: with a start-first
# reload the old and the new process share the port until the old one has drained.
newest() { pgrep -n -f "$SERVICE_CMD" || echo 0; }
listens() { ss -ltnpH "sport = :$PORT" | grep -q "pid=$1,"; }
healthy() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/health")" = 200 ]; }
# Until a reload that started (a process newer than $1) has finished: one process left.
settled_after() {
    until [ "$(newest)" != "$1" ]; do sleep 0.05; done
    until [ "$(pgrep -f "$SERVICE_CMD" | wc -l)" = 1 ] && healthy; do sleep 0.05; done
}

printf '%-6s %12s %12s %12s\n' round "build (ms)" "reload (ms)" "overhead"
# Round 0 warms up (the watcher's first rebuild after `up` also settles cargo's state) and
# is not printed.
for round in $(seq 0 "$ROUNDS"); do
    # The build alone: the same change, built by hand. The watcher sees it too, rebuilds (a
    # no-op) and reloads: wait for that reload to finish before measuring.
    before=$(newest)
    touch "$SOURCE"; start=$(now_ms); cargo build -q -p service; build=$(( $(now_ms) - start ))
    settled_after "$before"
    # The reload: from the save to the new process listening and /health answering.
    before=$(newest)
    touch "$SOURCE"; start=$(now_ms)
    until pid=$(newest); [ "$pid" != "$before" ] && listens "$pid" && healthy; do sleep 0.02; done
    reload=$(( $(now_ms) - start ))
    [ "$round" = 0 ] || printf '%-6s %12s %12s %+12s\n' "$round" "$build" "$reload" "$((reload - build))"
    settled_after "$before"
done
