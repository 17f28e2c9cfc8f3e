#!/bin/bash
# Fuzzes one Jazzer @FuzzTest of the smtp module for a set time, with Jazzer's standalone driver
# (jazzer-junit 0.24 takes the duration only from the annotation's maxDuration, 2 minutes).
#
#   perf-results/fuzz.sh <TestClass> <seconds>        e.g. perf-results/fuzz.sh SessionFuzzTest 3600
#
# Run from the repository root after `mvn -B -o -pl smtp -am test-compile`. The corpus continues in
# smtp/target/fuzz-corpus/<TestClass> (seeded from the committed Inputs directory), findings go to
# smtp/target/fuzz-findings/<TestClass>/crash-*, the log to smtp/target/fuzz-logs/. Nice 19, one
# JVM of -Xmx1g: an unbounded allocation shows as an OutOfMemoryError finding. Wall and CPU time
# are printed at the end by /usr/bin/time (if installed).
set -eu
cls=$1
seconds=$2
root=$(pwd)
source=$(cd smtp/src/test/java && find . -name "$cls.java" | sed 's|^\./||')
[ -n "$source" ] || { echo "no $cls.java under smtp/src/test/java" >&2; exit 2; }
fqcn=$(echo "${source%.java}" | tr / .)
method=$(grep -A1 '@FuzzTest' "smtp/src/test/java/$source" | sed -n 's/.*void \([A-Za-z0-9_]*\)(.*/\1/p' | head -1)
inputs="smtp/src/test/resources/$(dirname "$source")/${cls}Inputs/$method"
corpus=smtp/target/fuzz-corpus/$cls
findings=smtp/target/fuzz-findings/$cls
mkdir -p "$corpus" "$findings" smtp/target/fuzz-logs
[ -d "$inputs" ] && cp -n "$inputs"/* "$corpus"/ 2>/dev/null || true
if [ ! -s smtp/target/fuzz-classpath.txt ]; then
    mvn -B -q -o -pl smtp -am dependency:build-classpath -Dmdep.includeScope=test \
        -Dmdep.outputFile="$root/smtp/target/fuzz-classpath.txt" >/dev/null
fi
cp="smtp/target/test-classes:smtp/target/classes:$(cat smtp/target/fuzz-classpath.txt)"
log=smtp/target/fuzz-logs/$cls-$(date -u +%Y%m%dT%H%M%SZ).log
timer=$(command -v /usr/bin/time >/dev/null && echo "/usr/bin/time -v" || echo "")
echo "$cls.$method: $seconds s, corpus $(ls "$corpus" | wc -l) files before; log $log"
# JAZZER_FUZZ=1: ConfigFuzzTest then resolves host names from a hosts file of its own.
JAZZER_FUZZ=1 $timer nice -n 19 java -Xmx1g -ea -cp "$cp" com.code_intelligence.jazzer.Jazzer \
    --target_class="$fqcn" --target_method="$method" --instrumentation_includes='io.sluice.**' \
    --keep_going=20 "$corpus" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$findings/" >"$log" 2>&1 || true
grep -E '^stat::number_of_executed_units|^Done|User time|System time|Elapsed' "$log" || true
echo "corpus $(ls "$corpus" | wc -l) files after; findings: $(ls "$findings" | wc -l)"
