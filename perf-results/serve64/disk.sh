#!/usr/bin/env bash
# disk.sh PORT MSGS SIZE : run smtp-source against PORT, report vda write sectors, io_ticks, per message
set -euo pipefail
P=$1; M=$2; L=$3
read -r w0 t0 f0 < <(awk '$3=="vda"{print $10, $13, $19}' /proc/diskstats)
s=$(date +%s.%N)
timeout 900 smtp-source -d -s 50 -m $M -l $L 127.0.0.1:$P
e=$(date +%s.%N)
read -r w1 t1 f1 < <(awk '$3=="vda"{print $10, $13, $19}' /proc/diskstats)
python3 - <<PY
w=($w1-$w0)*512; t=$t1-$t0; el=$e-$s; m=$M
print(f"msgs={m} wall={el:.2f}s rate={m/el:.0f}/s disk_written={w/1e6:.1f}MB per_msg={w/m:.0f}B busy={t/1000/el*100:.0f}% flushes={$f1-$f0} MB/s={w/1e6/el:.0f}")
PY
