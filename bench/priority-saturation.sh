#!/usr/bin/env bash
# The scheduler's priority classes at 2× saturation, in one run (issue 5, part 8's target: the
# critical class's p99 time to first token stays within 1.5× its unloaded value).
#
# SIMS `modelway sim` processes with engine physics, each a backend of model "chat" with
# max-concurrent equal to its --max-running, so calls past the fleet's capacity wait in the
# gateway's queue; one `modelway up`; two tenants made through the admin API, one on a plan of
# priority critical, one on a plan of priority standard. The load generator
# (modelway-gateway/src/test/java/io/modelway/gateway/scheduling/SaturationBench.java, JDK only,
# compiled here with javac) sends streamed calls, each with a prompt of its own and
# `Cache-Control: no-cache, no-store`, so neither the sims' prefix caches nor the gateway's
# response cache answer any. Phases, on the same processes:
#
#   capacity   the standard tenant keeps 2 × (fleet slots) calls going (closed loop): what the
#              fleet serves per second when kept busy; also warms the gateway up
#   unloaded   the critical tenant alone, Poisson arrivals at CRITICAL_RATE per second
#   saturated  the standard tenant at LOAD × capacity per second (Poisson, open loop) and, in a
#              process of its own, the critical tenant at CRITICAL_RATE as in "unloaded"
#
# Environment (defaults in brackets):
#   SIMS [4]  BASE_PORT [19300]   gateway on BASE_PORT, sims on BASE_PORT+1..SIMS
#   SIM_FLAGS ["--max-running 8 --ttft 100ms --prefill-tokens-per-second 2000
#              --tokens-per-second 50 --decode-slowdown 0.1 --output-tokens 64
#              --kv-cache-blocks 512"]   (max-concurrent of each backend: its --max-running)
#   MAX_QUEUE [64]  MAX_WAIT [10s]   the model's scheduling.max-queue and max-wait
#   CRITICAL_RESERVE [0]   the model's scheduling.critical-reserve (slots per sim kept for
#                       critical calls)
#   CRITICAL_RATE [4]   critical calls per second, in both phases
#   LOAD [2]            the standard tenant's rate, as a multiple of the measured capacity
#   CAPACITY_DURATION [20]  DURATION [40]  WARMUP [10]   seconds; the saturated phase runs
#                       WARMUP + DURATION and measures calls starting after WARMUP (the queue
#                       fills); capacity and unloaded drop their first 5 s
#   PROMPT_WORDS [40]   each call's prompt (~1.75 sim tokens a word)
#   MAX_TOKENS [32]  VARY_TOKENS [1]   each call's max_tokens: drawn uniformly from MAX_TOKENS/2
#                       to 3×MAX_TOKENS/2 (1), or MAX_TOKENS exactly (0); the sims' --output-tokens
#                       must be at least the largest
#   SEED [1]
#   JAR [modelway-app/target/modelway.jar]   built with `mvn package` when missing
#   RESULTS_DIR [bench/results/priority-saturation-<UTC time>]
# Output: report.md (printed) and results.jsonl (one JSON line per phase and class) in
# RESULTS_DIR, with the logs. Exit status: 0; 1 when the target was not met; 2 on a failure.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)

SIMS=${SIMS:-4}
BASE_PORT=${BASE_PORT:-19300}
SIM_FLAGS=${SIM_FLAGS:-"--max-running 8 --ttft 100ms --prefill-tokens-per-second 2000 --tokens-per-second 50 --decode-slowdown 0.1 --output-tokens 64 --kv-cache-blocks 512"}
MAX_QUEUE=${MAX_QUEUE:-64}
CRITICAL_RESERVE=${CRITICAL_RESERVE:-0}
MAX_WAIT=${MAX_WAIT:-10s}
CRITICAL_RATE=${CRITICAL_RATE:-4}
LOAD=${LOAD:-2}
CAPACITY_DURATION=${CAPACITY_DURATION:-20}
DURATION=${DURATION:-40}
WARMUP=${WARMUP:-10}
PROMPT_WORDS=${PROMPT_WORDS:-40}
MAX_TOKENS=${MAX_TOKENS:-32}
VARY_TOKENS=${VARY_TOKENS:-1}
SEED=${SEED:-1}
JAR=${JAR:-$ROOT/modelway-app/target/modelway.jar}
RESULTS_DIR=${RESULTS_DIR:-$HERE/results/priority-saturation-$(date -u +%Y%m%dT%H%M%SZ)}

