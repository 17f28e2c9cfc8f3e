import sys, re, collections
# sums per-relay, per-thread-group CPU increments (a drop = threads died and were recreated: count the new value)
path, t0, t1 = sys.argv[1], sys.argv[2], sys.argv[3]
prev = {}; inc = collections.defaultdict(float)
for line in open(path):
    parts = line.strip().split(' | ')
    ts = parts[0]
    for p in parts[1:]:
        name, rest = p.split(' ', 1)
        for k, v in re.findall(r'(\S[^=]*?)=([\d.]+)', rest):
            v = float(v); k = k.strip()
            key = (name, k)
            if key in prev and t0 <= ts <= t1:
                d = v - prev[key]
                inc[key] += d if d >= 0 else v
            prev[key] = v
for name in ('new', 'base'):
    tot = sum(v for (n, k), v in inc.items() if n == name)
    print(name, f'total={tot:.2f}', ' '.join(f'{k}={v:.2f}' for (n, k), v in sorted(inc.items()) if n == name and v > 0.005))
