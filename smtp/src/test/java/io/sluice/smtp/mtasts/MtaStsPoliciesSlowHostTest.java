package io.sluice.smtp.mtasts;

import static org.junit.jupiter.api.Assertions.assertNull;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
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
 * Two policy hosts that drip their TLS handshake occupy both MTA-STS fetch threads; another
 * domain's policy, queued behind them, must still be answered within about one fetch timeout
 * (the deadline cuts the slow fetches off, see PolicyFetcherDeadlineTest).
 */
class MtaStsPoliciesSlowHostTest {
    private static final byte[] RECORD = {0x16, 0x03, 0x03, 0x00, 0x0b, 2, 0, 0, 7, 3, 3, 0, 0, 0, 0, 0};

    @Test
    void aSlowPolicyHostDoesNotStallAnotherDomainsPolicy() throws Exception {
        InetAddress slowAddress = InetAddress.getByName("127.0.0.2");
        try (ServerSocket slow = new ServerSocket()) {
            slow.bind(new InetSocketAddress(slowAddress, 0));
            List<Thread> drippers = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                Thread t = new Thread(() -> drip(slow), "dripper");
                t.start();
                drippers.add(t);
            }
            DnsLookup dns = new DnsLookup() {
                @Override
                public CompletableFuture<List<String>> txt(String name) {
                    return CompletableFuture.completedFuture(List.of("v=STSv1; id=1;"));
                }

                @Override
                public CompletableFuture<List<InetAddress>> addresses(String host) {
                    // good.test's policy host refuses at once (nothing listens on 127.0.0.1 at that port).
                    return CompletableFuture.completedFuture(List.of(host.endsWith("good.test")
                            ? InetAddress.getLoopbackAddress() : slowAddress));
                }
            };
            PolicyFetcher fetcher = new PolicyFetcher(PolicyFetcher.trusting(Optional.empty()), slow.getLocalPort(),
                    Duration.ofMillis(500));
            EventLog log = new EventLog(EventLog.Level.ERROR, new PrintStream(new ByteArrayOutputStream(), true,
                    StandardCharsets.UTF_8));
            try (MtaStsPolicies policies = new MtaStsPolicies(dns, fetcher, NanoClock.SYSTEM, log)) {
                policies.policyFor("slow1.test");
                policies.policyFor("slow2.test");
                long start = System.nanoTime();
                // Timeout 500 ms per fetch: good.test must be answered (no policy) well within 2 s.
                StsPolicy good = policies.policyFor("good.test").get(10, TimeUnit.SECONDS);
                long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                assertNull(good);
                org.junit.jupiter.api.Assertions.assertTrue(tookMillis < 2_000,
                        "good.test's policy took " + tookMillis + " ms behind two slow policy hosts");
            }
            for (Thread t : drippers) {
                t.join(10_000);
            }
        }
    }

    private static void drip(ServerSocket server) {
        try (Socket s = server.accept()) {
            OutputStream out = s.getOutputStream();
            for (byte b : RECORD) {
                Thread.sleep(250); // the slow peer under test: each octet within the 500 ms read timeout
                out.write(b);
                out.flush();
            }
        } catch (Exception e) {
            // the client gave up
        }
    }
}
