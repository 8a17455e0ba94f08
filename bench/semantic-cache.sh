#!/usr/bin/env bash
# Precision and recall of the semantic cache's hit decision over the labelled pairs in
# bench/semantic-cache/pairs.tsv, with the real embedding model (all-MiniLM-L6-v2 in this JVM
# through ONNX Runtime): similarity alone and similarity with the lexical guard, over thresholds
# 0.50 to 0.99, and the default threshold (the lowest with precision >= 0.98 with the guard).
# The driver is io.modelway.gateway.cache.semantic.SemanticCacheEvaluation (modelway-gateway's
# test sources); SemanticMatchQualityTest holds the chosen default to the targets in every build.
#
# Environment (defaults in brackets):
#   PAIRS [bench/semantic-cache/pairs.tsv]  the labelled pairs (label, kind, question a, question b)
#   HOLDOUT [bench/semantic-cache/holdout.tsv]  pairs not used for tuning, reported at the default
#   BUILD [1]    0: use the classes already compiled under modelway-*/target
#   OFFLINE [1]  0: let Maven download what is missing
#   RESULTS_DIR [bench/results/semantic-cache-<UTC timestamp>]
# Exit status: 0; 1 when the evaluation failed; 2 on a set-up error.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
PAIRS=${PAIRS:-$HERE/semantic-cache/pairs.tsv}
HOLDOUT=${HOLDOUT:-$HERE/semantic-cache/holdout.tsv}
BUILD=${BUILD:-1}
OFFLINE=${OFFLINE:-1}
RESULTS_DIR=${RESULTS_DIR:-$HERE/results/semantic-cache-$(date -u +%Y%m%dT%H%M%SZ)}

log() { printf '[semantic-cache %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 2; }

command -v java >/dev/null || die "java is not on PATH"
[[ -f $PAIRS ]] || die "no pairs file at $PAIRS"

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
test_classpath modelway-gateway
mkdir -p "$RESULTS_DIR"
log "results in $RESULTS_DIR"
{
  echo "# Semantic cache: precision and recall over $(basename "$PAIRS")"
  echo
  echo "- date (UTC): $(date -u +'%Y-%m-%d %H:%M:%S'); commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD -- 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "- model: all-MiniLM-L6-v2 (ONNX Runtime, in this JVM); $(java -version 2>&1 | head -n 1)"
  echo
  # The model's log lines (logback, on stdout) go to the log file, the report to stdout.
  java -cp "$TEST_CP" io.modelway.gateway.cache.semantic.SemanticCacheEvaluation "$PAIRS" "$HOLDOUT" \
    2>"$RESULTS_DIR/evaluation.log" \
    | tee -a "$RESULTS_DIR/evaluation.log" | grep -v -E '^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]+ \['
} | tee "$RESULTS_DIR/report.md"
grep -q '^Default threshold' "$RESULTS_DIR/report.md" \
  || { log "the evaluation failed or chose no threshold; see $RESULTS_DIR/evaluation.log"; exit 1; }
