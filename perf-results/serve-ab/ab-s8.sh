#!/usr/bin/env bash
# ab.sh: serve base (b09046e, session 7 end) vs after (session 8 merges), each on its own port and spool, smtp-source interleaved
set -u
start() { rm -rf $3; ( cd $1 && SLUICE_NO_BUILD=1 exec setsid bash -c "exec ./sluice serve --set listen=127.0.0.1:$2 --set spool.dir=$3 --set tls.level=none --set log.level=info --set 'transport.*=discard'" ) > $3.log 2>&1 < /dev/null & echo $!; }
A=$(start /tmp/s8/b 3601 /tmp/s8/spA); B=$(start /tmp/s8/after 3602 /tmp/s8/spB)
for i in $(seq 1 60); do ss -Hltn "sport = :3601" | grep -q . && ss -Hltn "sport = :3602" | grep -q . && break; sleep 1; done
run() { local s=$(date +%s.%N); smtp-source -d -s 50 -m $2 -l $3 127.0.0.1:$1; local e=$(date +%s.%N); python3 -c "print(f'{$2/($e-$s):.0f}')"; }
for L in 65536 1024; do
  M=$([ $L = 65536 ] && echo 40000 || echo 100000)
  W=$([ $L = 65536 ] && echo 60000 || echo 200000)
  run 3601 $W $L >/dev/null; run 3602 $W $L >/dev/null   # warm-up
  for r in 1 2 3; do a=$(run 3601 $M $L); b=$(run 3602 $M $L); echo "size=$L rep=$r base=$a after=$b ratio=$(python3 -c "print(f'{$b/$a:.3f}')")"; done
done
kill $A $B
