package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

/** The sliding-minute counter on a manual clock: limits, the slide, isolation, bounded eviction. */
class ClientRateLimiterTest {

    private static final long SECOND = 1_000_000_000L;
    private final AtomicLong now = new AtomicLong(1_000 * 60 * SECOND);

    @Test
    void offLetsEverythingThrough() throws Exception {
        ClientRateLimiter off = new ClientRateLimiter(0, now::get);
        assertFalse(off.enabled());
        for (int i = 0; i < 10_000; i++) {
            assertTrue(off.tryAcquire(ip("192.0.2.1")));
        }
    }

    @Test
    void limitPerMinuteThenTheWindowSlides() throws Exception {
        ClientRateLimiter limiter = new ClientRateLimiter(10, now::get);
        InetAddress client = ip("192.0.2.1");
        for (int i = 0; i < 10; i++) {
            assertTrue(limiter.tryAcquire(client), "event " + i);
        }
        assertFalse(limiter.tryAcquire(client), "the 11th in the same minute");
        assertFalse(limiter.tryAcquire(client), "refusals are not counted, but do not pass either");
        // 30 s into the next minute, half of the previous minute's 10 still counts: room for 5.
        now.addAndGet(90 * SECOND);
        int passed = 0;
        while (limiter.tryAcquire(client)) {
            passed++;
        }
        assertEquals(5, passed);
        // Two whole minutes later nothing is left of the burst.
        now.addAndGet(120 * SECOND);
        for (int i = 0; i < 10; i++) {
            assertTrue(limiter.tryAcquire(client));
        }
        assertFalse(limiter.tryAcquire(client));
    }

    @Test
    void clientsAreCountedApart() throws Exception {
        ClientRateLimiter limiter = new ClientRateLimiter(3, now::get);
        for (int i = 0; i < 3; i++) {
            assertTrue(limiter.tryAcquire(ip("192.0.2.1")));
            assertTrue(limiter.tryAcquire(ip("2001:db8::1")));
        }
        assertFalse(limiter.tryAcquire(ip("192.0.2.1")));
        assertFalse(limiter.tryAcquire(ip("2001:db8::1")));
        assertTrue(limiter.tryAcquire(ip("192.0.2.2")), "a neighbour has its own count");
    }

    @Test
    void manyClientsStayInTheFixedTableAndNeverLimitAnInnocentOne() throws Exception {
        ClientRateLimiter limiter = new ClientRateLimiter(2, now::get);
        // Four times more addresses than slots, one event each: evictions only ever make it laxer,
        // so no address with a single event may be refused.
        int clients = ClientRateLimiter.SLOTS * 4;
        for (int i = 0; i < clients; i++) {
            byte[] a = {10, (byte) (i >>> 16), (byte) (i >>> 8), (byte) i};
            assertTrue(limiter.tryAcquire(InetAddress.getByAddress(a)), "client " + i);
        }
        InetAddress hot = ip("192.0.2.9");
        assertTrue(limiter.tryAcquire(hot));
        assertTrue(limiter.tryAcquire(hot));
        assertFalse(limiter.tryAcquire(hot), "a client at its limit is still limited after the flood");
    }

    @Test
    void limitAboveTheCounterWidthIsRefused() {
        try {
            new ClientRateLimiter(ClientRateLimiter.MAX_LIMIT + 1, now::get);
            throw new AssertionError("accepted");
        } catch (IllegalArgumentException expected) {
            assertTrue(expected.getMessage().contains("limitPerMinute"));
        }
    }

    private static InetAddress ip(String literal) throws UnknownHostException {
        return InetAddress.getByName(literal);
    }
}
