#!/usr/bin/env bash
# Load-balancing policies compared on a fleet of simulated engines, in one run.
#
# For each workload and each policy: SIMS fresh `modelway sim` processes with engine physics (KV
# prefix cache, running limit, one prefill lane, decode slowdown), a fresh `modelway up` whose
# config pools them under model "chat" with that policy, and the workload generator
# (modelway-gateway/src/test/java/io/modelway/gateway/routing/RoutingBench.java, JDK only,
# compiled here with javac) sending Poisson-arriving chat sessions through the gateway. Fresh
# processes per run, so no policy inherits another's caches.
#
# Workloads:
#   multi-turn        sessions of TURNS streamed turns; each session's system prompt is one of
#                     SYSTEM_PROMPTS shared ones (with probability PREFIX_SHARE), its first user
#                     message carries a document of its own, then short questions; each turn
#                     resends the conversation so far
#   no-shared-prefix  single calls, each with a system prompt and document of its own
#
# Environment (defaults in brackets):
#   POLICIES ["round-robin weighted least-outstanding p2c-ewma consistent-hash prefix-aware"]
#   POLICIES_NO_SHARED ["least-outstanding prefix-aware"]  policies run on no-shared-prefix
#   WORKLOADS ["multi-turn no-shared-prefix"]
#   DURATION [70]         seconds of arrivals per run, the first WARMUP of them not measured
#   WARMUP [10]
#   SESSION_RATE [3]      multi-turn sessions per second (Poisson)
#   CALL_RATE [12]        no-shared-prefix calls per second (Poisson); about the multi-turn rate
#   TURNS [4]  THINK [1]  turns per session, mean think time in seconds between them
#   SYSTEM_PROMPTS [4]  PREFIX_SHARE [1]
#   SYSTEM_WORDS [160]  DOCUMENT_WORDS [200]  QUESTION_WORDS [12]  (a word is ~7 characters,
#                         ~1.75 of the sims' tokens)
#   MAX_TOKENS [32]       answer length
#   SIMS [8]  BASE_PORT [19000]   gateway on BASE_PORT, sims on BASE_PORT+1..SIMS
#   SIM_FLAGS ["--max-running 4 --prefill-tokens-per-second 2000 --kv-cache-blocks 512
#              --tokens-per-second 50 --decode-slowdown 0.1 --output-tokens 32"]
#   SEED [1]
#   JAR [modelway-app/target/modelway.jar]   built with `mvn package` when missing
#   RESULTS_DIR [bench/results/routing-<UTC time>]
# Exit status: 0, or 1 when a run had errors.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)

POLICIES=${POLICIES:-"round-robin weighted least-outstanding p2c-ewma consistent-hash prefix-aware"}
POLICIES_NO_SHARED=${POLICIES_NO_SHARED:-"least-outstanding prefix-aware"}
WORKLOADS=${WORKLOADS:-"multi-turn no-shared-prefix"}
DURATION=${DURATION:-70}
WARMUP=${WARMUP:-10}
SESSION_RATE=${SESSION_RATE:-3}
CALL_RATE=${CALL_RATE:-12}
TURNS=${TURNS:-4}
THINK=${THINK:-1}
SYSTEM_PROMPTS=${SYSTEM_PROMPTS:-4}
PREFIX_SHARE=${PREFIX_SHARE:-1}
SYSTEM_WORDS=${SYSTEM_WORDS:-160}
DOCUMENT_WORDS=${DOCUMENT_WORDS:-200}
QUESTION_WORDS=${QUESTION_WORDS:-12}
MAX_TOKENS=${MAX_TOKENS:-32}
SIMS=${SIMS:-8}
BASE_PORT=${BASE_PORT:-19000}
SIM_FLAGS=${SIM_FLAGS:-"--max-running 4 --prefill-tokens-per-second 2000 --kv-cache-blocks 512 --tokens-per-second 50 --decode-slowdown 0.1 --output-tokens 32"}
SEED=${SEED:-1}
JAR=${JAR:-$ROOT/modelway-app/target/modelway.jar}
RESULTS_DIR=${RESULTS_DIR:-$HERE/results/routing-$(date -u +%Y%m%dT%H%M%SZ)}

log() { printf '[routing-policies %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 2; }

for n in DURATION WARMUP TURNS SYSTEM_PROMPTS SYSTEM_WORDS DOCUMENT_WORDS QUESTION_WORDS MAX_TOKENS SIMS BASE_PORT SEED; do
  [[ ${!n} =~ ^[0-9]+$ ]] || die "$n must be a whole number, not '${!n}'"
done
((WARMUP < DURATION)) || die "WARMUP ($WARMUP) must be less than DURATION ($DURATION)"
((SIMS >= 2)) || die "SIMS must be at least 2"

mkdir -p "$RESULTS_DIR"
RESULTS=$RESULTS_DIR/results.jsonl
: >"$RESULTS"

# ---------------------------------------------------------------------------------------------
# Binary and workload generator

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
prepare_jar

BENCH_SRC=$ROOT/modelway-gateway/src/test/java/io/modelway/gateway/routing/RoutingBench.java
compile_bench "$BENCH_SRC"
bench() { java -XX:+UseSerialGC -cp "$RESULTS_DIR/classes" io.modelway.gateway.routing.RoutingBench "$@"; }

# ---------------------------------------------------------------------------------------------
# Processes

PIDS=()
stop_all() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
}
trap stop_all EXIT

