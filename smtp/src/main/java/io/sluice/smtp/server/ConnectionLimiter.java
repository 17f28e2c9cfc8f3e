package io.sluice.smtp.server;

import java.net.InetAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Counts open connections in total and per client address across every loop, so a session can
 * answer {@code 421 4.7.0} at once when either limit is reached. Thread-safe; touched once when a
 * connection opens and once when it closes, never per command.
 */
public final class ConnectionLimiter {

    private final int maxTotal;
    private final int maxPerClient;
    private final AtomicInteger total = new AtomicInteger();
    private final ConcurrentHashMap<InetAddress, AtomicInteger> perClient = new ConcurrentHashMap<>();

    public ConnectionLimiter(int maxTotal, int maxPerClient) {
        this.maxTotal = maxTotal;
        this.maxPerClient = maxPerClient;
    }

    /** Takes a slot for {@code client}; false (and nothing taken) when a limit is reached. */
    public boolean tryAcquire(InetAddress client) {
        if (total.incrementAndGet() > maxTotal) {
            total.decrementAndGet();
            return false;
        }
        // Check and increment under the map's per-key lock, so a concurrent release on another
        // loop can never remove the counter between our read and our increment.
        boolean[] taken = new boolean[1];
        perClient.compute(client, (a, count) -> {
            int now = count == null ? 0 : count.get();
            if (now >= maxPerClient) {
                return count;
            }
            taken[0] = true;
            if (count == null) {
                return new AtomicInteger(1);
            }
            count.incrementAndGet();
            return count;
        });
        if (!taken[0]) {
            total.decrementAndGet();
        }
        return taken[0];
    }

    /** Gives back a slot taken by {@link #tryAcquire}. */
    public void release(InetAddress client) {
        total.decrementAndGet();
        perClient.computeIfPresent(client, (a, count) -> count.decrementAndGet() <= 0 ? null : count);
    }

    public int open() {
        return total.get();
    }

    public int open(InetAddress client) {
        AtomicInteger count = perClient.get(client);
        return count == null ? 0 : count.get();
    }
}
