package io.sluice.reactor;

import java.util.concurrent.atomic.AtomicBoolean;
import net.openhft.affinity.AffinityLock;

/**
 * Pins the calling thread to one CPU with OpenHFT affinity. Pinning is an optimisation: if the
 * platform does not support it (no JNA, a container without the CPU, a reserved CPU) we log
 * once per process and run unpinned.
 */
final class CpuPinning {

    private static final System.Logger LOG = System.getLogger(CpuPinning.class.getName());
    private static final AtomicBoolean WARNED = new AtomicBoolean();

    private CpuPinning() {
    }

    /**
     * Pins the current thread to {@code cpu}, or to any free CPU if that one is reserved (affinity
     * reserves CPU 0 for the OS by default); returns the lock to release on thread exit, or null.
     */
    static AutoCloseable pin(int cpu) {
        try {
            AffinityLock lock = AffinityLock.acquireLock(cpu);
            if (lock.isBound()) {
                return lock;
            }
            lock.release();
            AffinityLock any = AffinityLock.acquireLock();
            if (any.isBound()) {
                return any;
            }
            any.release();
            warnOnce("no cpu available for pinning (wanted " + cpu + ")", null);
        } catch (Throwable t) {
            // LinkageError when JNA is missing, RuntimeException from the native call.
            warnOnce("cpu pinning unsupported", t);
        }
        return null;
    }

    static void unpin(AutoCloseable lock) {
        if (lock == null) {
            return;
        }
        try {
            lock.close();
        } catch (Exception e) {
            LOG.log(System.Logger.Level.DEBUG, "affinity release failed", e);
        }
    }

    private static void warnOnce(String message, Throwable cause) {
        if (WARNED.compareAndSet(false, true)) {
            LOG.log(System.Logger.Level.WARNING, message + "; event loops run unpinned", cause);
        }
    }
}
