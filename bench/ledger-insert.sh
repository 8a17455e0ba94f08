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
  for variant in random ordered no-index; do
    java -XX:+UseSerialGC -cp "$CP" io.modelway.gateway.usage.LedgerInsertBench "$variant" "$ROWS"
  done
done
