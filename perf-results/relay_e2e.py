#!/usr/bin/env python3
DOC = """relay_e2e.py - relay throughput end to end (issue 4) and sink vs smtp-sink (issue 2). Stdlib only.

  perf-results/relay_e2e.py --out DIR [--sizes 1KiB,64KiB] [--reps 3] [--messages 20000]
                            [--messages-64k 4000] [--sink-bench] [--sink-messages 60000] [--name RUN]
                            [--tls none|starttls] [--quick] [--warmup-messages N]
                            [--port-base P] [--baseline CHECKOUT]

--quick tags every load result quick=1 and marks the summary "quick": make-table leaves both out
unless --include-quick (bench/run-all.sh --quick writes into a scratch folder).

RELAY (always): sluice load -> relay -> one common `sluice sink` (metrics.listen on, its
sluice_messages_accepted_total polled every 50 ms). Relays, interleaved run by run (order rotated):
  sluice-relay   ./sluice serve, durable spool (fsync), transport.* = smtp:[127.0.0.1]:SINK,
                 tls.level=none, tls.client.level=none, log.level=info (its default; Postfix logs
                 every message to its maillog too; before 2026-11-29 06:00 the relay ran at warn)
  postfix-relay  Postfix 3.7 via /work/shared/peers.sh start-postfix, then
                 relayhost=[127.0.0.1]:SINK, default_transport=relay_transport=smtp, reload
Generator: sluice load --connections 20 --messages N --size S --pipelining on --server-pid RELAY.
End-to-end time = the generator's own elapsed_s + (moment the sink count reached base+N - moment the
generator exited, clamped at 0); e2e rate = N / that. Relay CPU = its process tree (from /proc)
from just before the generator starts to the moment the sink has everything.
One warm-up run per relay per size (not counted), then REPS rounds.
--tls starttls: STARTTLS on both hops. The generator uses --tls starttls; the sink and the Sluice
relay offer STARTTLS with their self-signed certificates (tls.level=may) and the Sluice relay
delivers with tls.client.level=encrypt; Postfix offers STARTTLS (peers.sh) and relays with
smtp_tls_security_level = encrypt. Scenario names get a "-tls" suffix.

SINK (--sink-bench): sluice load --connections 50 --messages M --size 1KiB --pipelining on
--server-pid PID against the same `sluice sink` and Postfix `smtp-sink` (peers.sh start-sink),
warm-up + REPS interleaved rounds.

Ports 2650 (sink), 2651 (sink metrics), 2660 (sluice relay), 2670 (postfix relay), 2680 (smtp-sink);
with --port-base P: P, P+1, P+2, P+3, P+4 and P+5 for the baseline relay.

--baseline CHECKOUT: a second, built Sluice checkout (e.g. a copy of the tree before a change) whose
`sluice serve` relays too, as "sluice-base", with the same settings and the same generator and
sink, interleaved with the others run by run (before/after in one sitting).
Writes DIR/raw/RUN/*.json (the load JSONs + "relay_e2e" fields) and DIR/RUN.json (summary that
perf-results/make-table reads). Stops everything it started (by PID; peers via peers.sh stop PORT).
"""
__doc__ = DOC
import argparse, json, os, platform, shutil, signal, statistics, subprocess, sys, threading, time  # noqa: E402
import urllib.request  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True
from e2e import tree_cpu  # noqa: E402  (same /proc accounting as the other perf scripts)

ROOT = os.path.dirname(HERE)
SLUICE = os.path.join(ROOT, 'sluice')
PEERS = os.environ.get('PEERS', '/work/shared/peers.sh')
PEERS_HOME = os.environ.setdefault('PEERS_HOME', '/tmp/relay-peers')
SINK, SINK_METRICS, SLUICE_RELAY, POSTFIX_RELAY, SMTP_SINK, BASE_RELAY = 2650, 2651, 2660, 2670, 2680, 2690


def log(text):
    print(time.strftime('%H:%M:%S ') + text, file=sys.stderr, flush=True)


