package io.sluice.smtp.server;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Counts open connections in total and per client ({@link ClientKey}: an IPv4 address or an IPv6
 * prefix) across every loop, so a session can answer {@code 421 4.7.0} at once when either limit is
 * reached. Thread-safe and lock-free; touched once when a connection opens and once when it closes,
 * never per command, and allocates nothing.
 *
 * <p>Per-client counts live in a fixed table of {@code long}s (fingerprint and count), four per
 * connection the total allows and at most {@link #MAX_SLOTS} (512 KiB), probed in a window of
 * {@link #PROBES} slots from the key's home slot. {@link #tryAcquire} returns the slot it counted
 * in and {@link #release} gives back exactly that slot, so a count is never lost or orphaned. Where
 * the table is loose it is laxer, never stricter: if two loops add a client's first connection at
 * the same moment it may get two slots (two counts, each limited), and a client whose whole window
 * is taken by others is counted in the total only. (Two clients with one 40-bit fingerprint in one
 * window would share a count; at 2^-40 a pair that is ignored.)
 */
public final class ConnectionLimiter {

    /** What {@link #tryAcquire} returns when a limit is reached; nothing was taken. */
    public static final int REFUSED = -1;
    /** Largest table: 512 KiB, allocated only when the per-client limit is on. */
    static final int MAX_SLOTS = 1 << 16;
    /** Slots looked at per client: two cache lines. */
    static final int PROBES = 16;
    /** Largest per-client limit the table counts; above it only the total is limited. */
    static final int MAX_PER_CLIENT = (1 << 24) - 1;

    /** A slot handle for a connection counted in the total only (per-client unlimited or no room). */
    private static final int TOTAL_ONLY = MAX_SLOTS;
    private static final int COUNT_BITS = 24;
    private static final long COUNT_MASK = (1L << COUNT_BITS) - 1;

    private final int maxTotal;
    private final int maxPerClient;
    private final AtomicInteger total = new AtomicInteger();
    private final AtomicLongArray slots;
    private final int slotMask;

    /** @param maxTotal open connections in total; @param maxPerClient open connections per client */
    public ConnectionLimiter(int maxTotal, int maxPerClient) {
        this.maxTotal = maxTotal;
        this.maxPerClient = maxPerClient;
        // A quarter full at most (while the total allows fewer than MAX_SLOTS / 4), so a window of
        // PROBES slots practically always has room.
        int size = Integer.highestOneBit((int) Math.min(MAX_SLOTS, Math.max(PROBES, 4L * maxTotal)) * 2 - 1);
        this.slots = maxPerClient > MAX_PER_CLIENT ? null : new AtomicLongArray(size);
        this.slotMask = size - 1;
    }

    /**
     * Takes a connection for the client with this {@link ClientKey}.
     *
     * @return a handle for {@link #release}, or {@link #REFUSED} (nothing taken) when a limit is reached
     */
    public int tryAcquire(long clientKey) {
        if (total.incrementAndGet() > maxTotal) {
            total.decrementAndGet();
            return REFUSED;
        }
        if (slots == null) {
            return TOTAL_ONLY;
        }
        int slot = countClient(fingerprint(clientKey), home(clientKey));
        if (slot == REFUSED) {
            total.decrementAndGet();
        }
        return slot;
    }

    /**
     * Takes a connection in the total only, for a peer that is not yet the client: a load
     * balancer's connection waiting for its PROXY header. Its address must not meet the per-client
     * limit (every proxied client comes from it); {@link #tryAcquireClient} counts the client later.
     *
     * @return a handle for {@link #release} or {@link #tryAcquireClient}, or {@link #REFUSED} (nothing
     *         taken) when the total is reached
     */
    public int tryAcquireTotal() {
        if (total.incrementAndGet() > maxTotal) {
            total.decrementAndGet();
            return REFUSED;
        }
        return TOTAL_ONLY;
    }

    /**
     * Counts a connection that holds a {@link #tryAcquireTotal} handle for the client with this
     * {@link ClientKey} too, now that the client is known (its PROXY header was read).
     *
     * @return the connection's new handle for {@link #release}, or {@link #REFUSED} when the client is
     *         at its limit: then the total is given back as well, and the connection holds nothing
     */
    public int tryAcquireClient(int totalHandle, long clientKey) {
        if (totalHandle != TOTAL_ONLY) {
            throw new IllegalArgumentException("not a handle from tryAcquireTotal: " + totalHandle);
        }
        if (slots == null) {
            return TOTAL_ONLY;
        }
        int slot = countClient(fingerprint(clientKey), home(clientKey));
        if (slot == REFUSED) {
            total.decrementAndGet();
        }
        return slot;
    }

    /** Gives back a connection taken by {@link #tryAcquire}; {@code handle} is what it returned. */
    public void release(int handle) {
        if (handle == REFUSED) {
            throw new IllegalArgumentException("nothing was taken");
        }
        if (handle != TOTAL_ONLY) {
            while (true) {
                long seen = slots.get(handle);
                long next = (seen & COUNT_MASK) <= 1 ? 0 : seen - 1; // the last one frees the slot
                if (slots.compareAndSet(handle, seen, next)) {
                    break;
                }
            }
        }
        total.decrementAndGet();
    }

    /** Open connections in total. */
    public int open() {
        return total.get();
    }

    /** Open connections counted for the client with this key (for tests and metrics; scans its window). */
    public int open(long clientKey) {
        if (slots == null) {
            return 0;
        }
        long fingerprint = fingerprint(clientKey);
        int home = home(clientKey);
        long sum = 0;
        for (int i = 0; i < PROBES; i++) {
            long seen = slots.get((home + i) & slotMask);
            if (seen >>> COUNT_BITS == fingerprint) {
                sum += seen & COUNT_MASK;
            }
        }
        return (int) sum;
    }

    /** Adds one to the client's slot, or claims a free one; the slot, REFUSED, or TOTAL_ONLY. */
    private int countClient(long fingerprint, int home) {
        while (true) {
            int free = -1;
            int mine = -1;
            long seenMine = 0;
            // The whole window, not up to the first free slot: releases empty slots in the middle.
            for (int i = 0; i < PROBES; i++) {
                int index = (home + i) & slotMask;
                long seen = slots.get(index);
                if (seen >>> COUNT_BITS == fingerprint) {
                    mine = index;
                    seenMine = seen;
                    break;
                }
                if (seen == 0 && free < 0) {
                    free = index;
                }
            }
            if (mine >= 0) {
                if ((seenMine & COUNT_MASK) >= maxPerClient) {
                    return REFUSED;
                }
                if (slots.compareAndSet(mine, seenMine, seenMine + 1)) {
                    return mine;
                }
            } else if (free < 0) {
                return TOTAL_ONLY; // PROBES other clients open here: let it through rather than refuse it
            } else if (maxPerClient < 1) {
                return REFUSED;
            } else if (slots.compareAndSet(free, 0, fingerprint << COUNT_BITS | 1)) {
                return free;
            }
            // Lost a race with another loop on this window: look again.
        }
    }

    /** 40 bits of the key, never 0 (0 marks a free slot). */
    private static long fingerprint(long clientKey) {
        long f = clientKey >>> COUNT_BITS;
        return f == 0 ? 1 : f;
    }

    private int home(long clientKey) {
        return (int) clientKey & slotMask;
    }
}
