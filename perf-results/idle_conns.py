#!/usr/bin/env python3
"""idle_conns.py - hold N idle plaintext SMTP connections and report the server's RSS per connection.

Usage: ulimit -n 65536; idle_conns.py PORT SERVER_PID N [SETTLE_S [TIMEOUT_S]]
Opens N connections to 127.0.0.1:PORT (non-blocking, a few hundred in flight at a time), waits
until every one has read its 220 greeting (at most TIMEOUT_S, default 300), lets the server settle
for SETTLE_S seconds, then reads VmRSS of SERVER_PID and of every process under it (forking and
cluster servers: Postfix, Haraka's workers) before and with the connections held, and after
closing them. Prints one JSON object.
"""
import json, os, selectors, socket, sys, time


def own_rss_kib(pid):
    try:
        for line in open(f'/proc/{pid}/status'):
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    except OSError:  # exited between listing and reading
        pass
    return 0


def rss_kib(root):
    """VmRSS of root and all its descendants (shared pages count once per process, as ps shows them)."""
    ppid = {}
    for d in os.listdir('/proc'):
        if d.isdigit():
            try:
                s = open(f'/proc/{d}/stat').read()
                ppid[int(d)] = int(s[s.rindex(')') + 2:].split()[1])
            except (OSError, ValueError):
                pass
    total = 0
    for p in ppid:
        q, hops = p, 0
        while q and hops < 64:
            if q == root:
                total += own_rss_kib(p)
                break
            q, hops = ppid.get(q, 0), hops + 1
    return total


def main():
    port, pid, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    settle = float(sys.argv[4]) if len(sys.argv) > 4 else 5.0
    timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 300.0
    time.sleep(settle)
    before = rss_kib(pid)
    sel = selectors.DefaultSelector()
    socks, greeted, opened, t0 = [], 0, 0, time.monotonic()
    in_flight = 0
    while greeted < n:
        while opened < n and in_flight < 500:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex(('127.0.0.1', port))
            sel.register(s, selectors.EVENT_READ, bytearray())
            socks.append(s)
            opened += 1
            in_flight += 1
        for key, _ in sel.select(timeout=5):
            try:
                data = key.fileobj.recv(512)
            except (BlockingIOError, InterruptedError):
                continue
            if not data:
                raise SystemExit(f'server closed a connection after {greeted} greetings')
            key.data.extend(data)
            if b'\r\n' in key.data:
                if not key.data.startswith(b'220'):
                    raise SystemExit(f'unexpected greeting {bytes(key.data)!r}')
                sel.unregister(key.fileobj)
                greeted += 1
                in_flight -= 1
        if time.monotonic() - t0 > timeout:
            raise SystemExit(f'timeout: {greeted}/{n} greeted')
    open_s = time.monotonic() - t0
    time.sleep(settle)
    held = [rss_kib(pid) for _ in range(3) if not time.sleep(1)]
    with_conns = max(held)
    for s in socks:
        s.close()
    time.sleep(settle)
    after = rss_kib(pid)
    print(json.dumps(dict(port=port, pid=pid, connections=n, open_s=round(open_s, 2),
                          rss_before_kib=before, rss_held_kib=with_conns, rss_held_samples_kib=held,
                          rss_after_close_kib=after,
                          bytes_per_conn=round((with_conns - before) * 1024 / n))))


if __name__ == '__main__':
    main()
