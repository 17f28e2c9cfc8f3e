#!/usr/bin/env python3
"""tls_e2e.py - STARTTLS sessions per server CPU-second, Sluice vs Postfix, same certificate.

Usage (from the repository root, with ../shared/peers.sh beside the checkout):
  perf-results/tls_e2e.py --out PREFIX [--reps 3] [--sessions 2000] [--connections 10]

Starts `sluice sink` (2 loops) twice -- once with its own ECDSA P-256 self-signed certificate,
once with the RSA-2048 certificate peers.sh made for Postfix -- and Postfix smtpd (peers.sh
start-postfix, STARTTLS with that RSA certificate, real queue, discard delivery). For every
target, a 10,000-session warm-up (not counted), then REPS rounds interleaved (order rotated each round) of:
  sluice load --tls starttls --protocol TLSv1.3 --messages-per-connection 1 (connect, EHLO,
  STARTTLS, handshake, EHLO, one 1 KiB message, QUIT) with --resume off (full handshakes).
Server CPU = utime+stime of the server's process tree from /proc, before and after (Postfix:
after its queue drained). Writes PREFIX.json and prints a table of medians. Stops what it started.
"""
import argparse, json, os, statistics, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from e2e import tree_cpu  # noqa: E402  (same CPU accounting as the smtp-source runs)

ROOT = os.path.dirname(HERE)
PEERS = os.path.join(os.path.dirname(ROOT), 'shared', 'peers.sh')
PEERS_HOME = os.environ.get('PEERS_HOME', os.path.join(os.environ.get('TMPDIR', '/tmp'), 'sluice-peers'))


def wait_port(port, seconds=60):
    end = time.time() + seconds
    while time.time() < end:
        if subprocess.run(['bash', '-c', f'ss -Hltn "sport = :{port}" | grep -q .']).returncode == 0:
            return
        time.sleep(0.2)
    raise SystemExit(f'nothing listens on {port} after {seconds}s')


def start_sink(port, extra):
    args = [os.path.join(ROOT, 'sluice'), 'sink', '--report', '0', '--set', f'listen=127.0.0.1:{port}',
            '--set', 'reactor.threads=2', '--set', 'log.level=warn',
            '--set', f'spool.dir=/tmp/sluice-tls-e2e-{port}/spool'] + extra
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=open(f'/tmp/sluice-tls-e2e-{port}.log', 'w'))
    wait_port(port)
    return p.pid, p


def load(port, sessions, connections, out):
    cmd = [os.path.join(ROOT, 'sluice'), 'load', '--target', f'127.0.0.1:{port}', '--tls', 'starttls',
           '--protocol', 'TLSv1.3', '--resume', 'off', '--messages-per-connection', '1',
           '--connections', str(connections), '--messages', str(sessions), '--size', '1KiB', '--quiet',
           '--json', out]
    t0 = time.time()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wall = time.time() - t0
    result = json.load(open(out)) if os.path.exists(out) else {}
    return wall, r.returncode, result, r.stdout[-2000:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', required=True)
    ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--sessions', type=int, default=2000)
    ap.add_argument('--connections', type=int, default=10)
    a = ap.parse_args()

    subprocess.run(['bash', PEERS, 'start-postfix', '2651'], check=True)
    wait_port(2651)
    pf_pid = int(open(os.path.join(PEERS_HOME, 'run', 'pids', 'postfix-2651.pid')).readline())
    cert = os.path.join(PEERS_HOME, 'run', 'tls', 'cert.pem')
    key = os.path.join(PEERS_HOME, 'run', 'tls', 'key.pem')
    ec_pid, ec = start_sink(2652, [])
    rsa_pid, rsa = start_sink(2653, ['--set', f'tls.cert={cert}', '--set', f'tls.key={key}'])
    targets = [('sluice-sink-ecdsa', 2652, ec_pid), ('sluice-sink-rsa', 2653, rsa_pid), ('postfix-smtpd-rsa', 2651, pf_pid)]
    runs = []
    try:
        for t in targets:  # warm-up (JIT, caches), not counted
            load(t[1], 10000, a.connections, f'{a.out}-warmup-{t[0]}.json')  # the JIT needs ~10k sessions
        for rep in range(a.reps):
            order = targets[rep % len(targets):] + targets[:rep % len(targets)]
            for name, port, pid in order:
                c0 = tree_cpu(pid)
                wall, rc, result, tail = load(port, a.sessions, a.connections, f'{a.out}-{name}-{rep}.json')
                time.sleep(1.0)  # Postfix: let cleanup/qmgr/discard finish and be counted
                cpu = tree_cpu(pid) - c0
                ok = result.get('totals', {}).get('sessions_ok', result.get('sessions_ok'))
                runs.append({'target': name, 'rep': rep, 'wall_s': wall, 'server_cpu_s': cpu, 'rc': rc,
                             'sessions_ok': ok, 'load_tail': tail if rc else ''})
                print(f'{name:20s} rep {rep}: {a.sessions} sessions, wall {wall:.1f}s, server cpu {cpu:.2f}s, rc {rc}',
                      file=sys.stderr)
    finally:
        ec.terminate()
        rsa.terminate()
        subprocess.run(['bash', PEERS, 'stop', '2651'])
    summary = {}
    for name, _, _ in targets:
        rs = [r for r in runs if r['target'] == name]
        cpu = statistics.median(r['server_cpu_s'] for r in rs)
        wall = statistics.median(r['wall_s'] for r in rs)
        summary[name] = {'median_server_cpu_s': cpu, 'median_wall_s': wall,
                         'sessions_per_server_cpu_s': a.sessions / cpu if cpu else None,
                         'sessions_per_s_wall': a.sessions / wall}
    machine = {'nproc': os.cpu_count(), 'cpu': next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo')
                                                     if l.startswith('model name')), '?'),
               'jdk': subprocess.run(['java', '-version'], stderr=subprocess.PIPE, text=True).stderr.splitlines()[0],
               'loadavg': open('/proc/loadavg').read().strip(), 'date': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}
    json.dump({'machine': machine, 'args': vars(a), 'runs': runs, 'summary': summary}, open(a.out + '.json', 'w'), indent=2)
    print(f"{'target':20s} {'sessions/server-CPU-s':>22s} {'sessions/s wall':>16s}")
    for name, s in summary.items():
        print(f"{name:20s} {s['sessions_per_server_cpu_s']:22.0f} {s['sessions_per_s_wall']:16.0f}")


if __name__ == '__main__':
    main()
