#!/usr/bin/env python3
"""tls_session_cpu.py - server CPU per STARTTLS session, several servers interleaved in one sitting.

Usage (from the repository root; every server already running and warmed up):
  perf-results/tls_session_cpu.py --out PREFIX [--reps 3] [--duration 20s] NAME=PORT=PID ...

For each rep (the order of the targets rotated every rep), runs against every target:
  ./sluice load --target 127.0.0.1:PORT --tls starttls --protocol TLSv1.3 --resume off
      --messages-per-connection 1 --connections 10 --duration D --size 1KiB --quiet --json ...
and takes the server's CPU as utime+stime of the process tree under PID from /proc (Postfix:
master and its smtpd/cleanup/qmgr/discard children; 1 s after the run so the queue has drained).
Writes PREFIX.json and prints per-run figures and medians (sessions per server CPU-second).
"""
import argparse, json, os, statistics, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from e2e import tree_cpu  # noqa: E402

ROOT = os.path.dirname(HERE)


def run(port, duration, out):
    cmd = [os.path.join(ROOT, 'sluice'), 'load', '--target', f'127.0.0.1:{port}', '--tls', 'starttls',
           '--protocol', 'TLSv1.3', '--resume', 'off', '--messages-per-connection', '1', '--connections', '10',
           '--duration', duration, '--size', '1KiB', '--quiet', '--json', out]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    result = json.load(open(out)) if os.path.exists(out) else {}
    return r.returncode, result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', required=True)
    ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--duration', default='20s')
    ap.add_argument('targets', nargs='+', help='NAME=PORT=PID')
    a = ap.parse_args()
    targets = [tuple(t.split('=')) for t in a.targets]
    runs = []
    for rep in range(a.reps):
        order = targets[rep % len(targets):] + targets[:rep % len(targets)]
        for name, port, pid in order:
            load0 = open('/proc/loadavg').read().split()[0]
            c0 = tree_cpu(int(pid))
            rc, result = run(port, a.duration, f'{a.out}-{name}-{rep}.json')
            time.sleep(1.0)
            cpu = tree_cpu(int(pid)) - c0
            ok = result.get('totals', {}).get('sessions_ok', 0)
            errors = result.get('totals', {}).get('errors', -1)
            r = {'target': name, 'rep': rep, 'sessions_ok': ok, 'errors': errors, 'server_cpu_s': cpu, 'rc': rc,
                 'sessions_per_server_cpu_s': ok / cpu if cpu else None, 'loadavg_1m_before': float(load0)}
            runs.append(r)
            print(f"{name:22s} rep {rep}: {ok} sessions, {errors} errors, server cpu {cpu:.2f}s, "
                  f"{r['sessions_per_server_cpu_s'] or 0:.0f} sessions/CPU-s, load {load0}", file=sys.stderr, flush=True)
    summary = {}
    for name, _, _ in targets:
        rs = [r['sessions_per_server_cpu_s'] for r in runs if r['target'] == name and r['sessions_per_server_cpu_s']]
        summary[name] = {'median_sessions_per_server_cpu_s': statistics.median(rs), 'runs': rs}
    machine = {'nproc': os.cpu_count(), 'cpu': next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo')
                                                     if l.startswith('model name')), '?'),
               'jdk': subprocess.run(['java', '-version'], stderr=subprocess.PIPE, text=True).stderr.splitlines()[0],
               'loadavg_end': open('/proc/loadavg').read().strip(), 'date': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}
    json.dump({'machine': machine, 'args': vars(a), 'runs': runs, 'summary': summary}, open(a.out + '.json', 'w'), indent=2)
    for name, s in summary.items():
        print(f"{name:22s} median {s['median_sessions_per_server_cpu_s']:7.0f} sessions/server-CPU-s  runs "
              + ' '.join(f'{x:.0f}' for x in s['runs']))


if __name__ == '__main__':
    main()
