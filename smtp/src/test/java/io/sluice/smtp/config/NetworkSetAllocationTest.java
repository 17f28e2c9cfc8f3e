package io.sluice.smtp.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import org.junit.jupiter.api.Test;

/** Checks the claim in NetworkSet's javadoc: an IPv4 lookup allocates nothing. */
class NetworkSetAllocationTest {
    private static final int LOOKUPS = 200_000;

    @Test
    void ipv4AndRawByteLookupsDoNotAllocate() throws Exception {
        java.lang.management.ThreadMXBean bean = ManagementFactory.getThreadMXBean();
        assumeTrue(bean instanceof com.sun.management.ThreadMXBean, "no per-thread allocation counter on this JVM");
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) bean;
        assumeTrue(threads.isThreadAllocatedMemorySupported(), "no per-thread allocation counter on this JVM");
        threads.setThreadAllocatedMemoryEnabled(true);

        NetworkSet set = NetworkSet.parse("127.0.0.0/8, 10.0.0.0/8, 192.168.0.0/16, ::1/128, 2001:db8::/32");
        InetAddress v4 = InetAddress.getByName("192.168.7.7");
        byte[] v6 = InetAddress.getByName("2001:db8::5").getAddress();
        long tid = Thread.currentThread().getId();
        int hits = lookups(set, v4, v6); // warm up so the JIT has compiled the loop
        long before = threads.getThreadAllocatedBytes(tid);
        hits += lookups(set, v4, v6);
        long allocated = threads.getThreadAllocatedBytes(tid) - before;

        assertEquals(4 * LOOKUPS, hits);
        // A per-lookup copy of a 4-byte array would be >= 24 bytes x 200k lookups = 4.8 MB.
        assertEquals(true, allocated < 64 * 1024, "allocated " + allocated + " bytes in " + 2 * LOOKUPS + " lookups");
    }

    private static int lookups(NetworkSet set, InetAddress v4, byte[] v6) {
        int hits = 0;
        for (int i = 0; i < LOOKUPS; i++) {
            hits += set.contains(v4) ? 1 : 0;
            hits += set.contains(v6) ? 1 : 0;
        }
        return hits;
    }
}
