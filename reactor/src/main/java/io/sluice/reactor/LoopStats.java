package io.sluice.reactor;

/**
 * A snapshot of one loop's counters from {@link EventLoop#stats()}. The counters are written by
 * the loop thread and read racily, so a snapshot is approximate but each value is one the loop
 * really held.
 */
public record LoopStats(
        int index,
        long cycles,
        long tasksRun,
        long taskErrors,
        int connectionsOpen,
        long connectionsOpened,
        long connectionsClosed,
        long handlerErrors,
        long readCalls,
        long writeCalls,
        long lastCycleNanos,
        long maxCycleNanos,
        long stalls,
        long selectorRebuilds) {
}
