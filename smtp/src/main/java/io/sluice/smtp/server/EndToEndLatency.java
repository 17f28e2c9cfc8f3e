package io.sluice.smtp.server;

import java.time.Instant;
import java.util.concurrent.atomic.LongAdder;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.SingleWriterRecorder;

/**
 * {@code sluice sink}'s end-to-end latency: from the send time a load generator stamped into each
 * message ({@code X-Sluice-Sent}, epoch microseconds) to the moment the sink accepted it.
 *
 * <p>Writers: each event loop records into its own {@link SingleWriterRecorder} (wait-free, no
 * lock, no allocation) through {@link #record}. Readers (the report thread, the shutdown hook)
 * call {@link #takeInterval()} and {@link #total()}, which merge the loops' interval histograms
 * under this object's lock; that lock is never taken on a loop.
 *
 * <p>Both ends read the wall clock, so on one host the figures are good to about a millisecond;
 * across hosts they are as good as the clocks' agreement (a stamp more than a millisecond in the
 * sink's future is counted as clock skew, not recorded).
 */
public final class EndToEndLatency {

    /**
     * Stamps this far in the future (µs) are taken as clock granularity and recorded as 1 µs: the
     * two clocks are read at different instants with microsecond precision at best.
     */
    static final long CLOCK_TOLERANCE_MICROS = 1000;

    /** Latencies are recorded in microseconds, 1 µs to an hour, 3 significant digits. */
    public static final long HIGHEST_MICROS = 3_600_000_000L;
    private static final int SIGNIFICANT_DIGITS = 3;

    private final SingleWriterRecorder[] recorders;
    private final Histogram[] recycled;
    private final Histogram total = newHistogram();
    private final LongAdder unstamped = new LongAdder();
    private final LongAdder clockSkewed = new LongAdder();

    EndToEndLatency(int loops) {
        recorders = new SingleWriterRecorder[loops];
        recycled = new Histogram[loops];
        for (int i = 0; i < loops; i++) {
            recorders[i] = new SingleWriterRecorder(1, HIGHEST_MICROS, SIGNIFICANT_DIGITS);
        }
    }

    /**
     * The wall clock in epoch microseconds minus {@code System.nanoTime() / 1000}, read once: add
     * {@code nanoTime() / 1000} to get the time with microsecond precision and no allocation.
     * (currentTimeMillis would cut up to a millisecond, enough to make loopback latencies negative.)
     */
    static long epochMicrosMinusNanoMicros() {
        Instant now = Instant.now();
        long nanoMicros = System.nanoTime() / 1000;
        return now.getEpochSecond() * 1_000_000L + now.getNano() / 1000 - nanoMicros;
    }

    /** An empty histogram with this class's range and precision. */
    public static Histogram newHistogram() {
        return new Histogram(1, HIGHEST_MICROS, SIGNIFICANT_DIGITS);
    }

    /**
     * Records one accepted message. Loop {@code loop}'s thread only.
     *
     * @param sentEpochMicros its stamp, or {@link SentStampScanner#NO_STAMP}
     */
    void record(int loop, long sentEpochMicros, long nowEpochMicros) {
        if (sentEpochMicros == SentStampScanner.NO_STAMP) {
            unstamped.increment();
            return;
        }
        long micros = nowEpochMicros - sentEpochMicros;
        if (micros < -CLOCK_TOLERANCE_MICROS) {
            clockSkewed.increment();
            return;
        }
        recorders[loop].recordValue(Math.max(1, Math.min(HIGHEST_MICROS, micros)));
    }

    /**
     * Everything recorded since the previous call, every loop merged (a new histogram the caller
     * owns); also added to {@link #total()}.
     */
    public synchronized Histogram takeInterval() {
        Histogram merged = newHistogram();
        for (int i = 0; i < recorders.length; i++) {
            recycled[i] = recorders[i].getIntervalHistogram(recycled[i]);
            merged.add(recycled[i]);
        }
        total.add(merged);
        return merged;
    }

    /** A copy of every latency taken so far (call {@link #takeInterval()} first to include the newest). */
    public synchronized Histogram total() {
        return total.copy();
    }

    /** Accepted messages without a (valid) stamp header. */
    public long unstamped() {
        return unstamped.sum();
    }

    /** Stamped messages whose stamp lay in the sink's future (clocks disagree): not recorded. */
    public long clockSkewed() {
        return clockSkewed.sum();
    }
}
