#!/usr/bin/env bash
# Cost of one gateway hop, measured in a single interleaved run.
#
# The same POST load (wrk + chat.lua, a non-streaming chat completion) goes to:
#   a  nginx returning a canned chat.completion          (the upstream, no hop)
#   b  an nginx reverse proxy (keepalive upstream) -> a   (the practical floor of a hop)
#   c  Modelway (`modelway up`) -> a                     (the hop being measured)
#   d  `modelway sim` alone                              (what the simulator can carry)
#   e  Modelway -> a, the calls of a member key held to every governance stage: its tenant's plan
#      and its own (requests and tokens per minute, calls at once, a per-model limit, monthly
#      tokens and budget reserved and settled), a price on the model, the ledger costing each
#      row; counters in the process, store in H2 (the embedded default)
#   f  as e, with the counters in Redis (127.0.0.1:6379) and the store in PostgreSQL
#      (127.0.0.1:5432, a database made for the run and dropped after)
# c against e and f is the cost of limits, quotas and prices on a gateway that authenticates and
# meters every call anyway (c's admin key has no plan, so its Admit stage has nothing to do).
# Runs are interleaved, a b c d a b c d ..., ROUNDS times per connection count, because this
# shared machine drifts between runs; the report gives the median of the rounds.
#
# Everything listens on 127.0.0.1 only; nginx runs from a temp prefix with its own config and
# pid files. Every process the script starts is stopped on exit.
#
# Environment (defaults in brackets):
#   DURATION [20]        seconds per measured run
#   ROUNDS [3]           interleaved rounds per connection count
#   CONNECTIONS ["32 128"]
#   THREADS [2]          wrk threads
#   WARMUP [30]          seconds of discarded load on each JVM before measuring (nginx: 2 s);
#                        10 s left the gateway still JIT-compiling in the first smoke runs
#   PAUSE [1]            seconds of idle between runs
#   TARGETS ["a b c d"]  which targets to run, in this order (e and f on request: "c e f")
#   BASE_PORT [18080]    ports BASE_PORT+1..+6 are used for a, b, c, d, e, f
#   NGINX_WORKERS [auto] worker_processes of each nginx instance
#   JAVA_OPTS []         extra JVM flags for the gateway and the sim
#   JAR [modelway-app/target/modelway.jar]
#   WRK_TIMEOUT [10s]    wrk's per-request timeout
#   STRICT_STATUS [0]    1: count every non-2xx exactly in chat.lua (costs wrk CPU); else
#                        wrk's own status errors (>= 400) are counted
#   RESULTS_DIR [bench/results/<UTC timestamp>]
# Exit status: 0, or 1 when any measured run saw non-2xx responses or socket errors.
set -euo pipefail
# Every call to Modelway needs a key; nginx ignores the header chat.lua sends with it.
export MODELWAY_ADMIN_KEY=${MODELWAY_ADMIN_KEY:-mw-bench-key}

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)

DURATION=${DURATION:-20}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-"32 128"}
THREADS=${THREADS:-2}
WARMUP=${WARMUP:-30}
PAUSE=${PAUSE:-1}
TARGETS=${TARGETS:-"a b c d"}
BASE_PORT=${BASE_PORT:-18080}
NGINX_WORKERS=${NGINX_WORKERS:-auto}
JAVA_OPTS=${JAVA_OPTS:-}
JAR=${JAR:-$ROOT/modelway-app/target/modelway.jar}
WRK_TIMEOUT=${WRK_TIMEOUT:-10s}
export STRICT_STATUS=${STRICT_STATUS:-0}
RESULTS_DIR=${RESULTS_DIR:-$HERE/results/$(date -u +%Y%m%dT%H%M%SZ)}

UP_PORT=$((BASE_PORT + 1))
PROXY_PORT=$((BASE_PORT + 2))
MW_PORT=$((BASE_PORT + 3))
SIM_PORT=$((BASE_PORT + 4))
GOV_PORT=$((BASE_PORT + 5))
SHARED_PORT=$((BASE_PORT + 6))
BENCH_DB=modelway_bench_$$
LUA=$HERE/chat.lua
CANNED=$HERE/canned-chat-completion.json
# The same request chat.lua sends, for the pre-flight check with curl.
BODY='{"model":"canned/gpt-4o-mini","messages":[{"role":"system","content":"You are a concise assistant. Answer in one sentence."},{"role":"user","content":"What does an LLM gateway add between a client and a model server?"}],"max_tokens":64,"temperature":0}'

