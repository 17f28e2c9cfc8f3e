#!/usr/bin/env python3
DOC = """matrix.py - the perf-results scenario matrix, `sluice load` as the one generator, Sluice and its
peers in the same run on this machine, targets interleaved run by run.

Usage (from anywhere; builds nothing: run ./sluice --version once first):
  perf-results/matrix.py --out DIR [--servers LIST] [--scenarios LIST] [--reps 3]
                         [--messages N] [--threads N] [--name RUN]

  --out DIR       raw files go to DIR/raw/RUN/ (RUN default: <UTC date>-matrix); a proper run uses
                  --out perf-results, then perf-results/make-table; smoke runs go elsewhere (/tmp)
  --servers       comma list of: sluice-sink, smtp-sink, postfix, haraka (default: all four)
  --scenarios     comma list (default: all):
""" + '\n'.join(f'                    {n:20s} {d}' for n, d in [
    ('1k-reuse', '1 KiB, 100 messages per connection, 20 connections, 30000 msgs'),
    ('64k-reuse', '64 KiB, 100 per connection, 20 connections, 5000 msgs'),
    ('1k-conn', '1 KiB, one message per connection, 20 connections, 5000 msgs'),
    ('64k-conn', '64 KiB, one message per connection, 20 connections, 2000 msgs'),
    ('starttls-1k-conn', 'STARTTLS (TLS 1.3, full handshakes), one 1 KiB message per connection, 10 conns, 2000'),
    ('starttls-handshake', 'handshake-only: connect, EHLO, STARTTLS, handshake, QUIT; 10 conns, 3000 sessions')]) + """
  --messages N    override every scenario's message (session) count (smoke runs)
  --reps N        measured rounds per scenario (default 3; medians need 3)

Servers (all on 127.0.0.1; peers via /work/shared/peers.sh, Sluice from this checkout):
  sluice-sink :2761  ./sluice sink, STARTTLS with the peers' RSA-2048 certificate (same as Postfix/Haraka)
  smtp-sink   :2762  Postfix smtp-sink (no TLS: skipped in the TLS scenarios)
  postfix     :2763  Postfix smtpd with its real queue, discard(8) delivery; each run waits for the
                     queue to drain and counts that CPU too ("cpu_after_drain" in the JSON)
  haraka      :2764  Haraka, tls plugin, queue/discard

Per scenario: one warm-up run per server (tagged warmup=1, not counted), then REPS rounds, the
server order rotated every round. Each run is
  sluice load --target 127.0.0.1:PORT ... --server-pid PID --json F --tag scenario=S --tag server=V --tag rep=R
and matrix.py adds "cpu_after_drain" (server process tree CPU from /proc, before the run to after
the drain) to F. Everything started is stopped at the end (Sluice by PID, peers by peers.sh stop PORT).
"""
__doc__ = DOC
import argparse, json, os, signal, subprocess, sys, time  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from e2e import tree_cpu, queue_len  # noqa: E402  (the same CPU accounting as the smtp-source runs)

ROOT = os.path.dirname(HERE)
SLUICE = os.path.join(ROOT, 'sluice')
PEERS = os.environ.get('PEERS', '/work/shared/peers.sh')
PEERS_HOME = os.environ.get('PEERS_HOME', os.path.join(os.environ.get('TMPDIR', '/tmp'), 'sluice-peers'))

PORTS = {'sluice-sink': 2761, 'smtp-sink': 2762, 'postfix': 2763, 'haraka': 2764}
TLS_CAPABLE = {'sluice-sink', 'postfix', 'haraka'}
SCENARIOS = {
    '1k-reuse': dict(size='1KiB', mpc=100, conns=20, n=30000, tls='none'),
    '64k-reuse': dict(size='64KiB', mpc=100, conns=20, n=5000, tls='none'),
    '1k-conn': dict(size='1KiB', mpc=1, conns=20, n=5000, tls='none'),
    '64k-conn': dict(size='64KiB', mpc=1, conns=20, n=2000, tls='none'),
    'starttls-1k-conn': dict(size='1KiB', mpc=1, conns=10, n=2000, tls='starttls'),
    'starttls-handshake': dict(size='1KiB', mpc=1, conns=10, n=3000, tls='starttls', handshake=True),
}


