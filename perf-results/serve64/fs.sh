#!/usr/bin/env bash
# fs.sh PORT MPORT MSGS: disk.sh plus writer fsync-time share from metrics
P=$1; MP=$2; M=$3
get() { curl -s 127.0.0.1:$MP/metrics | awk '/^sluice_spool_fsync_duration_seconds_sum/{s=$2} /^sluice_spool_fsync_duration_seconds_count/{c=$2} END{print s, c}'; }
read s0 c0 < <(get); t0=$(date +%s.%N)
"$(dirname "$0")"/disk.sh $P $M 65536
read s1 c1 < <(get); t1=$(date +%s.%N)
python3 -c "print(f'   fsync_share={($s1-$s0)/($t1-$t0)*100:.0f}% rounds={$c1-$c0:.0f} msgs/round={$M/max(1,$c1-$c0):.1f}')"