log() { printf '[gateway-hop %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 2; }

for n in DURATION ROUNDS THREADS WARMUP PAUSE BASE_PORT; do
  [[ ${!n} =~ ^[0-9]+$ ]] || die "$n must be a whole number, not '${!n}'"
done
for c in $CONNECTIONS; do
  [[ $c =~ ^[0-9]+$ ]] || die "CONNECTIONS must be whole numbers, not '$c'"
  ((c >= THREADS)) || die "each connection count must be >= THREADS ($THREADS), not $c"
done
for t in $TARGETS; do
  [[ $t =~ ^[abcdef]$ ]] || die "TARGETS holds a, b, c, d, e and/or f, not '$t'"
done
((DURATION > 0 && ROUNDS > 0)) || die "DURATION and ROUNDS must be > 0"

# ---------------------------------------------------------------------------------------------
# Tools and jar

ensure_tools() {
  if command -v nginx >/dev/null && command -v wrk >/dev/null; then
    return
  fi
  log "installing nginx and wrk (Debian packages)"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y nginx wrk >&2; then
    apt-get update >&2
    apt-get install -y nginx wrk >&2
  fi
  command -v nginx >/dev/null && command -v wrk >/dev/null || die "nginx/wrk still missing"
}

ensure_jar() {
  command -v java >/dev/null || die "java is not on PATH"
  if [[ ! -f $JAR ]]; then
    log "building $JAR (mvn -B -q install -DskipTests)"
    (cd "$ROOT" && mvn -B -q install -DskipTests) >&2
    [[ -f $JAR ]] || die "build finished but $JAR is missing"
  fi
  local newer
  newer=$(find "$ROOT" -path "$ROOT/bench" -prune -o -path '*/src/main/*' -type f -newer "$JAR" -print \
    2>/dev/null | head -n 3 || true)
  if [[ -n $newer ]]; then
    log "WARNING: $JAR is older than some sources (e.g. ${newer%%$'\n'*}); rebuild for current code:"
    log "         (cd $ROOT && mvn -B -q install -DskipTests)"
    STALE_JAR=1
  fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---------------------------------------------------------------------------------------------
# Processes and cleanup

TMP=""
DB_MADE=0
WRK_PID=""
JAVA_PIDS=()
NGINX_DIRS=()

running() { # pid -> 0 while it runs (a zombie, such as an exited nginx master that init has not reaped yet, does not)
  local state
  state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z ]]
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local d pid
  if [[ -n $WRK_PID ]]; then
    kill -TERM "$WRK_PID" 2>/dev/null || true
    wait "$WRK_PID" 2>/dev/null || true
  fi
  for d in "${NGINX_DIRS[@]}"; do
    if [[ -s $d/nginx.pid ]]; then
      pid=$(cat "$d/nginx.pid")
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 50); do running "$pid" || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  for pid in "${JAVA_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${JAVA_PIDS[@]}"; do
    for _ in $(seq 100); do running "$pid" || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  [[ -n $TMP && -d $TMP ]] && rm -rf "$TMP"
  if ((DB_MADE)); then
    psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" >&2 || true
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_nginx() { # name conf-text
  local dir=$TMP/nginx-$1
  mkdir -p "$dir/logs" "$dir/temp"
  printf '%s\n' "$2" >"$dir/nginx.conf"
  NGINX_DIRS+=("$dir")
  nginx -t -q -p "$dir/" -c "$dir/nginx.conf" -e "$dir/logs/error.log" >&2 \
    || die "nginx config $dir/nginx.conf is invalid"
  nginx -p "$dir/" -c "$dir/nginx.conf" -e "$dir/logs/error.log" >&2 || die "nginx $1 did not start"
  for _ in $(seq 50); do [[ -s $dir/nginx.pid ]] && return; sleep 0.1; done
  die "nginx $1 wrote no pid file"
}

nginx_common() { # name
  cat <<EOF
worker_processes $NGINX_WORKERS;
pid $TMP/nginx-$1/nginx.pid;
error_log $TMP/nginx-$1/logs/error.log warn;
events { worker_connections 4096; }
EOF
}

