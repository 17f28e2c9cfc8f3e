package io.sluice.smtp.mtasts;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;

import io.sluice.reactor.NanoClock;
import io.sluice.smtp.dns.DnsLookup;
import io.sluice.smtp.server.EventLog;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Background refreshes (up to 16 in flight) fetch on a thread of their own: with used policies
 * whose hosts are slow, a delivery's first fetch of another domain is not queued behind them and
 * is answered within {@link MtaStsPolicies#waitLimit()}.
 */
class MtaStsPoliciesRefreshTest {
    @TempDir
    Path dir;

    @Test
    void aDeliveryFetchIsNotQueuedBehindBackgroundRefreshes() throws Exception {
        try (ServerSocket silent = new ServerSocket()) {
            silent.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 200);
            DnsLookup dns = new DnsLookup() {
                @Override
                public CompletableFuture<List<String>> txt(String name) {
                    return CompletableFuture.completedFuture(List.of("v=STSv1; id=1;"));
                }

                @Override
                public CompletableFuture<List<InetAddress>> addresses(String host) {
                    if (host.equals("mta-sts.new.test")) { // fails at once: its fetch costs nothing once it runs
                        return CompletableFuture.failedFuture(new IOException("NXDOMAIN"));
                    }
                    return CompletableFuture.completedFuture(List.of(InetAddress.getLoopbackAddress()));
                }
            };
            long now = System.currentTimeMillis();
            StsPolicy enforce = new StsPolicy(StsMode.ENFORCE, List.of("mx.test"), 86_400);
            List<PolicyStore.Entry> entries = new ArrayList<>();
            for (int i = 0; i < 20; i++) { // 400 s left of 1 day: inside the refresh margin
                entries.add(new PolicyStore.Entry("d" + i + ".test", "1", enforce, now - 86_000_000L));
            }
            Path file = dir.resolve(PolicyStore.FILE_NAME);
            new PolicyStore(file).save(entries, 100);
            PolicyFetcher fetcher = new PolicyFetcher(PolicyFetcher.trusting(Optional.empty()), silent.getLocalPort(),
                    Duration.ofSeconds(2));
            EventLog log = new EventLog(EventLog.Level.ERROR, new PrintStream(new ByteArrayOutputStream(), true,
                    StandardCharsets.UTF_8));
            try (MtaStsPolicies policies = new MtaStsPolicies(dns, fetcher, Duration.ofSeconds(1), NanoClock.SYSTEM,
                    System::currentTimeMillis, new PolicyStore(file), Duration.ofMillis(50), log)) {
                for (int i = 0; i < 20; i++) {
                    assertTrue(policies.cachedPolicy("d" + i + ".test") != null, "loaded and now used");
                }
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                while (policies.stats().refreshes() < MtaStsPolicies.MAX_REFRESHES_IN_FLIGHT) {
                    assertTrue(System.nanoTime() < end, "refreshes started");
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
                }
                long waitMillis = policies.waitLimit().toMillis();
                long start = System.nanoTime();
                try {
                    policies.policyFor("new.test").get(waitMillis, TimeUnit.MILLISECONDS);
                } catch (TimeoutException e) {
                    fail("a delivery's fetch (failing at once) was not answered within waitLimit=" + waitMillis
                            + " ms: queued behind " + MtaStsPolicies.MAX_REFRESHES_IN_FLIGHT + " background refreshes");
                }
                assertTrue(System.nanoTime() - start < TimeUnit.MILLISECONDS.toNanos(waitMillis));
            }
        }
    }
}
