#!/usr/bin/env bash
# proxy-e2e/ab.sh: one `sluice serve` (spool on, transport.*=discard) with two listeners, A = plain smtp
# on :41200, B = smtp+proxy on :41201 (the generator sends a v2 header, or v1 with PROXY=v1); sluice load
# 1 KiB plaintext, 20 connections, 100 msgs/conn then 1 msg/conn, interleaved A B A B A B; server CPU
# per message from /proc (--server-pid). Usage: ab.sh OUTDIR [v1|v2]
set -u
OUT=${1:?outdir}; PROXY=${2:-v2}; ROOT=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$OUT"; rm -rf "$OUT/spool"
( cd "$OUT" && SLUICE_NO_BUILD=1 exec setsid "$ROOT/sluice" serve --set 'listen=127.0.0.1:41200 smtp, 127.0.0.1:41201 smtp+proxy' \
    --set spool.dir="$OUT/spool" --set tls.level=none --set log.level=info --set 'transport.*=discard' ) > "$OUT/serve.log" 2>&1 < /dev/null &
SERVER=$!
for i in $(seq 1 60); do ss -Hltn "sport = :41201" | grep -q . && break; sleep 1; done
# The JVM is java, a child of setsid/bash exec: SERVER is its pid (exec all the way).
load() { # port proxy mpc messages name
  SLUICE_NO_BUILD=1 nice -n 10 "$ROOT/sluice" load --target 127.0.0.1:$1 --proxy $2 --connections 20 \
    --messages-per-connection $3 --messages $4 --size 1KiB --server-pid $SERVER --quiet --json "$OUT/$5.json" > "$OUT/$5.txt" 2>&1
  python3 - "$OUT/$5.json" "$5" <<'PY'
import json,sys
r=json.load(open(sys.argv[1])); c=r.get("cpu",{}); t=r["totals"]
print(f'{sys.argv[2]} ok={t["messages_ok"]:.0f} errors={r.get("exit_status")} msg_s={r["rates"]["messages_per_s"]:.0f} server_cpu_ms_per_msg={c.get("server_cpu_ms_per_message")} msg_per_server_cpu_s={c.get("messages_per_server_cpu_s")}')
PY
}
for MPC in 100 1; do
  N=$([ $MPC = 100 ] && echo 40000 || echo 8000)
  load 41200 none $MPC $N warm-A-$MPC >/dev/null; load 41201 $PROXY $MPC $N warm-B-$MPC >/dev/null
  for r in 1 2 3; do
    echo "load=$(cut -d' ' -f1 /proc/loadavg)"; load 41200 none $MPC $N A-mpc$MPC-r$r; load 41201 $PROXY $MPC $N B-mpc$MPC-r$r
  done
done
kill $SERVER
