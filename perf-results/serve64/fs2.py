import os, time, threading, sys, statistics
buf = b'x' * 65536
def run(mode, rounds=150, per=int(sys.argv[1])):
    fds = [os.open(f'f{i}', os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644) for i in range(2)]
    ts = []
    t0 = time.time()
    for r in range(rounds):
        if mode == 'one':
            for _ in range(2 * per): os.write(fds[0], buf)
        else:
            for fd in fds:
                for _ in range(per): os.write(fd, buf)
        s = time.time()
        if mode == 'par':
            th = threading.Thread(target=os.fdatasync, args=(fds[1],)); th.start(); os.fdatasync(fds[0]); th.join()
        elif mode == 'seq':
            os.fdatasync(fds[0]); os.fdatasync(fds[1])
        else:
            os.fdatasync(fds[0])
        ts.append(time.time() - s)
    el = time.time() - t0
    for fd in fds: os.close(fd)
    return statistics.median(ts) * 1000, rounds * per * 2 / el
for rep in range(3):
    for mode in ('seq', 'par', 'one'):
        m, rate = run(mode)
        print(mode, f'median sync {m:.1f} ms, {rate:.0f} writes/s')
