package io.sluice.smtp.spool;

/**
 * Tuning of a read-write {@link Spool}; a value, any thread.
 *
 * @param segmentMaxBytes        a segment rolls over once it holds at least this much ({@code spool.segment_bytes}, 64 MiB)
 * @param commitWindowNanos      how long the writer keeps gathering commits after the first one
 *                               before it fsyncs ({@code spool.commit_window}, default 0: take what
 *                               arrived, which during the previous fsync is already a batch; a window
 *                               only adds latency unless fsyncs are scarcer than time, and measured
 *                               2 ms halved throughput at 16 sessions and gained nothing at 512)
 * @param maxBatchMessages       a batch is fsynced at once when it reaches this many commits (1024)
 * @param writerQueueCapacity    commit requests that may wait for the writer across all loops (65536)
 * @param maxRecordPayloadBytes  larger appends are split into DATA records of at most this many bytes (1 MiB)
 * @param recycledSegmentsPerLoop emptied segment files each loop keeps to overwrite instead of
 *                               creating new ones ({@code spool.recycle_segments}, 1; 0 = delete them)
 * @param syncStallTimeoutNanos  a commit round (segment and directory fsyncs) running longer than this
 *                               makes the spool unhealthy until it ends ({@code spool.sync_stall_timeout}, 30 s)
 * @param closeTimeoutNanos      how long {@link Spool#close} waits for the writer to answer what is
 *                               queued before it gives up on a stalled disk ({@code spool.close_timeout}, 10 s)
 */
public record SpoolOptions(long segmentMaxBytes, long commitWindowNanos, int maxBatchMessages,
                           int writerQueueCapacity, int maxRecordPayloadBytes, int recycledSegmentsPerLoop,
                           long syncStallTimeoutNanos, long closeTimeoutNanos) {

    /** Validates every limit. */
    public SpoolOptions {
        require("segmentMaxBytes", segmentMaxBytes, 4096, 1L << 40);
        require("commitWindowNanos", commitWindowNanos, 0, 1_000_000_000L);
        require("maxBatchMessages", maxBatchMessages, 1, 1 << 20);
        require("writerQueueCapacity", writerQueueCapacity, 2, 1 << 24);
        require("maxRecordPayloadBytes", maxRecordPayloadBytes, 1, SpoolRecord.MAX_PAYLOAD_BYTES);
        require("recycledSegmentsPerLoop", recycledSegmentsPerLoop, 0, MAX_RECYCLED_SEGMENTS_PER_LOOP);
        // Below a second only for tests (the config keys start at 1 s).
        require("syncStallTimeoutNanos", syncStallTimeoutNanos, MIN_TIMEOUT_NANOS, MAX_TIMEOUT_NANOS);
        require("closeTimeoutNanos", closeTimeoutNanos, MIN_TIMEOUT_NANOS, MAX_TIMEOUT_NANOS);
    }

    /** The options before the stall and close bounds existed, with those at their defaults. */
    public SpoolOptions(long segmentMaxBytes, long commitWindowNanos, int maxBatchMessages,
                        int writerQueueCapacity, int maxRecordPayloadBytes, int recycledSegmentsPerLoop) {
        this(segmentMaxBytes, commitWindowNanos, maxBatchMessages, writerQueueCapacity, maxRecordPayloadBytes,
                recycledSegmentsPerLoop, DEFAULT_SYNC_STALL_TIMEOUT_NANOS, DEFAULT_CLOSE_TIMEOUT_NANOS);
    }

    /** Default of {@link #syncStallTimeoutNanos}: far above any healthy fsync, short of a client's patience. */
    public static final long DEFAULT_SYNC_STALL_TIMEOUT_NANOS = 30_000_000_000L;
    /** Default of {@link #closeTimeoutNanos}: shutdown.grace (30 s) plus this stays inside systemd's 60 s stop. */
    public static final long DEFAULT_CLOSE_TIMEOUT_NANOS = 10_000_000_000L;
    private static final long MIN_TIMEOUT_NANOS = 1_000_000L;
    private static final long MAX_TIMEOUT_NANOS = 3_600_000_000_000L;

    /** Upper bound of {@link #recycledSegmentsPerLoop}: each kept file holds a segment's worth of disk. */
    public static final int MAX_RECYCLED_SEGMENTS_PER_LOOP = 64;

    /** The documented defaults. */
    public static SpoolOptions defaults() {
        return new SpoolOptions(64L << 20, 0L, 1024, 65536, 1 << 20, 1);
    }

    /** Copy with another stall timeout. */
    public SpoolOptions withSyncStallTimeoutNanos(long nanos) {
        return new SpoolOptions(segmentMaxBytes, commitWindowNanos, maxBatchMessages, writerQueueCapacity,
                maxRecordPayloadBytes, recycledSegmentsPerLoop, nanos, closeTimeoutNanos);
    }

    /** Copy with another close bound. */
    public SpoolOptions withCloseTimeoutNanos(long nanos) {
        return new SpoolOptions(segmentMaxBytes, commitWindowNanos, maxBatchMessages, writerQueueCapacity,
                maxRecordPayloadBytes, recycledSegmentsPerLoop, syncStallTimeoutNanos, nanos);
    }

    /** Copy with another segment size. */
    public SpoolOptions withSegmentMaxBytes(long bytes) {
        return new SpoolOptions(bytes, commitWindowNanos, maxBatchMessages, writerQueueCapacity,
                maxRecordPayloadBytes, recycledSegmentsPerLoop, syncStallTimeoutNanos, closeTimeoutNanos);
    }

    /** Copy with another commit window. */
    public SpoolOptions withCommitWindowNanos(long nanos) {
        return new SpoolOptions(segmentMaxBytes, nanos, maxBatchMessages, writerQueueCapacity,
                maxRecordPayloadBytes, recycledSegmentsPerLoop, syncStallTimeoutNanos, closeTimeoutNanos);
    }

    /** Copy with another record payload limit. */
    public SpoolOptions withMaxRecordPayloadBytes(int bytes) {
        return new SpoolOptions(segmentMaxBytes, commitWindowNanos, maxBatchMessages, writerQueueCapacity,
                bytes, recycledSegmentsPerLoop, syncStallTimeoutNanos, closeTimeoutNanos);
    }

    /** Copy with another number of kept files per loop. */
    public SpoolOptions withRecycledSegmentsPerLoop(int files) {
        return new SpoolOptions(segmentMaxBytes, commitWindowNanos, maxBatchMessages, writerQueueCapacity,
                maxRecordPayloadBytes, files, syncStallTimeoutNanos, closeTimeoutNanos);
    }

    private static void require(String name, long value, long min, long max) {
        if (value < min) {
            throw new IllegalArgumentException(name + "=" + value + " < MIN=" + min);
        }
        if (value > max) {
            throw new IllegalArgumentException(name + "=" + value + " > MAX=" + max);
        }
    }
}
