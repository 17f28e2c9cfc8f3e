package io.sluice.smtp.server;

import java.util.concurrent.atomic.AtomicLongArray;

import io.sluice.reactor.NanoClock;

/**
 * Limits how often one client may do something (open a connection, start a message) per sliding
 * minute, like Postfix's anvil. A client is a {@link ClientKey}: an IPv4 address, or an IPv6 prefix
 * (a /64 by default), so a host rotating through its /64 is still one client. Thread-safe and lock-free: every loop calls
 * {@link #tryAcquire} directly; one event is one compare-and-set on a packed {@code long}, and
 * nothing is allocated.
 *
 * <p><b>Memory is bounded</b>: clients live in a fixed table of {@link #SLOTS} slots. An address
 * may sit in one of two slots (two-choice hashing); a new address takes the emptier or staler of
 * its two, evicting whoever was there. So with more active clients than slots some lose their
 * history and are limited less strictly, never more. Slots are told apart by a 14-bit
 * fingerprint of the key; two keys with the same slots and fingerprint share a count (rare, and
 * only stricter).
 *
 * <p><b>Sliding window</b>: each slot keeps the count of the current minute and of the one before;
 * the rate is {@code current + previous * (part of the previous minute still inside the window)},
 * the usual approximation of a sliding log in two counters.
 */
public final class ClientRateLimiter {

    /** Table size; 8 bytes each, allocated only when the limit is on. */
    static final int SLOTS = 1 << 16;
    static final long WINDOW_NANOS = 60_000_000_000L;
    /** Largest limit a slot can count to (20 bits per count). */
    public static final int MAX_LIMIT = (1 << 20) - 1;

    private static final int COUNT_BITS = 20;
    private static final long COUNT_MASK = (1L << COUNT_BITS) - 1;
    private static final int WINDOW_BITS = 10;
    private static final long WINDOW_MASK = (1L << WINDOW_BITS) - 1;
    private static final int FINGERPRINT_SHIFT = 2 * COUNT_BITS + WINDOW_BITS;
    private static final long FINGERPRINT_MASK = (1L << 14) - 1;
    private static final int MAX_RETRIES = 8;

    /** A limiter that lets everything through. */
    public static final ClientRateLimiter OFF = new ClientRateLimiter(0, NanoClock.SYSTEM);

    private final int limitPerMinute;
    private final NanoClock clock;
    private final AtomicLongArray slots;

    /**
     * @param limitPerMinute events per client per sliding minute; 0 = no limit
     * @param clock          the monotonic clock (tests pass a manual one)
     */
    public ClientRateLimiter(int limitPerMinute, NanoClock clock) {
        if (limitPerMinute < 0 || limitPerMinute > MAX_LIMIT) {
            throw new IllegalArgumentException("limitPerMinute=" + limitPerMinute + " not in [0, " + MAX_LIMIT + "]");
        }
        this.limitPerMinute = limitPerMinute;
        this.clock = clock;
        this.slots = limitPerMinute == 0 ? null : new AtomicLongArray(SLOTS);
    }

    public boolean enabled() {
        return slots != null;
    }

    /**
     * Counts one event for the client with this {@link ClientKey}; false (and nothing counted) when
     * it is over the limit.
     */
    public boolean tryAcquire(long clientKey) {
        if (slots == null) {
            return true;
        }
        long now = clock.nanoTime();
        long minute = Math.floorDiv(now, WINDOW_NANOS);
        long intoMinute = now - minute * WINDOW_NANOS;
        long window = minute & WINDOW_MASK;
        // A key is already well mixed (ClientKey hashes it): its bits pick both slots and the fingerprint.
        long fingerprint = (clientKey >>> 32) & FINGERPRINT_MASK;
        if (fingerprint == 0) {
            fingerprint = 1; // 0 marks an empty slot
        }
        int first = (int) clientKey & (SLOTS - 1);
        int second = (int) (clientKey >>> 16) & (SLOTS - 1);
        for (int attempt = 0; attempt < MAX_RETRIES; attempt++) {
            int index = choose(first, second, fingerprint, window, intoMinute);
            long seen = slots.get(index);
            long previous = 0;
            long current = 0;
            if (fingerprintOf(seen) == fingerprint) {
                long seenWindow = (seen >>> 2 * COUNT_BITS) & WINDOW_MASK;
                if (seenWindow == window) {
                    previous = (seen >>> COUNT_BITS) & COUNT_MASK;
                    current = seen & COUNT_MASK;
                } else if (seenWindow == ((window - 1) & WINDOW_MASK)) {
                    previous = seen & COUNT_MASK;
                }
            }
            if (rate(previous, current, intoMinute) >= limitPerMinute) {
                return false;
            }
            long next = fingerprint << FINGERPRINT_SHIFT | window << 2 * COUNT_BITS | previous << COUNT_BITS
                    | Math.min(current + 1, COUNT_MASK);
            if (slots.compareAndSet(index, seen, next)) {
                return true;
            }
        }
        return true; // heavy contention on two slots: let it through rather than spin
    }

    /** The slot holding this fingerprint, else the one whose occupant weighs least now. */
    private int choose(int first, int second, long fingerprint, long window, long intoMinute) {
        long a = slots.get(first);
        if (fingerprintOf(a) == fingerprint) {
            return first;
        }
        long b = slots.get(second);
        if (fingerprintOf(b) == fingerprint) {
            return second;
        }
        return weight(a, window, intoMinute) <= weight(b, window, intoMinute) ? first : second;
    }

    /** The current rate of a slot's occupant: 0 for an empty or stale slot. */
    private static long weight(long slot, long window, long intoMinute) {
        if (slot == 0) {
            return 0;
        }
        long seenWindow = (slot >>> 2 * COUNT_BITS) & WINDOW_MASK;
        if (seenWindow == window) {
            return rate((slot >>> COUNT_BITS) & COUNT_MASK, slot & COUNT_MASK, intoMinute);
        }
        if (seenWindow == ((window - 1) & WINDOW_MASK)) {
            return rate(slot & COUNT_MASK, 0, intoMinute);
        }
        return 0;
    }

    private static long rate(long previous, long current, long intoMinute) {
        return current + previous * (WINDOW_NANOS - intoMinute) / WINDOW_NANOS;
    }

    private static long fingerprintOf(long slot) {
        return slot >>> FINGERPRINT_SHIFT;
    }
}
