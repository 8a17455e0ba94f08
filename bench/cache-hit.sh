#!/usr/bin/env bash
# Exact cache hits against misses, through the whole gateway, in one run.
#
# One `modelway sim` as fast as a model server can be (no time to first token, 10,000 tokens a
# second, 16-token answers) behind `modelway up`; the same deterministic chat completion
# (bench/chat.lua, temperature 0) is sent by wrk:
#   miss  with `Cache-Control: no-cache, no-store`: every call goes to the sim
#   hit   without it: every call after the first is answered from the cache
# and the hit/miss throughput ratio is reported (issue 6's target: >= 10).
#
# Environment (defaults in brackets):
#   CONNECTIONS [32]  DURATION [15] seconds per run  ROUNDS [3] interleaved rounds
#   WARMUP [20] seconds of discarded load first      THREADS [2] wrk threads
#   RESULTS_DIR [bench/results/cache-hit-<UTC time>]
# Needs wrk (installed from Debian's packages when missing) and the built jar
# (mvn -B -q install -DskipTests).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
CONNECTIONS=${CONNECTIONS:-32}
DURATION=${DURATION:-15}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-20}
THREADS=${THREADS:-2}
JAR=${JAR:-$ROOT/modelway-app/target/modelway.jar}
RESULTS_DIR=${RESULTS_DIR:-$ROOT/bench/results/cache-hit-$(date -u +%Y%m%dT%H%M%SZ)}
export MODELWAY_ADMIN_KEY=${MODELWAY_ADMIN_KEY:-mw-bench-key}

log() { printf '[cache-hit %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 2; }

if ! command -v wrk >/dev/null; then
  log "installing wrk (Debian package)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y wrk >&2 \
    || { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y wrk >&2; }
fi
[[ -f $JAR ]] || (cd "$ROOT" && mvn -B -q install -DskipTests) >&2

TMP=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
mkdir -p "$RESULTS_DIR"
cp "$JAR" "$TMP/modelway.jar" # a private copy: a rebuild during the run must not break the JVMs

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SIM_PORT=$(free_port)
MW_PORT=$(free_port)
run() { MODELWAY_JAR="$TMP/modelway.jar" "$ROOT/modelway" "$@"; }

run sim --host 127.0.0.1 --port "$SIM_PORT" --ttft 0s --tokens-per-second 10000 \
  >"$RESULTS_DIR/sim.log" 2>&1 &
PIDS+=("$!")
cat >"$TMP/modelway.yaml" <<YAML
backends:
  sim: {url: "http://127.0.0.1:$SIM_PORT/v1"}
models:
  - {name: chat, backend: sim}
YAML
run up --host 127.0.0.1 --port "$MW_PORT" --data-dir "$TMP/data" --config "$TMP/modelway.yaml" \
  >"$RESULTS_DIR/modelway.log" 2>&1 &
PIDS+=("$!")
deadline=$((SECONDS + 180))
until curl -fsS --max-time 2 "http://127.0.0.1:$MW_PORT/actuator/health" 2>/dev/null | grep -q '"UP"'; do
  ((SECONDS < deadline)) || die "the gateway is not up after 180 s (see $RESULTS_DIR/modelway.log)"
  sleep 0.5
done

load() { # kind seconds -> wrk's LAT/REQ lines
  local cache_control=""
  [[ $1 == miss ]] && cache_control="no-cache, no-store"
  CACHE_CONTROL=$cache_control MODEL=chat wrk -t "$THREADS" -c "$CONNECTIONS" -d "${2}s" \
    --latency -s "$HERE/chat.lua" "http://127.0.0.1:$MW_PORT/v1/chat/completions" \
    | grep -E '^(LAT|REQ) '
}
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" <<<"$2" | head -n1; }

log "warming up: ${WARMUP}s of misses, ${WARMUP}s of hits"
load miss "$WARMUP" >/dev/null
load hit "$WARMUP" >/dev/null
header=$(curl -sS -D - -o /dev/null -H 'Content-Type: application/json' \
  -H "Authorization: Bearer $MODELWAY_ADMIN_KEY" --data-binary \
  '{"model":"chat","messages":[{"role":"system","content":"You are a concise assistant. Answer in one sentence."},{"role":"user","content":"What does an LLM gateway add between a client and a model server?"}],"max_tokens":64,"temperature":0}' \
  "http://127.0.0.1:$MW_PORT/v1/chat/completions" | tr -d '\r' | grep -i '^x-modelway-cache:' || true)
[[ ${header,,} == *hit* ]] || die "the repeated request is not a cache hit (header: '$header')"

declare -A RPS P50 P99
for kind in miss hit; do RPS[$kind]=""; P50[$kind]=""; P99[$kind]=""; done
for ((r = 1; r <= ROUNDS; r++)); do
  for kind in miss hit; do
    out=$(load "$kind" "$DURATION")
    non2xx=$(field non2xx "$out")
    [[ ${non2xx:-0} == 0 ]] || die "$kind round $r: $non2xx answers were not 2xx"
    RPS[$kind]+="$(field rps "$out") "
    P50[$kind]+="$(field p50 "$out") "
    P99[$kind]+="$(field p99 "$out") "
    log "round $r $kind: $(field rps "$out") req/s, p50 $(field p50 "$out") µs, p99 $(field p99 "$out") µs"
  done
done

median() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
miss_rps=$(median "${RPS[miss]}")
hit_rps=$(median "${RPS[hit]}")
ratio=$(awk -v h="$hit_rps" -v m="$miss_rps" 'BEGIN {printf "%.1f", h / m}')
{
  echo "# Exact cache hits vs misses ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores)"
  echo
  echo "wrk $THREADS threads, $CONNECTIONS connections, ${DURATION}s x $ROUNDS rounds (medians), warm-up ${WARMUP}s each."
  echo
  echo "| | req/s | p50 µs | p99 µs |"
  echo "|---|---|---|---|"
  echo "| miss (to the sim) | $miss_rps | $(median "${P50[miss]}") | $(median "${P99[miss]}") |"
  echo "| hit (from the cache) | $hit_rps | $(median "${P50[hit]}") | $(median "${P99[hit]}") |"
  echo
  echo "hit/miss throughput: **${ratio}x** (target >= 10)"
} | tee "$RESULTS_DIR/report.md"
