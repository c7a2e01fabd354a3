#!/usr/bin/env bash
# The load generator measured: goose (this suite's `ping` scenario) against wrk, both
# driving the same axum hello-world, in one run on this machine (release builds, loopback).
# Target: goose >= 0.4x wrk's requests/s.
#
#   bench/loadtest.sh [DURATION_SECONDS] [CONNECTIONS]   (defaults 10 and 64; needs wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-10}"
CONNECTIONS="${2:-64}"
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk / brew install wrk)" >&2; exit 1; }
cargo build -q --release -p loadtest --bin loadtest
cargo build -q --release -p service --example hello
BIN="$PWD/target/release"
WORK="$(mktemp -d)"
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

"$BIN/examples/hello" 127.0.0.1:18099 & PIDS+=($!)
until curl -sf http://127.0.0.1:18099/ >/dev/null; do sleep 0.05; done

echo "== $(nproc) cores, ${CONNECTIONS} connections, ${DURATION}s each, loopback, $(date -u +%F)"
wrk_rps=$(wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" http://127.0.0.1:18099/ | awk '/Requests\/sec/ {print $2}')
echo "wrk -t1:                 ${wrk_rps} req/s"

# Goose: one user per connection, all started at once; the summary's window is goose's own.
"$BIN/loadtest" run --host http://127.0.0.1:18099 --scenarios ping --ping-path / \
  --users "$CONNECTIONS" --increase-rate "$CONNECTIONS" --run-time "${DURATION}s" \
  --no-print-metrics --quiet --summary-file "$WORK/summary.json" >"$WORK/report.txt" 2>&1 || {
  cat "$WORK/report.txt" >&2; exit 1; }
read -r goose_rps goose_p99 < <(python3 - "$WORK/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
r = s["requests"]["GET /"]
rank, seen, p99 = max(1, -(-r["count"] * 99 // 100)), 0, 0
for time, count in sorted((int(t), c) for t, c in r["buckets"].items()):
    seen += count
    if seen >= rank:
        p99 = time; break
print(f'{r["count"] / s["duration_secs"]:.0f} {p99 / 1000:.2f}ms')
PY
)
echo "goose (loadtest ping):   ${goose_rps} req/s, p99 ${goose_p99}"
awk -v g="$goose_rps" -v w="$wrk_rps" 'BEGIN {printf "goose / wrk:             %.2fx (target >= 0.4x)\n", g / w}'
