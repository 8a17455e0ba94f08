#!/usr/bin/env bash
# Start-up of a short CLI command (`modelway version`) with the launcher's CLI flags against the
# servers' flags, alternating ROUNDS times in one run (the machine drifts: compare within a run).
# Usage: ROUNDS=5 bench/cli-start.sh   (builds the jar first if needed)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${ROUNDS:-5}"
./modelway version >/dev/null
jar=modelway-app/target/modelway.jar
cli=(-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx256m -XX:-UsePerfData)
server=(-XX:+UseSerialGC -Xms1g -Xmn600m)
seconds() { /usr/bin/time -f "%e" java "$@" -jar "$jar" version 2>&1 >/dev/null; }
echo "round  server-flags-s  cli-flags-s"
for i in $(seq "$rounds"); do
  s=$(seconds "${server[@]}"); c=$(seconds "${cli[@]}")
  echo "$i  $s  $c"
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
