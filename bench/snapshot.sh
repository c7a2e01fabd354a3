#!/usr/bin/env bash
# `devstack snapshot save` and `load` with 100,000 orders (the service's schema), 100,000
# queued messages and 100,000 Redis keys (cached orders), on a running stack and on a stopped
# one; the snapshot's size on disk and exported. Baseline in the same run: the naive
# whole-stack snapshot, a copy (`cp -a`) of the stopped stack's data directory, and its
# restore (delete, copy back).
#
#   bench/snapshot.sh [RUNS]     (default 5; prints the median and the fastest of RUNS)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-5}"
ORDERS=100000 MESSAGES=100000 KEYS=100000
cargo build -q --release -p devstack -p service --bins
BIN="$PWD/target/release"
ROOT="$(mktemp -d)"; chmod 755 "$ROOT"
cleanup() { "$BIN/devstack" --root "$ROOT" down >/dev/null 2>&1 || true; rm -rf "$ROOT"; }
trap cleanup EXIT
DS() { "$BIN/devstack" --root "$ROOT" "$@"; }
up() {
    DS up --no-service --postgres-port 0 --redis-port 0 --sqs-port 0 --otlp-port 0 --otlp-grpc-port 0 >>"$ROOT/up.log" 2>&1 &
    until [ -s "$ROOT/.devstack/state.json" ]; do sleep 0.05; done
}
now_ms() { date +%s%3N; }
# Runs "$@" RUNS times; prints "median min" in ms.
timed() {
    local times=() start
    for _ in $(seq "$RUNS"); do
        start=$(now_ms); "$@" >/dev/null; times+=($(( $(now_ms) - start )))
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)], a[1]}'
}

up
set -a; . "$ROOT/.devstack/env"; set +a
"$BIN/service" migrate >/dev/null
echo "seeding: $ORDERS orders, $MESSAGES messages, $KEYS keys…"
python3 - "$DATABASE_URL" "$ORDERS" <<'PY'
import subprocess, sys, urllib.parse as u
url = u.urlsplit(sys.argv[1])
env = {"PGPASSWORD": u.unquote(url.password or ""), "PATH": "/usr/bin:/bin:/usr/local/bin"}
sql = f"""INSERT INTO orders (id, customer_id, status, total_cents, items, processed_count)
SELECT gen_random_uuid(), 'customer-' || (g % 1000), 'completed', 2500,
       '[{{"sku":"A-1","quantity":2,"unit_price_cents":1250}}]'::jsonb, 1
FROM generate_series(1, {sys.argv[2]}) g"""
subprocess.run(["psql", "-q", "-h", url.hostname, "-p", str(url.port), "-U", url.username,
                "-d", url.path.lstrip("/"), "-c", sql], env=env, check=True)
PY
python3 - "$AWS_ENDPOINT_URL" "$SQS_QUEUE_URL" "$MESSAGES" <<'PY'
# SendMessageBatch over the JSON protocol, 4 connections: no SDK needed to fill a queue.
import http.client, json, sys, threading, urllib.parse as u
endpoint, queue, total = u.urlsplit(sys.argv[1]), sys.argv[2], int(sys.argv[3])
def send(batches):
    conn = http.client.HTTPConnection(endpoint.hostname, endpoint.port)
    for b in batches:
        entries = [{"Id": str(i), "MessageBody": json.dumps({"order_id": f"{b}-{i}", "pad": "x" * 150})}
                   for i in range(10)]
        conn.request("POST", "/", json.dumps({"QueueUrl": queue, "Entries": entries}),
                     {"Content-Type": "application/x-amz-json-1.0",
                      "X-Amz-Target": "AmazonSQS.SendMessageBatch"})
        response = conn.getresponse(); body = response.read()
        if response.status != 200 or b'"Failed":[{' in body:
            sys.exit(f"send failed: {response.status} {body[:200]}")
threads = [threading.Thread(target=send, args=(range(t, total // 10, 4),)) for t in range(4)]
for t in threads: t.start()
for t in threads: t.join()
PY
REDIS_PORT=${REDIS_URL##*:}; REDIS_PASSWORD=$(python3 -c 'import sys, urllib.parse as u; print(u.unquote(u.urlsplit(sys.argv[1]).password))' "$REDIS_URL")
seq "$KEYS" | awk '{v="{\"id\":\"" $1 "\",\"status\":\"completed\",\"total_cents\":2500,\"items\":[{\"sku\":\"A-1\",\"quantity\":2}]}"; printf "*5\r\n$3\r\nSET\r\n$%d\r\norder:%s\r\n$%d\r\n%s\r\n$2\r\nEX\r\n$4\r\n3600\r\n", length("order:" $1), $1, length(v), v}' \
    | redis-cli -p "$REDIS_PORT" -a "$REDIS_PASSWORD" --no-auth-warning --pipe >/dev/null

DS snapshot save bench >/dev/null
SNAP="$ROOT/.devstack/snapshots/bench"
echo; DS snapshot list
save_running=$(timed DS snapshot save bench --force)
load_running=$(timed DS snapshot load bench)
DS snapshot export bench "$ROOT/bench.tar.gz" >/dev/null
DS down >/dev/null
save_stopped=$(timed DS snapshot save bench --force)
load_stopped=$(timed DS snapshot load bench)
copy_data() { rm -rf "$ROOT/copy"; cp -a "$ROOT/.devstack/data" "$ROOT/copy"; }
restore_data() { rm -rf "$ROOT/.devstack/data"; cp -a "$ROOT/copy" "$ROOT/.devstack/data"; }
baseline_save=$(timed copy_data)
baseline_load=$(timed restore_data)

size() { du -sb "$1" | awk '{printf "%.1f MB", $1 / 1048576}'; }
echo
echo "$ORDERS orders, $MESSAGES messages, $KEYS Redis keys; median and fastest of $RUNS runs (ms):"
printf '  %-58s %7s %7s\n' "operation" "median" "fastest"
row() { printf '  %-58s %7s %7s\n' "$1" $2; }
row "snapshot save, running stack" "$save_running"
row "snapshot load, running stack" "$load_running"
row "snapshot save, stopped stack (starts its infrastructure)" "$save_stopped"
row "snapshot load, stopped stack (starts its infrastructure)" "$load_stopped"
row "baseline: cp -a of the stopped stack's data directory" "$baseline_save"
row "baseline: its restore (rm -rf, cp -a back)" "$baseline_load"
echo "  snapshot on disk: $(size "$SNAP"); exported (.tar.gz): $(size "$ROOT/bench.tar.gz"); data directory: $(size "$ROOT/.devstack/data")"
