package io.sluice.smtp.mtasts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import io.sluice.reactor.NanoClock;
import io.sluice.smtp.dns.DnsLookup;
import io.sluice.smtp.server.EventLog;
import org.junit.jupiter.api.Test;

/**
 * The fetch queue is bounded: with both fetch threads held and {@link MtaStsPolicies#MAX_QUEUED_FETCHES}
 * fetches waiting, one more domain's fetch is refused at once and answered as a failed fetch (no
 * cached policy: null), counted as {@code queue_full}, and not put in the failure backoff.
 */
class MtaStsPoliciesQueueTest {

    @Test
    void aFetchBeyondTheQueueIsRefusedAtOnceAsAFailedFetch() throws Exception {
        // A policy host that accepts (the kernel backlog) and never answers: each fetch holds its thread for the timeout.
        try (ServerSocket silent = new ServerSocket()) {
            silent.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 200);
            DnsLookup dns = new DnsLookup() {
                @Override
                public CompletableFuture<List<String>> txt(String name) {
                    return CompletableFuture.completedFuture(List.of("v=STSv1; id=1;"));
                }

                @Override
                public CompletableFuture<List<InetAddress>> addresses(String host) {
                    return CompletableFuture.completedFuture(List.of(InetAddress.getLoopbackAddress()));
                }
            };
            PolicyFetcher fetcher = new PolicyFetcher(PolicyFetcher.trusting(Optional.empty()), silent.getLocalPort(),
                    Duration.ofSeconds(3));
            EventLog log = new EventLog(EventLog.Level.ERROR, new PrintStream(new ByteArrayOutputStream(), true,
                    StandardCharsets.UTF_8));
            try (MtaStsPolicies policies = new MtaStsPolicies(dns, fetcher, NanoClock.SYSTEM, log)) {
                List<CompletableFuture<StsPolicy>> held = new ArrayList<>();
                for (int i = 0; i < 2 + MtaStsPolicies.MAX_QUEUED_FETCHES; i++) {
                    held.add(policies.policyFor("held" + i + ".test"));
                }
                long start = System.nanoTime();
                StsPolicy refused = policies.policyFor("one-more.test").get(5, TimeUnit.SECONDS);
                long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                assertNull(refused);
                assertTrue(tookMillis < 1_000, "refused after " + tookMillis + " ms, not at once");
                assertEquals(1, policies.stats().fetches(FetchResult.QUEUE_FULL));
                assertTrue(held.stream().noneMatch(CompletableFuture::isDone), "the held fetches are still running");
                // Not in the backoff: asked again, it is refused again (counted), not answered from the failure memory.
                assertNull(policies.policyFor("one-more.test").get(5, TimeUnit.SECONDS));
                assertEquals(2, policies.stats().fetches(FetchResult.QUEUE_FULL));
            }
        }
    }
}
