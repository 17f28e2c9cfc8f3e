package io.sluice.bench.load;

import org.HdrHistogram.Histogram;

/**
 * Reads every loop's {@link LoopMetricsByWindow}: merges the measured window's interval histograms
 * into run totals and per-interval histograms, the last interval's whole-message histogram of both
 * windows (for the progress line), and sums counters. Which window a figure covers: latencies,
 * {@link #counter}, {@link #interval}, {@link #replies} and {@link #errors} the measured one, so
 * the result's codes and errors describe the same messages as its percentiles;
 * {@link #warmupReplies} and {@link #warmupErrors} the warm-up alone; {@link #runCounter} and
 * {@link #lastMessages} the whole run (the progress line). One reader thread only (the thread that
 * runs {@link LoadGenerator#run()}).
 */
final class MetricsReader {

    private final LoopMetricsByWindow[] loops;
    private final Histogram[] totals = new Histogram[Phase.values().length];
    private final Histogram[][] recycled;
    private final Histogram[] recycledWarmupMessages;
    private final Histogram lastMessages = newHistogram();
    private final Histogram[] intervals = new Histogram[Phase.values().length];

    MetricsReader(LoopMetricsByWindow[] loops) {
        this.loops = loops;
        this.recycled = new Histogram[loops.length][Phase.values().length];
        this.recycledWarmupMessages = new Histogram[loops.length];
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
            LoopMetrics measured = loops[l].measured();
            for (Phase phase : Phase.values()) {
                Histogram interval = measured.intervalHistogram(phase, recycled[l][phase.ordinal()]);
                recycled[l][phase.ordinal()] = interval;
                totals[phase.ordinal()].add(interval);
                intervals[phase.ordinal()].add(interval);
                if (phase == Phase.MESSAGE) {
                    lastMessages.add(interval);
                }
            }
            // The warm-up's other phases are never read: their recorders just keep counting.
            Histogram warmup = loops[l].warmup().intervalHistogram(Phase.MESSAGE, recycledWarmupMessages[l]);
            recycledWarmupMessages[l] = warmup;
            lastMessages.add(warmup);
        }
    }

    /** Latencies (µs) of {@code phase} measured in the last {@link #collect()} interval, every loop merged. */
    Histogram interval(Phase phase) {
        return intervals[phase.ordinal()];
    }

    /** Whole-message latencies (µs) of the last {@link #collect()} interval, warm-up included. */
    Histogram lastMessages() {
        return lastMessages;
    }

    /** Latencies (µs) of {@code phase} measured so far. */
    Histogram total(Phase phase) {
        return totals[phase.ordinal()];
    }

    /** A {@link LoopMetrics} counter of the measured window, every loop summed. */
    long counter(int counter) {
        long sum = 0;
        for (LoopMetricsByWindow loop : loops) {
            sum += loop.measured().counter(counter);
        }
        return sum;
    }

    /** A {@link LoopMetrics} counter of the whole run, warm-up included: never decreases. */
    long runCounter(int counter) {
        long sum = 0;
        for (LoopMetricsByWindow loop : loops) {
            sum += loop.warmup().counter(counter) + loop.measured().counter(counter);
        }
        return sum;
    }

    /** Replies with {@code code} to the measured window's tickets, every loop summed. */
    long replies(int code) {
        return replies(MessageSchedule.MEASURED, code);
    }

    /** Replies with {@code code} to warm-up tickets, every loop summed. */
    long warmupReplies(int code) {
        return replies(MessageSchedule.WARMUP, code);
    }

    /** Errors of {@code kind} of the measured window's tickets, every loop summed. */
    long errors(ErrorKind kind) {
        return errors(MessageSchedule.MEASURED, kind);
    }

    /** Errors of {@code kind} of warm-up tickets, every loop summed. */
    long warmupErrors(ErrorKind kind) {
        return errors(MessageSchedule.WARMUP, kind);
    }

    /** A counter of warm-up tickets, every loop summed. */
    long warmupCounter(int counter) {
        long sum = 0;
        for (LoopMetricsByWindow loop : loops) {
            sum += loop.warmup().counter(counter);
        }
        return sum;
    }

    private long replies(int window, int code) {
        long sum = 0;
        for (LoopMetricsByWindow loop : loops) {
            sum += loop.of(window).replies(code);
        }
        return sum;
    }

    private long errors(int window, ErrorKind kind) {
        long sum = 0;
        for (LoopMetricsByWindow loop : loops) {
            sum += loop.of(window).errors(kind);
        }
        return sum;
    }
}
