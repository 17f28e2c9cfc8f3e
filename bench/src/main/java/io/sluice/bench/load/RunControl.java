package io.sluice.bench.load;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Run-wide stop signal and error budget, shared by every session and the thread that waits for
 * the run. Any thread; errors are rare, so one shared atomic is cheap enough.
 */
final class RunControl {

    private final long maxErrors;
    private final AtomicLong errors = new AtomicLong();
    private final CountDownLatch slotsFinished;
    private volatile boolean stopping;

    /** @param maxErrors stop once errors exceed this; -1 never stops for errors */
    RunControl(long maxErrors, int slots) {
        this.maxErrors = maxErrors;
        this.slotsFinished = new CountDownLatch(slots);
    }

    /** Counts an error; stops the run when the budget is exceeded. */
    void onError() {
        if (errors.incrementAndGet() > maxErrors && maxErrors >= 0) {
            stopping = true;
        }
    }

    /** True once no session should start new work (error budget exceeded, or {@link #stop()}). */
    boolean stopping() {
        return stopping;
    }

    void stop() {
        stopping = true;
    }

    /** True when the error budget (not an explicit stop) ended the run. */
    boolean errorBudgetExceeded() {
        return maxErrors >= 0 && errors.get() > maxErrors;
    }

    /** A session slot has no more work; called once per slot. */
    void slotFinished() {
        slotsFinished.countDown();
    }

    /** Waits up to {@code timeoutNanos} for every slot to finish. */
    boolean awaitSlots(long timeoutNanos) throws InterruptedException {
        return slotsFinished.await(timeoutNanos, TimeUnit.NANOSECONDS);
    }

    long slotsRunning() {
        return slotsFinished.getCount();
    }
}
