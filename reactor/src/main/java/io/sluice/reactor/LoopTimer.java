package io.sluice.reactor;

/**
 * An entry of a loop's {@link TimerHeap}: keyed by an absolute deadline on the loop's clock.
 * Subclasses (connections, scheduled tasks) embed the heap bookkeeping so that arming a timer
 * allocates nothing. Loop thread only.
 */
abstract class LoopTimer {

    /** The deadline this entry is filed under in the heap. */
    long timerKeyNanos;

    /** Position in the heap array, or -1 when not queued. */
    int heapIndex = -1;

    final boolean isQueued() {
        return heapIndex >= 0;
    }

    /** The deadline passed; the entry has already been removed from the heap. */
    abstract void expire(long nowNanos);
}
