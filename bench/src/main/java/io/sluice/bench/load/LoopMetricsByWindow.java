package io.sluice.bench.load;

/**
 * One event loop's {@link LoopMetrics}, one per window of the schedule ({@link MessageSchedule#WARMUP},
 * {@link MessageSchedule#MEASURED}). Sessions record every ticket the same way into
 * {@code of(ticket.window)}, so nothing on the session path branches on "measured": the code C2
 * compiles during warm-up is the code that runs after it, and is not deoptimised at the boundary.
 * The reader decides which windows a figure covers. Immutable; the {@link LoopMetrics} inside keep
 * their single-writer (that loop's thread) contract.
 */
final class LoopMetricsByWindow {

    private final LoopMetrics[] windows = new LoopMetrics[MessageSchedule.WINDOWS];

    LoopMetricsByWindow() {
        for (int i = 0; i < windows.length; i++) {
            windows[i] = new LoopMetrics();
        }
    }

    /** The metrics of {@code window} ({@link MessageSchedule.Ticket#window}). */
    LoopMetrics of(int window) {
        return windows[window];
    }

    LoopMetrics warmup() {
        return windows[MessageSchedule.WARMUP];
    }

    LoopMetrics measured() {
        return windows[MessageSchedule.MEASURED];
    }
}
