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
    ('starttls-1k-reuse', 'STARTTLS (TLS 1.3), 1 KiB, 100 per connection, 20 connections, 10000 msgs'),
    ('starttls-64k-reuse', 'STARTTLS (TLS 1.3), 64 KiB, 100 per connection, 20 connections, 3000 msgs'),
    ('starttls-1k-conn', 'STARTTLS (TLS 1.3, full handshakes), one 1 KiB message per connection, 10 conns, 2000'),
    ('starttls-64k-conn', 'STARTTLS (TLS 1.3, full handshakes), one 64 KiB message per connection, 10 conns, 1000'),
    ('starttls-handshake', 'handshake-only: connect, EHLO, STARTTLS, handshake, QUIT; 10 conns, 3000 sessions')]) + """
  --messages N    override every scenario's message (session) count (smoke runs)
  --duration S    run every measured run for S seconds instead of a message count (warm-ups S/3):
                  bounded time whatever the server's speed (bench/run-all.sh uses this)
  --reps N        measured rounds per scenario (default 3; medians need 3)
  --sweep S:N,..  also run scenario S at each of these connection counts (tags family=S sweep=1,
                  scenario S-<N>c): the throughput-vs-connections plots; servers interleaved as usual
  --smtp-source   on the plaintext scenarios, also drive every server with Postfix's smtp-source in
                  the same interleaved rounds (scenario "<S> via smtp-source", -m = the message count,
                  or with --duration the server's last sluice-load rate x S): is our generator the
                  bottleneck?
  --idle N        before the scenarios: hold N idle connections on every server (perf-results/
                  idle_conns.py, scenario idle-<N>), REPS times, RSS bytes per connection. smtp-sink
                  is capped at 1000 (peers.sh starts it with -m 1024); Postfix smtpd (a process per
                  connection, process limit 100) is left out
  --load-warmup S each measured sluice load run first runs S seconds unmeasured (--warmup): a fresh
                  generator JVM is not yet compiled, and that should not count against it
  --plan          print the number of runs and a time estimate (--overhead S per run, default 1.5)
                  and exit; bench/run-all.sh prints it first
  --quick         tag every result quick=1: make-table and the plots leave such runs out unless
                  --include-quick (bench/run-all.sh --quick, into a scratch folder)

Servers (all on 127.0.0.1; peers via /work/shared/peers.sh, Sluice from this checkout):
  sluice-sink :2761  ./sluice sink, STARTTLS with the peers' RSA-2048 certificate (same as Postfix/Haraka)
  smtp-sink   :2762  Postfix smtp-sink (no TLS: skipped in the TLS scenarios)
  postfix     :2763  Postfix smtpd with its real queue, discard(8) delivery; each run waits for the
                     queue to drain and counts that CPU too ("cpu_after_drain" in the JSON)
  haraka      :2764  Haraka, tls plugin, queue/discard

Per scenario: one warm-up run per server (tagged warmup=1, not counted), then REPS rounds, the
server order rotated every round. Each run is
  sluice load --target 127.0.0.1:PORT ... --server-pid PID --json F --hgrm F.hgrm
              --tag scenario=S --tag server=V --tag rep=R
and matrix.py adds "cpu_after_drain" (server process tree CPU from /proc, before the run to after
the drain) to F. Everything started is stopped at the end (Sluice by PID, peers by peers.sh stop PORT).
"""
__doc__ = DOC
import argparse, json, os, resource, signal, subprocess, sys, time  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import e2e  # noqa: E402
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
    'starttls-1k-reuse': dict(size='1KiB', mpc=100, conns=20, n=10000, tls='starttls'),
    'starttls-64k-reuse': dict(size='64KiB', mpc=100, conns=20, n=3000, tls='starttls'),
    'starttls-1k-conn': dict(size='1KiB', mpc=1, conns=10, n=2000, tls='starttls'),
    'starttls-64k-conn': dict(size='64KiB', mpc=1, conns=10, n=1000, tls='starttls'),
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
                # limits raised for the idle-connections scenario (the defaults would refuse 10,000 from one IP)
                self.sluice = subprocess.Popen(
                    [SLUICE, 'sink', '--report', '0', '--set', f'listen=127.0.0.1:{port}', '--set', 'log.level=warn',
                     '--set', 'limits.connections=20000', '--set', 'limits.connections_per_ip=20000',
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
        # a second TERM/INT (run-all.sh's trap after a Ctrl-C) must not cut this cleanup short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
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


class Plan:
    """How every run is shaped: counts or a duration, threads, extra tags (quick=1)."""

    def __init__(self, a):
        self.messages, self.duration, self.threads, self.quick = a.messages, a.duration, a.threads, a.quick
        self.load_warmup = a.load_warmup
        self.last_rate = {}  # (scenario, server) -> the last sluice load rate: sizes smtp-source's -m

    def tags(self):
        return ['--tag', 'quick=1'] if self.quick else []


def finish_json(path, cmd, result, cpu, drain, wall, extra=None):
    result['command'] = ' '.join(cmd)
    result['cpu_after_drain'] = {
        'server_cpu_s': round(cpu, 3), 'drain_s': round(drain, 3), 'wall_with_generator_start_s': round(wall, 3),
        'messages_per_server_cpu_s': round(result['totals']['messages_ok'] / cpu, 1) if cpu > 0 else None,
        'sessions_per_server_cpu_s': round(result['totals']['sessions_ok'] / cpu, 1) if cpu > 0 else None}
    result.update(extra or {})
    with open(path, 'w') as fh:
        json.dump(result, fh, indent=2)


def wait_drain(server):
    """Postfix queues what it accepted: wait until discard(8) has delivered it all (its CPU counts too)."""
    if server != 'postfix':
        return 0.0
    td = time.monotonic()
    while queue_len(postfix_queue()) > 0 and time.monotonic() - td < 180:
        time.sleep(0.05)
    return time.monotonic() - td


def one_run(server, pid, scenario, spec, rep, out, plan, sweep_of=None):
    port = PORTS[server]
    tag = 'warmup' if rep is None else str(rep)
    path = os.path.join(out, f'{scenario}-{server}-{tag}.json')
    cmd = [SLUICE, 'load', '--target', f'127.0.0.1:{port}', '--connections', str(spec['conns']),
           '--messages-per-connection', str(spec['mpc']), '--size', spec['size'],
           '--tls', spec['tls'], '--server-pid', str(pid), '--json', path, '--hgrm', path[:-5] + '.hgrm', '--quiet',
           '--tag', f'scenario={scenario}', '--tag', f'server={server}', '--tag', f'rep={tag}'] + plan.tags()
    if plan.duration:
        cmd += ['--duration', f'{max(1.0, plan.duration / 3) if rep is None else plan.duration:g}s']
    else:
        n = plan.messages or spec['n']
        cmd += ['--messages', str(max(200, n // 5) if rep is None else n)]
    if plan.load_warmup and rep is not None:
        cmd += ['--warmup', f'{plan.load_warmup:g}s']
    if spec['tls'] != 'none':
        cmd += ['--protocol', 'TLSv1.3', '--resume', 'off']
    if spec.get('handshake'):
        cmd.append('--handshake-only')
    if rep is None:
        cmd += ['--tag', 'warmup=1']
    if sweep_of:
        cmd += ['--tag', f'family={sweep_of}', '--tag', 'sweep=1']
    if plan.threads:
        cmd += ['--threads', str(plan.threads)]
    c0 = tree_cpu(pid)
    t0 = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wall = time.monotonic() - t0
    drain = wait_drain(server)
    cpu = tree_cpu(pid) - c0
    if not os.path.exists(path):
        log(f'{scenario} {server} rep {tag}: no result (rc {p.returncode}): {p.stdout[-500:]}')
        return
    result = json.load(open(path))
    finish_json(path, cmd, result, cpu, drain, wall)
    ok = result['totals']['sessions_ok'] if spec.get('handshake') else result['totals']['messages_ok']
    rate = result['rates']['sessions_per_s' if spec.get('handshake') else 'messages_per_s']
    plan.last_rate[(scenario, server)] = rate
    log(f"{scenario} {server} rep {tag}: {ok} ok, {rate:.0f}/s wall, server cpu {cpu:.2f}s (drain {drain:.1f}s), "
        f"wall {wall:.1f}s, exit {result['exit_status']}")


def smtp_source_run(server, pid, scenario, spec, rep, out, plan, machine_info):
    """The same scenario driven by Postfix's smtp-source (e2e.py's accounting), as a raw file make-table reads."""
    if plan.duration:
        n = int(min(200000, max(100, plan.last_rate.get((scenario, server), 1000) * plan.duration)))
    else:
        n = plan.messages or spec['n']
    size = {'1KiB': 1024, '64KiB': 65536}[spec['size']]
    mode = 'reuse' if spec['mpc'] > 1 else 'conn'
    target = dict(label=server, port=PORTS[server], pid=pid, queue=postfix_queue() if server == 'postfix' else None)
    r = e2e.one_run(target, spec['conns'], size, mode, n, timeout=max(150, 10 * (plan.duration or 15)))
    label = f'{scenario} via smtp-source'
    path = os.path.join(out, f'{scenario}-smtp-source-{server}-{rep}.json')
    cmd = [e2e.SMTP_SOURCE, '-s', str(spec['conns']), '-m', str(n), '-l', str(size), '-f', 'a@example.com',
           '-t', 'b@example.com', '-M', 'gen.example.test'] + (['-d'] if mode == 'reuse' else []) + [f"127.0.0.1:{PORTS[server]}"]
    tags = {'scenario': label, 'server': server, 'rep': str(rep), 'generator': 'smtp-source'}
    if plan.quick:
        tags['quick'] = '1'
    result = {'tool': 'smtp-source', 'finished_at': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
              'command': ' '.join(cmd), 'tags': tags, 'machine': machine_info,
              'options': {'target': f"127.0.0.1:{PORTS[server]}", 'connections': spec['conns'], 'messages': n,
                          'size': size, 'mode': mode, 'handshake_only': False},
              'rates': {'messages_per_s': r['rate']},
              'cpu_after_drain': {'server_cpu_s': r['srv_cpu_s'], 'drain_s': r['drain_s'],
                                  'messages_per_server_cpu_s': r['msgs_per_srv_cpu_s']},
              'generator_cpu_s': r['gen_cpu_s'], 'e2e': r, 'exit_status': 0 if r['rc'] == 0 else 1}
    with open(path, 'w') as fh:
        json.dump(result, fh, indent=2)
    log(f"{label} {server} rep {rep}: m={n} rc={r['rc']} {r['rate']}/s, server cpu {r['srv_cpu_s']}s, "
        f"smtp-source cpu {r['gen_cpu_s']}s {r['err']}")


IDLE_CAP = {'smtp-sink': 1000}  # peers.sh runs smtp-sink with -m 1024 (at most 1024 sessions at once)


def idle_run(server, pid, wanted, rep, out, plan, machine_info):
    n = min(wanted, IDLE_CAP.get(server, wanted))
    settle = '1' if plan.quick else '3'
    cmd = [sys.executable, os.path.join(HERE, 'idle_conns.py'), str(PORTS[server]), str(pid), str(n), settle, '120']
    p = subprocess.run(cmd, capture_output=True, text=True)
    path = os.path.join(out, f'idle-{server}-{rep}.json')
    tags = {'scenario': f'idle-{wanted} (RSS per connection)', 'server': server, 'rep': str(rep)}
    if plan.quick:
        tags['quick'] = '1'
    rss = None
    if p.returncode == 0:
        rss = json.loads(p.stdout.strip().splitlines()[-1])
    result = {'tool': 'idle_conns.py', 'finished_at': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
              'command': ' '.join(cmd[1:]), 'tags': tags, 'machine': machine_info,
              'options': {'target': f"127.0.0.1:{PORTS[server]}", 'connections': n, 'handshake_only': False},
              'rss': rss, 'exit_status': p.returncode, 'stderr': p.stderr[-500:]}
    with open(path, 'w') as fh:
        json.dump(result, fh, indent=2)
    if rss:
        log(f"idle {server} rep {rep}: {n} connections, {rss['bytes_per_conn']} B/conn "
            f"(RSS {rss['rss_before_kib']} -> {rss['rss_held_kib']} KiB)")
    else:
        log(f'idle {server} rep {rep}: failed (rc {p.returncode}): {p.stderr[-300:]}')


def machine():
    cpu = next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), '?')
    jdk = subprocess.run(['java', '-version'], capture_output=True, text=True).stderr.strip().splitlines()
    return {'nproc': os.cpu_count(), 'cpu_model': cpu, 'jdk': ' / '.join(jdk),
            'os': ' '.join(os.uname()[i] for i in (0, 2, 4))}


def raise_nofile():
    """Children (servers started here, idle_conns.py) inherit this: 10,000 idle connections need the fds."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 65536) if hard != resource.RLIM_INFINITY else 65536
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def rounds(targets, reps):
    """Rep numbers and server order per round: the order rotates so drift hits every server alike."""
    for rep in range(reps):
        yield rep, targets[rep % len(targets):] + targets[:rep % len(targets)]


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


def plan_text(a, servers, scenarios, sweeps, overhead_s):
    """How many runs the arguments make and roughly how long they take (no server is started)."""
    d = a.duration or 0
    warm = measured = source = 0
    for scenario in scenarios:
        spec = SCENARIOS[scenario]
        n = len([s for s in servers if spec['tls'] == 'none' or s in TLS_CAPABLE])
        warm += n
        measured += n * a.reps
        if a.smtp_source and spec['tls'] == 'none':
            source += n * a.reps
    for family, counts in sweeps:
        base = SCENARIOS[family]
        measured += len(counts) * a.reps * len([s for s in servers if base['tls'] == 'none' or s in TLS_CAPABLE])
    idle = a.reps * len([s for s in servers if s != 'postfix']) if a.idle else 0
    est = (measured * (d + a.load_warmup + overhead_s) + warm * (max(1.0, d / 3) + overhead_s)
           + source * (d + 0.3) + idle * 15 + 30)
    if 'postfix' in servers:  # Postfix's queue drains after each of its runs: ~2 s at these run lengths
        est += 2 * (warm + measured + source) / len(servers)
    return (f'plan: {warm} warm-up + {measured} measured sluice load runs, {source} smtp-source runs, {idle} idle runs; '
            f'about {est / 60:.0f} min with --duration {d:g} and {overhead_s:g} s start-up per sluice load run'
            + ('' if d else ' (message counts: the duration depends on each server\'s speed)'))


def parse_sweeps(values):
    sweeps = []
    for v in values or []:
        name, _, counts = v.partition(':')
        if name not in SCENARIOS or not counts:
            raise SystemExit(f'--sweep {v}: want SCENARIO:N,N,... with a known scenario')
        sweeps.append((name, [int(c) for c in counts.split(',') if c]))
    return sweeps


def main():
    ap = argparse.ArgumentParser(description=DOC, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', required=True)
    ap.add_argument('--name', default=time.strftime('%Y-%m-%d', time.gmtime()) + '-matrix')
    ap.add_argument('--servers', default=','.join(PORTS))
    ap.add_argument('--scenarios', default=','.join(SCENARIOS))
    ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--messages', type=int)
    ap.add_argument('--duration', type=float, help='seconds per measured run instead of a message count')
    ap.add_argument('--threads', type=int, help='generator event loops (default: cores)')
    ap.add_argument('--sweep', action='append', help='SCENARIO:N,N,...: extra connection counts (repeatable)')
    ap.add_argument('--smtp-source', action='store_true', help='also drive the plaintext scenarios with smtp-source')
    ap.add_argument('--idle', type=int, default=0, help='idle connections to hold per server (0: skip)')
    ap.add_argument('--quick', action='store_true', help='tag every result quick=1 (not a measurement)')
    ap.add_argument('--plan', action='store_true', help='print the number of runs and a time estimate, run nothing')
    ap.add_argument('--overhead', type=float, default=1.5,
                    help='seconds of generator JVM start-up and bookkeeping per run, for --plan (default 1.5)')
    ap.add_argument('--load-warmup', type=float, default=0,
                    help="seconds of each measured run's own unmeasured warm-up (sluice load --warmup): the fresh "
                         "generator JVM's JIT warm-up stays out of the numbers")
    a = ap.parse_args()
    servers = [s for s in a.servers.split(',') if s]
    scenarios = [s for s in a.scenarios.split(',') if s]
    for s in servers:
        if s not in PORTS:
            ap.error(f'unknown server {s}')
    for s in scenarios:
        if s not in SCENARIOS:
            ap.error(f'unknown scenario {s}')
    sweeps = parse_sweeps(a.sweep)
    if a.plan:
        print(plan_text(a, servers, scenarios, sweeps, a.overhead))
        return
    out = os.path.join(a.out, 'raw', a.name)
    os.makedirs(out, exist_ok=True)
    manifest(out, a, servers)
    plan = Plan(a)
    machine_info = machine()
    raise_nofile()
    running = Servers(servers)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        running.start()
        if a.idle:  # first, on fresh servers: after load, a JVM's grown heap would hide what connections cost
            targets = [s for s in servers if s != 'postfix']
            for rep, order in rounds(targets, a.reps):
                for s in order:
                    idle_run(s, running.pids[s], a.idle, rep, out, plan, machine_info)
        for scenario in scenarios:
            spec = SCENARIOS[scenario]
            targets = [s for s in servers if spec['tls'] == 'none' or s in TLS_CAPABLE]
            for s in targets:
                one_run(s, running.pids[s], scenario, spec, None, out, plan)
            for rep, order in rounds(targets, a.reps):
                for s in order:
                    one_run(s, running.pids[s], scenario, spec, rep, out, plan)
                    if a.smtp_source and spec['tls'] == 'none':
                        smtp_source_run(s, running.pids[s], scenario, spec, rep, out, plan, machine_info)
        for family, counts in sweeps:
            base = SCENARIOS[family]
            targets = [s for s in servers if base['tls'] == 'none' or s in TLS_CAPABLE]
            for conns in counts:
                spec = dict(base, conns=conns)
                for rep, order in rounds(targets, a.reps):
                    for s in order:
                        one_run(s, running.pids[s], f'{family}-{conns}c', spec, rep, out, plan, sweep_of=family)
    finally:
        running.stop()
    log(f'raw results in {out}; tables: perf-results/make-table (only for runs under perf-results/raw)')


if __name__ == '__main__':
    main()
