#!/usr/bin/env bash
# The dashboard's own CPU use at a 1 s refresh, on the Overview, against a devstack under
# load (the goose suite's browse/checkout/queue scenarios), measured from /proc over a window.
# Target: <= 2% of one core.
#
#   bench/tui-cpu.sh [SECONDS] [PROFILE]     (defaults 60 and debug, what `cargo run -p tui` runs; needs tmux)
set -euo pipefail
cd "$(dirname "$0")/.."
WINDOW="${1:-60}"
PROFILE="${2:-debug}"
command -v tmux >/dev/null || { echo "tmux is required (apt-get install tmux)" >&2; exit 1; }
flag=(); [ "$PROFILE" = release ] && flag=(--release)
cargo build -q "${flag[@]}" -p devstack -p service -p loadtest -p tui --bins
BIN="$PWD/target/$PROFILE"
ROOT="$(mktemp -d)"; chmod 755 "$ROOT"
SOCKET="slipway-tui-cpu-$$"
PIDS=()
cleanup() {
  tmux -L "$SOCKET" kill-server 2>/dev/null || true
  for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done
  "$BIN/devstack" --root "$ROOT" down >/dev/null 2>&1 || true
  rm -rf "$ROOT"
}
trap cleanup EXIT

"$BIN/devstack" --root "$ROOT" up --no-service --ephemeral --postgres-port 0 --redis-port 0 --sqs-port 0 --otlp-port 0 --otlp-grpc-port 0 >"$ROOT/up.log" 2>&1 &
PIDS+=($!)
until [ -s "$ROOT/.devstack/state.json" ]; do sleep 0.05; done
set -a; . "$ROOT/.devstack/env"; set +a
PORT=18181
export HTTP_ADDR="127.0.0.1:$PORT" LOG_FORMAT=json RUST_LOG=warn
"$BIN/service" migrate >/dev/null
"$BIN/service" serve >"$ROOT/service.log" 2>&1 & PIDS+=($!)
until curl -sf "http://127.0.0.1:$PORT/health" >/dev/null; do sleep 0.05; done

"$BIN/loadtest" run --host "http://127.0.0.1:$PORT" --scenarios browse,checkout,queue --users 6 \
  --run-time "$((WINDOW + 20))s" --queue-rate 100 --no-print-metrics --quiet >"$ROOT/load.log" 2>&1 & PIDS+=($!)

tmux -L "$SOCKET" new-session -d -s tui -x 120 -y 40 \
  "$BIN/tui" --metrics-url "http://127.0.0.1:$PORT/metrics" --sqs-endpoint "$AWS_ENDPOINT_URL" \
  --queue-url "$SQS_QUEUE_URL" --dlq-url "$SQS_DLQ_URL" --refresh-ms 1000
sleep 5
TUI_PID=$(tmux -L "$SOCKET" display -p -t tui '#{pane_pid}')
# tmux may start the command under `sh -c`: take the shell's child then.
[ "$(cat "/proc/$TUI_PID/comm")" = tui ] || TUI_PID=$(pgrep -P "$TUI_PID" -x tui)
[ "$(cat "/proc/$TUI_PID/comm")" = tui ] || { echo "tui process not found" >&2; exit 1; }
ticks() { awk '{print $14 + $15}' "/proc/$TUI_PID/stat"; }
hz=$(getconf CLK_TCK)
before=$(ticks); start=$(date +%s.%N)
sleep "$WINDOW"
after=$(ticks); end=$(date +%s.%N)
rps=$(tmux -L "$SOCKET" capture-pane -p -t tui | grep -o '[0-9.]* req/s' | head -1)
awk -v b="$before" -v a="$after" -v hz="$hz" -v s="$start" -v e="$end" -v rps="$rps" -v p="$PROFILE" \
  'BEGIN {printf "tui (%s build), 1 s refresh, %.0f s under load (%s on screen): %.2f%% of one core (target <= 2%%)\n", p, e - s, rps, 100 * (a - b) / hz / (e - s)}'
