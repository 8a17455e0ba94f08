#!/usr/bin/env bash
# Tokens per second of the tiny model through Modelway's API against llama.cpp's binding called
# directly in one JVM, measured in a single interleaved run (target: API >= 0.9 x direct).
#
#   direct      the driver JVM loads the model with the server's slots, context and threads and
#               calls LlamaModel.generate from CLIENTS threads
#   api-stream  CLIENTS clients POST streamed chat completions to `modelway up --model tiny=...`
#   api-whole   the same, not streamed
# Every request asks for TOKENS tokens (the tiny model never ends earlier: checked, each
# completion must have exactly TOKENS tokens, counted from usage on the API). Before measuring,
# the driver checks that the binding and the API give the same text for every client's prompt.
# Only one mode generates at a time: the server is idle during the direct rounds. Rounds are
# interleaved, direct api-stream api-whole direct ..., because this shared machine drifts; the
# report gives medians and the API's share of direct tokens/s from the same run.
#
# Everything listens on 127.0.0.1 only; every process the script starts is stopped on exit.
#
# Environment (defaults in brackets):
#   SLOTS [4]             the server's --slots and the direct model's parallel slots
#   CONTEXT_SIZE [2048]   --context-size: KV cache shared by the slots
#   THREADS []            --threads: llama.cpp compute threads, in both JVMs; empty: the server's
#                         default (half the available processors, at least 1), in both JVMs
#   CLIENTS [$SLOTS]      concurrent clients, each sending its requests one after the other
#   TOKENS [128]          completion tokens per request (max_tokens)
#   REQUESTS [16]         requests per client per round
#   ROUNDS [3]            interleaved rounds
#   WARMUP [30]           seconds of discarded load of each mode before measuring, in whole rounds;
#                         with one round of warm-up the API lost 5-10x more per request than warm
#   MODES ["direct api-stream api-whole"]  modes, in the order each round runs them; add
#                         direct-pump for the experiment of one receiver thread for all calls
#   PAUSE [1]             idle seconds before each run
#   SEED [7]              weights seed of the tiny model
#   PORT [18191]          the server's port on 127.0.0.1
#   JAVA_OPTS []          extra JVM flags for both JVMs (the server's are added to the launcher's
#                         defaults; the driver gets the same defaults)
#   BUILD [1]             0: skip `mvn package` and use the jars in target/ as they are
#   RESULTS_DIR [bench/results/tiny-model-tokens-<UTC timestamp>]
# Exit status: 0; 1 when the driver failed (a check or a request); 2 on a set-up error.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)

SLOTS=${SLOTS:-4}
CONTEXT_SIZE=${CONTEXT_SIZE:-2048}
THREADS=${THREADS:-}
CLIENTS=${CLIENTS:-$SLOTS}
TOKENS=${TOKENS:-128}
REQUESTS=${REQUESTS:-16}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-30}
MODES=${MODES:-"direct api-stream api-whole"}
PAUSE=${PAUSE:-1}
SEED=${SEED:-7}
PORT=${PORT:-18191}
JAVA_OPTS=${JAVA_OPTS:-}
BUILD=${BUILD:-1}
RESULTS_DIR=${RESULTS_DIR:-$HERE/results/tiny-model-tokens-$(date -u +%Y%m%dT%H%M%SZ)}

APP_JAR=$ROOT/modelway-app/target/modelway.jar
BENCH_JAR=$ROOT/modelway-bench/target/modelway-bench.jar
BENCH_LIB=$ROOT/modelway-bench/target/lib

