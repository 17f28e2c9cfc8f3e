import sys, collections, re
cats = collections.Counter(); total = 0
def name(f):
    f = re.sub(r'^\s*[0-9a-f]+\s+', '', f)
    f = re.sub(r'\s+\([^()]*\)$', '', f)   # dso
    f = re.sub(r'\+0x[0-9a-f]+$', '', f)
    return f
def short(j):
    j = re.sub(r'\(.*\)', '', j)
    j = j.split(' ')[-1]
    parts = j.split('.')
    return '.'.join(parts[-2:])
def classify(frames):
    names = [name(f) for f in frames]
    if 'do_syscall_64' in names:
        i = names.index('do_syscall_64')
        sc = names[i-1] if i > 0 else '?'
        sc = re.sub(r'^(__x64_sys_|__se_sys_|__do_sys_|ksys_|do_)', '', sc)
        k = set(names[:i])
        kind = ''
        if any(n.startswith(('ext4', 'generic_perform_write', 'filemap', 'file_write')) for n in k): kind = '(file)'
        elif any(n.startswith(('sock_', 'tcp_', 'inet_')) for n in k): kind = '(sock)'
        return 'sys ' + sc + kind
    if names and names[0].startswith(('asm_', 'irq', '__irq', 'handle_softirqs', 'net_rx')) or any(n in ('handle_softirqs',) for n in names[:5]):
        return 'irq/softirq'
    for n in names:
        if '(' in n and not n.startswith(('Interpreter', 'StubRoutines')):
            return 'java ' + short(n)
    return 'other ' + (names[0] if names else '?')
comm = None; frames = []
def flush():
    global total
    if comm is not None:
        cats[(comm, classify(frames))] += 1; total += 1
for line in sys.stdin:
    line = line.rstrip('\n')
    if not line.strip():
        flush(); comm = None; frames = []; continue
    if not line[0].isspace():
        comm = re.split(r'\s+\d+\s', line)[0].strip(); frames = []; continue
    frames.append(line)
flush()
by = collections.Counter()
for (c, k), n in cats.items(): by[c] += n
for c, n in by.most_common(8): print(f'{100*n/total:5.1f}% {c}')
print()
agg = collections.Counter()
for (c, k), n in cats.items(): agg[k] += n
for k, n in agg.most_common(int(sys.argv[1]) if len(sys.argv) > 1 else 30):
    print(f'{100*n/total:5.1f}% {k}')
print('samples', total)
