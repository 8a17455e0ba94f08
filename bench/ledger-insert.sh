#!/usr/bin/env bash
# What one usage row costs the embedded ledger store (H2): rows/s and CPU per row, inserted as the
# gateway's ledger writer does, with random request ids (clients' own), time-ordered ones (the
# gateway's), and without the request-id index. Variants interleave ROUNDS times.
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
  for variant in random ordered no-index; do
    java -XX:+UseSerialGC -cp "$TEST_CP" io.modelway.gateway.usage.LedgerInsertBench "$variant" "$ROWS"
  done
done
