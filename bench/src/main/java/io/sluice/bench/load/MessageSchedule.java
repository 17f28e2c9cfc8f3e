package io.sluice.bench.load;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Hands out the right to start one message (or, with {@code --handshake-only}, one session): a
 * ticket. Shared by every session of a run; {@link #claim} is lock-free and may be called from
 * any loop thread.
 *
 * <p><b>Open model</b> ({@code intervalNanos > 0}): ticket {@code k} is due at
 * {@code startNanos + k * intervalNanos}, whatever happened to earlier tickets. A session that
 * claims a ticket late still measures from that intended time, so a server that stalls pays for
 * every message it delayed (no coordinated omission). <b>Closed model</b>: a ticket is due when
 * claimed.
 *
 * <p>Warm-up: tickets due before {@code startNanos + warmupNanos} are sent but not measured and
 * do not count towards {@code maxTickets}. The run ends when {@code maxTickets} measured tickets
 * are out, or, with a duration, for tickets due at or after the end. A ticket names its window
 * ({@link #WARMUP} or {@link #MEASURED}) as an index, not a flag to branch on: sessions record
 * every ticket alike into that window's metrics, so the code the JIT compiles during warm-up is
 * the code that runs afterwards, and {@link #claim} itself takes the same branches in both windows.
 */
final class MessageSchedule {

    /** {@link Ticket#window} of a ticket due before the end of warm-up. */
    static final int WARMUP = 0;
    /** {@link Ticket#window} of a ticket due at or after the end of warm-up. */
    static final int MEASURED = 1;
    /** How many windows there are: index arrays of per-window metrics with {@link Ticket#window}. */
    static final int WINDOWS = 2;

    /** Ticket fields filled by {@link #claim}; one per session, loop thread only. */
    static final class Ticket {
        /** When the message should start, on the loop clock. */
        long intendedNanos;
        /** {@link #WARMUP} or {@link #MEASURED}. */
        int window;
        /** Unique per run, from 0. */
        long sequence;

        boolean measured() {
            return window == MEASURED;
        }
    }

    private final long startNanos;
    private final long intervalNanos;
    private final long warmupEndNanos;
    private final long endNanos;
    /** False without a duration; then endNanos is meaningless (nanoTime may be negative, so no sentinel). */
    private final boolean timeBounded;
    private final long maxTickets;
    private final long warmupTickets;
    private final AtomicLong issued = new AtomicLong();
    private final AtomicLong measuredIssued = new AtomicLong();

    /**
     * @param intervalNanos 0 for the closed model
     * @param maxTickets    measured tickets to issue, or 0 for no limit (then durationNanos must be set)
     * @param durationNanos measured period after warm-up, or 0 for no limit
     */
    MessageSchedule(long startNanos, long intervalNanos, long warmupNanos, long maxTickets, long durationNanos) {
        if (maxTickets <= 0 && durationNanos <= 0) {
            throw new IllegalArgumentException("maxTickets=" + maxTickets + " and durationNanos=" + durationNanos
                    + ": one must be > 0");
        }
        this.startNanos = startNanos;
        this.intervalNanos = intervalNanos;
        this.warmupEndNanos = startNanos + warmupNanos;
        this.timeBounded = durationNanos > 0;
        this.endNanos = warmupEndNanos + durationNanos;
        this.maxTickets = maxTickets > 0 ? maxTickets : Long.MAX_VALUE;
        this.warmupTickets = intervalNanos > 0 ? ceilDiv(warmupNanos, intervalNanos) : 0;
    }

    /** The interval of the open model for {@code ratePerSecond}, or 0 for the closed model. */
    static long intervalNanos(double ratePerSecond) {
        return ratePerSecond > 0 ? Math.max(1, Math.round(1e9 / ratePerSecond)) : 0;
    }

    /**
     * Claims the next ticket into {@code ticket}. Any thread; allocation-free.
     *
     * @return false when the run has no more tickets
     */
    boolean claim(long nowNanos, Ticket ticket) {
        return intervalNanos > 0 ? claimOpen(ticket) : claimClosed(nowNanos, ticket);
    }

    private boolean claimOpen(Ticket ticket) {
        long k = issued.getAndIncrement();
        long intended = startNanos + k * intervalNanos;
        // No "k >= warmupTickets &&" first: a warm-up ticket is below both limits anyway (k - warmupTickets
        // < 0, due before the end), and a guard never true in warm-up would be compiled out, then
        // deoptimised at its end.
        if (k - warmupTickets >= maxTickets || isPastEnd(intended)) {
            return false;
        }
        ticket.sequence = k;
        ticket.intendedNanos = intended;
        ticket.window = windowOf(k - warmupTickets);
        return true;
    }

    private boolean claimClosed(long nowNanos, Ticket ticket) {
        if (isPastEnd(nowNanos)) {
            return false;
        }
        int window = windowOf(nowNanos - warmupEndNanos);
        // Adds 0 in warm-up, 1 after it: the same test in both windows (see claimOpen).
        if (measuredIssued.getAndAdd(window) + window > maxTickets) {
            return false;
        }
        ticket.sequence = issued.getAndIncrement();
        ticket.intendedNanos = nowNanos;
        ticket.window = window;
        return true;
    }

    /** {@link #MEASURED} when {@code sinceWarmupEnd} is 0 or more, else {@link #WARMUP}; branch-free. */
    static int windowOf(long sinceWarmupEnd) {
        return (int) (~sinceWarmupEnd >>> 63);
    }

    /** When measurement starts, on the loop clock. */
    long warmupEndNanos() {
        return warmupEndNanos;
    }

    /** True when the run has a duration and {@code nanos} is at or after its end. */
    boolean isPastEnd(long nanos) {
        return timeBounded && nanos - endNanos >= 0;
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }
}