GATEWAY_PORT=$BASE_PORT
ADMIN_KEY=mw-bench-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')

start_fleet() { # RUN_NAME POLICY
  local run=$1 policy=$2 i port dir=$RESULTS_DIR/$1
  mkdir -p "$dir"
  local sims_urls=()
  for i in $(seq 1 "$SIMS"); do
    port=$((BASE_PORT + i))
    # shellcheck disable=SC2086
    java -XX:+UseSerialGC -Xmx128m -XX:TieredStopAtLevel=1 -jar "$RUN_JAR" sim \
      --host 127.0.0.1 --port "$port" --seed "$i" $SIM_FLAGS >"$dir/sim-$i.log" 2>&1 &
    PIDS+=($!)
    sims_urls+=("http://127.0.0.1:$port")
  done
  {
    echo "backends:"
    for i in $(seq 1 "$SIMS"); do
      echo "  s$i: {url: 'http://127.0.0.1:$((BASE_PORT + i))/v1', health-check: {path: /health}}"
    done
    echo "models:"
    echo "  - name: chat"
    printf '    backends: ['
    for i in $(seq 1 "$SIMS"); do
      printf '%s{backend: s%d}' "$( ((i > 1)) && echo ', ')" "$i"
    done
    echo ']'
    # The gateway's guess of each engine's cache: --kv-cache-blocks 512 of 16 tokens.
    echo "    routing: {policy: $policy, prefix-cache-tokens: $(kv_tokens)}"
  } >"$dir/modelway.yaml"
  for url in "${sims_urls[@]}"; do
    wait_for "$url/health" || die "sim $url did not start (see $dir)"
  done
  MODELWAY_ADMIN_KEY=$ADMIN_KEY java -XX:+UseSerialGC -jar "$RUN_JAR" up --host 127.0.0.1 \
    --port "$GATEWAY_PORT" --config "$dir/modelway.yaml" --data-dir "$dir/data" \
    --no-embedding-model >"$dir/gateway.log" 2>&1 &
  PIDS+=($!)
  wait_for "http://127.0.0.1:$GATEWAY_PORT/v1/models" "$ADMIN_KEY" \
    || die "the gateway did not start (see $dir/gateway.log)"
  SIM_URLS=$(IFS=,; echo "${sims_urls[*]}")
}

kv_tokens() {
  local blocks
  blocks=$(sed -n 's/.*--kv-cache-blocks \([0-9]*\).*/\1/p' <<<"$SIM_FLAGS")
  echo $(( ${blocks:-4096} * 16 ))
}

run_one() { # WORKLOAD POLICY
  local workload=$1 policy=$2 run="$1-$2"
  log "$workload / $policy: starting $SIMS sims and the gateway"
  start_fleet "$run" "$policy"
  local args=(--url "http://127.0.0.1:$GATEWAY_PORT" --key "$ADMIN_KEY" --model chat
    --duration "$DURATION" --warmup "$WARMUP" --max-tokens "$MAX_TOKENS" --seed "$SEED"
    --sims "$SIM_URLS" --label "$workload/$policy" --out "$RESULTS")
  case $workload in
    multi-turn)
      args+=(--session-rate "$SESSION_RATE" --turns "$TURNS" --think "$THINK"
        --system-prompts "$SYSTEM_PROMPTS" --prefix-share "$PREFIX_SHARE"
        --system-words "$SYSTEM_WORDS" --document-words "$DOCUMENT_WORDS"
        --question-words "$QUESTION_WORDS") ;;
    no-shared-prefix)
      args+=(--session-rate "$CALL_RATE" --turns 1 --prefix-share 0
        --system-words "$SYSTEM_WORDS" --document-words "$DOCUMENT_WORDS") ;;
    *) die "unknown workload '$workload'" ;;
  esac
  log "$workload / $policy: ${DURATION}s of load"
  bench "${args[@]}" 2>"$RESULTS_DIR/$run/bench.err" | tee "$RESULTS_DIR/$run/result.json" >&2
  stop_all
}

log "results in $RESULTS_DIR"
for workload in $WORKLOADS; do
  policies=$POLICIES
  [[ $workload == no-shared-prefix ]] && policies=$POLICIES_NO_SHARED
  for policy in $policies; do
    run_one "$workload" "$policy"
  done
done

{
  echo "# Routing policies"
  echo
  echo "commit $(cd "$ROOT" && git rev-parse --short HEAD) · $(nproc) cores · $(java -version 2>&1 | head -1)"
  echo
  echo "sims: $SIMS × \`modelway sim $SIM_FLAGS\`; multi-turn: $SESSION_RATE sessions/s × $TURNS turns" \
    "(think ${THINK}s), $SYSTEM_PROMPTS shared system prompts (share $PREFIX_SHARE)," \
    "system $SYSTEM_WORDS words, document $DOCUMENT_WORDS, questions $QUESTION_WORDS;" \
    "no-shared-prefix: $CALL_RATE calls/s; ${DURATION}s per run, first ${WARMUP}s not measured"
  bench report "$RESULTS"
} | tee "$RESULTS_DIR/report.md"

if grep -q '"errors":[1-9]' "$RESULTS"; then
  log "some runs had errors: see bench.err in their directories"
  exit 1
fi