def port_open(port):
    import socket
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(('127.0.0.1', port)) == 0


def wait_port(port, seconds=90):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if port_open(port):
            return True
        time.sleep(0.1)
    return False


def sink_count():
    with urllib.request.urlopen(f'http://127.0.0.1:{SINK_METRICS}/metrics', timeout=2) as r:
        total = 0.0
        for line in r.read().decode().splitlines():
            if line.startswith('sluice_messages_accepted_total'):
                total += float(line.rsplit(' ', 1)[1])
        return int(total)


class Started:
    """What this script started: Sluice processes by PID, peers by port."""

    def __init__(self):
        self.procs, self.peer_ports = [], []

    def sluice(self, args, logfile, launcher=None):
        p = subprocess.Popen([launcher or SLUICE] + args, stdout=open(logfile, 'w'), stderr=subprocess.STDOUT,
                             start_new_session=True)
        self.procs.append(p)
        return p

    def peer(self, verb, port):
        out = subprocess.run([PEERS, verb, str(port)], capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f'peers.sh {verb} {port} failed: {out.stdout}{out.stderr}')
        self.peer_ports.append(port)
        return int(open(os.path.join(PEERS_HOME, 'run', 'pids', f"{'sink' if verb == 'start-sink' else 'postfix'}-{port}.pid"))
                   .readline())

    def stop(self):
        # a second TERM/INT (run-all.sh's trap after a Ctrl-C) must not cut this cleanup short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(40)
            except subprocess.TimeoutExpired:
                p.kill()
        for port in self.peer_ports:
            subprocess.run([PEERS, 'stop', str(port)], capture_output=True)


def postfix_to_sink(port, client_tls):
    etc = open(os.path.join(PEERS_HOME, 'run', 'pids', f'postfix-{port}.confdir')).read().strip()
    subprocess.run(['postconf', '-c', etc, '-e', f'relayhost = [127.0.0.1]:{SINK}', 'default_transport = smtp',
                    'relay_transport = smtp', f'smtp_tls_security_level = {client_tls}'], check=True)
    subprocess.run(['postfix', '-c', etc, 'reload'], check=True, capture_output=True)
    return etc


def postfix_queue(port):
    n = 0
    for sub in ('maildrop', 'incoming', 'active', 'deferred', 'hold'):
        for _, _, files in os.walk(os.path.join(PEERS_HOME, 'run', f'postfix-{port}', 'spool', sub)):
            n += len(files)
    return n


TLS = 'none'  # set from --tls in main()
QUICK = {}  # {'quick': 1} under --quick: merged into every run's tags


def load_cmd(port, n, size, conns, pid, path, tags):
    tags = dict(tags, **QUICK)
    cmd = [SLUICE, 'load', '--target', f'127.0.0.1:{port}', '--connections', str(conns), '--messages', str(n),
           '--size', size, '--pipelining', 'on', '--json', path, '--server-pid', str(pid), '--quiet', '--tls', TLS]
    for k, v in tags.items():
        cmd += ['--tag', f'{k}={v}']
    return cmd


