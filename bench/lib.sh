# Shared by the benchmark scripts (sourced, not run). Expects ROOT, JAR, RESULTS_DIR and the
# functions log and die.

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
