#!/usr/bin/env bash
# e2e.sh - end-to-end SMTP throughput of Sluice against real peers, smtp-source as the one load
# generator, everything on 127.0.0.1, targets interleaved run by run (see e2e.py).
#
#   perf-results/e2e.sh OUT_PREFIX
#
# Starts: sluice sink (127.0.0.1:2527), sluice serve (127.0.0.1:2525, fsynced spool in
# $SPOOL_DIR, log.level=$SERVE_LOG_LEVEL, tls.level=none), Postfix smtp-sink (2530) and a Postfix instance
# with its real queue delivering to discard(8) (2531) via /work/shared/peers.sh; runs the
# scenarios below; stops everything it started (peers by peers.sh stop PORT, sluice by PID).
#
# env: SLUICE_SINK_CMD  launcher for the sink (default: this checkout's ./sluice)
#      ONLY             space-separated scenario names to run (default: all six)
#      SLUICE_SERVE_CMD launcher for serve (default: this checkout's ./sluice)
#      SPOOL_DIR        default /tmp/sluice-perf-spool (same ext4 disk as /work here); wiped
#      REPS             default 3
#      MESSAGES         NAME=COUNT,... overrides the message count of the named scenarios
#                       (e.g. MESSAGES=serve-1k-reuse=30000 for runs past Sluice's JIT warm-up)
#      PEERS            default /work/shared/peers.sh
#      WARMUP           messages each target takes before the measured runs (default: e2e.py's
#                       rule, at most 5,000; a JVM's JIT needs more, e.g. 100000 for the sinks)
#      SERVE_LOG_LEVEL  serve's log.level (default info, its own default: one line per connection
#                       and per message, to a file here, as Postfix's smtpd, cleanup, qmgr and
#                       discard log every message to its maillog; before 2026-11-29 06:00 it was warn)
#      TIMEOUT          seconds one smtp-source run may take (default 150; Postfix needs ~600 for
#                       issue 2's literal -m 200000 at 64 KiB)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd -P)
ROOT=$(dirname "$HERE")
OUT=${1:?usage: e2e.sh OUT_PREFIX}
PEERS=${PEERS:-/work/shared/peers.sh}
SINK_CMD=${SLUICE_SINK_CMD:-$ROOT/sluice}
SERVE_CMD=${SLUICE_SERVE_CMD:-$ROOT/sluice}
SPOOL_DIR=${SPOOL_DIR:-/tmp/sluice-perf-spool}
REPS=${REPS:-3}
MESSAGES=${MESSAGES:-}
LOGS=$(mktemp -d /tmp/sluice-e2e.XXXX)

start_sluice() {   # NAME CMD ARGS... -> PID of the JVM (the launcher execs java)
    local name=$1; shift
    setsid bash -c 'exec "$@"' _ "$@" > "$LOGS/$name.log" 2>&1 < /dev/null &
    echo $!
}
wait_port() { local i; for ((i = 0; i < 600; i++)); do ss -Hltn "sport = :$1" | grep -q . && return 0; sleep 0.1; done; return 1; }

rm -rf "$SPOOL_DIR"
SINK_PID=$(start_sluice sink "$SINK_CMD" sink --set listen=127.0.0.1:2527 --set log.level=warn)
SERVE_PID=$(start_sluice serve "$SERVE_CMD" serve --set listen=127.0.0.1:2525 \
    --set spool.dir="$SPOOL_DIR" --set tls.level=none --set log.level="${SERVE_LOG_LEVEL:-info}" --set 'transport.*=discard')
# transport.* = discard: serve delivers every message, like the Postfix peer (discard(8)).
cleanup() {
    kill "$SINK_PID" "$SERVE_PID" 2> /dev/null || true
    "$PEERS" stop 2530 || true
    "$PEERS" stop 2531 || true
    rm -rf "$SPOOL_DIR"
}
trap cleanup EXIT
"$PEERS" start-sink 2530
"$PEERS" start-postfix 2531
wait_port 2527 && wait_port 2525 || { cat "$LOGS"/*.log; exit 1; }
PF_PID=$(head -1 "${PEERS_HOME:-/tmp/sluice-peers}/run/pids/postfix-2531.pid")
SINK_PEER_PID=$(head -1 "${PEERS_HOME:-/tmp/sluice-peers}/run/pids/sink-2530.pid")
QD=$(postconf -c "${PEERS_HOME:-/tmp/sluice-peers}/run/postfix-2531/etc" -h queue_directory)

S="--target sluice-sink:2527:$SINK_PID --target smtp-sink:2530:$SINK_PEER_PID"
V="--target sluice-serve:2525:$SERVE_PID --target postfix:2531:$PF_PID:$QD"
ALL="sink-1k-reuse:50:1024:reuse:50000:S sink-64k-reuse:50:65536:reuse:10000:S serve-1k-reuse:50:1024:reuse:6000:V
serve-64k-reuse:50:65536:reuse:1500:V sink-1k-conn:50:1024:conn:10000:S serve-1k-conn:50:1024:conn:3000:V"
ARGS=()
for spec in $ALL; do
    name=${spec%%:*}
    if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $name "* ]]; then continue; fi
    for override in ${MESSAGES//,/ }; do
        if [ "${override%%=*}" = "$name" ]; then
            IFS=: read -r n c s m _ t <<< "$spec"; spec="$n:$c:$s:$m:${override#*=}:$t"
        fi
    done
    # shellcheck disable=SC2206
    [ "${spec##*:}" = S ] && targets=($S) || targets=($V)
    ARGS+=(--scenario "${spec%:*}" "${targets[@]}")
done
python3 "$HERE/e2e.py" --out "$OUT" --reps "$REPS" --timeout "${TIMEOUT:-150}" --warmup "${WARMUP:-0}" "${ARGS[@]}"
