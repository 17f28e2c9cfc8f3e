package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/** Open connections in total and per client (IPv4 address, IPv6 /64) in the fixed table. */
class ConnectionLimiterTest {

    @Test
    void addressesOfOneSlash64ShareThePerClientLimit() throws Exception {
        ConnectionLimiter limiter = new ConnectionLimiter(1000, 3);
        int a = limiter.tryAcquire(key("2001:db8:5:6::1"));
        int b = limiter.tryAcquire(key("2001:db8:5:6::2"));
        int c = limiter.tryAcquire(key("2001:db8:5:6:aaaa:bbbb:cccc:dddd"));
        assertNotEquals(ConnectionLimiter.REFUSED, a);
        assertNotEquals(ConnectionLimiter.REFUSED, b);
        assertNotEquals(ConnectionLimiter.REFUSED, c);
        assertEquals(ConnectionLimiter.REFUSED, limiter.tryAcquire(key("2001:db8:5:6::4")), "a 4th address in the /64");
        assertEquals(3, limiter.open(key("2001:db8:5:6::99")));
        int other = limiter.tryAcquire(key("2001:db8:5:7::1"));
        assertNotEquals(ConnectionLimiter.REFUSED, other, "another /64 is another client");
        assertNotEquals(ConnectionLimiter.REFUSED, limiter.tryAcquire(key("192.0.2.1")));
        assertEquals(5, limiter.open());
        limiter.release(b);
        int again = limiter.tryAcquire(key("2001:db8:5:6::5"));
        assertNotEquals(ConnectionLimiter.REFUSED, again, "room again after one closed");
        limiter.release(a);
        limiter.release(c);
        limiter.release(again);
        assertEquals(0, limiter.open(key("2001:db8:5:6::1")));
        assertEquals(2, limiter.open());
    }

    @Test
    void ipv4AddressesAreCountedApart() throws Exception {
        ConnectionLimiter limiter = new ConnectionLimiter(1000, 1);
        assertNotEquals(ConnectionLimiter.REFUSED, limiter.tryAcquire(key("192.0.2.1")));
        assertEquals(ConnectionLimiter.REFUSED, limiter.tryAcquire(key("192.0.2.1")));
        assertNotEquals(ConnectionLimiter.REFUSED, limiter.tryAcquire(key("192.0.2.2")));
    }

    @Test
    void aTotalOnlyHandleMeetsThePerClientLimitOnlyOnceTheClientIsKnown() throws Exception {
        ConnectionLimiter limiter = new ConnectionLimiter(3, 1);
        int first = limiter.tryAcquireTotal();
        int second = limiter.tryAcquireTotal();
        int third = limiter.tryAcquireTotal();
        assertNotEquals(ConnectionLimiter.REFUSED, third, "waiting connections are not counted per client");
        assertEquals(ConnectionLimiter.REFUSED, limiter.tryAcquireTotal(), "but they are in the total");
        assertEquals(ConnectionLimiter.REFUSED, limiter.tryAcquire(key("192.0.2.9")));
        assertEquals(3, limiter.open());
        int a = limiter.tryAcquireClient(first, key("192.0.2.1"));
        assertNotEquals(ConnectionLimiter.REFUSED, a);
        assertEquals(1, limiter.open(key("192.0.2.1")));
        assertEquals(3, limiter.open(), "moved onto the client, not counted twice");
        assertEquals(ConnectionLimiter.REFUSED, limiter.tryAcquireClient(second, key("192.0.2.1")));
        assertEquals(2, limiter.open(), "a refused client gives back its place in the total too");
        int b = limiter.tryAcquireClient(third, key("192.0.2.2"));
        assertNotEquals(ConnectionLimiter.REFUSED, b);
        limiter.release(a);
        limiter.release(b);
        assertEquals(0, limiter.open());
        assertEquals(0, limiter.open(key("192.0.2.1")));
        assertThrows(IllegalArgumentException.class, () -> limiter.tryAcquireClient(ConnectionLimiter.REFUSED, key("192.0.2.1")));
    }

    @Test
    void aTotalOnlyHandleWithoutPerClientLimitStaysTotalOnly() throws Exception {
        ConnectionLimiter limiter = new ConnectionLimiter(2, Integer.MAX_VALUE);
        int handle = limiter.tryAcquireClient(limiter.tryAcquireTotal(), key("192.0.2.1"));
        assertNotEquals(ConnectionLimiter.REFUSED, handle);
        assertEquals(1, limiter.open());
        limiter.release(handle);
        assertEquals(0, limiter.open());
    }

    @Test
    void theTotalLimitHoldsAndARefusalTakesNothing() throws Exception {
        ConnectionLimiter limiter = new ConnectionLimiter(2, 10);
        assertNotEquals(ConnectionLimiter.REFUSED, limiter.tryAcquire(key("192.0.2.1")));
        assertNotEquals(ConnectionLimiter.REFUSED, limiter.tryAcquire(key("192.0.2.2")));
        assertEquals(ConnectionLimiter.REFUSED, limiter.tryAcquire(key("192.0.2.3")));
        assertEquals(2, limiter.open());
        assertEquals(0, limiter.open(key("192.0.2.3")));
        assertThrows(IllegalArgumentException.class, () -> limiter.release(ConnectionLimiter.REFUSED));
    }

    @Test
    void aFullTotalOfDistinctClientsIsNeverRefusedForSomeoneElse() throws Exception {
        // 64 allowed in total: a table of 256 slots. Every client has limit 1, so a shared or lost
        // count would refuse one of them.
        ConnectionLimiter limiter = new ConnectionLimiter(64, 1);
        List<Integer> held = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            int slot = limiter.tryAcquire(key("198.51.100." + i));
            assertNotEquals(ConnectionLimiter.REFUSED, slot, "client " + i);
            held.add(slot);
        }
        assertEquals(ConnectionLimiter.REFUSED, limiter.tryAcquire(key("198.51.100.200")), "the total is full");
        for (int slot : held) {
            limiter.release(slot);
        }
        assertEquals(0, limiter.open());
        for (int i = 0; i < 64; i++) {
            assertEquals(0, limiter.open(key("198.51.100." + i)), "client " + i + " freed its slot");
        }
    }

    @Test
    void unlimitedPerClientCountsTheTotalOnly() throws Exception {
        ConnectionLimiter limiter = new ConnectionLimiter(Integer.MAX_VALUE, Integer.MAX_VALUE);
        List<Integer> held = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            int slot = limiter.tryAcquire(key("192.0.2.1"));
            assertNotEquals(ConnectionLimiter.REFUSED, slot);
            held.add(slot);
        }
        assertEquals(1000, limiter.open());
        held.forEach(limiter::release);
        assertEquals(0, limiter.open());
    }

    private static long key(String literal) throws UnknownHostException {
        return ClientKey.DEFAULT.of(InetAddress.getByName(literal));
    }
}
