#!/usr/bin/env bash
# run-all.sh - reproduce the whole perf-results table, plots included, in bounded time.
#
#   bench/run-all.sh            the real run: about 25 minutes on 2 cores (nothing else running!;
#                               it prints matrix.py's --plan estimate first),
#                               raw results into perf-results/raw/<date>-all{,-relay}/, then
#                               perf-results/make-table (README.md and plots/)
#   bench/run-all.sh --quick    the same pipeline in seconds per cell (1 s runs, 1 rep, 1,000 idle
#                               connections, small relay counts) into a scratch folder
#                               (default: a new /tmp/sluice-run-all-quick.XXXXXX); every result is
#                               tagged quick=1 so make-table never counts it as a measurement.
#                               For checking that the whole thing works, not for numbers.
#   options: --out DIR (results folder; default perf-results, or the scratch folder with --quick)
#            --name RUN (default <UTC date>-all, or <UTC date>-quick)
#   env:     DURATION (s per measured run, default 4; quick 1), REPS (default 3; quick 1),
#            LOAD_WARMUP (s each measured sluice load run runs unmeasured first: the fresh generator
#            JVM's JIT warm-up; default 1; quick 0),
#            IDLE (idle connections, default 10000; quick 1000), SWEEP (default 1k-reuse:1,5,100),
#            RELAY_MESSAGES / RELAY_MESSAGES_64K (default 4000 / 1200; quick 400 / 100)
#
# What runs (one after the other, Sluice and its peers interleaved run by run inside each step):
#   1. perf-results/matrix.py: starts sluice sink and, through /work/shared/peers.sh, Postfix
#      smtp-sink, Postfix smtpd (real queue, discard delivery) and Haraka; IDLE idle connections
#      (RSS, on the fresh servers); then sluice load over
#      plaintext 1 KiB / 64 KiB x 100 / 1 message per connection, STARTTLS the same, handshake-only
#      (warm-up + REPS rounds, each --duration DURATION); smtp-source on the plaintext scenarios in
#      the same rounds; a connection sweep for the throughput plot.
#   2. perf-results/relay_e2e.py: sluice load -> relay -> sluice sink, Sluice vs Postfix relaying,
#      plaintext, then again with STARTTLS on both hops (--tls starttls).
#   3. perf-results/make-table --dir OUT: README.md tables and plots/.
# Every step records its exact command line in OUT/raw/RUN/run-all.json with the machine (nproc,
# CPU model, JDK, kernel), the commit and each step's wall time.
#
# Stops everything it started: the steps stop their own servers (Sluice by PID, peers with
# peers.sh stop PORT) when they end or get TERM/INT; the EXIT trap here TERMs the step still
# running (by its PID) and waits for it. Nothing is killed by name.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(dirname "$HERE")
PR=$ROOT/perf-results
die() { echo "run-all: $*" >&2; exit 2; }
say() { echo "run-all: $(date -u +%T) $*" >&2; }

INVOCATION="$0 $*"
QUICK=0 OUT= NAME=
while [ $# -gt 0 ]; do
    case $1 in
        --quick) QUICK=1 ;;
        --out) OUT=${2:?--out DIR}; shift ;;
        --name) NAME=${2:?--name RUN}; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument $1 (see --help)" ;;
    esac
    shift
done

if [ "$QUICK" = 1 ]; then
    DURATION=${DURATION:-1} REPS=${REPS:-1} IDLE=${IDLE:-1000}
    RELAY_MESSAGES=${RELAY_MESSAGES:-400} RELAY_MESSAGES_64K=${RELAY_MESSAGES_64K:-100}
    OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/sluice-run-all-quick.XXXXXX")}
    NAME=${NAME:-$(date -u +%F)-quick}
    LOAD_WARMUP=${LOAD_WARMUP:-0}
    QUICK_ARGS=(--quick) TABLE_ARGS=(--include-quick) RELAY_QUICK=(--warmup-messages 100)
    [ "$(cd "$OUT" 2>/dev/null && pwd -P)" != "$PR" ] || die "--quick results never go into perf-results/"
else
    DURATION=${DURATION:-4} REPS=${REPS:-3} IDLE=${IDLE:-10000}
    RELAY_MESSAGES=${RELAY_MESSAGES:-4000} RELAY_MESSAGES_64K=${RELAY_MESSAGES_64K:-1200}
    OUT=${OUT:-$PR}
    NAME=${NAME:-$(date -u +%F)-all}
    LOAD_WARMUP=${LOAD_WARMUP:-1}
    QUICK_ARGS=() TABLE_ARGS=() RELAY_QUICK=()
fi
SWEEP=${SWEEP:-1k-reuse:1,5,100}
mkdir -p "$OUT"
# make-table --dir OUT needs the prose template; a scratch folder gets a copy.
[ -e "$OUT/README.in.md" ] || cp "$PR/README.in.md" "$OUT/README.in.md"
RAW=$OUT/raw/$NAME
[ ! -e "$RAW" ] || die "$RAW exists: pick another --name"