log() { printf '[tiny-model-tokens %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 2; }

for n in SLOTS CONTEXT_SIZE CLIENTS TOKENS REQUESTS ROUNDS WARMUP PAUSE SEED PORT BUILD; do
  [[ ${!n} =~ ^[0-9]+$ ]] || die "$n must be a whole number, not '${!n}'"
done
[[ -z $THREADS || $THREADS =~ ^[1-9][0-9]*$ ]] || die "THREADS must be empty or a whole number > 0, not '$THREADS'"
threads_flag=()
[[ -n $THREADS ]] && threads_flag=(--threads "$THREADS")
((SLOTS > 0 && CLIENTS > 0 && TOKENS > 0 && REQUESTS > 0 && ROUNDS > 0)) \
  || die "SLOTS, CLIENTS, TOKENS, REQUESTS and ROUNDS must be > 0"
for m in $MODES; do
  [[ $m == direct || $m == direct-pump || $m == api-stream || $m == api-whole ]] \
    || die "MODES holds direct, direct-pump, api-stream and/or api-whole, not '$m'"
done
command -v java >/dev/null || die "java is not on PATH"

# ---------------------------------------------------------------------------------------------
# Build

if ((BUILD)); then
  command -v mvn >/dev/null || die "mvn is not on PATH (or run with BUILD=0 and built jars)"
  log "building modelway-app and modelway-bench (mvn -B -ntp -q -DskipTests package -pl modelway-bench,modelway-app -am)"
  (cd "$ROOT" && mvn -B -ntp -q -DskipTests package -pl modelway-bench,modelway-app -am) >&2 \
    || die "the build failed"
fi
[[ -f $APP_JAR ]] || die "$APP_JAR is missing (run with BUILD=1)"
[[ -f $BENCH_JAR && -d $BENCH_LIB ]] || die "$BENCH_JAR or $BENCH_LIB is missing (run with BUILD=1)"

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port_in_use "$PORT" && die "port 127.0.0.1:$PORT is in use (set PORT)"

# ---------------------------------------------------------------------------------------------
# Processes and cleanup

TMP=""
SERVER_PID=""
DRIVER_PID=""

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local pid
  for pid in $DRIVER_PID $SERVER_PID; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in $DRIVER_PID $SERVER_PID; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  [[ -n $TMP && -d $TMP ]] && rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The launcher's default collector (serial on two cores or fewer) unless JAVA_OPTS names one:
# given to the driver too, so that both JVMs run alike.
java_defaults=()
case " $JAVA_OPTS " in
  *" -XX:+Use"*"GC "*) ;;
  *) if [[ $(nproc 2>/dev/null || echo 4) -le 2 ]]; then java_defaults+=(-XX:+UseSerialGC); fi ;;
esac

mkdir -p "$RESULTS_DIR"
TMP=$(mktemp -d /tmp/modelway-tokens.XXXXXX)
# Private copies: a rebuild of target/ during the run must not change what runs.
cp "$APP_JAR" "$TMP/modelway.jar"
mkdir -p "$TMP/bench" "$TMP/driver-native"
cp "$BENCH_JAR" "$TMP/bench/"
cp -r "$BENCH_LIB" "$TMP/bench/lib"
CP="$TMP/bench/modelway-bench.jar:$TMP/bench/lib/*"
MODEL=$TMP/tiny.gguf

driver() { # args...
  # Its own directory for the binding's native library: by default both JVMs extract it to the
  # same /tmp/libjllama.so, and the driver would replace the file the server has loaded.
  # Keep-alive connections live for the whole run: they idle through the direct mode's rounds
  # (30 s and more of warm-up), and HttpClient's pool closing one after 30 s idle while a client
  # takes it failed a run with "header parser received no bytes / connection closed locally".
  # shellcheck disable=SC2086
  java "${java_defaults[@]}" $JAVA_OPTS -Dde.kherud.llama.tmpdir="$TMP/driver-native" \
    -Djdk.httpclient.keepalive.timeout=3600 \
    -cp "$CP" io.modelway.bench.TinyModelTokens "$@"
}

driver write-model --seed "$SEED" "$MODEL" || die "writing the tiny model failed"

# Through the launcher, so the server runs with the flags users get (JAVA_OPTS added to them).
export MODELWAY_ADMIN_KEY=${MODELWAY_ADMIN_KEY:-mw-bench-key} # every call needs a key; the driver sends it
MODELWAY_JAR="$TMP/modelway.jar" MODELWAY_JAVA_OPTS="$JAVA_OPTS" "$ROOT/modelway" up \
  --host 127.0.0.1 --port "$PORT" --data-dir "$TMP/data" \
  --model "tiny=$MODEL" --slots "$SLOTS" --context-size "$CONTEXT_SIZE" "${threads_flag[@]}" \
  >"$RESULTS_DIR/modelway.log" 2>&1 &
