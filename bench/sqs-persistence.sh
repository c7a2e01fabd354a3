#!/usr/bin/env bash
# What persistence costs the embedded SQS emulator (release build, loopback, this machine):
#   1. SendMessage over JSON with wrk, and the batched send -> receive -> delete cycle with
#      aws-sdk-sqs, in memory, with --fsync 100ms and with --fsync always
#   2. restart after kill -9 with 1,000,000 queued 100-byte messages: time to healthy, journal
#      size on disk, RSS before and after
#
#   bench/sqs-persistence.sh [DURATION_SECONDS]     (default 10; needs wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-10}"
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk / brew install wrk)" >&2; exit 1; }
cargo build -q --release -p devstack --bin devstack
cargo build -q --release -p sqs-emulator --example sqs_bench
BIN="$PWD/target/release"
WORK="$(mktemp -d)"
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
wait_http() { until curl -s -o /dev/null "$1"; do sleep 0.05; done; }
rss_mb() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }
PORT=19330
start() { # MODE [DIR] -> starts an emulator on $PORT in that mode; sets EMU_PID
  local args=(--root "$WORK" sqs --port "$PORT" --no-declared-queues)
  [ "$1" != memory ] && args+=(--data-dir "$WORK/${2:-data-$1}" --fsync "$1")
  "$BIN/devstack" "${args[@]}" >"$WORK/sqs-$1.log" 2>&1 & EMU_PID=$!; PIDS+=($EMU_PID)
  wait_http "http://127.0.0.1:$PORT/health"
}
body=$(printf 'x%.0s' $(seq 100))
cat >"$WORK/send.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-amz-json-1.0"
wrk.headers["X-Amz-Target"] = "AmazonSQS.SendMessage"
wrk.body = '{"QueueUrl":"http://127.0.0.1:$PORT/000000000000/wrk","MessageBody":"$body"}'
LUA

echo "== $(nproc) cores, wrk -t1 -c64 -d${DURATION}s, loopback, $(date -u +%F)"
printf '%-16s %18s %22s\n' "mode" "SendMessage req/s" "batched cycle msg/s"
for mode in memory 100ms always; do
  start "$mode"
  curl -sf -X POST "http://127.0.0.1:$PORT/" -H 'X-Amz-Target: AmazonSQS.CreateQueue' \
    -H 'Content-Type: application/x-amz-json-1.0' -d '{"QueueName":"wrk"}' >/dev/null
  send=$(wrk -t1 -c64 -d"${DURATION}s" -s "$WORK/send.lua" "http://127.0.0.1:$PORT/" | awk '/Requests\/sec/ {print $2}')
  cycle=$("$BIN/examples/sqs_bench" cycle "http://127.0.0.1:$PORT" 200000 16 | sed -n 's/.*: \([0-9]*\) messages\/s/\1/p')
  printf '%-16s %18s %22s\n' "$mode" "$send" "$cycle"
  kill "$EMU_PID"; wait "$EMU_PID" 2>/dev/null || true
done

start 100ms restart
"$BIN/examples/sqs_bench" fill "http://127.0.0.1:$PORT" million 1000000
echo "RSS with 1,000,000 queued (persistent): $(rss_mb "$EMU_PID") MB; on disk: $(du -sh "$WORK/restart" | cut -f1)"
kill -9 "$EMU_PID"; wait "$EMU_PID" 2>/dev/null || true
started=$(date +%s.%N)
start 100ms restart
echo "restart after kill -9 to healthy: $(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b-a}') s; $(grep restored "$WORK/sqs-100ms.log" | sed 's/^ *//;s/data in [^ ]* //'); RSS $(rss_mb "$EMU_PID") MB"
visible=$(curl -s "http://127.0.0.1:$PORT/_slipway/queues" | sed 's/.*"visible":\([0-9]*\).*/\1/')
echo "messages after the restart: $visible (of 1,000,000)"
