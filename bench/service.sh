#!/usr/bin/env bash
# Service benchmarks on this machine, all in one run (release builds, loopback), for this
# checkout's service and, when asked, a baseline build of another commit, side by side:
#   1. axum hello-world vs GET /v1/orders/{id} on a cache hit (wrk -t1 -c64), measured
#      back to back for each build, so each ratio compares figures of one moment
#   2. POST /v1/orders throughput and p99 (wrk with a Lua script, unique idempotency keys)
#   3. worker throughput from a full queue: 20,000 order.submitted messages enqueued first,
#      then a worker replica started; messages/s until Postgres shows all completed
#   4. queue lag p99 at 1,000 messages/s offered
#   5. idle RSS, and start to ready with dependencies up
#
#   bench/service.sh [DURATION_SECONDS] [BASELINE_REF]
#     DURATION_SECONDS  each wrk run and the lag run (default 10)
#     BASELINE_REF      a commit to build (once, in target/bench-baseline) and measure the
#                       same way, printed beside this checkout's figures
#     BASELINE_BIN=...  a baseline service binary to use instead of building BASELINE_REF
#   Needs wrk (apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-10}"
BASELINE_REF="${2:-}"
MESSAGES=20000
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk / brew install wrk)" >&2; exit 1; }
cargo build -q --release -p devstack -p service --bins --example hello --example queue_bench
BIN="$PWD/target/release"

BASELINE_BIN="${BASELINE_BIN:-}"
if [ -z "$BASELINE_BIN" ] && [ -n "$BASELINE_REF" ]; then
  base_dir="$PWD/target/bench-baseline"
  rev=$(git rev-parse --short "$BASELINE_REF")
  if [ ! -x "$base_dir/service-$rev" ]; then
    echo "building the baseline service at $rev (first time: a full release build)" >&2
    rm -rf "$base_dir/src"; git worktree prune
    git worktree add -q --detach "$base_dir/src" "$rev"
    (cd "$base_dir/src" && cargo build -q --release -p service --bin service --target-dir "$base_dir/target")
    cp "$base_dir/target/release/service" "$base_dir/service-$rev"
    git worktree remove --force "$base_dir/src"
  fi
  BASELINE_BIN="$base_dir/service-$rev"
fi

