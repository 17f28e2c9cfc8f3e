package io.sluice.reactor;

/** A one-shot timer from {@link EventLoop#schedule(long, Runnable)}. */
public interface TimerHandle {

    /** The absolute deadline on the loop's clock. Any thread. */
    long deadlineNanos();

    /**
     * Stops the timer if it has not fired. Loop thread only.
     *
     * @return true if this call cancelled it
     */
    boolean cancel();
}