def relay_run(relay, pid, port, n, size, rep, raw):
    tag = 'warmup' if rep is None else str(rep)
    scenario = f"relay-{size.lower().replace('kib', 'k')}" + ('-tls' if TLS != 'none' else '')
    path = os.path.join(raw, f'{scenario}-{relay}-{tag}.json')
    cmd = load_cmd(port, n, size, 20, pid, path, dict(scenario=scenario, server=relay, rep=tag,
                                                      **({'warmup': 1} if rep is None else {})))
    base = sink_count()
    target = base + n
    done = {}
    stop = threading.Event()

    def poll():
        while not stop.is_set():
            try:
                if sink_count() >= target:
                    done['t'] = time.monotonic()
                    return
            except OSError:
                pass
            time.sleep(0.05)

    c0 = tree_cpu(pid)
    th = threading.Thread(target=poll, daemon=True)
    th.start()
    t0 = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    t_exit = time.monotonic()
    th.join(300)
    stop.set()
    cpu = tree_cpu(pid) - c0
    if 't' not in done:
        log(f'{scenario} {relay} {tag}: sink got {sink_count() - base}/{n} within 300 s; load rc {p.returncode}: {p.stdout[-400:]}')
        return None
    r = json.load(open(path))
    ok = r['totals']['messages_ok']
    drain = max(0.0, done['t'] - t_exit)
    e2e_s = r['elapsed_s'] + drain
    r['command'] = ' '.join(cmd)
    r['relay_e2e'] = dict(messages=n, sink_received=n, accept_rate=r['rates']['messages_per_s'],
                          e2e_s=round(e2e_s, 3), e2e_rate=round(ok / e2e_s, 1), drain_after_load_exit_s=round(drain, 3),
                          wall_incl_generator_jvm_s=round(done['t'] - t0, 3), relay_cpu_s=round(cpu, 3),
                          relay_cpu_ms_per_msg=round(1000 * cpu / ok, 4), msgs_per_relay_cpu_s=round(ok / cpu, 1))
    json.dump(r, open(path, 'w'), indent=2)
    log(f"{scenario} {relay} {tag}: accept {r['rates']['messages_per_s']:.0f}/s, e2e {ok / e2e_s:.0f}/s "
        f"({e2e_s:.2f}s, drain {drain:.2f}s), relay cpu {cpu:.2f}s = {1000 * cpu / ok:.3f} ms/msg, rc {r['exit_status']}")
    return r


def sink_run(server, pid, port, n, rep, raw):
    tag = 'warmup' if rep is None else str(rep)
    path = os.path.join(raw, f'sink-1k-50c-{server}-{tag}.json')
    cmd = load_cmd(port, n, '1KiB', 50, pid, path, dict(scenario='sink-1k-50c', server=server, rep=tag))
    subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if not os.path.exists(path):
        log(f'sink {server} {tag}: no result')
        return None
    r = json.load(open(path))
    r['command'] = ' '.join(cmd)
    json.dump(r, open(path, 'w'), indent=2)
    cpu = (r.get('cpu') or {})
    log(f"sink {server} {tag}: {r['rates']['messages_per_s']:.0f}/s, per server CPU-s "
        f"{cpu.get('messages_per_server_cpu_s')}, rc {r['exit_status']}")
    return r


def med(xs):
    xs = [x for x in xs if x is not None]
    return round(statistics.median(xs), 1) if xs else None


def machine():
    cpu = next((l.split(':', 1)[1].strip() for l in subprocess.run(['lscpu'], capture_output=True, text=True)
                .stdout.splitlines() if l.startswith('Model name')), '?')
    jv = subprocess.run(['java', '-version'], capture_output=True, text=True).stderr.strip().splitlines()
    return dict(nproc=os.cpu_count(), cpu_model=cpu, jdk=' / '.join(jv), kernel=platform.release(),
                postfix=subprocess.run(['postconf', '-h', 'mail_version'], capture_output=True, text=True).stdout.strip())


