#!/usr/bin/env bash
# The cost of devstack's TCP proxies in front of Postgres and Redis on the service's
# POST /v1/orders throughput (each POST: a Postgres insert, a Redis script, an SQS send).
# One stack; the same service binary run twice in turn, with DATABASE_URL and REDIS_URL
# pointing at the proxies (what `devstack up` hands out) and at Postgres and Redis directly
# (`--no-proxy`); ROUNDS alternating wrk runs each, so drift hits both alike, after one
# discarded round that warms Postgres up. The service runs as `--role api` (no worker pool):
# the messages each POST queues would otherwise be processed during the next run and take
# its CPU, which on two cores swamps what is measured.
#
#   bench/proxy.sh [DURATION_SECONDS] [ROUNDS]     (default 10 and 5; needs wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-10}"
ROUNDS="${2:-5}"
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk / brew install wrk)" >&2; exit 1; }
cargo build -q --release -p devstack -p service --bins
BIN="$PWD/target/release"
ROOT="$(mktemp -d)"; chmod 755 "$ROOT"
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; "$BIN/devstack" --root "$ROOT" down >/dev/null 2>&1 || true; rm -rf "$ROOT"; }
trap cleanup EXIT

"$BIN/devstack" --root "$ROOT" up --no-service --ephemeral --postgres-port 0 --redis-port 0 --sqs-port 0 --otlp-port 0 --otlp-grpc-port 0 >"$ROOT/up.log" 2>&1 &
PIDS+=($!)
until [ -s "$ROOT/.devstack/state.json" ]; do sleep 0.05; done
set -a; . "$ROOT/.devstack/env"; set +a
unset OTEL_EXPORTER_OTLP_ENDPOINT OTEL_EXPORTER_OTLP_PROTOCOL
PROXIED_DB="$DATABASE_URL"; PROXIED_REDIS="$REDIS_URL"
# The components' own URLs (state.json), with the stack's password from the handed-out ones.
direct() { python3 -c '
import json, sys, urllib.parse as u
state = json.load(open(sys.argv[1])); handed = u.urlsplit(sys.argv[3])
own = u.urlsplit(next(c["url"] for c in state["components"] if c["name"] == sys.argv[2]))
print(handed._replace(netloc=handed.netloc.rsplit("@", 1)[0] + "@" + own.netloc.rsplit("@", 1)[-1]).geturl())
' "$ROOT/.devstack/state.json" "$1" "$2"; }
DIRECT_DB=$(direct postgres "$PROXIED_DB"); DIRECT_REDIS=$(direct redis "$PROXIED_REDIS")
"$BIN/service" migrate >/dev/null

cat >"$ROOT/post.lua" <<'LUA'
counter = 0
request = function()
  counter = counter + 1
  local key = string.format("%d-%d", math.random(1, 1000000000), counter)
  return wrk.format("POST", "/v1/orders", {["Content-Type"] = "application/json", ["Idempotency-Key"] = key},
    '{"customer_id":"bench-proxy","items":[{"sku":"A-1","quantity":2,"unit_price_cents":1250}]}')
end
LUA

PORT=18081
export SERVICE_ROLE=api HTTP_ADDR="127.0.0.1:$PORT" LOG_FORMAT=json RUST_LOG=warn RATE_LIMIT_PER_MINUTE=100000000 DATABASE_POOL_SIZE=32
# POST req/s with the service on DATABASE_URL=$1, REDIS_URL=$2.
post_rps() {
  DATABASE_URL="$1" REDIS_URL="$2" "$BIN/service" serve >>"$ROOT/service.log" 2>&1 &
  local pid=$!
  until curl -sf "http://127.0.0.1:$PORT/health" >/dev/null; do sleep 0.01; done
  wrk -t1 -c32 -d2s -s "$ROOT/post.lua" "http://127.0.0.1:$PORT" >/dev/null   # warm-up
  wrk -t1 -c32 -d"${DURATION}s" -s "$ROOT/post.lua" "http://127.0.0.1:$PORT" | awk '/Requests\/sec/ {print $2}'
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

echo "== $(nproc) cores, POST /v1/orders, wrk -t1 -c32 -d${DURATION}s, ${ROUNDS} rounds each, $(date -u +%F)"
post_rps "$DIRECT_DB" "$DIRECT_REDIS" >/dev/null   # warm-up rounds, discarded
post_rps "$PROXIED_DB" "$PROXIED_REDIS" >/dev/null
# ABBA order (direct first in odd rounds, proxies first in even ones), so a steady drift of
# the machine falls on both alike; the cost is the median of the rounds' paired ratios.
through=(); direct_=()
for round in $(seq "$ROUNDS"); do
  if (( round % 2 )); then
    d=$(post_rps "$DIRECT_DB" "$DIRECT_REDIS"); t=$(post_rps "$PROXIED_DB" "$PROXIED_REDIS")
  else
    t=$(post_rps "$PROXIED_DB" "$PROXIED_REDIS"); d=$(post_rps "$DIRECT_DB" "$DIRECT_REDIS")
  fi
  direct_+=("$d"); through+=("$t")
  echo "round $round: direct $d req/s, through the proxies $t req/s"
done
python3 - "${direct_[*]}" "${through[*]}" <<'PY'
import statistics, sys
direct = [float(x) for x in sys.argv[1].split()]
through = [float(x) for x in sys.argv[2].split()]
d, t = statistics.median(direct), statistics.median(through)
cost = statistics.median(1 - b / a for a, b in zip(direct, through))
print(f"median: direct {d:.0f} req/s, through the proxies {t:.0f} req/s; "
      f"cost (median of paired rounds) {100 * cost:.1f}% (target <= 5%)")
PY
