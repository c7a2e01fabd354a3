#!/usr/bin/env bash
# What the emulator's own spans cost, in one run (release builds, loopback): the same emulator
# three ways — recording nothing (`devstack sqs --message-history 0`), keeping message
# histories (`devstack sqs`, the default), and embedded in `devstack up`, where every message
# that carries a `traceparent` also becomes spans (waiting, in flight, delete) in the stack's
# collector. Every message sent carries a traceparent.
#   1. SendMessage over JSON with wrk (a Lua script), 64 connections
#   2. a send -> receive -> delete cycle with aws-sdk-sqs in batches of 10 (the phases that
#      become spans end at the receive and the delete, so this is where spans cost)
# Target: with spans >= 0.8x the emulator recording nothing, for SendMessage.
#
#   bench/sqs-spans.sh [DURATION_SECONDS]     (default 10; needs wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-10}"
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk / brew install wrk)" >&2; exit 1; }
cargo build -q --release -p devstack --bin devstack
cargo build -q --release -p sqs-emulator --example sqs_bench
BIN="$PWD/target/release"
ROOT="$(mktemp -d)"; chmod 755 "$ROOT"
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; "$BIN/devstack" --root "$ROOT" down >/dev/null 2>&1 || true; rm -rf "$ROOT"; }
trap cleanup EXIT
wait_http() { until curl -s -o /dev/null "$1"; do sleep 0.05; done; }
rps() { tee "$ROOT/wrk.out" | awk '/Requests\/sec/ {print $2}'; grep -h "Non-2xx" "$ROOT/wrk.out" >&2 || true; }
TRACE=4bf92f3577b34da6a3ce929d0e0e4736
export SQS_BENCH_TRACEPARENT="00-$TRACE-00f067aa0ba902b7-01"
create_queue() { # ENDPOINT NAME
  curl -sf -X POST "$1/" -H 'X-Amz-Target: AmazonSQS.CreateQueue' -H 'Content-Type: application/x-amz-json-1.0' \
    -d "{\"QueueName\":\"$2\"}" | sed 's/.*"QueueUrl": *"\([^"]*\)".*/\1/'
}
send_script() { # QUEUE_URL -> a wrk Lua script sending 100-byte messages with a traceparent
  local body; body=$(printf 'x%.0s' $(seq 100))
  cat >"$ROOT/send.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-amz-json-1.0"
wrk.headers["X-Amz-Target"] = "AmazonSQS.SendMessage"
wrk.body = '{"QueueUrl":"$1","MessageBody":"$body","MessageAttributes":{"traceparent":{"DataType":"String","StringValue":"$SQS_BENCH_TRACEPARENT"}}}'
LUA
}

"$BIN/devstack" sqs --port 19331 --message-history 0 --no-declared-queues >"$ROOT/bare.log" 2>&1 & PIDS+=($!)
"$BIN/devstack" sqs --port 19332 --no-declared-queues >"$ROOT/history.log" 2>&1 & PIDS+=($!)
"$BIN/devstack" --root "$ROOT" up --no-service --ephemeral --postgres-port 0 --redis-port 0 --sqs-port 0 --otlp-port 0 --otlp-grpc-port 0 >"$ROOT/up.log" 2>&1 &
PIDS+=($!)
until [ -s "$ROOT/.devstack/state.json" ]; do sleep 0.05; done
SPANS_AT=$(awk -F= '/^AWS_ENDPOINT_URL=/ {print $2}' "$ROOT/.devstack/env")
wait_http http://127.0.0.1:19331/health; wait_http http://127.0.0.1:19332/health

echo "== $(nproc) cores, wrk -t1 -c64 -d${DURATION}s, loopback, $(date -u +%F); every message carries a traceparent"
declare -A SEND
for case in "nothing http://127.0.0.1:19331" "history http://127.0.0.1:19332" "spans $SPANS_AT"; do
  set -- $case
  send_script "$(create_queue "$2" wrk)"
  SEND[$1]=$(wrk -t1 -c64 -d"${DURATION}s" -s "$ROOT/send.lua" "$2/" | rps)
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }
echo "SendMessage, recording nothing:         ${SEND[nothing]} req/s"
echo "SendMessage, message histories:         ${SEND[history]} req/s ($(ratio "${SEND[history]}" "${SEND[nothing]}")x)"
echo "SendMessage, histories + spans (up):    ${SEND[spans]} req/s ($(ratio "${SEND[spans]}" "${SEND[nothing]}")x; target >= 0.8x)"
for case in "nothing http://127.0.0.1:19331" "history http://127.0.0.1:19332" "spans $SPANS_AT"; do
  set -- $case
  printf '%-8s ' "$1"; "$BIN/examples/sqs_bench" cycle "$2" 100000 16
done
held=$("$BIN/devstack" --root "$ROOT" trace --trace-id "$TRACE" --json | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
echo "spans of the bench's trace held by the collector (bounded by [telemetry] max_spans): $held"