nginx_http_common() { # name
  cat <<EOF
  access_log off;
  keepalive_timeout 75s;
  keepalive_requests 1000000;
  client_body_temp_path $TMP/nginx-$1/temp/client;
  proxy_temp_path $TMP/nginx-$1/temp/proxy;
  fastcgi_temp_path $TMP/nginx-$1/temp/fastcgi;
  uwsgi_temp_path $TMP/nginx-$1/temp/uwsgi;
  scgi_temp_path $TMP/nginx-$1/temp/scgi;
EOF
}

start_upstream_nginx() {
  local json
  # One line, indentation dropped; nginx's `return` text is quoted with ' and expands $vars.
  json=$(sed -e 's/^[[:space:]]*//' "$CANNED" | tr -d '\n')
  [[ $json == *[\'\$\\]* ]] && die "$CANNED must not contain ' \$ or \\ (it is inlined in nginx.conf)"
  start_nginx up "$(nginx_common up)
http {
$(nginx_http_common up)
  server {
    listen 127.0.0.1:$UP_PORT;
    location = /v1/chat/completions {
      default_type application/json;
      if (\$request_method != POST) { return 405; }
      return 200 '$json';
    }
    location / { return 404; }
  }
}"
}

start_proxy_nginx() {
  start_nginx proxy "$(nginx_common proxy)
http {
$(nginx_http_common proxy)
  upstream canned {
    server 127.0.0.1:$UP_PORT;
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:$PROXY_PORT;
    location / {
      proxy_pass http://canned;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
    }
  }
}"
}

start_java() { # name log args...
  local name=$1 logfile=$2
  shift 2
  # Run a private copy: Spring Boot's loader reads classes from the jar lazily, so a rebuild of
  # modelway-app/target/modelway.jar during the run would break a JVM started from it.
  [[ -f $TMP/modelway.jar ]] || cp "$JAR" "$TMP/modelway.jar"
  # Through the launcher, so the JVM runs with the flags users get (JAVA_OPTS added to them).
  MODELWAY_JAR="$TMP/modelway.jar" MODELWAY_JAVA_OPTS="$JAVA_OPTS" "$ROOT/modelway" "$@" >"$logfile" 2>&1 &
  JAVA_PIDS+=("$!")
  log "started $name (pid $!), log $logfile"
}

wait_until() { # description seconds pid command...
  local what=$1 secs=$2 pid=$3
  shift 3
  local deadline=$((SECONDS + secs))
  until "$@"; do
    kill -0 "$pid" 2>/dev/null || die "$what: process $pid exited"
    ((SECONDS < deadline)) || die "$what: not ready after ${secs}s"
    sleep 0.25
  done
}

health_up() { curl -fsS --max-time 2 "http://127.0.0.1:$MW_PORT/actuator/health" 2>/dev/null | grep -q '"UP"'; }
post_ok() { # url -> 0 when 200 and a chat.completion
  local out code
  out=$(curl -sS --max-time 5 -o /dev/stdout -w '\n%{http_code}' -H 'Content-Type: application/json' \
    -H "Authorization: Bearer $MODELWAY_ADMIN_KEY" \
    --data-binary "$BODY" "$1" 2>/dev/null) || return 1
  code=${out##*$'\n'}
  [[ $code == 200 && $out == *'"chat.completion"'* ]]
}

# ---------------------------------------------------------------------------------------------
# Load

declare -A NAME URL
NAME[a]="a: nginx canned (direct)"
NAME[b]="b: nginx proxy -> a"
NAME[c]="c: Modelway -> a"
NAME[d]="d: modelway sim (direct)"
NAME[e]="e: Modelway, governed key -> a"
NAME[f]="f: as e, Redis + PostgreSQL -> a"
URL[a]="http://127.0.0.1:$UP_PORT/v1/chat/completions"
URL[b]="http://127.0.0.1:$PROXY_PORT/v1/chat/completions"
URL[c]="http://127.0.0.1:$MW_PORT/v1/chat/completions"
URL[d]="http://127.0.0.1:$SIM_PORT/v1/chat/completions"
URL[e]="http://127.0.0.1:$GOV_PORT/v1/chat/completions"
URL[f]="http://127.0.0.1:$SHARED_PORT/v1/chat/completions"
declare -A KEY  # target -> the key chat.lua sends (default: the admin key)

run_wrk() { # url connections seconds outfile [key]
  # In the background, so that a TERM to this script interrupts `wait` and cleans up at once.
  MODELWAY_ADMIN_KEY=${5:-$MODELWAY_ADMIN_KEY} wrk -t"$THREADS" -c"$2" -d"$3"s --timeout "$WRK_TIMEOUT" --latency -s "$LUA" "$1" >"$4" 2>&1 &
  WRK_PID=$!
  local rc=0
  wait "$WRK_PID" || rc=$?
  WRK_PID=""
  ((rc == 0)) || { tail -n 5 "$4" >&2; die "wrk failed (exit $rc), see $4"; }
}

CLK_TCK=$(getconf CLK_TCK)
declare -A PIDS  # target -> its server process, whose CPU time (with its children's) is charged to it

target_pids() { # target -> pids (an nginx master and its workers, or a JVM)
  local p=${PIDS[$1]}
  if [[ $1 == a || $1 == b ]]; then
    echo "$p $(ps -o pid= --ppid "$p" | tr '\n' ' ')"
  else
    echo "$p"
  fi
}

cpu_ticks() { # pids... -> user+system clock ticks so far
  local sum=0 p
  for p in "$@"; do
    [[ -r /proc/$p/stat ]] && sum=$((sum + $(awk '{ print $14 + $15 }' "/proc/$p/stat")))
  done
  echo "$sum"
}

alive() { # target -> 0 when its server process still runs
  kill -0 "${PIDS[$1]}" 2>/dev/null
}

field() { # file line-prefix key -> value
  sed -n "s/^$2 .*\\b$3=\\([0-9.]*\\).*/\\1/p" "$1" | head -n 1
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# ---------------------------------------------------------------------------------------------
# Main

ensure_tools
STALE_JAR=0
needs_jar=0
[[ $TARGETS == *[cdef]* ]] && needs_jar=1
((needs_jar)) && ensure_jar
[[ -f $LUA && -f $CANNED ]] || die "chat.lua or canned-chat-completion.json missing next to the script"

for p in "$UP_PORT" "$PROXY_PORT" "$MW_PORT" "$SIM_PORT" "$GOV_PORT" "$SHARED_PORT"; do
  port_in_use "$p" && die "port 127.0.0.1:$p is in use (set BASE_PORT to move all six)"
done

mkdir -p "$RESULTS_DIR"
TMP=$(mktemp -d /tmp/modelway-bench.XXXXXX)
ROWS=$RESULTS_DIR/runs.tsv
printf 'connections\ttarget\tround\trps\tp50_us\tp90_us\tp99_us\tnon2xx\tsocket_errors\tcpu_us_per_req\tfile\n' >"$ROWS"

nconn=$(wc -w <<<"$CONNECTIONS")
ntarget=$(wc -w <<<"$TARGETS")
log "results in $RESULTS_DIR"
warm=0
for t in $TARGETS; do
  if [[ $t == a || $t == b ]]; then warm=$((warm + (WARMUP < 2 ? WARMUP : 2))); else warm=$((warm + WARMUP)); fi
done
log "about $((nconn * ROUNDS * ntarget * (DURATION + PAUSE) + warm)) s of load from now"

# The hop is what is measured, so the response cache is off: the body is the same every
# time and asks for temperature 0, which the cache would answer itself (bench/cache-hit.sh
# measures that).
printf 'gateway:\n  cache: {mode: "off"}\n' > "$TMP/hop.yaml"

start_upstream_nginx
PIDS[a]=$(cat "$TMP/nginx-up/nginx.pid")
wait_until "nginx canned" 10 "${PIDS[a]}" post_ok "${URL[a]}"
if [[ " $TARGETS " == *" b "* ]]; then
  start_proxy_nginx
  PIDS[b]=$(cat "$TMP/nginx-proxy/nginx.pid")
  wait_until "nginx proxy" 10 "${PIDS[b]}" post_ok "${URL[b]}"
fi
if [[ " $TARGETS " == *" c "* ]]; then
  start_java "Modelway gateway" "$RESULTS_DIR/modelway.log" up --host 127.0.0.1 --port "$MW_PORT" \
    --data-dir "$TMP/data" --config "$TMP/hop.yaml" --upstream "canned=http://127.0.0.1:$UP_PORT/v1"
  PIDS[c]=${JAVA_PIDS[-1]}
  wait_until "Modelway health" 120 "${PIDS[c]}" health_up
  post_ok "${URL[c]}" || die "Modelway answered the pre-flight request wrongly: $(curl -sS \
    -H 'Content-Type: application/json' --data-binary "$BODY" "${URL[c]}" 2>&1 | head -c 500)"
fi
admin_call() { # port method path json -> the answer, or die
  curl -fsS --max-time 10 -X "$2" -H "Authorization: Bearer $MODELWAY_ADMIN_KEY" \
    -H 'Content-Type: application/json' --data-binary "$4" "http://127.0.0.1:$1$3" \
    || die "admin call $2 $3 on port $1 failed"
}

start_governed() { # target port extra-args... -> KEY[target]
  local t=$1 port=$2
  shift 2
  start_java "Modelway gateway ($t)" "$RESULTS_DIR/modelway-$t.log" up --host 127.0.0.1 --port "$port" \
    --data-dir "$TMP/data-$t" --config "$TMP/hop.yaml" \
    --upstream "canned=http://127.0.0.1:$UP_PORT/v1" "$@"
  PIDS[$t]=${JAVA_PIDS[-1]}
  MW_PORT=$port wait_until "Modelway ($t) health" 120 "${PIDS[$t]}" health_up
  # Limits far above what the run can reach, so every stage works and none refuses.
  admin_call "$port" PUT /admin/v1/prices/canned/gpt-4o-mini \
    '{"currency":"USD","input":0.15,"cached_input":0.075,"output":0.6}' >/dev/null
  admin_call "$port" POST /admin/v1/plans '{"id":"bench","requests_per_minute":1000000000,
    "tokens_per_minute":10000000000,"max_concurrent":100000,"monthly_tokens":1000000000000000,
    "monthly_budget":9000000,"budget_currency":"USD",
    "model_limits":{"canned/gpt-4o-mini":{"requests_per_minute":1000000000}}}' >/dev/null
  admin_call "$port" POST /admin/v1/tenants '{"id":"bench","plan":"bench"}' >/dev/null
  KEY[$t]=$(admin_call "$port" POST /admin/v1/keys '{"tenant":"bench","plan":"bench"}' \
    | sed -n 's/.*"key":"\(mw-[A-Za-z0-9]*\)".*/\1/p')
  [[ -n ${KEY[$t]} ]] || die "no key issued on port $port"
  MODELWAY_ADMIN_KEY=${KEY[$t]} post_ok "${URL[$t]}" || die "Modelway ($t) refused the governed key's pre-flight call"
}

if [[ " $TARGETS " == *" e "* ]]; then
  start_governed e "$GOV_PORT"
fi
if [[ " $TARGETS " == *" f "* ]]; then
  redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 || die "f needs Redis on 127.0.0.1:6379"
  psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $BENCH_DB" >&2 \
    || die "f needs PostgreSQL on 127.0.0.1:5432 (user postgres)"
  DB_MADE=1
  MODELWAY_DATABASE_USER=postgres start_governed f "$SHARED_PORT" \
    --redis-url redis://127.0.0.1:6379 --database-url "jdbc:postgresql://127.0.0.1:5432/$BENCH_DB"
fi
if [[ " $TARGETS " == *" d "* ]]; then
  start_java "modelway sim" "$RESULTS_DIR/sim.log" sim --host 127.0.0.1 --port "$SIM_PORT"
  PIDS[d]=${JAVA_PIDS[-1]}
  wait_until "modelway sim" 60 "${PIDS[d]}" post_ok "${URL[d]}"
fi
log "all targets answer 200 with a chat.completion"

max_conn=$(tr ' ' '\n' <<<"$CONNECTIONS" | grep . | sort -n | tail -n 1)
for t in $TARGETS; do
  secs=$WARMUP
  [[ $t == a || $t == b ]] && secs=$((WARMUP < 2 ? WARMUP : 2))
  ((secs > 0)) || continue
  log "warm-up ${NAME[$t]}: ${secs}s at $max_conn connections (discarded)"
  run_wrk "${URL[$t]}" "$max_conn" "$secs" "$RESULTS_DIR/warmup-$t.txt" "${KEY[$t]:-}"
done

FAILED=0
for c in $CONNECTIONS; do
  for r in $(seq "$ROUNDS"); do
    for t in $TARGETS; do
      sleep "$PAUSE"
      out=$RESULTS_DIR/c$c-r$r-$t.txt
      read -r -a pids <<<"$(target_pids "$t")"
      ticks0=$(cpu_ticks "${pids[@]}")
      run_wrk "${URL[$t]}" "$c" "$DURATION" "$out" "${KEY[$t]:-}"
      ticks1=$(cpu_ticks "${pids[@]}")
      alive "$t" || die "${NAME[$t]}: its server process died during $out (see the logs in $RESULTS_DIR)"
      rps=$(field "$out" REQ rps)
      [[ -n $rps ]] || die "no REQ line from chat.lua in $out"
      count=$(field "$out" REQ total)
      bad=$(field "$out" REQ non2xx)
      sock=$(($(field "$out" REQ connect_err) + $(field "$out" REQ read_err) \
        + $(field "$out" REQ write_err) + $(field "$out" REQ timeout)))
      cpu=$(awk -v t=$((ticks1 - ticks0)) -v hz="$CLK_TCK" -v n="$count" \
        'BEGIN { if (n > 0) printf "%.1f", t * 1e6 / hz / n; else print "nan" }')
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "$t" "$r" "$rps" \
        "$(field "$out" LAT p50)" "$(field "$out" LAT p90)" "$(field "$out" LAT p99)" \
        "$bad" "$sock" "$cpu" "$(basename "$out")" >>"$ROWS"
      flag=""
      if ((bad > 0 || sock > 0 || count == 0)); then
        FAILED=1
        flag="  <-- FAILED: $count requests, non-2xx $bad, socket errors $sock"
      fi
      log "c=$c round $r/$ROUNDS ${NAME[$t]}: $rps req/s, p99 $(field "$out" LAT p99) us, server CPU $cpu us/req$flag"
    done
  done
done

# ---------------------------------------------------------------------------------------------
# Report

stat() { # connections target column -> median
  awk -F'\t' -v c="$1" -v t="$2" -v col="$3" \
    'NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) k = i; next } $1 == c && $2 == t { print $k }' \
    "$ROWS" | median
}
total() { # connections target column -> sum
  awk -F'\t' -v c="$1" -v t="$2" -v col="$3" \
    'NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) k = i; next } $1 == c && $2 == t { s += $k } END { print s + 0 }' \
    "$ROWS"
}
num0() { awk -v v="$1" 'BEGIN { if (v == "nan") print "n/a"; else printf "%.0f", v }'; }
ms() { awk -v us="$1" 'BEGIN { if (us == "nan") print "n/a"; else printf "%.2f", us / 1000 }'; }
ratio() { awk -v x="$1" -v y="$2" 'BEGIN { if (x == "nan" || y == "nan" || y == 0) print "nan"; else printf "%.2f", x / y }'; }
has() { [[ " $TARGETS " == *" $1 "* ]]; }

report() {
  echo "# Modelway gateway hop benchmark"
  echo
  echo "- date (UTC): $(date -u +'%Y-%m-%d %H:%M:%S'); commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD -- 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "- machine: $(nproc) cores; load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- $(java -version 2>&1 | head -n 1); $(nginx -v 2>&1); wrk $(wrk -v 2>&1 | head -n 1 | awk '{print $2}')"
  echo "- wrk: $THREADS threads, ${DURATION}s per run, $ROUNDS interleaved rounds (order: $TARGETS), warm-up ${WARMUP}s per JVM; JAVA_OPTS='${JAVA_OPTS}'"
  echo "- medians over rounds; latencies from wrk's latency:percentile() in chat.lua; raw output in $RESULTS_DIR"
  echo "- server CPU µs/req: user+system CPU time of the target's own process(es) during the run (a, b: that nginx's master and workers; c: the gateway JVM, not a; d: the sim JVM), divided by the requests wrk completed"
  [[ -f $TMP/modelway.jar ]] && echo "- jar: $JAR, built $(date -u -r "$JAR" +'%Y-%m-%d %H:%M:%S') UTC (run from a copy)"
  ((STALE_JAR)) && echo "- WARNING: the jar was older than some sources: it may not be the current code"
  local c t
  for c in $CONNECTIONS; do
    echo
    echo "## $c connections"
    echo
    echo "| target | req/s | p50 ms | p90 ms | p99 ms | server CPU µs/req | non-2xx | socket errors |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    for t in $TARGETS; do
      printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "${NAME[$t]}" \
        "$(num0 "$(stat "$c" "$t" rps)")" \
        "$(ms "$(stat "$c" "$t" p50_us)")" "$(ms "$(stat "$c" "$t" p90_us)")" "$(ms "$(stat "$c" "$t" p99_us)")" \
        "$(num0 "$(stat "$c" "$t" cpu_us_per_req)")" \
        "$(total "$c" "$t" non2xx)" "$(total "$c" "$t" socket_errors)"
    done
    if has b && has c; then
      local tput p99 verdict_t verdict_p
      tput=$(ratio "$(stat "$c" c rps)" "$(stat "$c" b rps)")
      p99=$(ratio "$(stat "$c" c p99_us)" "$(stat "$c" b p99_us)")
      verdict_t=$(awk -v r="$tput" 'BEGIN { print (r != "nan" && r >= 0.5) ? "PASS" : "FAIL" }')
      verdict_p=$(awk -v r="$p99" 'BEGIN { print (r != "nan" && r <= 2.0) ? "PASS" : "FAIL" }')
      echo
      if [[ $c == 32 ]]; then
        echo "- throughput c/b (Modelway / nginx proxy): **$tput** (target >= 0.50 at 32 connections: $verdict_t)"
        echo "- p99 c/b (Modelway / nginx proxy): **$p99** (target <= 2.00 at 32 connections: $verdict_p)"
      else
        echo "- throughput c/b (Modelway / nginx proxy): **$tput** (the >= 0.50 target is set at 32 connections; here: $verdict_t)"
        echo "- p99 c/b (Modelway / nginx proxy): **$p99** (the <= 2.00 target is set at 32 connections; here: $verdict_p)"
      fi
      echo "- server CPU per request c/b (Modelway JVM / nginx proxy): **$(ratio "$(stat "$c" c cpu_us_per_req)" "$(stat "$c" b cpu_us_per_req)")**"
    fi
    local g
    for g in e f; do
      if has c && has $g; then
        local gt
        gt=$(ratio "$(stat "$c" $g rps)" "$(stat "$c" c rps)")
        echo "- throughput $g/c (${NAME[$g]#*: } / Modelway, admin key without a plan): **$gt**$([[ $g == e ]] && awk -v r="$gt" 'BEGIN { print (r != "nan" && r >= 0.85) ? " (target: governance costs <= 15%, so >= 0.85: PASS)" : " (target: governance costs <= 15%, so >= 0.85: FAIL)" }'); p99 $g/c: **$(ratio "$(stat "$c" $g p99_us)" "$(stat "$c" c p99_us)")**; server CPU per request $g/c: **$(ratio "$(stat "$c" $g cpu_us_per_req)" "$(stat "$c" c cpu_us_per_req)")**"
      fi
    done
    if has a && has b && has c; then
      local a50 b50 c50
      a50=$(stat "$c" a p50_us); b50=$(stat "$c" b p50_us); c50=$(stat "$c" c p50_us)
      echo "- p50 added by the hop (vs a): nginx proxy $(awk -v x="$b50" -v y="$a50" 'BEGIN { printf "%.2f", (x - y) / 1000 }') ms, Modelway $(awk -v x="$c50" -v y="$a50" 'BEGIN { printf "%.2f", (x - y) / 1000 }') ms"
    fi
  done
  echo
  if ((FAILED)); then
    echo "**FAILURE: some runs saw non-2xx responses or socket errors (see the tables and $ROWS).**"
  else
    echo "No non-2xx responses or socket errors in the measured runs."
  fi
  local f d
  for d in "${NGINX_DIRS[@]}"; do
    f=$RESULTS_DIR/$(basename "$d")-error.log
    cp "$d/logs/error.log" "$f" 2>/dev/null || continue
    echo
    echo "$(basename "$f"): $(wc -l <"$f") lines (level warn and above)"
  done
  for f in "$RESULTS_DIR/modelway.log" "$RESULTS_DIR/modelway-e.log" "$RESULTS_DIR/modelway-f.log" "$RESULTS_DIR/sim.log"; do
    [[ -f $f ]] || continue
    local n
    n=$(grep -cE '\b(WARN|ERROR)\b|Exception' "$f" || true)
    echo
    echo "$(basename "$f"): $n WARN/ERROR/Exception lines$( ((n > 0)) && echo ', first ones:')"
    if ((n > 0)); then
      echo
      echo '```'
      grep -E '\b(WARN|ERROR)\b|Exception' "$f" | head -n 10 | cut -c1-300
      echo '```'
    fi
  done
}

report | tee "$RESULTS_DIR/report.md"
exit "$FAILED"
