#!/usr/bin/env bash
# The cost of tracing, in one run (release builds, loopback, one devstack): the service with
# traces off (no OTLP endpoint) and with every request sampled and exported to devstack's
# collector, side by side — GET /v1/orders/{id} on a cache hit and POST /v1/orders — and the
# collector's own ingest rate (spans/s over OTLP/HTTP protobuf). Target: GET with traces on
# ≥ 0.8× off; the collector ≥ 50,000 spans/s.
#
#   bench/tracing.sh [DURATION_SECONDS]     (default 10; needs wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-10}"
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk / brew install wrk)" >&2; exit 1; }
cargo build -q --release -p devstack -p service --bins --example otlp_load
BIN="$PWD/target/release"
ROOT="$(mktemp -d)"; chmod 755 "$ROOT"
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; "$BIN/devstack" --root "$ROOT" down >/dev/null 2>&1 || true; rm -rf "$ROOT"; }
trap cleanup EXIT

"$BIN/devstack" --root "$ROOT" up --no-service --ephemeral --postgres-port 0 --redis-port 0 --sqs-port 0 --otlp-port 0 --otlp-grpc-port 0 >"$ROOT/up.log" 2>&1 &
PIDS+=($!)
until [ -s "$ROOT/.devstack/state.json" ]; do sleep 0.05; done
set -a; . "$ROOT/.devstack/env"; set +a
ENDPOINT="$OTEL_EXPORTER_OTLP_ENDPOINT"
unset OTEL_EXPORTER_OTLP_ENDPOINT OTEL_EXPORTER_OTLP_PROTOCOL
"$BIN/service" migrate >/dev/null
export LOG_FORMAT=json RUST_LOG=warn RATE_LIMIT_PER_MINUTE=100000000 WORKER_CONCURRENCY=64 DATABASE_POOL_SIZE=32

# Off on 18081; on (every request sampled) on 18082.
HTTP_ADDR=127.0.0.1:18081 "$BIN/service" serve >"$ROOT/off.log" 2>&1 & PIDS+=($!)
HTTP_ADDR=127.0.0.1:18082 OTEL_EXPORTER_OTLP_ENDPOINT="$ENDPOINT" OTEL_SERVICE_NAME=bench \
    OTEL_TRACES_SAMPLER=always_on "$BIN/service" serve >"$ROOT/on.log" 2>&1 & PIDS+=($!)
for port in 18081 18082; do until curl -sf "http://127.0.0.1:$port/health" >/dev/null; do sleep 0.01; done; done

rps() { awk '/Requests\/sec/ {print $2}'; }
p99() { awk '/ 99%/ {print $2}'; }
cat >"$ROOT/post.lua" <<'LUA'
counter = 0
request = function()
  counter = counter + 1
  local key = string.format("%d-%d", math.random(1, 1000000000), counter)
  return wrk.format("POST", "/v1/orders", {["Content-Type"] = "application/json", ["Idempotency-Key"] = key},
    '{"customer_id":"bench-trace","items":[{"sku":"A-1","quantity":2,"unit_price_cents":1250}]}')
end
LUA

# Both services' workers share the queue: each measurement starts with it drained, so that no
# phase pays for the work the one before left behind.
drained() {
    until curl -s "$AWS_ENDPOINT_URL/_slipway/queues" | python3 -c '
import json, sys
q = [q for q in json.load(sys.stdin) if q["name"] == "orders"][0]
sys.exit(0 if q["visible"] + q["in_flight"] + q["delayed"] == 0 else 1)'; do sleep 0.5; done
}

echo "== $(nproc) cores, wrk -t1, ${DURATION}s each, loopback, $(date -u +%F)"
# A warm-up round of POSTs, not counted: the first one on a fresh stack runs at about half the
# rate of any later one, whichever service takes it (measured), which would favour the second.
wrk -t1 -c32 -d"${DURATION}s" -s "$ROOT/post.lua" "http://127.0.0.1:18081" >/dev/null
declare -A GET POST
for mode in ${ORDER:-off on}; do
    port=$([ "$mode" = off ] && echo 18081 || echo 18082)
    id=$(curl -s -X POST "http://127.0.0.1:$port/v1/orders" -H 'content-type: application/json' \
         -d '{"customer_id":"bench","items":[{"sku":"A","quantity":1,"unit_price_cents":100}]}' | sed 's/.*"id":"\([^"]*\)".*/\1/')
    sleep 0.5; curl -s "http://127.0.0.1:$port/v1/orders/$id" >/dev/null
    drained
    out=$(wrk -t1 -c64 -d"${DURATION}s" --latency "http://127.0.0.1:$port/v1/orders/$id")
    GET[$mode]=$(echo "$out" | rps)
    echo "GET cached, traces $mode:  ${GET[$mode]} req/s, p99 $(echo "$out" | p99)"
    drained
    out=$(wrk -t1 -c32 -d"${DURATION}s" --latency -s "$ROOT/post.lua" "http://127.0.0.1:$port")
    POST[$mode]=$(echo "$out" | rps)
    echo "POST, traces $mode:        ${POST[$mode]} req/s, p99 $(echo "$out" | p99)"
done
awk -v a="${GET[on]}" -v b="${GET[off]}" 'BEGIN {printf "GET on/off:  %.2fx (target >= 0.8x)\n", a/b}'
awk -v a="${POST[on]}" -v b="${POST[off]}" 'BEGIN {printf "POST on/off: %.2fx\n", a/b}'
"$BIN/examples/otlp_load" "$ENDPOINT" "$DURATION"
echo "collector RSS after the run: $(( $(ps -o rss= -p "${PIDS[0]}" | tr -d ' ') / 1024 )) MB (bound: [telemetry] in devstack.toml)"
