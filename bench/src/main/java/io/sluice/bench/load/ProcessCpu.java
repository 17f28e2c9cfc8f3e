package io.sluice.bench.load;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * CPU time (user + system) of a process read from {@code /proc/PID/stat}: either this JVM alone
 * ({@link #self()}) or a server's whole process tree ({@link #tree(long)}: the process and every
 * live descendant, each with the time of the children it has reaped, so a forking server such as
 * Postfix is counted whole). Linux only; elsewhere every reading is {@code NaN}. Stateless apart
 * from the root pid; any thread. A tree reading walks {@code /proc}: call it about once a second,
 * never on an event loop.
 */
final class ProcessCpu {

    /**
     * {@code /proc} counts in USER_HZ ticks, which the kernel fixes at 100 for user space on every
     * architecture Sluice runs on (x86, arm64); Java cannot call sysconf(_SC_CLK_TCK).
     */
    static final double TICKS_PER_SECOND = 100.0;

    private static final Path PROC = Path.of("/proc");

    private final long rootPid;
    private final boolean withDescendants;

    private ProcessCpu(long rootPid, boolean withDescendants) {
        this.rootPid = rootPid;
        this.withDescendants = withDescendants;
    }

    /** This JVM (the generator) alone. */
    static ProcessCpu self() {
        return new ProcessCpu(ProcessHandle.current().pid(), false);
    }

    /** Process {@code pid} and its live descendants. */
    static ProcessCpu tree(long pid) {
        return new ProcessCpu(pid, true);
    }

    long pid() {
        return rootPid;
    }

    /** CPU seconds used so far, or NaN when the root process is gone or /proc cannot be read. */
    double cpuSeconds() {
        Stat root = Stat.read(PROC.resolve(Long.toString(rootPid)).resolve("stat"));
        if (root == null) {
            return Double.NaN;
        }
        long ticks = withDescendants ? root.ticksWithReapedChildren() + descendantTicks() : root.ownTicks();
        return ticks / TICKS_PER_SECOND;
    }

    /**
     * Ticks of every live process below the root. Walks the kernel's per-thread {@code children}
     * lists (a few small reads); without them (a kernel without CONFIG_PROC_CHILDREN) scans every
     * process of /proc, which costs the generator about a thousand file reads a second on a busy box.
     */
    long descendantTicks() {
        long walked = walkChildren(rootPid, 0);
        return walked >= 0 ? walked : scanAll();
    }

    /** Ticks of the descendants of {@code pid}, or -1 when the children lists cannot be read. */
    private static long walkChildren(long pid, int depth) {
        Path tasks = PROC.resolve(Long.toString(pid)).resolve("task");
        long sum = 0;
        try (DirectoryStream<Path> threads = Files.newDirectoryStream(tasks, ProcessCpu::isPidDirectory)) {
            for (Path thread : threads) {
                String children;
                try {
                    children = Files.readString(thread.resolve("children"), StandardCharsets.US_ASCII);
                } catch (NoSuchFileException gone) {
                    if (Files.isDirectory(thread)) {
                        return -1; // the thread lives but the kernel has no children lists
                    }
                    continue; // the thread exited meanwhile
                }
                sum += childTicks(children, depth);
            }
        } catch (NoSuchFileException gone) {
            return 0; // the process exited meanwhile
        } catch (IOException e) {
            return -1;
        }
        return sum;
    }

    private static long childTicks(String children, int depth) {
        long sum = 0;
        int start = 0;
        for (int i = 0; i <= children.length(); i++) {
            if (i == children.length() || children.charAt(i) == ' ') {
                if (i > start) {
                    long child = Long.parseLong(children, start, i, 10);
                    Stat stat = Stat.read(PROC.resolve(Long.toString(child)).resolve("stat"));
                    if (stat != null) {
                        sum += stat.ticksWithReapedChildren();
                    }
                    if (depth < 64) {
                        sum += Math.max(0, walkChildren(child, depth + 1));
                    }
                }
                start = i + 1;
            }
        }
        return sum;
    }

    /** Ticks of every live process below the root: one pass over /proc, parents from each stat. */
    long scanAll() {
        Map<Long, Stat> all = new HashMap<>();
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(PROC, ProcessCpu::isPidDirectory)) {
            for (Path dir : dirs) {
                Stat stat = Stat.read(dir.resolve("stat"));
                if (stat != null) {
                    all.put(Long.parseLong(dir.getFileName().toString()), stat);
                }
            }
        } catch (IOException e) {
            return 0;
        }
        long sum = 0;
        for (Map.Entry<Long, Stat> entry : all.entrySet()) {
            if (entry.getKey() != rootPid && isDescendant(entry.getValue().ppid, all)) {
                sum += entry.getValue().ticksWithReapedChildren();
            }
        }
        return sum;
    }

    private boolean isDescendant(long parent, Map<Long, Stat> all) {
        long pid = parent;
        for (int hops = 0; pid > 0 && hops < 64; hops++) {
            if (pid == rootPid) {
                return true;
            }
            Stat stat = all.get(pid);
            pid = stat == null ? 0 : stat.ppid;
        }
        return false;
    }

    private static boolean isPidDirectory(Path path) {
        String name = path.getFileName().toString();
        for (int i = 0; i < name.length(); i++) {
            if (name.charAt(i) < '0' || name.charAt(i) > '9') {
                return false;
            }
        }
        return !name.isEmpty();
    }

    /** The fields of one /proc/PID/stat that matter here. */
    record Stat(long ppid, long utime, long stime, long cutime, long cstime) {

        long ownTicks() {
            return utime + stime;
        }

        long ticksWithReapedChildren() {
            return utime + stime + cutime + cstime;
        }

        /** Null when the process is gone (or the file is not a stat file). */
        static Stat read(Path file) {
            try {
                return parse(Files.readString(file, StandardCharsets.US_ASCII));
            } catch (IOException | RuntimeException e) {
                return null;
            }
        }

        /** The command name may hold spaces and parentheses: fields start after the last ')'. */
        static Stat parse(String line) {
            String[] f = line.substring(line.lastIndexOf(')') + 2).trim().split(" ");
            // f[0] is field 3 (state) of proc(5): ppid is field 4, utime..cstime are fields 14..17.
            return new Stat(Long.parseLong(f[1]), Long.parseLong(f[11]), Long.parseLong(f[12]),
                    Long.parseLong(f[13]), Long.parseLong(f[14]));
        }
    }
}
