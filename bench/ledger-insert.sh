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
cd "$ROOT"
if [[ ${BUILD:-1} == 1 ]]; then
  mvn -B -q -ntp test-compile -pl modelway-gateway -am >&2
fi
CP_FILE=$(mktemp)
trap 'rm -f "$CP_FILE"' EXIT
mvn -B -q -ntp dependency:build-classpath -pl modelway-gateway -Dmdep.includeScope=test \
  -Dmdep.outputFile="$CP_FILE" >&2
CP="modelway-gateway/target/test-classes:modelway-gateway/target/classes:$(cat "$CP_FILE")"
for ((r = 1; r <= ROUNDS; r++)); do
  for variant in h2 sqlite; do
    java -XX:+UseSerialGC -cp "$CP" io.modelway.gateway.usage.LedgerInsertBench "$variant" "$ROWS"
  done
done
