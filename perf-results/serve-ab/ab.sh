#!/usr/bin/env bash
# ab.sh - `sluice serve` of two builds against each other, smtp-source pairs back to back.
#
#   perf-results/serve-ab/ab.sh BASE_CHECKOUT AFTER_CHECKOUT SPOOL_PREFIX
#
# Each checkout's last build runs (SLUICE_NO_BUILD=1) as its own serve process, port and spool
# (BASE on 127.0.0.1:3601, AFTER on 3602; tls.level=none, log.level=info, transport.*=discard).
# env: SIZES       message sizes in octets (default "65536 1024"; 40,000 messages a run at 64 KiB
#                  after a 60,000 warm-up, else 100,000 after 200,000)
#      AFTER_FIRST 1 runs AFTER first in each pair (default 0: BASE first): at 64 KiB the first
#                  of a pair is favoured while the disk still flushes, so run both orders.
set -u
BASE=${1:?usage: ab.sh BASE_CHECKOUT AFTER_CHECKOUT SPOOL_PREFIX}; AFTER=${2:?}; SP=${3:?}
SIZES=${SIZES:-65536 1024}; AFTER_FIRST=${AFTER_FIRST:-0}
start() { rm -rf $3; ( cd $1 && SLUICE_NO_BUILD=1 exec setsid bash -c "exec ./sluice serve --set listen=127.0.0.1:$2 --set spool.dir=$3 --set tls.level=none --set log.level=info --set 'transport.*=discard'" ) > $3.log 2>&1 < /dev/null & echo $!; }
A=$(start $BASE 3601 ${SP}A); B=$(start $AFTER 3602 ${SP}B)
for i in $(seq 1 60); do ss -Hltn "sport = :3601" | grep -q . && ss -Hltn "sport = :3602" | grep -q . && break; sleep 1; done
run() { local s=$(date +%s.%N); smtp-source -d -s 50 -m $2 -l $3 127.0.0.1:$1; local e=$(date +%s.%N); python3 -c "print(f'{$2/($e-$s):.0f}')"; }
pair() {  # SIZE COUNT -> "base after"
  local a b
  if [ "$AFTER_FIRST" = 1 ]; then b=$(run 3602 $2 $1); a=$(run 3601 $2 $1); else a=$(run 3601 $2 $1); b=$(run 3602 $2 $1); fi
  echo "$a $b"
}
for L in $SIZES; do
  M=$([ $L = 65536 ] && echo 40000 || echo 100000)
  W=$([ $L = 65536 ] && echo 60000 || echo 200000)
  pair $L $W >/dev/null   # warm-up
  for r in 1 2 3; do read -r a b < <(pair $L $M); echo "size=$L rep=$r base=$a after=$b ratio=$(python3 -c "print(f'{$b/$a:.3f}')")"; done
done
kill $A $B
