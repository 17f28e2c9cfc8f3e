#!/usr/bin/env bash
# start-serve.sh ROOT PORT SPOOL LOG [extra --set ...] -> prints PID
ROOT=$1; PORT=$2; SPOOL=$3; LOG=$4; shift 4
rm -rf "$SPOOL"
SLUICE_JAVA_OPTS="${SLUICE_JAVA_OPTS:-}" setsid bash -c 'exec "$@"' _ "$ROOT/sluice" serve --set listen=127.0.0.1:$PORT \
    --set spool.dir="$SPOOL" --set tls.level=none --set log.level=warn --set 'transport.*=discard' "$@" > "$LOG" 2>&1 < /dev/null &
echo $!
