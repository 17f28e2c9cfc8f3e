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

    /** Pins the current thread; returns the lock to release on thread exit, or null. */
    static AutoCloseable pin(int cpu) {
        try {
            AffinityLock lock = AffinityLock.acquireLock(cpu);
            if (lock.isBound() && lock.cpuId() == cpu) {
                return lock;
            }
            lock.release();
            warnOnce("cpu " + cpu + " not available for pinning", null);
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
