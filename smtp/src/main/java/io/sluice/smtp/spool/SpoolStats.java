package io.sluice.smtp.spool;

/**
 * Snapshot of the group-commit writer's counters since the spool opened; a value, any thread.
 *
 * @param batches          commit batches processed
 * @param messages         commits answered {@code committed}
 * @param failedMessages   commits answered {@code failed}
 * @param fsyncs           segment {@code force} calls
 * @param dirFsyncs        segment directory fsyncs (one per batch that saw a new segment)
 * @param maxBatch         largest batch, in commit requests
 * @param totalFsyncNanos  time spent in segment and directory fsyncs
 * @param callbackErrors   listener callbacks the executor refused or that threw
 * @param damagedRanges    ranges of fsynced records the opening recovery found damaged inside a
 *                         segment and skipped, keeping the messages behind them (each logged as an
 *                         ERROR; a read-only spool counts them too)
 */
public record SpoolStats(long batches, long messages, long failedMessages, long fsyncs, long dirFsyncs,
                         long maxBatch, long totalFsyncNanos, long callbackErrors, long damagedRanges) {

    /** Mean commit requests per batch. */
    public double meanBatch() {
        return batches == 0 ? 0 : (double) (messages + failedMessages) / batches;
    }

    /** Mean nanoseconds per fsync. */
    public double meanFsyncNanos() {
        long n = fsyncs + dirFsyncs;
        return n == 0 ? 0 : (double) totalFsyncNanos / n;
    }
}