def log(text):
    print(f"{time.strftime('%T')} {text}", file=sys.stderr, flush=True)


def port_open(port):
    return subprocess.run(['bash', '-c', f'ss -Hltn "sport = :{port}" | grep -q .']).returncode == 0


def wait_port(port, seconds=90):
    end = time.time() + seconds
    while time.time() < end:
        if port_open(port):
            return
        time.sleep(0.2)
    raise SystemExit(f'nothing listens on {port} after {seconds}s')


def peer_pid(name, port):
    return int(open(os.path.join(PEERS_HOME, 'run', 'pids', f'{name}-{port}.pid')).readline())


class Servers:
    """Starts the chosen servers; stop() ends exactly what was started."""

    def __init__(self, names):
        self.names, self.pids, self.sluice, self.peer_ports = names, {}, None, []

    def start(self):
        for name in self.names:
            port = PORTS[name]
            if port_open(port):
                raise SystemExit(f'port {port} for {name} is taken')
            if name == 'sluice-sink':
                cert = os.path.join(PEERS_HOME, 'run', 'tls')
                self._ensure_cert()
                self.sluice = subprocess.Popen(
                    [SLUICE, 'sink', '--report', '0', '--set', f'listen=127.0.0.1:{port}', '--set', 'log.level=warn',
                     '--set', f'tls.cert={cert}/cert.pem', '--set', f'tls.key={cert}/key.pem'],
                    stdout=subprocess.DEVNULL, stderr=open(f'/tmp/matrix-sluice-sink-{port}.log', 'w'))
                wait_port(port)
                self.pids[name] = self.sluice.pid
            else:
                kind = {'smtp-sink': 'sink', 'postfix': 'postfix', 'haraka': 'haraka'}[name]
                self.peer_ports.append(port)
                subprocess.run(['bash', PEERS, f'start-{kind}', str(port)], check=True, stdout=sys.stderr)
                wait_port(port)
                self.pids[name] = peer_pid(kind, port)
            log(f'{name} pid {self.pids[name]} on 127.0.0.1:{port}')

    def _ensure_cert(self):
        tls = os.path.join(PEERS_HOME, 'run', 'tls')
        if not os.path.exists(os.path.join(tls, 'cert.pem')):
            os.makedirs(tls, exist_ok=True)
            subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-sha256', '-days', '825', '-nodes',
                            '-keyout', os.path.join(tls, 'key.pem'), '-out', os.path.join(tls, 'cert.pem'),
                            '-subj', '/CN=peer.example.test'], check=True, capture_output=True)

    def stop(self):
        if self.sluice is not None:
            self.sluice.terminate()
            try:
                self.sluice.wait(20)
            except subprocess.TimeoutExpired:
                self.sluice.kill()
        for port in self.peer_ports:
            subprocess.run(['bash', PEERS, 'stop', str(port)], stdout=sys.stderr, stderr=sys.stderr)


def postfix_queue():
    return os.path.join(PEERS_HOME, 'run', f"postfix-{PORTS['postfix']}", 'spool')