SERVER_PID=$!
log "started modelway up (pid $SERVER_PID), log $RESULTS_DIR/modelway.log"

serves_tiny() {
  curl -fsS --max-time 2 -H "Authorization: Bearer $MODELWAY_ADMIN_KEY" "http://127.0.0.1:$PORT/v1/models" 2>/dev/null | grep -q '"id":"tiny"'
}
deadline=$((SECONDS + 180))
until serves_tiny; do
  kill -0 "$SERVER_PID" 2>/dev/null || die "modelway up exited; see $RESULTS_DIR/modelway.log"
  ((SECONDS < deadline)) || die "modelway up does not list model tiny after 180 s; see $RESULTS_DIR/modelway.log"
  sleep 0.25
done
log "modelway up serves model tiny"

# ---------------------------------------------------------------------------------------------
# Measure

log "results in $RESULTS_DIR"
FAILED=0
driver measure --model-file "$MODEL" --api "http://127.0.0.1:$PORT/v1" --model tiny \
  --slots "$SLOTS" --context-size "$CONTEXT_SIZE" "${threads_flag[@]}" --clients "$CLIENTS" --tokens "$TOKENS" \
  --requests "$REQUESTS" --rounds "$ROUNDS" --warmup "PT${WARMUP}S" \
  --modes "$(tr -s ' ' ',' <<<"$MODES" | sed 's/^,//; s/,$//')" --pause "PT${PAUSE}S" \
  --server-pid "$SERVER_PID" --clock-ticks "$(getconf CLK_TCK)" --runs "$RESULTS_DIR/runs.tsv" \
  >"$RESULTS_DIR/tables.md" 2> >(tee "$RESULTS_DIR/driver.log" >&2) &
DRIVER_PID=$!
wait "$DRIVER_PID" || FAILED=1
DRIVER_PID=""
kill -0 "$SERVER_PID" 2>/dev/null || { log "modelway up died during the run"; FAILED=1; }

# ---------------------------------------------------------------------------------------------
# Report

report() {
  echo "# Tiny model tokens/s: Modelway API vs the binding in one JVM"
  echo
  echo "- date (UTC): $(date -u +'%Y-%m-%d %H:%M:%S'); commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD -- 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "- machine: $(nproc) cores; load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- $(java -version 2>&1 | head -n 1); JVM flags of both JVMs: ${java_defaults[*]} $JAVA_OPTS"
  echo "- model: GgufWriter seed $SEED (llama, 2 layers, 32-wide, F32); $SLOTS slots, context $CONTEXT_SIZE; llama.cpp threads: ${THREADS:-the server default}, in both JVMs ($(grep -m1 -o '[0-9]* threads' "$RESULTS_DIR/driver.log" 2>/dev/null || echo '?'))"
  echo "- load: $CLIENTS clients x $REQUESTS requests of $TOKENS tokens per round (greedy chat completions), $ROUNDS interleaved rounds ($MODES), ${WARMUP} s of warm-up per mode; medians over rounds"
  echo "- CPU µs/token: user+system CPU of the driver JVM (direct: the engine; API: the HTTP clients) and of the server process, per completion token"
  echo
  if [[ -s $RESULTS_DIR/tables.md ]]; then
    cat "$RESULTS_DIR/tables.md"
  else
    echo "**FAILURE: the driver produced no report; see $RESULTS_DIR/driver.log.**"
  fi
  local n
  n=$(grep -cE '\b(WARN|ERROR)\b|Exception' "$RESULTS_DIR/modelway.log" || true)
  echo
  echo "modelway.log: $n WARN/ERROR/Exception lines$( ((n > 0)) && echo ', first ones:')"
  if ((n > 0)); then
    echo
    echo '```'
    grep -E '\b(WARN|ERROR)\b|Exception' "$RESULTS_DIR/modelway.log" | head -n 10 | cut -c1-300
    echo '```'
  fi
}

report | tee "$RESULTS_DIR/report.md"
exit "$FAILED"
