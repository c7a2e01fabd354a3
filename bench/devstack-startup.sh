#!/usr/bin/env bash
# Measures `devstack up --no-service` from launch to all-ready (the state file appears, which
# happens only after every component answers and the queues exist), cold (empty data dir:
# initdb included) and warm (existing data), and `fresh_database()`.
#
#   bench/devstack-startup.sh [ROUNDS]      (default 5; release build)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-5}"
cargo build -q --release -p devstack --bins --example fresh_database
BIN="$PWD/target/release/devstack"
ROOT="$(mktemp -d)"; chmod 755 "$ROOT"
trap '"$BIN" --root "$ROOT" down >/dev/null 2>&1 || true; rm -rf "$ROOT"' EXIT

now_ms() { date +%s%3N; }

one_run() { # prints ms from launch to ready
    local start end pid
    rm -f "$ROOT/.devstack/state.json"
    start=$(now_ms)
    "$BIN" --root "$ROOT" up --no-service --postgres-port 0 --redis-port 0 --sqs-port 0 --otlp-port 0 --otlp-grpc-port 0 >"$ROOT/up.log" 2>&1 &
    pid=$!
    until [ -s "$ROOT/.devstack/state.json" ]; do
        kill -0 "$pid" 2>/dev/null || { cat "$ROOT/up.log" >&2; exit 1; }
        sleep 0.005
    done
    end=$(now_ms)
    "$BIN" --root "$ROOT" down >/dev/null
    wait "$pid" || true
    echo $((end - start))
}

stats() { sort -n | awk '{a[NR]=$1} END {printf "median %d ms, min %d ms, max %d ms (n=%d)\n", a[int((NR+1)/2)], a[1], a[NR], NR}'; }

echo "devstack up --no-service to all-ready, $ROUNDS rounds each ($(nproc) cores)"
printf '  cold (empty data dir, initdb): '
for _ in $(seq "$ROUNDS"); do "$BIN" --root "$ROOT" reset --yes >/dev/null; one_run; done | stats
printf '  warm (existing data):          '
for _ in $(seq "$ROUNDS"); do one_run; done | stats
printf '  '
"$PWD/target/release/examples/fresh_database" 50