ROOT="$(mktemp -d)"; chmod 755 "$ROOT"
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; "$BIN/devstack" --root "$ROOT" down >/dev/null 2>&1 || true; rm -rf "$ROOT"; }
trap cleanup EXIT
now_ms() { date +%s%3N; }
rps() { awk '/Requests\/sec/ {print $2}'; }
p99() { awk '/ 99%/ {print $2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }

"$BIN/devstack" --root "$ROOT" up --no-service --ephemeral --postgres-port 0 --redis-port 0 --sqs-port 0 --otlp-port 0 --otlp-grpc-port 0 >"$ROOT/up.log" 2>&1 &
PIDS+=($!)
until [ -s "$ROOT/.devstack/state.json" ]; do sleep 0.05; done
set -a; . "$ROOT/.devstack/env"; set +a
# Traces off here (bench/tracing.sh measures them on against off).
unset OTEL_EXPORTER_OTLP_ENDPOINT OTEL_EXPORTER_OTLP_PROTOCOL
"$BIN/service" migrate >/dev/null

PORT=18080
export HTTP_ADDR="127.0.0.1:$PORT" LOG_FORMAT=json RUST_LOG=warn RATE_LIMIT_PER_MINUTE=100000000 WORKER_CONCURRENCY=64 DATABASE_POOL_SIZE=32

"$BIN/examples/hello" 127.0.0.1:18099 & PIDS+=($!)
sleep 0.3

# start_service BIN ROLE: starts it, waits for /health, sets SERVICE_PID and READY_MS.
start_service() {
  local start; start=$(now_ms)
  "$1" serve --role "$2" >>"$ROOT/service.log" 2>&1 &
  SERVICE_PID=$!; PIDS+=($SERVICE_PID)
  until curl -sf "http://127.0.0.1:$PORT/health" >/dev/null; do sleep 0.002; done
  READY_MS=$(( $(now_ms) - start ))
}
stop_service() { kill "$SERVICE_PID"; wait "$SERVICE_PID" 2>/dev/null || true; }

# Idempotency keys unique to each wrk run (its first argument), so that a later run's POSTs
# are never replays of an earlier one's.
cat >"$ROOT/post.lua" <<'LUA'
counter = 0
prefix = "run"
init = function(args) prefix = args[1] or prefix end
request = function()
  counter = counter + 1
  local key = string.format("%s-%d", prefix, counter)
  return wrk.format("POST", "/v1/orders", {["Content-Type"] = "application/json", ["Idempotency-Key"] = key},
    '{"customer_id":"bench-post","items":[{"sku":"A-1","quantity":2,"unit_price_cents":1250}]}')
end
LUA

# measure NAME BIN: every figure for one build, as "key value" lines in $ROOT/NAME. Leaves
# the queue empty, as it found it.
measure() {
  local name=$1 bin=$2 out="$ROOT/$1"
  : >"$out"
  start_service "$bin" all
  echo "ready_ms $READY_MS" >>"$out"
  sleep 2
  echo "rss_mb $(( $(ps -o rss= -p "$SERVICE_PID" | tr -d ' ') / 1024 ))" >>"$out"
  stop_service

  local run started secs rate lag
  run=$("$BIN/examples/queue_bench" fill "$MESSAGES")
  started=$(now_ms)
  start_service "$bin" all
  read -r _ secs rate < <("$BIN/examples/queue_bench" drain "$run" "$MESSAGES" "$started")
  echo "worker $rate" >>"$out"; echo "worker_s $secs" >>"$out"
  lag=$("$BIN/examples/queue_bench" lag 1000 "$DURATION" "http://127.0.0.1:$PORT/metrics")
  echo "lag_p99 $(echo "$lag" | sed 's/.*p99 ≤ \([0-9.]*\) ms.*/\1/')" >>"$out"
  # The order the GET reads, completed (terminal) as most reads of an order find it.
  local id
  id=$(curl -s -X POST "http://127.0.0.1:$PORT/v1/orders" -H 'content-type: application/json' \
       -d '{"customer_id":"bench","items":[{"sku":"A","quantity":1,"unit_price_cents":100}]}' | sed 's/.*"id":"\([^"]*\)".*/\1/')
  until curl -s "http://127.0.0.1:$PORT/v1/orders/$id" | grep -q '"status":"completed"'; do sleep 0.05; done
  stop_service

  # The HTTP figures with an API replica: nothing else runs in it.
  start_service "$bin" api
  curl -s "http://127.0.0.1:$PORT/v1/orders/$id" >/dev/null
  echo "hello $(wrk -t1 -c64 -d"${DURATION}s" http://127.0.0.1:18099/ | rps)" >>"$out"
  local get post
  get=$(wrk -t1 -c64 -d"${DURATION}s" --latency "http://127.0.0.1:$PORT/v1/orders/$id")
  echo "get $(echo "$get" | rps)" >>"$out"; echo "get_p99 $(echo "$get" | p99)" >>"$out"
  post=$(wrk -t1 -c32 -d"${DURATION}s" --latency -s "$ROOT/post.lua" "http://127.0.0.1:$PORT" -- "$name-$(date +%s%N)")
  echo "post $(echo "$post" | rps)" >>"$out"; echo "post_p99 $(echo "$post" | p99)" >>"$out"
  if echo "$post" | grep -q "Non-2xx"; then
    cp "$ROOT/service.log" target/bench-service.log
    echo "  warning ($name): $(echo "$post" | grep Non-2xx) (service log: target/bench-service.log)" >&2
  fi
  stop_service
  # Process what the POSTs queued, so that the next build starts from an empty queue.
  start_service "$bin" all
  "$BIN/examples/queue_bench" settle
  stop_service
}
get() { awk -v k="$2" '$1 == k {print $2}' "$ROOT/$1"; }

[ -n "$BASELINE_BIN" ] && measure baseline "$BASELINE_BIN"
measure now "$BIN/service"

echo "== $(nproc) cores, wrk -t1 -c64 -d${DURATION}s, loopback, $(date -u +%F), $(git rev-parse --short HEAD)$(git diff --quiet || echo '+changes')"
row() { # row LABEL KEY UNIT [ratio-to-hello]
  local now base=""
  now="$(get now "$2")$3"
  [ -n "${4:-}" ] && now="$now ($(ratio "$(get now "$2")" "$(get now hello)")x hello)"
  if [ -n "$BASELINE_BIN" ]; then
    base="$(get baseline "$2")$3"
    [ -n "${4:-}" ] && base="$base ($(ratio "$(get baseline "$2")" "$(get baseline hello)")x hello)"
    printf "%-34s %-34s %s\n" "$1" "$base" "$now"
  else
    printf "%-34s %s\n" "$1" "$now"
  fi
}
[ -n "$BASELINE_BIN" ] && printf "%-34s %-34s %s\n" "" "baseline (${BASELINE_REF:-$BASELINE_BIN})" "this checkout"
row "hello-world (axum)" hello " req/s"
row "GET /v1/orders/{id}, cached" get " req/s" ratio
row "  p99" get_p99 ""
row "POST /v1/orders" post " req/s"
row "  p99" post_p99 ""
row "worker, full queue to completed" worker " msg/s"
row "queue lag p99 at 1,000 msg/s" lag_p99 " ms"
row "idle RSS" rss_mb " MB"
row "start to ready (deps up)" ready_ms " ms"
