#!/usr/bin/env bash
# The embedded SQS emulator measured, all in one run on this machine (release builds, loopback):
#   1. SendMessage over JSON with wrk (a Lua script), against an axum hello-world and against
#      moto's server (PyPI), same connections and duration
#   2. a send -> receive -> delete cycle with aws-sdk-sqs in batches of 10
#   3. RSS with 1,000,000 queued 100-byte messages
#   4. receive latency with 1,000 and with 1,000,000 messages queued
# Targets: SendMessage >= 0.5x hello-world; cycle >= 20,000 messages/s; 1M messages <= 500 MB;
# receive cost independent of queue length.
#
#   bench/sqs-emulator.sh [DURATION_SECONDS]     (default 10; needs wrk; moto is installed in a temp venv)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-10}"
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk / brew install wrk)" >&2; exit 1; }
cargo build -q --release -p devstack --bin devstack
cargo build -q --release -p sqs-emulator --example sqs_bench
cargo build -q --release -p service --example hello
BIN="$PWD/target/release"
WORK="$(mktemp -d)"
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
wait_http() { until curl -s -o /dev/null "$1"; do sleep 0.05; done; }
# Requests/s from wrk's report; a warning on stderr when some answers were not 2xx.
rps() { tee "$WORK/wrk.out" | awk '/Requests\/sec/ {print $2}'; grep -h "Non-2xx" "$WORK/wrk.out" >&2 || true; }
# moto_server routes a request to a service by the credential scope of its Authorization
# header (it does not check the signature); the emulator ignores it.
AUTH='AWS4-HMAC-SHA256 Credential=bench/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=0'
create_queue() { # ENDPOINT NAME
  curl -sf -X POST "$1/" -H 'X-Amz-Target: AmazonSQS.CreateQueue' -H 'Content-Type: application/x-amz-json-1.0' -H "Authorization: $AUTH" \
    -d "{\"QueueName\":\"$2\"}" | sed 's/.*"QueueUrl": *"\([^"]*\)".*/\1/'
}
send_script() { # QUEUE_URL -> a wrk Lua script sending 100-byte messages
  local body; body=$(printf 'x%.0s' $(seq 100))
  cat >"$WORK/send.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-amz-json-1.0"
wrk.headers["X-Amz-Target"] = "AmazonSQS.SendMessage"
wrk.headers["Authorization"] = "$AUTH"
wrk.body = '{"QueueUrl":"$1","MessageBody":"$body"}'
LUA
}

"$BIN/devstack" sqs --port 19324 >"$WORK/sqs.log" 2>&1 & PIDS+=($!)
"$BIN/examples/hello" 127.0.0.1:18099 & PIDS+=($!)
wait_http http://127.0.0.1:19324/health; wait_http http://127.0.0.1:18099/

echo "== $(nproc) cores, wrk -t1 -c64 -d${DURATION}s, loopback, $(date -u +%F)"
hello=$(wrk -t1 -c64 -d"${DURATION}s" http://127.0.0.1:18099/ | rps)
echo "hello-world (axum):            ${hello} req/s"
send_script "$(create_queue http://127.0.0.1:19324 wrk)"
send=$(wrk -t1 -c64 -d"${DURATION}s" -s "$WORK/send.lua" http://127.0.0.1:19324/ | rps)
echo "SendMessage, emulator:         ${send} req/s ($(awk -v a="$send" -v b="$hello" 'BEGIN {printf "%.2f", a/b}')x hello-world; target >= 0.5x)"

if python3 -m venv "$WORK/moto" >/dev/null 2>&1 && "$WORK/moto/bin/pip" install -q "moto[server]" >/dev/null 2>&1; then
  "$WORK/moto/bin/moto_server" -p 15000 >"$WORK/moto.log" 2>&1 & PIDS+=($!)
  wait_http http://127.0.0.1:15000/
  send_script "$(create_queue http://127.0.0.1:15000 wrk)"
  moto=$(wrk -t1 -c64 -d"${DURATION}s" -s "$WORK/send.lua" http://127.0.0.1:15000/ | rps)
  echo "SendMessage, moto_server $("$WORK/moto/bin/pip" show moto | awk '/^Version/ {print $2}'): ${moto} req/s"
else
  echo "SendMessage, moto_server:      skipped (pip could not install moto[server])"
fi

"$BIN/examples/sqs_bench" cycle http://127.0.0.1:19324 200000 16

# A fresh emulator for memory: its RSS before and after 1,000,000 queued messages.
"$BIN/devstack" sqs --port 19325 >"$WORK/sqs2.log" 2>&1 & MEM_PID=$!; PIDS+=($MEM_PID)
wait_http http://127.0.0.1:19325/health
rss_mb() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$MEM_PID/status"; }
echo "emulator RSS, empty:           $(rss_mb) MB"
"$BIN/examples/sqs_bench" fill http://127.0.0.1:19325 small 1000
"$BIN/examples/sqs_bench" fill http://127.0.0.1:19325 million 1000000
echo "emulator RSS, 1,000,000 queued 100-byte messages: $(rss_mb) MB (target <= 500 MB)"
"$BIN/examples/sqs_bench" receive http://127.0.0.1:19325 small 2000
"$BIN/examples/sqs_bench" receive http://127.0.0.1:19325 million 2000
