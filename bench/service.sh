#!/usr/bin/env bash
# Service benchmarks on this machine, all in one run (release builds, loopback):
#   1. axum hello-world baseline vs GET /v1/orders/{id} on a cache hit (wrk -t1 -c64)
#   2. POST /v1/orders throughput and p99 (wrk with a Lua script, unique idempotency keys)
#   3. worker throughput, enqueue -> completed, with the embedded emulator
#   4. queue lag p99 at 1,000 messages/s offered
#   5. idle RSS, and start to ready with dependencies up
#
#   bench/service.sh [DURATION_SECONDS]     (default 10; needs wrk: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-10}"
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk / brew install wrk)" >&2; exit 1; }
cargo build -q --release -p devstack -p service --bins --example hello --example queue_bench
BIN="$PWD/target/release"
ROOT="$(mktemp -d)"; chmod 755 "$ROOT"
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; "$BIN/devstack" --root "$ROOT" down >/dev/null 2>&1 || true; rm -rf "$ROOT"; }
trap cleanup EXIT
now_ms() { date +%s%3N; }

"$BIN/devstack" --root "$ROOT" up --no-service --ephemeral --postgres-port 0 --redis-port 0 --sqs-port 0 --otlp-port 0 --otlp-grpc-port 0 >"$ROOT/up.log" 2>&1 &
PIDS+=($!)
until [ -s "$ROOT/.devstack/state.json" ]; do sleep 0.05; done
set -a; . "$ROOT/.devstack/env"; set +a
# Traces off here (bench/tracing.sh measures them on against off).
unset OTEL_EXPORTER_OTLP_ENDPOINT OTEL_EXPORTER_OTLP_PROTOCOL
"$BIN/service" migrate >/dev/null

PORT=18080
export HTTP_ADDR="127.0.0.1:$PORT" LOG_FORMAT=json RUST_LOG=warn RATE_LIMIT_PER_MINUTE=100000000 WORKER_CONCURRENCY=64 DATABASE_POOL_SIZE=32
start=$(now_ms)
"$BIN/service" serve >"$ROOT/service.log" 2>&1 &
PIDS+=($!); SERVICE_PID=$!
until curl -sf "http://127.0.0.1:$PORT/health" >/dev/null; do sleep 0.002; done
ready=$(( $(now_ms) - start ))
sleep 2
rss_kb=$(ps -o rss= -p "$SERVICE_PID" | tr -d ' ')

"$BIN/examples/hello" 127.0.0.1:18099 & PIDS+=($!)
sleep 0.3
rps() { awk '/Requests\/sec/ {print $2}'; }
p99() { awk '/ 99%/ {print $2}'; }

echo "== $(nproc) cores, wrk -t1 -c64 -d${DURATION}s, loopback, $(date -u +%F)"
hello=$(wrk -t1 -c64 -d"${DURATION}s" http://127.0.0.1:18099/ | rps)
echo "hello-world (axum):           ${hello} req/s"

ID=$(curl -s -X POST "http://127.0.0.1:$PORT/v1/orders" -H 'content-type: application/json' \
     -d '{"customer_id":"bench","items":[{"sku":"A","quantity":1,"unit_price_cents":100}]}' | sed 's/.*"id":"\([^"]*\)".*/\1/')
sleep 0.5; curl -s "http://127.0.0.1:$PORT/v1/orders/$ID" >/dev/null
get=$(wrk -t1 -c64 -d"${DURATION}s" --latency "http://127.0.0.1:$PORT/v1/orders/$ID")
echo "GET /v1/orders/{id}, cached: $(echo "$get" | rps) req/s ($(awk -v a="$(echo "$get" | rps)" -v b="$hello" 'BEGIN {printf "%.2f", a/b}')x hello-world), p99 $(echo "$get" | p99)"

cat >"$ROOT/post.lua" <<'LUA'
counter = 0
request = function()
  counter = counter + 1
  local key = string.format("%d-%d", math.random(1, 1000000000), counter)
  return wrk.format("POST", "/v1/orders", {["Content-Type"] = "application/json", ["Idempotency-Key"] = key},
    '{"customer_id":"bench-post","items":[{"sku":"A-1","quantity":2,"unit_price_cents":1250}]}')
end
LUA
post=$(wrk -t1 -c32 -d"${DURATION}s" --latency -s "$ROOT/post.lua" "http://127.0.0.1:$PORT")
echo "POST /v1/orders:              $(echo "$post" | rps) req/s, p99 $(echo "$post" | p99) (Postgres insert + Redis script + SQS send each)"
echo "$post" | grep -q "Non-2xx" && echo "  warning: $(echo "$post" | grep Non-2xx)"

sleep 3   # let the worker pool drain the POSTed orders
"$BIN/examples/queue_bench" throughput 20000
"$BIN/examples/queue_bench" lag 1000 "$DURATION" "http://127.0.0.1:$PORT/metrics"
echo "idle RSS:                     $((rss_kb / 1024)) MB"
echo "start to ready (deps up):     ${ready} ms (spawn to first 200 from /health, curl polling every 2 ms)"
