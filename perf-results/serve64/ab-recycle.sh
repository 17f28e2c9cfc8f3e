#!/usr/bin/env bash
# ab.sh N ROUNDS : serve recycle=0 (port 3300) vs recycle=2 (port 3304), interleaved smtp-source runs
N=$1; R=$2
cd /work/main
export SLUICE_NO_BUILD=1
start() { perf-results/serve64/start-serve.sh /work/main $1 /tmp/rec/spool-$1 /tmp/rec/serve-$1.log --set metrics.listen=127.0.0.1:$(($1+1)) --set spool.recycle_segments=$2; }
P0=$(start 3300 0); P2=$(start 3304 2)
for p in 3300 3304; do for i in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/$p) 2>/dev/null && break; sleep 0.2; done; done
for p in 3300 3304; do smtp-source -d -s 50 -m 20000 -l 65536 -f a@example.com -t b@example.com 127.0.0.1:$p; done
m() { curl -s 127.0.0.1:$(($1+1))/metrics | awk -v k="$2" '$1==k {print $2}'; }
for r in $(seq 1 $R); do
  for pp in "3300 $P0 off" "3304 $P2 on"; do
    set -- $pp; port=$1; pid=$2; lab=$3
    f0=$(m $port sluice_spool_fsync_duration_seconds_sum); n0=$(m $port sluice_spool_fsync_duration_seconds_count)
    c0=$(awk '{print $14+$15}' /proc/$pid/stat); t0=$(date +%s.%N)
    smtp-source -d -s 50 -m $N -l 65536 -f a@example.com -t b@example.com 127.0.0.1:$port
    t1=$(date +%s.%N); c1=$(awk '{print $14+$15}' /proc/$pid/stat)
    f1=$(m $port sluice_spool_fsync_duration_seconds_sum); n1=$(m $port sluice_spool_fsync_duration_seconds_count)
    python3 -c "w=$t1-$t0; c=($c1-$c0)/100; rounds=$n1-$n0; print(f'$lab r$r {$N/w:.0f} msg/s cpu {c/$N*1e6:.0f} us/msg batch {$N/rounds:.1f} fsync {($f1-$f0)/rounds*1e3:.2f} ms/round busy {($f1-$f0)/w*100:.0f}% load $(cut -d' ' -f1 /proc/loadavg)')"
  done
done
ls /tmp/rec/spool-3304/segments/ | head; grep -c . /dev/null
kill $P0 $P2
