package io.sluice.bench.load;

import org.HdrHistogram.Histogram;

/**
 * Reads every loop's {@link LoopMetrics}: merges their interval histograms into run totals and
 * the last interval's whole-message histogram, and sums their counters. One reader thread only
 * (the thread that runs {@link LoadGenerator#run()}).
 */
final class MetricsReader {

    private final LoopMetrics[] loops;
    private final Histogram[] totals = new Histogram[Phase.values().length];
    private final Histogram[][] recycled;
    private final Histogram lastMessages = newHistogram();
    private final Histogram[] intervals = new Histogram[Phase.values().length];

    MetricsReader(LoopMetrics[] loops) {
        this.loops = loops;
        this.recycled = new Histogram[loops.length][Phase.values().length];
        for (int i = 0; i < totals.length; i++) {
            totals[i] = newHistogram();
            intervals[i] = newHistogram();
        }
    }

    static Histogram newHistogram() {
        return new Histogram(1, LoopMetrics.HIGHEST_MICROS, LoopMetrics.SIGNIFICANT_DIGITS);
    }

    /**
     * Moves everything recorded since the last call into the totals, {@link #lastMessages()} and
     * {@link #interval(Phase)}.
     */
    void collect() {
        lastMessages.reset();
        for (Histogram interval : intervals) {
            interval.reset();
        }
        for (int l = 0; l < loops.length; l++) {
            for (Phase phase : Phase.values()) {
                Histogram interval = loops[l].intervalHistogram(phase, recycled[l][phase.ordinal()]);
                recycled[l][phase.ordinal()] = interval;
                totals[phase.ordinal()].add(interval);
                intervals[phase.ordinal()].add(interval);
                if (phase == Phase.MESSAGE) {
                    lastMessages.add(interval);
                }
            }
        }
    }

    /** Latencies (µs) of {@code phase} in the last {@link #collect()} interval, every loop merged. */
    Histogram interval(Phase phase) {
        return intervals[phase.ordinal()];
    }

    /** Whole-message latencies (µs) of the last {@link #collect()} interval. */
    Histogram lastMessages() {
        return lastMessages;
    }

    /** Latencies (µs) of {@code phase} collected so far. */
    Histogram total(Phase phase) {
        return totals[phase.ordinal()];
    }

    long counter(int counter) {
        long sum = 0;
        for (LoopMetrics loop : loops) {
            sum += loop.counter(counter);
        }
        return sum;
    }

    long replies(int code) {
        long sum = 0;
        for (LoopMetrics loop : loops) {
            sum += loop.replies(code);
        }
        return sum;
    }

    long errors(ErrorKind kind) {
        long sum = 0;
        for (LoopMetrics loop : loops) {
            sum += loop.errors(kind);
        }
        return sum;
    }
}
