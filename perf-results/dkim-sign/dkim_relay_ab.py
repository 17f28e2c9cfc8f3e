#!/usr/bin/env python3
# DKIM relay A/B (perf-results/2026-11-29-dkim-sign.md): sink <- relay (A: no dkim, B: dkim rsa-2048) <- sluice load,
# interleaved A B A B A B A B (the first pair is warm-up). Usage: python3 dkim_relay_ab.py [MESSAGES]. Ports 3700-3704.
import json, os, subprocess, sys, time, urllib.request, signal, statistics
SL = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'sluice')
env = dict(os.environ, SLUICE_NO_BUILD='1')
D = os.environ.get('DKIM_AB_DIR', '/tmp/dkim-e2e')  # holds rsa.pem (openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048)
N = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
procs = []
def start(args, log):
    p = subprocess.Popen([SL] + args, stdout=open(log, 'w'), stderr=subprocess.STDOUT, env=env, start_new_session=True)
    procs.append(p); return p
def sink_count():
    try:
        t = urllib.request.urlopen('http://127.0.0.1:3701/metrics', timeout=2).read().decode()
    except Exception:
        return -1
    for l in t.splitlines():
        if l.startswith('sluice_messages_accepted_total'):
            return float(l.split()[-1])
    return 0
def cpu(pid):
    tot = 0
    # the JVM's process (threads included); ./sluice execs java so the pid is the JVM
    f = open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf('SC_CLK_TCK')
def wait_port(port):
    import socket
    for _ in range(600):
        try:
            socket.create_connection(('127.0.0.1', port), 1).close(); return
        except OSError:
            time.sleep(0.1)
    raise SystemExit('port %d never opened' % port)
try:
    start(['sink', '--set', 'listen=127.0.0.1:3700', '--set', 'metrics.listen=127.0.0.1:3701'], D + '/sink.log')
    common = ['--set', 'transport.*=smtp:[127.0.0.1]:3700', '--set', 'tls.level=none', '--set', 'tls.client.level=none',
              '--set', 'hostname=relay.test']
    A = start(['serve', '--set', 'listen=127.0.0.1:3702', '--set', 'spool.dir=' + D + '/spoolA'] + common, D + '/A.log')
    B = start(['serve', '--set', 'listen=127.0.0.1:3704', '--set', 'spool.dir=' + D + '/spoolB',
               '--set', 'dkim.sender.example.selector=s1', '--set', 'dkim.sender.example.key=' + D + '/rsa.pem'] + common, D + '/B.log')
    for port in (3700, 3702, 3704):
        wait_port(port)
    rows = []
    order = [('A', A, 3702), ('B', B, 3704)] * 4   # first pair = warm-up
    for i, (name, p, port) in enumerate(order):
        base = sink_count(); c0 = cpu(p.pid); t0 = time.time()
        out = subprocess.run([SL, 'load', '--target', '127.0.0.1:%d' % port, '--connections', '20', '--messages', str(N),
                              '--size', '1KiB', '--pipelining', 'on', '--json', D + '/load-%d-%s.json' % (i, name)],
                             env=env, capture_output=True, text=True)
        while sink_count() < base + N:
            if time.time() - t0 > 300: raise SystemExit('sink never got them: %s' % out.stderr[-2000:])
            time.sleep(0.05)
        t1 = time.time(); c1 = cpu(p.pid)
        la = open('/proc/loadavg').read().split()[0]
        rows.append((name, i, N / (t1 - t0), (c1 - c0), N / (c1 - c0), la))
        print('%s run %d: %.0f msg/s e2e, relay CPU %.1f s, %.0f msg per relay CPU-s, load %s' % rows[-1], flush=True)
    for name in 'AB':
        r = [x for x in rows if x[0] == name and x[1] >= 2]
        print('%s median: %.0f msg/s e2e, %.0f msg per relay CPU-s (n=%d)' % (name, statistics.median(x[2] for x in r),
              statistics.median(x[4] for x in r), len(r)))
finally:
    for p in procs:
        try: os.killpg(p.pid, signal.SIGTERM)
        except Exception: pass
    for p in procs:
        try: p.wait(20)
        except Exception:
            os.killpg(p.pid, signal.SIGKILL)
