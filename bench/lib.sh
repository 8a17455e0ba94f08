# Shared by the benchmark scripts (sourced, not run). Expects ROOT, JAR, RESULTS_DIR and the
# functions log and die (test_classpath: ROOT, log and die).

# The jar a run uses: built when missing (with a warning when it is older than the sources),
# then copied into RESULTS_DIR, so that a rebuild during the run cannot break the JVMs started
# from it. Sets RUN_JAR.
prepare_jar() {
  if [[ ! -f $JAR ]]; then
    log "building $JAR (mvn package, tests skipped)"
    (cd "$ROOT" && mvn -B -q -ntp -DskipTests package -pl modelway-app -am) || die "build failed"
  elif [[ -n $(find "$ROOT" -path "$ROOT/.git" -prune -o -path '*/target' -prune -o \
      \( -name pom.xml -o -path '*/src/main/*' \) -type f -newer "$JAR" -print -quit) ]]; then
    log "WARN: $JAR is older than some source file; rebuild it to measure the current code"
  fi
  cp "$JAR" "$RESULTS_DIR/modelway.jar"
  RUN_JAR=$RESULTS_DIR/modelway.jar
}

# Compiles the load generator SRC (JDK only) and the test sources it uses (BenchSupport) into
# RESULTS_DIR/classes.
compile_bench() {
  mkdir -p "$RESULTS_DIR/classes"
  javac -sourcepath "$ROOT/modelway-gateway/src/test/java" -d "$RESULTS_DIR/classes" "$1" \
    || die "cannot compile $1"
}

# Compiles MODULE's main and test classes with the modules it needs, in one reactor build so that
# those resolve to their target/classes, not to ~/.m2 (no install), and sets TEST_CP to MODULE's
# test classpath. BUILD=0 reuses an earlier build's classes and classpath; OFFLINE=1 runs Maven
# offline.
test_classpath() { # MODULE
  local module=$1 offline=()
  local cp_file=$ROOT/$module/target/bench-classpath.txt
  if [[ ${BUILD:-1} != 0 || ! -f $cp_file ]]; then
    command -v mvn >/dev/null || die "mvn is not on PATH"
    [[ ${OFFLINE:-0} == 1 ]] && offline=(-o)
    log "compiling $module's tests and writing their classpath (no install)"
    (cd "$ROOT" && mvn -B -ntp -q "${offline[@]}" test-compile dependency:build-classpath \
      -Dmdep.includeScope=test -Dmdep.outputFile=target/bench-classpath.txt -pl "$module" -am) >&2 \
      || die "the build of $module failed"
  fi
  TEST_CP=$ROOT/$module/target/test-classes:$ROOT/$module/target/classes:$(cat "$cp_file")
}

# Waits until URL answers below 400 (with AUTH as a bearer key, unless empty); fails after
# SECONDS [30].
wait_for() { # URL [AUTH] [SECONDS]
  local i
  for i in $(seq 1 $((${3:-30} * 5))); do
    if curl -fsS -o /dev/null ${2:+-H "Authorization: Bearer $2"} "$1" 2>/dev/null; then
      return 0
    fi
    sleep 0.2
  done
  return 1
}
