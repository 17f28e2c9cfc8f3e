#!/usr/bin/env bash
# ab.sh MSGS ROUNDS label:port:metricsport:pidfile ...
MSGS=$1; ROUNDS=$2; shift 2
metric() { curl -s 127.0.0.1:$1/metrics | awk -v k="$2" '$1==k {print $2}'; }
for r in $(seq $ROUNDS); do
  for t in "$@"; do
    IFS=: read -r label port mport pidf <<< "$t"; pid=$(cat $pidf)
    c0=$(awk '{print $14+$15}' /proc/$pid/stat); b0=$(metric $mport sluice_spool_commit_batch_size_count); f0=$(metric $mport sluice_spool_fsync_duration_seconds_sum)
    t0=$(date +%s.%N); smtp-source -d -s 50 -m $MSGS -l 65536 -f a@example.com -t b@example.com 127.0.0.1:$port; t1=$(date +%s.%N)
    c1=$(awk '{print $14+$15}' /proc/$pid/stat); b1=$(metric $mport sluice_spool_commit_batch_size_count); f1=$(metric $mport sluice_spool_fsync_duration_seconds_sum)
    python3 -c "
w=$t1-$t0; cpu=($c1-$c0)/100; b=$b1-$b0; f=$f1-$f0
print(f'$label r$r: {$MSGS/w:7.0f} msg/s  cpu {cpu:5.2f}s = {1000*cpu/$MSGS:.3f} ms/msg  batches {b:.0f} (avg {$MSGS/max(b,1):.1f})  fsync {f:.2f}s of {w:.2f}s wall  load $(cut -d' ' -f1 /proc/loadavg)')"
  done
done
