#!/usr/bin/env python3
"""e2e.py - interleaved smtp-source runs against already-running SMTP servers on 127.0.0.1.

Usage:
  e2e.py --out PREFIX --reps 3 --scenario NAME:SESSIONS:SIZE:MODE:MSGS \
         --target LABEL:PORT:PID[:POSTFIX_QUEUE_DIR] ... [--scenario ... --target ...]

Each --scenario is followed by the --target options it runs against (a pair: Sluice and its
peer). Per scenario: one short warm-up run per target (not counted), then REPS rounds; in each
round every target gets one run, and the order rotates round by round so that load from other
tenants of the box hits all targets alike. Every target of a scenario gets the same -m.

MODE is "reuse" (smtp-source -d: many messages per connection) or "conn" (no -d: one message
per connection). For a Postfix target (4th field: its queue_directory) the run also waits for
the queue to drain (delivery to discard(8)); the accept rate (msgs / smtp-source elapsed) is the
headline, the drain is reported separately.

Server CPU = utime+stime (+cutime+cstime of reaped children) of every process under PID, read
from /proc before and after (after the drain for Postfix). Generator CPU = smtp-source's rusage.
Writes PREFIX.csv (one row per run) and PREFIX.json ({"date", "machine", "summary": per scenario and
target: medians}), which perf-results/make-table reads.
"""
import argparse, csv, json, os, resource, statistics, subprocess, sys, time

HZ = os.sysconf('SC_CLK_TCK')
NCPU = os.cpu_count()
SMTP_SOURCE = '/usr/sbin/smtp-source'


def proc_table():
    ppid, ticks = {}, {}
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            s = open(f'/proc/{d}/stat').read()
        except OSError:
            continue
        f = s[s.rindex(')') + 2:].split()
        ppid[int(d)] = int(f[1])
        ticks[int(d)] = int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
    return ppid, ticks


def tree_cpu(root):
    """CPU seconds of every live process under root (inclusive), with reaped children's time."""
    ppid, ticks = proc_table()
    tot = 0
    for p in ticks:
        q, hops = p, 0
        while q and hops < 64:
            if q == root:
                tot += ticks[p]
                break
            q, hops = ppid.get(q, 0), hops + 1
    return tot / HZ


def box_ticks():
    f = [int(x) for x in open('/proc/stat').readline().split()[1:]]
    return sum(f) - f[3] - f[4], sum(f)


def queue_len(spool):
    n = 0
    for sub in ('maildrop', 'incoming', 'active', 'deferred', 'hold'):
        for _, _, files in os.walk(os.path.join(spool, sub)):
            n += len(files)
    return n


def one_run(t, sessions, size, mode, msgs, timeout):
    args = [SMTP_SOURCE, '-s', str(sessions), '-m', str(msgs), '-l', str(size),
            '-f', 'a@example.com', '-t', 'b@example.com', '-M', 'gen.example.test']
    if mode == 'reuse':
        args.append('-d')
    args.append(f"127.0.0.1:{t['port']}")
    c0 = tree_cpu(t['pid'])
    b0, a0 = box_ticks()
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    try:
        p = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
        rc, err = p.returncode, ' '.join((p.stderr or '').strip().splitlines()[-1:])
    except subprocess.TimeoutExpired:
        rc, err = 'timeout', f'timeout after {timeout}s'
    elapsed = time.monotonic() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    drain = 0.0
    if t['queue']:
        td = time.monotonic()
        while queue_len(t['queue']) > 0 and time.monotonic() - td < 180:
            time.sleep(0.02)
        drain = time.monotonic() - td
    c1 = tree_cpu(t['pid'])
    b1, a1 = box_ticks()
    srv = c1 - c0
    gen = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    window = elapsed + drain
    busy = (b1 - b0) / HZ
    return dict(target=t['label'], sessions=sessions, size=size, mode=mode, msgs=msgs, rc=rc,
                err=err, elapsed_s=round(elapsed, 3), rate=round(msgs / elapsed, 1),
                drain_s=round(drain, 3), e2e_rate=round(msgs / window, 1),
                srv_cpu_s=round(srv, 2), gen_cpu_s=round(gen, 2),
                msgs_per_srv_cpu_s=round(msgs / srv, 1) if srv > 0 else None,
                srv_pct=round(100 * srv / window, 1), gen_pct=round(100 * gen / elapsed, 1),
                box_busy_pct=round(100 * (b1 - b0) / max(1, a1 - a0) * NCPU, 1),
                foreign_pct=round(100 * (busy - srv - gen) / window, 1))


