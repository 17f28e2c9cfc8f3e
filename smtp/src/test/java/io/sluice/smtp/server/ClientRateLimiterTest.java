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
            assertTrue(off.tryAcquire(key("192.0.2.1")));
        }
    }

    @Test
    void limitPerMinuteThenTheWindowSlides() throws Exception {
        ClientRateLimiter limiter = new ClientRateLimiter(10, now::get);
        long client = key("192.0.2.1");
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
            assertTrue(limiter.tryAcquire(key("192.0.2.1")));
            assertTrue(limiter.tryAcquire(key("2001:db8::1")));
        }
        assertFalse(limiter.tryAcquire(key("192.0.2.1")));
        assertFalse(limiter.tryAcquire(key("2001:db8::1")));
        assertTrue(limiter.tryAcquire(key("192.0.2.2")), "a neighbour has its own count");
    }

    @Test
    void manyClientsStayInTheFixedTableAndNeverLimitAnInnocentOne() throws Exception {
        ClientRateLimiter limiter = new ClientRateLimiter(2, now::get);
        // Four times more addresses than slots, one event each: evictions only ever make it laxer,
        // so no address with a single event may be refused.
        int clients = ClientRateLimiter.SLOTS * 4;
        for (int i = 0; i < clients; i++) {
            byte[] a = {10, (byte) (i >>> 16), (byte) (i >>> 8), (byte) i};
            assertTrue(limiter.tryAcquire(ClientKey.DEFAULT.of(InetAddress.getByAddress(a))), "client " + i);
        }
        long hot = key("192.0.2.9");
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

    @Test
    void anIpv6ClientRotatingThroughItsSlash64IsOneClient() throws Exception {
        ClientRateLimiter limiter = new ClientRateLimiter(3, now::get);
        assertTrue(limiter.tryAcquire(key("2001:db8:1:2::1")));
        assertTrue(limiter.tryAcquire(key("2001:db8:1:2:ffff:ffff:ffff:ffff")));
        assertTrue(limiter.tryAcquire(key("2001:db8:1:2:1234:5678:9abc:def0")));
        assertFalse(limiter.tryAcquire(key("2001:db8:1:2::4")), "a fourth address of the same /64");
        assertTrue(limiter.tryAcquire(key("2001:db8:1:3::1")), "the next /64 has its own count");
        assertTrue(limiter.tryAcquire(key("192.0.2.1")));
    }

    @Test
    void withSlash128EveryIpv6AddressIsItsOwnClient() throws Exception {
        ClientRateLimiter limiter = new ClientRateLimiter(1, now::get);
        ClientKey perAddress = new ClientKey(128);
        assertTrue(limiter.tryAcquire(perAddress.of(ip("2001:db8::1"))));
        assertTrue(limiter.tryAcquire(perAddress.of(ip("2001:db8::2"))));
        assertFalse(limiter.tryAcquire(perAddress.of(ip("2001:db8::1"))));
    }

    private static long key(String literal) throws UnknownHostException {
        return ClientKey.DEFAULT.of(ip(literal));
    }

    private static InetAddress ip(String literal) throws UnknownHostException {
        return InetAddress.getByName(literal);
    }
}
