#!/usr/bin/env bash
# Embedding requests per second with dynamic batching vs without, in one interleaved run.
#
# Two `modelway up` processes serve the built-in embedding model all-minilm-l6-v2:
#   batched    --embedding-max-batch $BATCH --embedding-max-wait $MAX_WAIT
#   unbatched  --embedding-max-batch 1      (one model call per input)
# wrk sends the same one-sentence /v1/embeddings request at CONNECTIONS concurrent clients to
# each in turn (batched, unbatched, batched, ...), ROUNDS times; the report gives the median
# requests/s of each and their ratio (target: >= 2 at 32 clients). Only one process is loaded
# at a time; the other sits idle.
#
# Environment (defaults in brackets): DURATION [15] seconds per run, ROUNDS [3],
# CONNECTIONS [32], THREADS [2] wrk threads, WARMUP [10] seconds per process before measuring,
# BATCH [32], MAX_WAIT [2ms], EMBEDDING_THREADS [] (--embedding-threads of both servers; empty:
# their default), BASE_PORT [18180], JAR [modelway-app/target/modelway.jar], JAVA_OPTS [],
# RESULTS_DIR [bench/results/embeddings-<UTC timestamp>].
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
DURATION=${DURATION:-15}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
WARMUP=${WARMUP:-10}
BATCH=${BATCH:-32}
MAX_WAIT=${MAX_WAIT:-2ms}
EMBEDDING_THREADS=${EMBEDDING_THREADS:-}
BASE_PORT=${BASE_PORT:-18180}
JAR=${JAR:-$ROOT/modelway-app/target/modelway.jar}
JAVA_OPTS=${JAVA_OPTS:-}
RESULTS_DIR=${RESULTS_DIR:-$HERE/results/embeddings-$(date -u +%Y%m%dT%H%M%SZ)}

log() { printf '[embeddings %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 2; }

command -v wrk >/dev/null || {
  log "installing wrk (Debian package)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y wrk >&2 \
    || { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y wrk >&2; }
}
if [[ ! -f $JAR ]]; then
  log "building $JAR"
  (cd "$ROOT" && mvn -B -ntp -q -DskipTests package -pl modelway-app -am) >&2
fi
mkdir -p "$RESULTS_DIR"
TMP=$(mktemp -d)
cp "$JAR" "$TMP/modelway.jar" # rebuilding during the run does not break it
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

export MODELWAY_ADMIN_KEY=${MODELWAY_ADMIN_KEY:-mw-bench-key} # every call needs a key
start() { # name port batch
  local name=$1 port=$2 batch=$3
  local threads=()
  [[ -n $EMBEDDING_THREADS ]] && threads=(--embedding-threads "$EMBEDDING_THREADS")
  # shellcheck disable=SC2086
  java -XX:+UseSerialGC $JAVA_OPTS -jar "$TMP/modelway.jar" up --host 127.0.0.1 --port "$port" \
    --data-dir "$TMP/$name" --embedding-max-batch "$batch" --embedding-max-wait "$MAX_WAIT" \
    "${threads[@]}" >"$RESULTS_DIR/$name.log" 2>&1 &
  PIDS+=($!)
}

ready() { curl -fs -o /dev/null "http://127.0.0.1:$1/actuator/health/readiness"; }

BATCHED=$((BASE_PORT + 1))
UNBATCHED=$((BASE_PORT + 2))
start batched "$BATCHED" "$BATCH"
start unbatched "$UNBATCHED" 1
for port in $BATCHED $UNBATCHED; do
  for _ in $(seq 240); do ready "$port" && break; sleep 0.5; done
  ready "$port" || die "modelway on port $port did not become ready (see $RESULTS_DIR)"
done
log "both ready; warming up ${WARMUP}s each"
for port in $BATCHED $UNBATCHED; do
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" -s "$HERE/embeddings.lua" \
    "http://127.0.0.1:$port" >/dev/null
done

run() { # name port round -> prints rps
  local out="$RESULTS_DIR/$1-$3.txt"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$HERE/embeddings.lua" \
    "http://127.0.0.1:$2" >"$out"
  local bad
  bad=$(sed -n 's/^REQ .*non2xx=\([0-9]*\) errors=\([0-9]*\).*/\1 \2/p' "$out")
  [[ $bad == "0 0" ]] || log "WARNING: $1 round $3 had failures (non2xx errors: $bad)"
  sed -n 's/^REQ .*rps=\([0-9.]*\).*/\1/p' "$out"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

B=() U=()
for round in $(seq "$ROUNDS"); do
  B+=("$(run batched "$BATCHED" "$round")")
  U+=("$(run unbatched "$UNBATCHED" "$round")")
  log "round $round: batched ${B[-1]} req/s, unbatched ${U[-1]} req/s"
done
MB=$(printf '%s\n' "${B[@]}" | median)
MU=$(printf '%s\n' "${U[@]}" | median)
RATIO=$(awk -v b="$MB" -v u="$MU" 'BEGIN { printf "%.2f", b / u }')
{
  echo "embeddings at $CONNECTIONS clients, ${DURATION}s x $ROUNDS rounds (median):"
  echo "  batched (max batch $BATCH, max wait $MAX_WAIT): $MB req/s"
  echo "  unbatched (max batch 1):                     $MU req/s"
  echo "  ratio batched/unbatched: $RATIO (target >= 2)"
} | tee "$RESULTS_DIR/summary.txt"