# ---------------------------------------------------------------- stop what we started, on any exit
STEP_PID=
STARTED_AT=$(date +%s)
stop_step() {
    [ -n "$STEP_PID" ] || return 0
    if kill -0 "$STEP_PID" 2> /dev/null; then
        say "stopping step pid $STEP_PID"
        kill -TERM "$STEP_PID" 2> /dev/null || true
        local i=0
        while kill -0 "$STEP_PID" 2> /dev/null && [ "$i" -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
        kill -0 "$STEP_PID" 2> /dev/null && { say "step $STEP_PID ignored TERM for 60 s: KILL"; kill -KILL "$STEP_PID" 2> /dev/null || true; }
    fi
    wait "$STEP_PID" 2> /dev/null || true
    STEP_PID=
}
on_exit() {
    local rc=$?
    stop_step
    say "done in $(( $(date +%s) - STARTED_AT )) s (exit $rc); results in $OUT"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# step NAME CMD...: runs one step in the background (so the traps fire while it runs), records it
STEPS_JSON=$(mktemp "${TMPDIR:-/tmp}/run-all-steps.XXXXXX")
step() {
    local name=$1; shift
    say "step $name: $*"
    local t0 rc=0
    t0=$(date +%s)
    "$@" &
    STEP_PID=$!
    wait "$STEP_PID" || rc=$?
    STEP_PID=
    local dt=$(( $(date +%s) - t0 ))
    python3 - "$STEPS_JSON" "$name" "$rc" "$dt" "$@" <<'EOF'
import json, shlex, sys
path, name, rc, dt, cmd = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5:]
with open(path, 'a') as fh:
    fh.write(json.dumps({'step': name, 'exit': rc, 'wall_s': dt, 'command': shlex.join(cmd)}) + '\n')
EOF
    say "step $name: exit $rc after $dt s"
    return "$rc"
}

# ---------------------------------------------------------------- build once, then the steps
step build "$ROOT/sluice" --version > /dev/null
# One build per sitting: every server and generator below runs that build, even if a source is
# edited meanwhile (the launcher would otherwise rebuild for the next process it starts).
export SLUICE_NO_BUILD=1
# A failed step still leaves its partial raw results; the table is made from whatever exists.
MATRIX_ARGS=(--out "$OUT" --name "$NAME" --duration "$DURATION" --reps "$REPS" --load-warmup "$LOAD_WARMUP"
    --sweep "$SWEEP" --smtp-source --idle "$IDLE" "${QUICK_ARGS[@]}")
say "$(python3 "$PR/matrix.py" "${MATRIX_ARGS[@]}" --plan); then the relay steps (plaintext, STARTTLS on both hops), about 5 min"
step matrix python3 "$PR/matrix.py" "${MATRIX_ARGS[@]}" || say "matrix failed: see above"
step relay python3 "$PR/relay_e2e.py" --out "$OUT" --name "$NAME-relay" --sizes 1KiB,64KiB --reps "$REPS" \
    --messages "$RELAY_MESSAGES" --messages-64k "$RELAY_MESSAGES_64K" "${QUICK_ARGS[@]}" "${RELAY_QUICK[@]}" || say "relay failed: see above"
step relay-tls python3 "$PR/relay_e2e.py" --out "$OUT" --name "$NAME-relay-tls" --tls starttls --sizes 1KiB,64KiB \
    --reps "$REPS" --messages "$RELAY_MESSAGES" --messages-64k "$RELAY_MESSAGES_64K" "${QUICK_ARGS[@]}" "${RELAY_QUICK[@]}" \
    || say "relay-tls failed: see above"

# The run's record: machine, commit, every step's exact command and wall time.
python3 - "$RAW/run-all.json" "$STEPS_JSON" "$QUICK" "$INVOCATION" "$ROOT" <<'EOF'
import json, os, platform, subprocess, sys, time
out, steps, quick, argv, root = sys.argv[1:6]
def sh(*cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        return (r.stdout or r.stderr).strip()
    except OSError:
        return '?'
cpu = next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), '?')
record = {'tool': 'bench/run-all.sh', 'quick': quick == '1',
          'date': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()), 'invocation': argv,
          'machine': {'nproc': os.cpu_count(), 'cpu_model': cpu, 'jdk': sh('java', '-version').replace('\n', ' / '),
                      'kernel': platform.release(), 'postfix': sh('postconf', '-h', 'mail_version'),
                      'loadavg_at_end': open('/proc/loadavg').read().strip()},
          'commit': sh('git', '-C', root, 'rev-parse', 'HEAD'),
          'dirty': bool(sh('git', '-C', root, 'status', '--porcelain', '--untracked-files=no')),
          'steps': [json.loads(l) for l in open(steps)]}
json.dump(record, open(out, 'w'), indent=2)
EOF
rm -f "$STEPS_JSON"
step table python3 "$PR/make-table" --dir "$OUT" "${TABLE_ARGS[@]}"
if [ "$QUICK" = 1 ]; then say "quick run (not a measurement): $OUT/README.md, $OUT/plots/"; fi
