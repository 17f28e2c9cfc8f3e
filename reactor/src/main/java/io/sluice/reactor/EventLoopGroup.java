package io.sluice.reactor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A fixed set of {@link EventLoop}s and the policy that assigns new connections to them.
 * {@link #next()} may be called from any thread (the acceptor, a delivery scheduler);
 * {@link #start()} and {@link #close()} by the owner.
 */
public final class EventLoopGroup implements AutoCloseable {

    /** How {@link #next()} picks a loop. */
    public enum Assignment {
        /** Each loop in turn: cheapest, and even when connections live about as long. */
        ROUND_ROBIN,
        /** The loop with the fewest assigned connections, ties broken in turn. */
        LEAST_LOADED
    }

    private final EventLoop[] loops;
    private final List<EventLoop> loopList;
    private final boolean pin;
    private final Assignment assignment;
    private final AtomicInteger cursor = new AtomicInteger();
    private boolean started;
    private boolean closed;

    /**
     * @param loopCount  number of loops, at least 1
     * @param pin        pin loop i to CPU i modulo the CPU count (logged once and ignored where unsupported)
     * @param assignment the policy of {@link #next()}
     */
    public EventLoopGroup(int loopCount, boolean pin, Assignment assignment, LoopConfig config, NanoClock clock) {
        if (loopCount < 1) {
            throw new IllegalArgumentException("loopCount=" + loopCount + " < 1");
        }
        this.pin = pin;
        this.assignment = Objects.requireNonNull(assignment, "assignment");
        this.loops = new EventLoop[loopCount];
        try {
            for (int i = 0; i < loopCount; i++) {
                loops[i] = new EventLoop(i, config, clock);
            }
        } catch (IOException e) {
            closeCreated();
            throw new UncheckedIOException("cannot open a selector", e);
        }
        this.loopList = List.of(loops);
    }

    /** One loop per available processor, unpinned, round-robin, default limits. */
    public EventLoopGroup() {
        this(Runtime.getRuntime().availableProcessors(), false, Assignment.ROUND_ROBIN,
                LoopConfig.defaults(), NanoClock.SYSTEM);
    }

    public synchronized void start() {
        if (started) {
            throw new IllegalStateException("group already started");
        }
        started = true;
        int cpus = Runtime.getRuntime().availableProcessors();
        for (int i = 0; i < loops.length; i++) {
            loops[i].startPinned(pin ? i % cpus : -1);
        }
    }

    /** Closes every loop (and so every connection); idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (EventLoop loop : loops) {
            loop.close();
        }
    }

    public List<EventLoop> loops() {
        return loopList;
    }

    public Assignment assignment() {
        return assignment;
    }

    /** The loop for a new connection, by the group's policy. Any thread; allocation-free. */
    public EventLoop next() {
        int turn = cursor.getAndIncrement() & Integer.MAX_VALUE;
        if (assignment == Assignment.ROUND_ROBIN || loops.length == 1) {
            return loops[turn % loops.length];
        }
        EventLoop best = null;
        int bestLoad = Integer.MAX_VALUE;
        for (int i = 0; i < loops.length; i++) {
            EventLoop candidate = loops[(turn + i) % loops.length];
            int load = candidate.load();
            if (load < bestLoad) {
                best = candidate;
                bestLoad = load;
            }
        }
        return best;
    }

    private void closeCreated() {
        for (EventLoop loop : loops) {
            if (loop != null) {
                loop.close();
            }
        }
    }
}
