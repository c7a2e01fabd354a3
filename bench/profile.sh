#!/usr/bin/env bash
# Where a cached GET's time goes: perf samples of the service — a `profiling` build (release
# with symbols and line tables) — while wrk reads one completed order for SECONDS.
#
#   bench/profile.sh [SECONDS] [VAR=VALUE ...]   e.g. bench/profile.sh 10 CACHE_LOCAL_ENTRIES=0
#
# Prints the busiest symbols (self time) and the split by library. Self time only: the
# release profile keeps no frame pointers, so perf's call graphs through async code are not
# to be trusted, and inclusive figures per layer would mislead. Extra VAR=VALUE settings
# go to the service (CACHE_LOCAL_ENTRIES=0 reads through to Redis as before the process tier).
# Needs perf (apt-get install linux-perf) and wrk.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_SAMPLE="${1:-10}"; shift || true
command -v perf >/dev/null || { echo "perf is required (apt-get install linux-perf)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)" >&2; exit 1; }
cargo build -q --release -p devstack --bin devstack
cargo build -q --profile profiling -p service --bin service
ROOT="$(mktemp -d)"; chmod 755 "$ROOT"
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; target/release/devstack --root "$ROOT" down >/dev/null 2>&1 || true; rm -rf "$ROOT"; }
trap cleanup EXIT
target/release/devstack --root "$ROOT" up --no-service --ephemeral --postgres-port 0 --redis-port 0 --sqs-port 0 --otlp-port 0 --otlp-grpc-port 0 >"$ROOT/up.log" 2>&1 &
PIDS+=($!)
until [ -s "$ROOT/.devstack/state.json" ]; do sleep 0.05; done
set -a; . "$ROOT/.devstack/env"; set +a
unset OTEL_EXPORTER_OTLP_ENDPOINT OTEL_EXPORTER_OTLP_PROTOCOL
PORT=18081
env HTTP_ADDR="127.0.0.1:$PORT" LOG_FORMAT=json RUST_LOG=warn "$@" target/profiling/service migrate >/dev/null
env HTTP_ADDR="127.0.0.1:$PORT" LOG_FORMAT=json RUST_LOG=warn "$@" target/profiling/service serve >"$ROOT/service.log" 2>&1 &
SERVICE_PID=$!; PIDS+=($SERVICE_PID)
until curl -sf "http://127.0.0.1:$PORT/health" >/dev/null; do sleep 0.01; done
ID=$(curl -s -X POST "http://127.0.0.1:$PORT/v1/orders" -H 'content-type: application/json' \
     -d '{"customer_id":"profile","items":[{"sku":"A","quantity":1,"unit_price_cents":100}]}' | sed 's/.*"id":"\([^"]*\)".*/\1/')
until curl -s "http://127.0.0.1:$PORT/v1/orders/$ID" | grep -q '"status":"completed"'; do sleep 0.05; done
wrk -t1 -c64 -d"$((SECONDS_TO_SAMPLE + 2))s" "http://127.0.0.1:$PORT/v1/orders/$ID" >"$ROOT/wrk.txt" &
WRK=$!
sleep 1
perf record -q -F 999 -g -p "$SERVICE_PID" -o "$ROOT/perf.data" -- sleep "$SECONDS_TO_SAMPLE" 2>/dev/null
wait "$WRK"
echo "== $(awk '/Requests\/sec/ {print $2}' "$ROOT/wrk.txt") req/s while sampled; settings: ${*:-defaults}"
echo "== by library (self time)"
perf report -q -i "$ROOT/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null | grep -v "^$" | head -8 || true
echo "== busiest symbols (self time)"
perf report -q -i "$ROOT/perf.data" --no-children --sort sym --stdio -g none 2>/dev/null | grep -v "^$" | head -40 || true
