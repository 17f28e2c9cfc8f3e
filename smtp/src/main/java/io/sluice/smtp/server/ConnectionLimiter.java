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
        AtomicInteger count = perClient.computeIfAbsent(client, a -> new AtomicInteger());
        if (count.incrementAndGet() > maxPerClient) {
            release(client);
            return false;
        }
        return true;
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
