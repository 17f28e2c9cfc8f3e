package io.sluice.smtp.spool;

import java.util.function.LongSupplier;

/**
 * Mints {@link QueueId}s for one event loop: strictly increasing, never behind the wall clock, and
 * never at or below the newest id seen on disk (so ids stay unique across restarts even if the
 * clock steps back). Confined to the appender's thread.
 */
final class QueueIdGenerator {
    private static final int SEQ_SHIFT = QueueId.LOOP_BITS;

    private final int loopIndex;
    private final LongSupplier clockMillis;
    /** {@code epochMillis << COUNTER_BITS | counter} of the last id; a counter overflow borrows the next ms. */
    private long lastSeq;

    QueueIdGenerator(int loopIndex, long newestSeenValue, LongSupplier clockMillis) {
        this.loopIndex = loopIndex;
        this.clockMillis = clockMillis;
        this.lastSeq = newestSeenValue >>> SEQ_SHIFT;
    }

    QueueId next() {
        long clockSeq = clockMillis.getAsLong() << QueueId.COUNTER_BITS;
        lastSeq = Math.max(clockSeq, lastSeq + 1);
        return QueueId.of((lastSeq << SEQ_SHIFT) | loopIndex);
    }
}