log() { printf '[priority-saturation %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 2; }

[[ $VARY_TOKENS == 0 || $VARY_TOKENS == 1 ]] || die "VARY_TOKENS must be 0 or 1"
for n in SIMS BASE_PORT MAX_QUEUE CRITICAL_RESERVE CAPACITY_DURATION DURATION WARMUP PROMPT_WORDS MAX_TOKENS SEED; do
  [[ ${!n} =~ ^[0-9]+$ ]] || die "$n must be a whole number, not '${!n}'"
done
for n in CRITICAL_RATE LOAD; do
  [[ ${!n} =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "$n must be a positive number, not '${!n}'"
done
((SIMS >= 1)) || die "SIMS must be at least 1"
((CAPACITY_DURATION > 5 && DURATION > 5)) || die "CAPACITY_DURATION and DURATION must be > 5"
MAX_RUNNING=$(sed -n 's/.*--max-running[ =]\([0-9]*\).*/\1/p' <<<"$SIM_FLAGS")
[[ -n $MAX_RUNNING && $MAX_RUNNING -gt 0 ]] \
  || die "SIM_FLAGS must set --max-running N > 0 (each backend's max-concurrent)"
SLOTS=$((SIMS * MAX_RUNNING))

mkdir -p "$RESULTS_DIR"
RESULTS=$RESULTS_DIR/results.jsonl
: >"$RESULTS"

# ---------------------------------------------------------------------------------------------
# Binary and load generator

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
prepare_jar

BENCH_SRC=$ROOT/modelway-gateway/src/test/java/io/modelway/gateway/scheduling/SaturationBench.java
compile_bench "$BENCH_SRC"
bench() {
  java -XX:+UseSerialGC -Xss512k -cp "$RESULTS_DIR/classes" \
    io.modelway.gateway.scheduling.SaturationBench "$@"
}

# ---------------------------------------------------------------------------------------------
# Processes

PIDS=()
stop_all() { # the newest first, each gone before the next: the gateway before the sims
  local pid i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    pid=${PIDS[i]}
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
}
trap stop_all EXIT

GATEWAY=http://127.0.0.1:$BASE_PORT
ADMIN_KEY=mw-bench-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')

admin() { # METHOD PATH JSON → the answer's body; fails on a status ≥ 400
  curl -fsS -X "$1" -H "Authorization: Bearer $ADMIN_KEY" -H 'Content-Type: application/json' \
    --data "$3" "$GATEWAY$2" || die "admin API: $1 $2 $3 failed"
}

log "results in $RESULTS_DIR"
log "starting $SIMS sims ($SIM_FLAGS) and the gateway"
for i in $(seq 1 "$SIMS"); do
  # shellcheck disable=SC2086
  java -XX:+UseSerialGC -Xmx128m -XX:TieredStopAtLevel=1 -jar "$RUN_JAR" sim \
    --host 127.0.0.1 --port "$((BASE_PORT + i))" --seed "$i" $SIM_FLAGS \
    >"$RESULTS_DIR/sim-$i.log" 2>&1 &
  PIDS+=($!)
done
{
  echo "backends:"
  for i in $(seq 1 "$SIMS"); do
    echo "  s$i: {url: 'http://127.0.0.1:$((BASE_PORT + i))/v1', max-concurrent: $MAX_RUNNING," \
      "health-check: {path: /health}}"
  done
  echo "models:"
  echo "  - name: chat"
  printf '    backends: ['
  for i in $(seq 1 "$SIMS"); do
    printf '%s{backend: s%d}' "$( ((i > 1)) && echo ', ')" "$i"
  done
  echo ']'
  echo "    routing: {policy: least-outstanding}"
  echo "    scheduling: {max-queue: $MAX_QUEUE, max-wait: $MAX_WAIT, critical-reserve: $CRITICAL_RESERVE}"
} >"$RESULTS_DIR/modelway.yaml"
for i in $(seq 1 "$SIMS"); do
  wait_for "http://127.0.0.1:$((BASE_PORT + i))/health" || die "sim $i did not start"
done
MODELWAY_ADMIN_KEY=$ADMIN_KEY java -XX:+UseSerialGC -jar "$RUN_JAR" up --host 127.0.0.1 \
  --port "$BASE_PORT" --config "$RESULTS_DIR/modelway.yaml" --data-dir "$RESULTS_DIR/data" \
  --no-embedding-model >"$RESULTS_DIR/gateway.log" 2>&1 &
PIDS+=($!)
wait_for "$GATEWAY/v1/models" "$ADMIN_KEY" || die "the gateway did not start (see gateway.log)"

admin POST /admin/v1/plans '{"id":"bench-critical","priority":"critical"}' >/dev/null
admin POST /admin/v1/plans '{"id":"bench-standard","priority":"standard"}' >/dev/null
admin POST /admin/v1/tenants '{"id":"interactive","plan":"bench-critical"}' >/dev/null
admin POST /admin/v1/tenants '{"id":"batch","plan":"bench-standard"}' >/dev/null
key_of() { admin POST /admin/v1/keys "{\"tenant\":\"$1\"}" | sed -n 's/.*"key":"\([^"]*\)".*/\1/p'; }
CRITICAL_KEY=$(key_of interactive)
STANDARD_KEY=$(key_of batch)
[[ -n $CRITICAL_KEY && -n $STANDARD_KEY ]] || die "could not make the tenants' keys"

common=(--url "$GATEWAY" --model chat --prompt-words "$PROMPT_WORDS" --max-tokens "$MAX_TOKENS"
  --vary-tokens "$( ((VARY_TOKENS)) && echo true || echo false)")

log "capacity: $((2 * SLOTS)) closed-loop clients for ${CAPACITY_DURATION}s ($SLOTS slots)"
bench closed "${common[@]}" --key "$STANDARD_KEY" --clients $((2 * SLOTS)) \
  --duration "$CAPACITY_DURATION" --warmup 5 --seed "$SEED" --label capacity/standard \
  --out "$RESULTS" 2>"$RESULTS_DIR/capacity.err" >&2
CAPACITY=$(sed -n 's/.*"label":"capacity\/standard".*"throughput_rps":\([0-9.]*\).*/\1/p' "$RESULTS")
[[ -n $CAPACITY ]] || die "no capacity measured (see capacity.err)"
STANDARD_RATE=$(awk -v c="$CAPACITY" -v l="$LOAD" 'BEGIN { printf "%.2f", c * l }')
log "capacity: $CAPACITY calls/s; the standard tenant will offer $STANDARD_RATE calls/s"

log "unloaded: critical at $CRITICAL_RATE/s for ${DURATION}s"
bench open "${common[@]}" --key "$CRITICAL_KEY" --rate "$CRITICAL_RATE" --duration "$DURATION" \
  --warmup 5 --seed $((SEED + 1)) --label unloaded/critical --out "$RESULTS" \
  2>"$RESULTS_DIR/unloaded.err" >&2

scheduler_metrics() { # FILE: the gateway's scheduler metrics now
  curl -fsS -H "Authorization: Bearer $ADMIN_KEY" "$GATEWAY/actuator/prometheus" \
    | grep '^modelway_scheduler' >"$1" || true
}
metric() { # FILE NAME: the value of the critical class's NAME in FILE, 0 when absent
  awk -v n="$2" '$1 ~ "^"n"\\{" && $1 ~ /priority="critical"/ { v = $2 } END { print v + 0 }' "$1"
}
scheduler_metrics "$RESULTS_DIR/scheduler-before.txt"

log "saturated: standard at $STANDARD_RATE/s and critical at $CRITICAL_RATE/s for" \
  "$((WARMUP + DURATION))s (the first ${WARMUP}s not measured)"
bench open "${common[@]}" --key "$STANDARD_KEY" --rate "$STANDARD_RATE" \
  --duration $((WARMUP + DURATION)) --warmup "$WARMUP" --seed $((SEED + 2)) \
  --label saturated/standard --out "$RESULTS" 2>"$RESULTS_DIR/saturated-standard.err" >&2 &
flood=$!
bench open "${common[@]}" --key "$CRITICAL_KEY" --rate "$CRITICAL_RATE" \
  --duration $((WARMUP + DURATION)) --warmup "$WARMUP" --seed $((SEED + 1)) \
  --label saturated/critical --out "$RESULTS" 2>"$RESULTS_DIR/saturated-critical.err" >&2
wait "$flood" || die "the standard tenant's generator failed"

scheduler_metrics "$RESULTS_DIR/scheduler-after.txt"
stop_all
# The critical class's time in the gateway's queue during the saturated phase (warm-up included):
# the mean from the timer's count and sum, the max over the timer's last two minutes.
CRITICAL_WAITS=$(awk -v c0="$(metric "$RESULTS_DIR/scheduler-before.txt" modelway_scheduler_wait_seconds_count)" \
  -v s0="$(metric "$RESULTS_DIR/scheduler-before.txt" modelway_scheduler_wait_seconds_sum)" \
  -v c1="$(metric "$RESULTS_DIR/scheduler-after.txt" modelway_scheduler_wait_seconds_count)" \
  -v s1="$(metric "$RESULTS_DIR/scheduler-after.txt" modelway_scheduler_wait_seconds_sum)" \
  -v mx="$(metric "$RESULTS_DIR/scheduler-after.txt" modelway_scheduler_wait_seconds_max)" \
  'BEGIN { n = c1 - c0; printf "%d calls, mean %.0f ms, max %.0f ms", n, (n > 0 ? (s1 - s0) / n * 1000 : 0), mx * 1000 }')

TOKENS_TEXT=$MAX_TOKENS
((VARY_TOKENS)) && TOKENS_TEXT="$((MAX_TOKENS / 2))–$((MAX_TOKENS / 2 + MAX_TOKENS)) (uniform)"
{
  echo "# Priority classes at ${LOAD}× saturation"
  echo
  echo "commit $(cd "$ROOT" && git rev-parse --short HEAD) · $(nproc) cores ·" \
    "$(java -version 2>&1 | head -1)"
  echo
  echo "sims: $SIMS × \`modelway sim $SIM_FLAGS\`, each max-concurrent $MAX_RUNNING ($SLOTS slots);" \
    "scheduling max-queue $MAX_QUEUE, max-wait $MAX_WAIT, critical-reserve $CRITICAL_RESERVE; prompts of $PROMPT_WORDS words," \
    "max_tokens $TOKENS_TEXT; capacity $CAPACITY calls/s (closed loop, ${CAPACITY_DURATION}s);" \
    "critical $CRITICAL_RATE calls/s; standard $STANDARD_RATE calls/s (${LOAD}× capacity);" \
    "${DURATION}s measured per phase"
  bench report "$RESULTS"
  echo "- critical calls' wait in the gateway's queue, saturated phase (modelway_scheduler_wait_seconds):" \
    "$CRITICAL_WAITS"
} | tee "$RESULTS_DIR/report.md"

grep -q '\*\*met\*\*' "$RESULTS_DIR/report.md" || exit 1
