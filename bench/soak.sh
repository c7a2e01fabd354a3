#!/usr/bin/env bash
# The long version of the fault-injection accounting test (service/tests/faults.rs): 1,000,000
# orders (plus 1% poison) through the real service while it is SIGTERMed and SIGKILLed and
# Postgres and Redis are restarted, at random moments, until the queue is drained; then every
# message is reconciled and the table printed. Release build; takes tens of minutes.
#
#   bench/soak.sh [MESSAGES] [SEED]      (default 1000000, random seed)
set -euo pipefail
cd "$(dirname "$0")/.."
MESSAGES="${1:-1000000}"
SEED="${2:-$RANDOM$RANDOM}"
echo "== soak: $MESSAGES messages, seed $SEED, $(nproc) cores, $(date -u +%FT%TZ)"
FAULT_MESSAGES="$MESSAGES" FAULT_SEED="$SEED" FAULT_CONTINUOUS=1 \
  cargo test --release -p service --test faults -- --nocapture
