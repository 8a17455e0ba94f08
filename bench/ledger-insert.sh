#!/usr/bin/env bash
# What one usage row costs the embedded ledger store: rows/s and CPU per row, inserted through the
# ledger's own insert (UsageLedger.insert, as its mover calls it), into SQLite (the embedded
# ledger's file) and into H2 (the store the ledger lived in before). Variants interleave ROUNDS
# times.
#
# Environment: ROWS [150000]  ROUNDS [2]  BUILD [1] (0: reuse compiled test classes)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
ROWS=${ROWS:-150000}
ROUNDS=${ROUNDS:-2}
log() { printf '[ledger-insert %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 2; }
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
test_classpath modelway-gateway
for ((r = 1; r <= ROUNDS; r++)); do
  for variant in h2 sqlite; do
    java -XX:+UseSerialGC -cp "$TEST_CP" io.modelway.gateway.usage.LedgerInsertBench "$variant" "$ROWS"
  done
done
