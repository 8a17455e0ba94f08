#!/usr/bin/env bash
# What one usage row costs the embedded ledger store: rows/s and CPU per row, inserted through the
# ledger's own insert (UsageLedger.insert, as its mover calls it), into SQLite (the embedded
# ledger's file) and into H2 (the store the ledger lived in before); with VARIANTS, also the
# mover's whole work on spooled rows (spool: read, decode, insert into SQLite) and the decoding
# of spooled lines alone (decode). Variants interleave ROUNDS times.
#
# Environment: ROWS [150000]  ROUNDS [2]  VARIANTS ["h2 sqlite"] (of h2 sqlite spool decode)
#   BUILD [1] (0: reuse compiled test classes)  OFFLINE [0] (1: Maven offline)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
ROWS=${ROWS:-150000}
ROUNDS=${ROUNDS:-2}
VARIANTS=${VARIANTS:-h2 sqlite}
log() { printf '[ledger-insert %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 2; }
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
test_classpath modelway-gateway
for ((r = 1; r <= ROUNDS; r++)); do
  for variant in $VARIANTS; do
    java -XX:+UseSerialGC -cp "$TEST_CP" io.modelway.gateway.usage.LedgerInsertBench "$variant" "$ROWS"
  done
done