def one_run(server, pid, scenario, spec, n, rep, out, threads):
    port = PORTS[server]
    tag = 'warmup' if rep is None else str(rep)
    path = os.path.join(out, f'{scenario}-{server}-{tag}.json')
    cmd = [SLUICE, 'load', '--target', f'127.0.0.1:{port}', '--connections', str(spec['conns']),
           '--messages-per-connection', str(spec['mpc']), '--messages', str(n), '--size', spec['size'],
           '--tls', spec['tls'], '--server-pid', str(pid), '--json', path, '--quiet',
           '--tag', f'scenario={scenario}', '--tag', f'server={server}', '--tag', f'rep={tag}']
    if spec['tls'] != 'none':
        cmd += ['--protocol', 'TLSv1.3', '--resume', 'off']
    if spec.get('handshake'):
        cmd.append('--handshake-only')
    if rep is None:
        cmd += ['--tag', 'warmup=1']
    if threads:
        cmd += ['--threads', str(threads)]
    c0 = tree_cpu(pid)
    t0 = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wall = time.monotonic() - t0
    drain = 0.0
    if server == 'postfix':
        td = time.monotonic()
        while queue_len(postfix_queue()) > 0 and time.monotonic() - td < 180:
            time.sleep(0.05)
        drain = time.monotonic() - td
    cpu = tree_cpu(pid) - c0
    if not os.path.exists(path):
        log(f'{scenario} {server} rep {tag}: no result (rc {p.returncode}): {p.stdout[-500:]}')
        return
    result = json.load(open(path))
    ok = result['totals']['sessions_ok'] if spec.get('handshake') else result['totals']['messages_ok']
    result['cpu_after_drain'] = {
        'server_cpu_s': round(cpu, 3), 'drain_s': round(drain, 3), 'wall_with_generator_start_s': round(wall, 3),
        'messages_per_server_cpu_s': round(result['totals']['messages_ok'] / cpu, 1) if cpu > 0 else None,
        'sessions_per_server_cpu_s': round(result['totals']['sessions_ok'] / cpu, 1) if cpu > 0 else None}
    with open(path, 'w') as fh:
        json.dump(result, fh, indent=2)
    rate = result['rates']['sessions_per_s' if spec.get('handshake') else 'messages_per_s']
    log(f"{scenario} {server} rep {tag}: {ok} ok, {rate:.0f}/s wall, server cpu {cpu:.2f}s (drain {drain:.1f}s), "
        f"exit {result['exit_status']}")


def manifest(out, a, servers):
    def first_line(cmd):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
            return (r.stdout or r.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return '?'
    info = {'tool': 'matrix.py', 'date': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
            'commit': first_line(['git', '-C', ROOT, 'rev-parse', '--short', 'HEAD']),
            'args': vars(a), 'servers': {s: PORTS[s] for s in servers},
            'nproc': os.cpu_count(), 'loadavg_at_start': open('/proc/loadavg').read().strip(),
            'postfix': first_line(['postconf', '-h', 'mail_version'])}
    with open(os.path.join(out, 'run.json'), 'w') as fh:
        json.dump(info, fh, indent=2)


def main():
    ap = argparse.ArgumentParser(description=DOC, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', required=True)
    ap.add_argument('--name', default=time.strftime('%Y-%m-%d', time.gmtime()) + '-matrix')
    ap.add_argument('--servers', default=','.join(PORTS))
    ap.add_argument('--scenarios', default=','.join(SCENARIOS))
    ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--messages', type=int)
    ap.add_argument('--threads', type=int, help='generator event loops (default: cores)')
    a = ap.parse_args()
    servers = [s for s in a.servers.split(',') if s]
    scenarios = [s for s in a.scenarios.split(',') if s]
    for s in servers:
        if s not in PORTS:
            ap.error(f'unknown server {s}')
    for s in scenarios:
        if s not in SCENARIOS:
            ap.error(f'unknown scenario {s}')
    out = os.path.join(a.out, 'raw', a.name)
    os.makedirs(out, exist_ok=True)
    manifest(out, a, servers)
    running = Servers(servers)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        running.start()
        for scenario in scenarios:
            spec = SCENARIOS[scenario]
            targets = [s for s in servers if spec['tls'] == 'none' or s in TLS_CAPABLE]
            n = a.messages or spec['n']
            for s in targets:
                one_run(s, running.pids[s], scenario, spec, max(200, n // 5), None, out, a.threads)
            for rep in range(a.reps):
                order = targets[rep % len(targets):] + targets[:rep % len(targets)]
                for s in order:
                    one_run(s, running.pids[s], scenario, spec, n, rep, out, a.threads)
    finally:
        running.stop()
    log(f'raw results in {out}; tables: perf-results/make-table (only for runs under perf-results/raw)')


if __name__ == '__main__':
    main()
