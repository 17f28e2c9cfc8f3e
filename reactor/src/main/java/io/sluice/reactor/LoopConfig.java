package io.sluice.reactor;

/**
 * Limits of one {@link EventLoop}; immutable, safe to share between loops and threads. Every
 * limit has a documented default in {@link #defaults()}; use the {@code with...} methods to
 * change one.
 *
 * @param taskQueueCapacity   bounded MPSC task queue; {@link EventLoop#execute} rejects when full (default 65536)
 * @param maxTasksPerCycle    tasks drained per loop cycle, so I/O is never starved (default 4096)
 * @param readBufferBytes     the loop's shared read buffer, and the size of the large pooled
 *                            buffers that hold oversized leftovers (default 64 KiB)
 * @param poolBufferBytes     pooled per-connection buffers (outbound chunks, small leftovers) (default 16 KiB)
 * @param maxCachedBuffers    pooled buffers kept for reuse per pool; more are left to the GC (default 1024)
 * @param maxReadsPerEvent    socket reads per readiness event, for fairness (default 4)
 * @param highWaterBytes      queued outbound bytes above which a connection is unwritable and stops reading (default 64 KiB)
 * @param lowWaterBytes       queued outbound bytes at or below which it is writable again (default 32 KiB)
 * @param closeTimeoutNanos   how long an orderly {@link Connection#close()} may wait for the peer to take queued bytes (default 3 s)
 * @param stallThresholdNanos a cycle longer than this counts as a stall (default 50 ms)
 */
public record LoopConfig(
        int taskQueueCapacity,
        int maxTasksPerCycle,
        int readBufferBytes,
        int poolBufferBytes,
        int maxCachedBuffers,
        int maxReadsPerEvent,
        int highWaterBytes,
        int lowWaterBytes,
        long closeTimeoutNanos,
        long stallThresholdNanos) {

    private static final long MILLIS = 1_000_000L;

    public LoopConfig {
        requirePositive("taskQueueCapacity", taskQueueCapacity);
        requirePositive("maxTasksPerCycle", maxTasksPerCycle);
        requirePositive("poolBufferBytes", poolBufferBytes);
        requirePositive("maxReadsPerEvent", maxReadsPerEvent);
        requirePositive("closeTimeoutNanos", closeTimeoutNanos);
        requirePositive("stallThresholdNanos", stallThresholdNanos);
        if (maxCachedBuffers < 0) {
            throw new IllegalArgumentException("maxCachedBuffers=" + maxCachedBuffers + " < 0");
        }
        if (readBufferBytes <= poolBufferBytes) {
            throw new IllegalArgumentException("readBufferBytes=" + readBufferBytes
                    + " <= poolBufferBytes=" + poolBufferBytes);
        }
        if (lowWaterBytes < 0 || lowWaterBytes >= highWaterBytes) {
            throw new IllegalArgumentException("lowWaterBytes=" + lowWaterBytes
                    + " must be in [0, highWaterBytes=" + highWaterBytes + ")");
        }
    }

    /** The defaults listed on the record. */
    public static LoopConfig defaults() {
        return new LoopConfig(65536, 4096, 64 * 1024, 16 * 1024, 1024, 4,
                64 * 1024, 32 * 1024, 3_000 * MILLIS, 50 * MILLIS);
    }

    public LoopConfig withWaterMarks(int highBytes, int lowBytes) {
        return new LoopConfig(taskQueueCapacity, maxTasksPerCycle, readBufferBytes, poolBufferBytes,
                maxCachedBuffers, maxReadsPerEvent, highBytes, lowBytes, closeTimeoutNanos, stallThresholdNanos);
    }

    public LoopConfig withTaskQueueCapacity(int capacity) {
        return new LoopConfig(capacity, maxTasksPerCycle, readBufferBytes, poolBufferBytes,
                maxCachedBuffers, maxReadsPerEvent, highWaterBytes, lowWaterBytes, closeTimeoutNanos,
                stallThresholdNanos);
    }

    public LoopConfig withBufferBytes(int readBytes, int poolBytes) {
        return new LoopConfig(taskQueueCapacity, maxTasksPerCycle, readBytes, poolBytes,
                maxCachedBuffers, maxReadsPerEvent, highWaterBytes, lowWaterBytes, closeTimeoutNanos,
                stallThresholdNanos);
    }

    public LoopConfig withCloseTimeoutNanos(long timeoutNanos) {
        return new LoopConfig(taskQueueCapacity, maxTasksPerCycle, readBufferBytes, poolBufferBytes,
                maxCachedBuffers, maxReadsPerEvent, highWaterBytes, lowWaterBytes, timeoutNanos,
                stallThresholdNanos);
    }

    public LoopConfig withStallThresholdNanos(long thresholdNanos) {
        return new LoopConfig(taskQueueCapacity, maxTasksPerCycle, readBufferBytes, poolBufferBytes,
                maxCachedBuffers, maxReadsPerEvent, highWaterBytes, lowWaterBytes, closeTimeoutNanos,
                thresholdNanos);
    }

    private static void requirePositive(String name, long value) {
        if (value <= 0) {
            throw new IllegalArgumentException(name + "=" + value + " <= 0");
        }
    }
}