def parse_args(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', required=True)
    ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--timeout', type=float, default=150)
    ap.add_argument('--warmup', type=int, default=0,
                    help='messages each target takes before the measured runs (0: max(20 x sessions, '
                         'min(msgs/10, 5000)), which is too short for a JVM server\'s JIT to settle)')
    scenarios, cur = [], None
    rest = ap.parse_known_args(argv)
    opts, extra = rest
    i = 0
    while i < len(extra):
        if extra[i] == '--scenario':
            name, s, size, mode, m = extra[i + 1].split(':')
            cur = dict(name=name, sessions=int(s), size=int(size), mode=mode, msgs=int(m), targets=[])
            scenarios.append(cur)
        elif extra[i] == '--target':
            f = extra[i + 1].split(':')
            cur['targets'].append(dict(label=f[0], port=int(f[1]), pid=int(f[2]),
                                       queue=f[3] if len(f) > 3 and f[3] else None))
        else:
            ap.error(f'unknown argument {extra[i]}')
        i += 2
    return opts, scenarios


def main(argv):
    opts, scenarios = parse_args(argv)
    fields = ['scenario', 'rep', 'target', 'sessions', 'size', 'mode', 'msgs', 'rc', 'err',
              'elapsed_s', 'rate', 'drain_s', 'e2e_rate', 'srv_cpu_s', 'gen_cpu_s',
              'msgs_per_srv_cpu_s', 'srv_pct', 'gen_pct', 'box_busy_pct', 'foreign_pct', 'at']
    summary = []
    with open(opts.out + '.csv', 'w', newline='') as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        for sc in scenarios:
            ts = sc['targets']
            warm = opts.warmup or max(20 * sc['sessions'], min(sc['msgs'] // 10, 5000))
            for t in ts:
                r = one_run(t, sc['sessions'], sc['size'], sc['mode'], warm, opts.timeout)
                print(f"{time.strftime('%T')} {sc['name']} warm-up {t['label']} m={warm} rc={r['rc']} "
                      f"{r['rate']}/s {r['err']}", flush=True)
            runs = {t['label']: [] for t in ts}
            for rep in range(opts.reps):
                order = ts[rep % len(ts):] + ts[:rep % len(ts)]
                for t in order:
                    r = one_run(t, sc['sessions'], sc['size'], sc['mode'], sc['msgs'], opts.timeout)
                    r.update(scenario=sc['name'], rep=rep + 1, at=time.strftime('%FT%T'))
                    w.writerow(r)
                    fh.flush()
                    runs[t['label']].append(r)
                    print(f"{time.strftime('%T')} {sc['name']} rep={rep + 1} {t['label']} rc={r['rc']} "
                          f"{r['rate']}/s el={r['elapsed_s']}s drain={r['drain_s']}s srv={r['srv_cpu_s']}s "
                          f"gen={r['gen_cpu_s']}s box={r['box_busy_pct']}% foreign={r['foreign_pct']}% {r['err']}",
                          flush=True)
            for t in ts:
                ok = [r for r in runs[t['label']] if r['rc'] == 0]
                med = (lambda k: statistics.median([r[k] for r in ok if r[k] is not None])) if ok else (lambda k: None)
                summary.append(dict(
                    scenario=sc['name'], target=t['label'], sessions=sc['sessions'], size=sc['size'],
                    mode=sc['mode'], msgs=sc['msgs'], runs=len(runs[t['label']]), ok=len(ok),
                    failures=[f"rc={r['rc']} {r['err']}" for r in runs[t['label']] if r['rc'] != 0],
                    rate_median=med('rate'), rates=[r['rate'] for r in ok],
                    e2e_rate_median=med('e2e_rate'), drain_s_median=med('drain_s'),
                    msgs_per_srv_cpu_s_median=med('msgs_per_srv_cpu_s'),
                    srv_cpu_s_median=med('srv_cpu_s'), gen_cpu_s_median=med('gen_cpu_s'),
                    box_busy_pct_median=med('box_busy_pct'), foreign_pct_median=med('foreign_pct')))
    machine = {'nproc': NCPU, 'cpu_model': next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo')
                                                  if l.startswith('model name')), '?'),
               'jdk': subprocess.run(['java', '-version'], stderr=subprocess.PIPE, text=True).stderr.splitlines()[0],
               'loadavg_at_end': open('/proc/loadavg').read().strip()}
    # make-table reads {"date", "machine", "summary"}; the per-run rows are in PREFIX.csv
    json.dump({'date': time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()), 'machine': machine, 'summary': summary},
              open(opts.out + '.json', 'w'), indent=1)
    print(f'wrote {opts.out}.csv {opts.out}.json')


if __name__ == '__main__':
    main(sys.argv[1:])
