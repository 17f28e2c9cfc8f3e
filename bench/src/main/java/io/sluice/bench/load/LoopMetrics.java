package io.sluice.bench.load;

import java.util.concurrent.atomic.AtomicLongArray;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.SingleWriterRecorder;

/**
 * What the sessions of one event loop measured in one window of the run (warm-up or measured, see
 * {@link LoopMetricsByWindow}): a latency recorder per {@link Phase} and plain counters. Single writer: only that loop's thread records (allocation-free, wait-free); one
 * reader thread (the progress reporter) takes interval histograms and reads the counters.
 * Counters are published with release stores, so the reader sees values at most a moment old.
 */
final class LoopMetrics {

    /** Latencies are recorded in microseconds, from 1 µs up to an hour, 3 significant digits. */
    static final long HIGHEST_MICROS = 3_600_000_000L;
    static final int SIGNIFICANT_DIGITS = 3;

    /** Counter indexes of {@link #counter(int)}. */
    static final int MESSAGES_OK = 0;
    static final int MESSAGES_FAILED = 1;
    static final int SESSIONS_OK = 2;
    static final int SESSIONS_FAILED = 3;
    static final int CONNECTIONS = 4;
    static final int HANDSHAKES = 5;
    static final int MESSAGE_BYTES = 6;
    static final int RECIPIENTS_ACCEPTED = 7;
    static final int ERRORS = 8;
    /** Handshakes (of {@link #HANDSHAKES}) that resumed a session instead of a full handshake. */
    static final int HANDSHAKES_RESUMED = 9;
    static final int COUNTERS = 10;

    /** Reply codes are 200..599; index by code. */
    static final int REPLY_CODES = 600;

    private final SingleWriterRecorder[] recorders = new SingleWriterRecorder[Phase.values().length];
    private final AtomicLongArray counters = new AtomicLongArray(COUNTERS);
    private final AtomicLongArray replyCodes = new AtomicLongArray(REPLY_CODES);
    private final AtomicLongArray errors = new AtomicLongArray(ErrorKind.values().length);

    LoopMetrics() {
        for (int i = 0; i < recorders.length; i++) {
            recorders[i] = new SingleWriterRecorder(1, HIGHEST_MICROS, SIGNIFICANT_DIGITS);
        }
    }

    // ---------------------------------------------------------------- writer (loop thread)

    void record(Phase phase, long nanos) {
        long micros = Math.max(1, Math.min(HIGHEST_MICROS, nanos / 1000));
        recorders[phase.ordinal()].recordValue(micros);
    }

    void increment(int counter) {
        add(counter, 1);
    }

    void add(int counter, long delta) {
        counters.lazySet(counter, counters.get(counter) + delta);
    }

    void countReply(int code) {
        replyCodes.lazySet(code, replyCodes.get(code) + 1);
    }

    void countError(ErrorKind kind) {
        errors.lazySet(kind.ordinal(), errors.get(kind.ordinal()) + 1);
        increment(ERRORS);
    }

    // ---------------------------------------------------------------- reader (one thread)

    /**
     * The values recorded for {@code phase} since the last call, in a histogram the caller hands
     * back as {@code recycle} next time (or null the first time).
     */
    Histogram intervalHistogram(Phase phase, Histogram recycle) {
        return recorders[phase.ordinal()].getIntervalHistogram(recycle);
    }

    long counter(int counter) {
        return counters.get(counter);
    }

    long replies(int code) {
        return replyCodes.get(code);
    }

    long errors(ErrorKind kind) {
        return errors.get(kind.ordinal());
    }
}
