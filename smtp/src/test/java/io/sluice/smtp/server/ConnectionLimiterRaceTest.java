package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

/**
 * Two loops opening and closing connections from one client address at once must never hold more
 * slots than the per-client limit. Found while reading the limiter for a flaky interop run (then a
 * map): release() removed the counter when it reached 0 while tryAcquire() on another loop already
 * held that same counter and then incremented an orphan, so the limit stopped counting. The table
 * that replaced the map frees a slot by compare-and-set on fingerprint and count together.
 */
class ConnectionLimiterRaceTest {

    @Test
    void perClientLimitHoldsUnderConcurrentOpenAndClose() throws Exception {
        ConnectionLimiter limiter = new ConnectionLimiter(Integer.MAX_VALUE, 1);
        long client = ClientKey.DEFAULT.of(InetAddress.getByName("192.0.2.7"));
        AtomicInteger holders = new AtomicInteger();
        AtomicInteger overLimit = new AtomicInteger();
        CountDownLatch done = new CountDownLatch(2);
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(3); // the race shows within a second here, alone
        Runnable loop = () -> {
            while (overLimit.get() == 0 && System.nanoTime() < end) {
                int slot = limiter.tryAcquire(client);
                if (slot != ConnectionLimiter.REFUSED) {
                    if (holders.incrementAndGet() > 1) {
                        overLimit.incrementAndGet();
                    }
                    holders.decrementAndGet();
                    limiter.release(slot);
                }
            }
            done.countDown();
        };
        new Thread(loop, "limiter-race-1").start();
        new Thread(loop, "limiter-race-2").start();
        assertTrue(done.await(30, TimeUnit.SECONDS), "both threads finished");
        assertEquals(0, overLimit.get(), "two connections from one client held slots with connections_per_ip=1");
        assertEquals(0, limiter.open(client), "every slot given back");
        assertEquals(0, limiter.open());
    }
}
