package io.sluice.smtp.server;

import java.nio.ByteBuffer;
import java.util.concurrent.Executor;

import io.sluice.reactor.NanoClock;

/**
 * What the sessions of one event loop share: the loop's clock and executor, its message store and
 * its scratch buffer for decoded message text. Confined to that loop's thread.
 */
public final class SessionServices {

    /** Decoded DATA goes through this buffer on its way from the read buffer to the store. */
    static final int SCRATCH_OCTETS = 64 * 1024;

    /** Runs a task on the loop at a deadline of the loop's clock. */
    @FunctionalInterface
    public interface Scheduler {
        void schedule(long deadlineNanos, Runnable task);
    }

    private final NanoClock clock;
    private final Executor executor;
    private final Scheduler scheduler;
    private final MessageStore store;
    private final ByteBuffer scratch = ByteBuffer.allocateDirect(SCRATCH_OCTETS);

    public SessionServices(NanoClock clock, Executor executor, Scheduler scheduler, MessageStore store) {
        this.clock = clock;
        this.executor = executor;
        this.scheduler = scheduler;
        this.store = store;
    }

    NanoClock clock() {
        return clock;
    }

    Executor executor() {
        return executor;
    }

    Scheduler scheduler() {
        return scheduler;
    }

    MessageStore store() {
        return store;
    }

    ByteBuffer scratch() {
        return scratch;
    }
}
