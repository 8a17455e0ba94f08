#!/usr/bin/env bash
# Embedding requests per second with dynamic batching vs without, in one interleaved run, and the
# model's own batching gain on the same input, the ceiling for that ratio.
#
# Two `modelway up` processes serve the built-in embedding model all-minilm-l6-v2:
#   batched    --embedding-max-batch $BATCH --embedding-max-wait $MAX_WAIT
#   unbatched  --embedding-max-batch 1      (one model call per input)
# wrk sends the same one-sentence /v1/embeddings request (INPUT) at CONNECTIONS concurrent clients
# to each in turn (batched, unbatched, batched, ...), ROUNDS times; the report gives the median
# requests/s of each and their ratio (target: >= 2 at 32 clients). Only one process is loaded
# at a time; the other sits idle.
#
# Before the servers start, the model alone: io.modelway.runtime.onnx.SentenceEncoderBench
# (modelway-runtime-onnx's test sources) loads the model in one JVM as the servers do (same
# resources, session options, intra-op threads and JAVA_OPTS) and embeds INPUT with one model
# call after another, BATCH copies a call and then one, after WARMUP seconds of each, ROUNDS
# rounds of DURATION seconds each: no batcher, no HTTP. The ratio of its medians is what batching
# gains from the model itself; the report sets the HTTP ratio against it.
#
# Environment (defaults in brackets): DURATION [15] seconds per run, ROUNDS [3],
# CONNECTIONS [32], THREADS [2] wrk threads, WARMUP [10] seconds per process (and per batch size
# of the model alone) before measuring, BATCH [32], MAX_WAIT [2ms], EMBEDDING_THREADS []
# (--embedding-threads of both servers and the model alone's intra-op threads; empty: their
# default, the available processors), INPUT ["An LLM gateway routes each request to a model
# server and accounts for the tokens it used.", 22 tokens; it must need no JSON escaping],
# BASE_PORT [18180], JAR [modelway-app/target/modelway.jar], JAVA_OPTS [], BUILD [1] (0: run the
# model alone from the test classes compiled earlier), OFFLINE [0] (1: Maven offline),
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
INPUT=${INPUT:-"An LLM gateway routes each request to a model server and accounts for the tokens it \
used."}
BASE_PORT=${BASE_PORT:-18180}
JAR=${JAR:-$ROOT/modelway-app/target/modelway.jar}
JAVA_OPTS=${JAVA_OPTS:-}
RESULTS_DIR=${RESULTS_DIR:-$HERE/results/embeddings-$(date -u +%Y%m%dT%H%M%SZ)}

log() { printf '[embeddings %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 2; }

[[ -z $EMBEDDING_THREADS || $EMBEDDING_THREADS =~ ^[1-9][0-9]*$ ]] \
  || die "EMBEDDING_THREADS must be empty or a whole number > 0, not '$EMBEDDING_THREADS'"
[[ $INPUT =~ [\"\\[:cntrl:]] ]] \
  && die "INPUT must need no JSON escaping (no quote, backslash or control character)"
export INPUT # read by embeddings.lua
command -v wrk >/dev/null || {
  log "installing wrk (Debian package)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y wrk >&2 \
    || { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y wrk >&2; }
}
mkdir -p "$RESULTS_DIR"
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"
prepare_jar
TMP=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$TMP"
  rm -f "$RUN_JAR" # 270 MB a run
}
trap cleanup EXIT INT TERM

test_classpath modelway-runtime-onnx
log "the model alone: batch $BATCH and batch 1, ${WARMUP}s warm-up each, then $ROUNDS rounds" \
  "of ${DURATION}s each"
# shellcheck disable=SC2086
java -XX:+UseSerialGC $JAVA_OPTS -cp "$TEST_CP" io.modelway.runtime.onnx.SentenceEncoderBench \
  "$INPUT" "$BATCH" "${EMBEDDING_THREADS:-0}" "$WARMUP" "$DURATION" "$ROUNDS" \
  >"$RESULTS_DIR/model.txt" 2>&1 || die "the model alone failed (see $RESULTS_DIR/model.txt)"
while read -r line; do log "$line"; done < <(grep '^model round' "$RESULTS_DIR/model.txt" || true)
model() { sed -n "s/^MODEL .*\<$1=\([0-9.]*\).*/\1/p" "$RESULTS_DIR/model.txt"; } # FIELD
TOKENS=$(model tokens)
[[ -n $TOKENS ]] || die "the model alone printed no result (see $RESULTS_DIR/model.txt)"

export MODELWAY_ADMIN_KEY=${MODELWAY_ADMIN_KEY:-mw-bench-key} # every call needs a key
start() { # name port batch
  local name=$1 port=$2 batch=$3
  local threads=()
  [[ -n $EMBEDDING_THREADS ]] && threads=(--embedding-threads "$EMBEDDING_THREADS")
  # shellcheck disable=SC2086
  java -XX:+UseSerialGC $JAVA_OPTS -jar "$RUN_JAR" up --host 127.0.0.1 --port "$port" \
    --data-dir "$TMP/$name" --embedding-max-batch "$batch" --embedding-max-wait "$MAX_WAIT" \
    "${threads[@]}" >"$RESULTS_DIR/$name.log" 2>&1 &
  PIDS+=($!)
}

BATCHED=$((BASE_PORT + 1))
UNBATCHED=$((BASE_PORT + 2))
start batched "$BATCHED" "$BATCH"
start unbatched "$UNBATCHED" 1
for port in $BATCHED $UNBATCHED; do
  wait_for "http://127.0.0.1:$port/actuator/health/readiness" "" 120 \
    || die "modelway on port $port did not become ready (see $RESULTS_DIR)"
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
MODEL_RATIO=$(model ratio)
SHARE=$(awk -v h="$RATIO" -v m="$MODEL_RATIO" 'BEGIN { printf "%.2f", h / m }')
{
  echo "embeddings at $CONNECTIONS clients, ${DURATION}s x $ROUNDS rounds (median):"
  echo "  batched (max batch $BATCH, max wait $MAX_WAIT): $MB req/s"
  echo "  unbatched (max batch 1):                     $MU req/s"
  echo "  ratio batched/unbatched: $RATIO (target >= 2)"
  echo "  input: $TOKENS tokens, \"$INPUT\""
  echo "the model alone in one JVM ($(model threads) intra-op threads, same input," \
    "${DURATION}s x $ROUNDS rounds, median):"
  echo "  batch $BATCH: $(model batched) sentences/s"
  echo "  batch 1: $(model single) sentences/s"
  echo "  the model's own batching gain: $MODEL_RATIO (the ceiling for the HTTP ratio)"
  echo "  HTTP ratio / model ratio: $SHARE (how much of the model's own gain the gateway delivers)"
} | tee "$RESULTS_DIR/summary.txt"