def main():
    ap = argparse.ArgumentParser(description=DOC, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', required=True)
    ap.add_argument('--name', default=time.strftime('%Y-%m-%d', time.gmtime()) + '-relay')
    ap.add_argument('--sizes', default='1KiB')
    ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--messages', type=int, default=20000)
    ap.add_argument('--messages-64k', type=int, default=4000)
    ap.add_argument('--sink-bench', action='store_true')
    ap.add_argument('--sink-messages', type=int, default=60000)
    ap.add_argument('--tls', choices=('none', 'starttls'), default='none')
    ap.add_argument('--quick', action='store_true', help='tag results quick=1: not a measurement')
    ap.add_argument('--warmup-messages', type=int, help='messages of each warm-up run (default max(2000, N/4))')
    ap.add_argument('--port-base', type=int, help='use ports P..P+5 instead of 2650/2651/2660/2670/2680/2690')
    ap.add_argument('--baseline', help='a second built Sluice checkout, relaying as sluice-base')
    a = ap.parse_args()
    global SINK, SINK_METRICS, SLUICE_RELAY, POSTFIX_RELAY, SMTP_SINK, BASE_RELAY
    if a.port_base:
        SINK, SINK_METRICS, SLUICE_RELAY, POSTFIX_RELAY, SMTP_SINK, BASE_RELAY = range(a.port_base, a.port_base + 6)
    global TLS
    TLS = a.tls
    server_tls = 'may' if TLS == 'starttls' else 'none'
    client_tls = 'encrypt' if TLS == 'starttls' else 'none'
    if a.quick:
        QUICK['quick'] = 1
    # TERM (bench/run-all.sh's trap) must still run the finally below, which stops what we started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    raw = os.path.join(a.out, 'raw', a.name)
    os.makedirs(raw, exist_ok=True)
    started = Started()
    spool = f'/tmp/relay-spool-{os.getpid()}'
    summary = dict(date=time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()), machine=machine(),
                   title=f'relay end to end and sink (relay_e2e.py) {a.name}',
                   generator='sluice load (relay_e2e.py); relay rows: end-to-end msgs/s into the common sluice sink',
                   e2e=[], runs=[], quick=a.quick)
    try:
        sink = started.sluice(['sink', '--set', f'listen=127.0.0.1:{SINK}', '--set', f'tls.level={server_tls}',
                               '--set', f'metrics.listen=127.0.0.1:{SINK_METRICS}', '--set', 'log.level=warn',
                               '--set', 'hostname=sink.example.test', '--report', '5'],
                              os.path.join(raw, 'sink.log'))
        relay = started.sluice(['serve', '--set', f'listen=127.0.0.1:{SLUICE_RELAY}', '--set', f'spool.dir={spool}',
                                '--set', f'tls.level={server_tls}', '--set', f'tls.client.level={client_tls}',
                                '--set', 'log.level=info',
                                '--set', 'hostname=relay.example.test',
                                '--set', f'transport.*=smtp:[127.0.0.1]:{SINK}'], os.path.join(raw, 'sluice-relay.log'))
        base = None
        if a.baseline:
            base = started.sluice(['serve', '--set', f'listen=127.0.0.1:{BASE_RELAY}', '--set', f'spool.dir={spool}-base',
                                   '--set', f'tls.level={server_tls}', '--set', f'tls.client.level={client_tls}',
                                   '--set', 'log.level=info', '--set', 'hostname=relay.example.test',
                                   '--set', f'transport.*=smtp:[127.0.0.1]:{SINK}'], os.path.join(raw, 'sluice-base.log'),
                                  launcher=os.path.join(os.path.abspath(a.baseline), 'sluice'))
        pf_pid = started.peer('start-postfix', POSTFIX_RELAY)
        pf_etc = postfix_to_sink(POSTFIX_RELAY, client_tls)
        for port in (SINK, SINK_METRICS, SLUICE_RELAY) + ((BASE_RELAY,) if base else ()):
            if not wait_port(port):
                raise SystemExit(f'port {port} did not open')
        pids = {'sluice-relay': (relay.pid, SLUICE_RELAY), 'postfix-relay': (pf_pid, POSTFIX_RELAY)}
        if base:
            pids['sluice-base'] = (base.pid, BASE_RELAY)
            summary['baseline'] = os.path.abspath(a.baseline)
        summary['commands'] = {
            'sink': f'./sluice sink --set listen=127.0.0.1:{SINK} --set tls.level={server_tls} --set metrics.listen=127.0.0.1:{SINK_METRICS} --set log.level=warn --set hostname=sink.example.test --report 5',
            'sluice-relay': f"./sluice serve --set listen=127.0.0.1:{SLUICE_RELAY} --set spool.dir={spool} --set tls.level={server_tls} --set tls.client.level={client_tls} --set log.level=info --set hostname=relay.example.test --set 'transport.*=smtp:[127.0.0.1]:{SINK}'",
            'generator_tls': TLS,
            'postfix-relay': f"PEERS_HOME={PEERS_HOME} {PEERS} start-postfix {POSTFIX_RELAY}; postconf -c {pf_etc} -e 'relayhost = [127.0.0.1]:{SINK}' 'default_transport = smtp' 'relay_transport = smtp' 'smtp_tls_security_level = {client_tls}'; postfix -c {pf_etc} reload"}
        if base:
            summary['commands']['sluice-base'] = summary['commands']['sluice-relay'].replace(
                './sluice', os.path.join(os.path.abspath(a.baseline), 'sluice')).replace(
                f'127.0.0.1:{SLUICE_RELAY}', f'127.0.0.1:{BASE_RELAY}').replace(spool, spool + '-base')
        order = list(pids)
        for size in a.sizes.split(','):
            n = a.messages if size.lower() == '1kib' else a.messages_64k
            for relay_name in order:
                relay_run(relay_name, *pids[relay_name], a.warmup_messages or max(2000, n // 4), size, None, raw)
            res = {k: [] for k in order}
            for rep in range(1, a.reps + 1):
                # two relays: alternate; three: rotate, so each runs first, second and last in turn
                turn = (order if rep % 2 else order[::-1]) if len(order) == 2 else \
                    order[(rep - 1) % len(order):] + order[:(rep - 1) % len(order)]
                for relay_name in turn:
                    r = relay_run(relay_name, *pids[relay_name], n, size, rep, raw)
                    res[relay_name].append(r)
                    if relay_name == 'postfix-relay':
                        t = time.monotonic()
                        while postfix_queue(POSTFIX_RELAY) and time.monotonic() - t < 60:
                            time.sleep(0.1)
            scenario = f"relay-{size.lower().replace('kib', 'k')}" + ('-tls' if TLS != 'none' else '')
            for relay_name, rs in res.items():
                ok = [r for r in rs if r and r['exit_status'] == 0]
                e = [r['relay_e2e'] for r in ok]
                summary['e2e'].append(dict(
                    scenario=f'{scenario} (end to end, 20 conns, {n} msgs)', target=relay_name, ok=len(ok), runs=len(rs),
                    rate_median=med([x['e2e_rate'] for x in e]), rates=[x['e2e_rate'] for x in e],
                    accept_rate_median=med([x['accept_rate'] for x in e]),
                    msgs_per_srv_cpu_s_median=med([x['msgs_per_relay_cpu_s'] for x in e]),
                    relay_cpu_ms_per_msg_median=round(statistics.median([x['relay_cpu_ms_per_msg'] for x in e]), 4) if e else None))
        if a.sink_bench:
            ss_pid = started.peer('start-sink', SMTP_SINK)
            servers = {'sluice-sink': (sink.pid, SINK), 'smtp-sink': (ss_pid, SMTP_SINK)}
            for s in servers:
                sink_run(s, servers[s][0], servers[s][1], a.sink_messages // 4, None, raw)
            res = {k: [] for k in servers}
            for rep in range(1, a.reps + 1):
                for s in (list(servers) if rep % 2 else list(servers)[::-1]):
                    res[s].append(sink_run(s, servers[s][0], servers[s][1], a.sink_messages, rep, raw))
            for s, rs in res.items():
                ok = [r for r in rs if r and r['exit_status'] == 0]
                summary['e2e'].append(dict(
                    scenario=f'sink-1k-50c (50 conns, {a.sink_messages} msgs)', target=s, ok=len(ok), runs=len(rs),
                    rate_median=med([r['rates']['messages_per_s'] for r in ok]),
                    rates=[r['rates']['messages_per_s'] for r in ok],
                    msgs_per_srv_cpu_s_median=med([(r.get('cpu') or {}).get('messages_per_server_cpu_s') for r in ok])))
    finally:
        started.stop()
        shutil.rmtree(spool, ignore_errors=True)
        shutil.rmtree(spool + '-base', ignore_errors=True)
        out = os.path.join(a.out, a.name + '.json')
        json.dump(summary, open(out, 'w'), indent=1)
        log(f'summary -> {out}')
        for row in summary['e2e']:
            log(json.dumps(row))


if __name__ == '__main__':
    main()
