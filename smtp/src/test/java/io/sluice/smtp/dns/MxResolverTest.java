package io.sluice.smtp.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sluice.reactor.NanoClock;
import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.Type;

class MxResolverTest {
    private static final long SECOND_NANOS = 1_000_000_000L;

    private DnsStub dns;
    private final AtomicLong nowNanos = new AtomicLong(1_000 * SECOND_NANOS);
    private final NanoClock clock = nowNanos::get;
    private final List<ExecutorService> executors = new ArrayList<>();

    @BeforeEach
    void startStub() throws IOException {
        dns = DnsStub.start();
    }

    @AfterEach
    void stop() throws IOException {
        executors.forEach(ExecutorService::shutdownNow);
        dns.close();
    }

    private MxResolver resolver(long seed, Duration timeout) {
        ExecutorService thread = Executors.newSingleThreadExecutor();
        executors.add(thread);
        return new MxResolver(MxResolver.dnsClient(Optional.of(dns.address()), timeout), timeout,
                thread, null, clock, new Random(seed), 100);
    }

    private MxResolver resolver() {
        return resolver(1, Duration.ofSeconds(5)); // generous: loaded CI machines are slow; answers come in ms
    }

    private static List<NextHop> hops(MxResolver r, String domain) throws Exception {
        return r.resolve(domain, 25).get(20, TimeUnit.SECONDS);
    }

    private static NextHopLookupException failure(MxResolver r, String domain) throws Exception {
        ExecutionException e = assertThrows(ExecutionException.class, () -> r.resolve(domain, 25).get(20, TimeUnit.SECONDS));
        return assertInstanceOf(NextHopLookupException.class, e.getCause());
    }

    private static List<String> hosts(List<NextHop> hops) {
        return hops.stream().map(NextHop::hostName).collect(Collectors.toList());
    }

    private static List<String> addresses(List<NextHop> hops) {
        return hops.stream().map(h -> h.address().getHostAddress()).collect(Collectors.toList());
    }

    @Test
    void mxHostsComeInPreferenceOrderWithTheirAddresses() throws Exception {
        dns.add("example.com", Type.MX, 300, "20 b.example.com.", "10 a.example.com.", "30 c.example.com.")
                .add("a.example.com", Type.A, 300, "192.0.2.1")
                .add("b.example.com", Type.A, 300, "192.0.2.2")
                .add("c.example.com", Type.A, 300, "192.0.2.3");
        List<NextHop> hops = hops(resolver(), "example.com");
        assertEquals(List.of("a.example.com", "b.example.com", "c.example.com"), hosts(hops));
        assertEquals(List.of("192.0.2.1", "192.0.2.2", "192.0.2.3"), addresses(hops));
        assertEquals(List.of(10, 20, 30), hops.stream().map(NextHop::preference).collect(Collectors.toList()));
        assertTrue(hops.stream().allMatch(h -> h.port() == 25));
    }

    @Test
    void equalPreferencesAreShuffledDeterministicallyForASeed() throws Exception {
        dns.add("example.com", Type.MX, 300, "10 a.example.com.", "10 b.example.com.", "10 c.example.com.",
                "20 d.example.com.");
        for (String h : List.of("a", "b", "c", "d")) {
            dns.add(h + ".example.com", Type.A, 300, "192.0.2." + (h.charAt(0) - 'a' + 1));
        }
        List<String> firstsA = firstHosts(resolver(42, Duration.ofSeconds(5)), 60);
        List<String> firstsB = firstHosts(resolver(42, Duration.ofSeconds(5)), 60);
        assertEquals(firstsA, firstsB, "same seed, same order");
        Map<String, Integer> counts = new HashMap<>();
        firstsA.forEach(h -> counts.merge(h, 1, Integer::sum));
        for (String h : List.of("a.example.com", "b.example.com", "c.example.com")) {
            assertTrue(counts.getOrDefault(h, 0) >= 10, "each equal host comes first often: " + counts);
        }
        assertFalse(counts.containsKey("d.example.com"), "the less preferred host is never first");
        assertNotEquals(firstHosts(resolver(7, Duration.ofSeconds(5)), 60), firstsA, "another seed, another order");
    }

    private static List<String> firstHosts(MxResolver r, int rounds) throws Exception {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < rounds; i++) {
            List<NextHop> hops = hops(r, "example.com");
            assertEquals("d.example.com", hops.get(3).hostName());
            out.add(hops.get(0).hostName());
        }
        return out;
    }

    @Test
    void nullMxIsPermanent5110() throws Exception {
        dns.add("nomail.example", Type.MX, 300, "0 .").add("nomail.example", Type.A, 300, "192.0.2.9");
        NextHopLookupException e = failure(resolver(), "nomail.example");
        assertTrue(e.permanent());
        assertEquals("5.1.10", e.enhancedCode());
        assertEquals(0, dns.queries("nomail.example", Type.A), "no fallback to A behind a null MX");
    }

    @Test
    void aDotTargetBesideRealMxHostsIsIgnored() throws Exception {
        dns.add("mixed.example", Type.MX, 300, "0 .", "10 mx.mixed.example.")
                .add("mx.mixed.example", Type.A, 300, "192.0.2.10");
        assertEquals(List.of("mx.mixed.example"), hosts(hops(resolver(), "mixed.example")));
    }

    @Test
    void noMxFallsBackToTheDomainsOwnAddressesIpv4First() throws Exception {
        dns.add("plain.example", Type.AAAA, 300, "2001:db8::7").add("plain.example", Type.A, 300, "192.0.2.7");
        List<NextHop> hops = hops(resolver(), "plain.example");
        assertEquals(List.of("192.0.2.7", "2001:db8:0:0:0:0:0:7"), addresses(hops));
        assertEquals(List.of("plain.example", "plain.example"), hosts(hops));
        assertTrue(hops.stream().allMatch(h -> h.preference() == 0));
        assertEquals(1, dns.queries("plain.example", Type.MX));
    }

    @Test
    void noMxAndNoAddressIsPermanent544() throws Exception {
        dns.exists("empty.example");
        NextHopLookupException e = failure(resolver(), "empty.example");
        assertTrue(e.permanent());
        assertEquals("5.4.4", e.enhancedCode());
    }

    @Test
    void nxdomainIsPermanent512() throws Exception {
        NextHopLookupException e = failure(resolver(), "nosuch.example");
        assertTrue(e.permanent());
        assertEquals("5.1.2", e.enhancedCode());
        assertTrue(e.getMessage().contains("nosuch.example"), e.getMessage());
    }

    @Test
    void servfailIsTemporary443() throws Exception {
        dns.servfail("broken.example");
        NextHopLookupException e = failure(resolver(), "broken.example");
        assertFalse(e.permanent());
        assertEquals("4.4.3", e.enhancedCode());
        assertTrue(e.getMessage().contains("SERVFAIL"), e.getMessage());
    }

    @Test
    void aSilentServerIsATemporaryTimeout() throws Exception {
        dns.silent(true);
        MxResolver r = resolver(1, Duration.ofMillis(300));
        long start = System.nanoTime();
        NextHopLookupException e = failure(r, "slow.example");
        assertFalse(e.permanent());
        assertEquals("4.4.3", e.enhancedCode());
        assertTrue(System.nanoTime() - start < 10 * SECOND_NANOS, "bounded by dns.timeout (300 ms; slack for loaded machines)");
        assertTrue(dns.queries("slow.example", Type.MX) >= 1);
    }

    @Test
    void answersAreReusedWithinTheirTtl() throws Exception {
        dns.add("example.com", Type.MX, 300, "10 mx.example.com.").add("mx.example.com", Type.A, 300, "192.0.2.1");
        MxResolver r = resolver();
        assertEquals(hops(r, "example.com"), hops(r, "example.com"));
        assertEquals(1, dns.queries("mx.example.com", Type.AAAA), "no-data answers are cached too");
        nowNanos.addAndGet(299 * SECOND_NANOS);
        hops(r, "example.com");
        assertEquals(1, dns.queries("example.com", Type.MX));
        assertEquals(1, dns.queries("mx.example.com", Type.A));
        assertEquals(2, dns.queries("mx.example.com", Type.AAAA), "for the SOA's negative TTL only");
    }

    @Test
    void answersExpireWithTheirTtlEachOnItsOwn() throws Exception {
        dns.add("example.com", Type.MX, 60, "10 mx.example.com.").add("mx.example.com", Type.A, 600, "192.0.2.1");
        MxResolver r = resolver();
        hops(r, "example.com");
        nowNanos.addAndGet(61 * SECOND_NANOS);
        hops(r, "example.com");
        assertEquals(2, dns.queries("example.com", Type.MX));
        assertEquals(1, dns.queries("mx.example.com", Type.A), "the A record's longer TTL still holds");
        nowNanos.addAndGet(600 * SECOND_NANOS);
        hops(r, "example.com");
        assertEquals(3, dns.queries("example.com", Type.MX));
        assertEquals(2, dns.queries("mx.example.com", Type.A));
    }

    @Test
    void nxdomainIsCachedForTheSoaNegativeTtl() throws Exception {
        MxResolver r = resolver();
        failure(r, "nosuch.example");
        nowNanos.addAndGet((DnsStub.NEGATIVE_TTL_SECONDS - 1) * SECOND_NANOS);
        assertEquals("5.1.2", failure(r, "nosuch.example").enhancedCode());
        assertEquals(1, dns.queries("nosuch.example", Type.MX));
        nowNanos.addAndGet(2 * SECOND_NANOS);
        failure(r, "nosuch.example");
        assertEquals(2, dns.queries("nosuch.example", Type.MX));
    }

    @Test
    void temporaryFailuresAreNotCached() throws Exception {
        dns.servfail("broken.example");
        MxResolver r = resolver();
        failure(r, "broken.example");
        failure(r, "broken.example");
        assertEquals(2, dns.queries("broken.example", Type.MX));
    }

    @Test
    void ipv6OnlyMxHostGivesIpv6Hops() throws Exception {
        dns.add("v6.example", Type.MX, 300, "10 mx.v6.example.").add("mx.v6.example", Type.AAAA, 300, "2001:db8::25");
        List<NextHop> hops = hops(resolver(), "v6.example");
        assertEquals(1, hops.size());
        assertInstanceOf(Inet6Address.class, hops.get(0).address());
        assertEquals(InetAddress.getByName("2001:db8::25"), hops.get(0).address());
    }

    @Test
    void eachHostGivesItsIpv4AddressesBeforeItsIpv6Ones() throws Exception {
        dns.add("dual.example", Type.MX, 300, "10 a.dual.example.", "20 b.dual.example.")
                .add("a.dual.example", Type.AAAA, 300, "2001:db8::a").add("a.dual.example", Type.A, 300, "192.0.2.10")
                .add("b.dual.example", Type.A, 300, "192.0.2.11");
        assertEquals(List.of("192.0.2.10", "2001:db8:0:0:0:0:0:a", "192.0.2.11"), addresses(hops(resolver(), "dual.example")));
    }

    @Test
    void mxHostWithoutAddressIsSkipped() throws Exception {
        dns.add("example.com", Type.MX, 300, "10 gone.example.com.", "20 noaddr.example.com.", "30 ok.example.com.")
                .exists("noaddr.example.com")
                .add("ok.example.com", Type.A, 300, "192.0.2.30");
        assertEquals(List.of("ok.example.com"), hosts(hops(resolver(), "example.com")));
    }

    @Test
    void noMxHostWithAnAddressIsPermanent544() throws Exception {
        dns.add("example.com", Type.MX, 300, "10 gone.example.com.", "20 noaddr.example.com.").exists("noaddr.example.com");
        NextHopLookupException e = failure(resolver(), "example.com");
        assertTrue(e.permanent());
        assertEquals("5.4.4", e.enhancedCode());
    }

    @Test
    void aTemporarilyFailingMxHostIsSkipped() throws Exception {
        dns.add("example.com", Type.MX, 300, "10 flaky.example.com.", "20 ok.example.com.")
                .servfail("flaky.example.com")
                .add("ok.example.com", Type.A, 300, "192.0.2.30");
        assertEquals(List.of("ok.example.com"), hosts(hops(resolver(), "example.com")));
    }

    @Test
    void whenNoMxHostResolvesAndOneFailedTemporarilyTheResultIsTemporary() throws Exception {
        dns.add("example.com", Type.MX, 300, "10 flaky.example.com.", "20 gone.example.com.").servfail("flaky.example.com");
        NextHopLookupException e = failure(resolver(), "example.com");
        assertFalse(e.permanent());
        assertEquals("4.4.3", e.enhancedCode());
    }

    @Test
    void anAaaaFailureDoesNotHideTheARecords() throws Exception {
        dns.add("example.com", Type.MX, 300, "10 mx.example.com.").add("mx.example.com", Type.A, 300, "192.0.2.1");
        dns.add("example.com", Type.A, 300, "192.0.2.99"); // the MX must win over the fallback
        assertEquals(List.of("192.0.2.1"), addresses(hops(resolver(), "example.com")));
    }

    @Test
    void mxTargetThatIsACnameIsFollowedKeepingTheMxName() throws Exception {
        dns.add("example.com", Type.MX, 300, "10 alias.example.com.")
                .add("alias.example.com", Type.CNAME, 300, "real.example.net.")
                .add("real.example.net", Type.A, 300, "192.0.2.44");
        List<NextHop> hops = hops(resolver(), "example.com");
        assertEquals(List.of("alias.example.com"), hosts(hops));
        assertEquals(List.of("192.0.2.44"), addresses(hops));
    }

    @Test
    void aCnameWhoseTargetTheResolverLeftOutIsAskedFor() throws Exception {
        dns.chaseCnames(false);
        dns.add("example.com", Type.MX, 300, "10 alias.example.com.")
                .add("alias.example.com", Type.CNAME, 300, "real.example.net.")
                .add("real.example.net", Type.A, 300, "192.0.2.44");
        assertEquals(List.of("192.0.2.44"), addresses(hops(resolver(), "example.com")));
        assertEquals(1, dns.queries("real.example.net", Type.A));
    }

    @Test
    void aCnameLoopEndsAsNoAddress() throws Exception {
        dns.chaseCnames(false);
        dns.add("example.com", Type.MX, 300, "10 loop1.example.com.")
                .add("loop1.example.com", Type.CNAME, 300, "loop2.example.com.")
                .add("loop2.example.com", Type.CNAME, 300, "loop1.example.com.");
        assertEquals("5.4.4", failure(resolver(), "example.com").enhancedCode());
    }

    @Test
    void aDomainThatIsACnameUsesItsTargetsMx() throws Exception {
        dns.add("alias.example", Type.CNAME, 300, "mail.example.net.")
                .add("mail.example.net", Type.MX, 300, "10 mx.example.net.")
                .add("mx.example.net", Type.A, 300, "192.0.2.60");
        assertEquals(List.of("mx.example.net"), hosts(hops(resolver(), "alias.example")));
    }

    @Test
    void aDomainThatIsACnameWithoutMxFallsBackToTheTargetsAddress() throws Exception {
        dns.add("alias.example", Type.CNAME, 300, "web.example.net.")
                .add("web.example.net", Type.A, 300, "192.0.2.61");
        List<NextHop> hops = hops(resolver(), "alias.example");
        assertEquals(List.of("192.0.2.61"), addresses(hops));
        assertEquals(List.of("alias.example"), hosts(hops), "the hop keeps the name mail was addressed to");
    }

    @Test
    void aCnameToNowhereIsNoSuchDomain() throws Exception {
        dns.add("dangling.example", Type.CNAME, 300, "gone.example.net.");
        assertEquals("5.1.2", failure(resolver(), "dangling.example").enhancedCode());
    }

    @Test
    void mxTargetWrittenAsAnIpv4AddressIsUsedAsIs() throws Exception {
        dns.add("example.com", Type.MX, 300, "10 192.0.2.77.");
        List<NextHop> hops = hops(resolver(), "example.com");
        assertEquals(List.of("192.0.2.77"), addresses(hops));
        assertEquals(1, dns.totalQueries(), "no A query for an address");
    }

    @Test
    void ipAddressesAndDomainLiteralsAreNotLookedUp() throws Exception {
        MxResolver r = resolver();
        assertEquals(List.of("192.0.2.1"), addresses(hops(r, "192.0.2.1")));
        assertEquals(List.of("192.0.2.1"), addresses(hops(r, "[192.0.2.1]")));
        assertEquals(List.of("2001:db8:0:0:0:0:0:1"), addresses(hops(r, "2001:db8::1")));
        List<NextHop> v6 = hops(r, "[IPv6:2001:DB8::1]");
        assertEquals(List.of("2001:db8:0:0:0:0:0:1"), addresses(v6));
        assertEquals(List.of("2001:db8::1"), hosts(v6), "the name is the literal as written, in lower case");
        assertEquals(25, v6.get(0).port());
        assertEquals(0, v6.get(0).preference());
        assertEquals(0, dns.totalQueries());
    }

    @Test
    void hopsAreCappedAndDuplicateAddressesDropped() throws Exception {
        List<String> mx = new ArrayList<>();
        for (int i = 0; i < 14; i++) {
            mx.add((10 + i) + " mx" + i + ".big.example.");
            dns.add("mx" + i + ".big.example", Type.A, 300, "192.0.2." + (i == 1 ? 0 : i)); // mx1 repeats mx0's address
            dns.add("mx" + i + ".big.example", Type.AAAA, 300, "2001:db8::" + (i + 1));
        }
        dns.add("big.example", Type.MX, 300, mx.toArray(new String[0]));
        List<NextHop> hops = hops(resolver(), "big.example");
        assertEquals(MxResolver.MAX_HOPS, hops.size());
        assertEquals(List.of("192.0.2.0", "2001:db8:0:0:0:0:0:1", "2001:db8:0:0:0:0:0:2", "192.0.2.2"),
                addresses(hops.subList(0, 4)));
        assertEquals("mx1.big.example", hops.get(2).hostName());
        assertEquals(1, dns.queries("mx9.big.example", Type.A), "the tenth host is looked up");
        assertEquals(0, dns.queries("mx10.big.example", Type.A), "hosts past the cap are not looked up");
    }

    @Test
    void theFallbackIsCappedToo() throws Exception {
        String[] many = new String[12];
        for (int i = 0; i < many.length; i++) {
            many[i] = "192.0.2." + (i + 1);
        }
        dns.add("many.example", Type.A, 300, many);
        List<NextHop> hops = hops(resolver(), "many.example");
        assertEquals(MxResolver.MAX_HOPS, hops.size());
        assertEquals("192.0.2.1", hops.get(0).address().getHostAddress());
    }

    @Test
    void caseAndTrailingDotDoNotMatter() throws Exception {
        dns.add("example.com", Type.MX, 300, "10 MX.Example.COM.").add("mx.example.com", Type.A, 300, "192.0.2.1");
        MxResolver r = resolver();
        List<NextHop> hops = hops(r, "Example.COM.");
        assertEquals(List.of("mx.example.com"), hosts(hops));
        assertEquals(hops, hops(r, "example.com"));
        assertEquals(1, dns.queries("example.com", Type.MX), "one cache entry for both spellings");
    }

    @Test
    void idnALabelsPassThroughAndULabelsAreConverted() throws Exception {
        dns.add("xn--bcher-kva.example", Type.A, 300, "192.0.2.5");
        MxResolver r = resolver();
        List<NextHop> hops = hops(r, "xn--bcher-kva.example");
        assertEquals(List.of("xn--bcher-kva.example"), hosts(hops));
        assertEquals(hops, hops(r, "b\u00fccher.example"));
        assertEquals(1, dns.queries("xn--bcher-kva.example", Type.MX));
    }

    @Test
    void malformedDomainsArePermanentWithoutAQuery() throws Exception {
        MxResolver r = resolver();
        String label64 = "a".repeat(64);
        String name254 = ("a".repeat(62) + ".").repeat(4) + "ab"; // 254 characters
        for (String bad : List.of("", ".", "..", "a..b", "example.com..", ".example.com", "exa_mple.com\n", "exa mple.com", "ex\u0000ample.com", label64 + ".example",
                name254, "a@b.example")) {
            NextHopLookupException e = failure(r, bad);
            assertTrue(e.permanent(), bad);
            assertEquals("5.1.2", e.enhancedCode(), bad);
        }
        assertEquals(0, dns.totalQueries());
        String name253 = ("a".repeat(62) + ".").repeat(4) + "a";
        assertEquals(253, name253.length());
        assertEquals("5.1.2", failure(r, name253).enhancedCode(), "valid but nonexistent: NXDOMAIN");
        assertEquals(1, dns.totalQueries());
    }

    @Test
    void aTruncatedUdpAnswerIsRetriedOverTcp() throws Exception {
        dns.add("big.example", Type.MX, 300, "10 mx.big.example.").add("mx.big.example", Type.A, 300, "192.0.2.8")
                .truncateUdp("big.example");
        assertEquals(List.of("192.0.2.8"), addresses(hops(resolver(), "big.example")));
        assertTrue(dns.tcpQueries() >= 1);
    }

    @Test
    void portOutOfRangeIsRefusedAtOnce() {
        MxResolver r = resolver();
        assertThrows(IllegalArgumentException.class, () -> r.resolve("example.com", 0));
        assertThrows(IllegalArgumentException.class, () -> r.resolve("example.com", 65536));
        assertThrows(NullPointerException.class, () -> r.resolve(null, 25));
    }

    @Test
    void resolveReturnsBeforeAnyWorkAndSharesQueriesInFlight() throws Exception {
        dns.add("example.com", Type.MX, 300, "10 mx.example.com.").add("mx.example.com", Type.A, 300, "192.0.2.1");
        QueuedExecutor queue = new QueuedExecutor();
        MxResolver r = new MxResolver(MxResolver.dnsClient(Optional.of(dns.address()), Duration.ofSeconds(5)),
                Duration.ofSeconds(5), queue, null, clock, new Random(1), 100);
        var first = r.resolve("example.com", 25);
        var second = r.resolve("example.com", 25);
        assertFalse(first.isDone(), "nothing runs on the caller's thread");
        queue.runUntilDone(first, second);
        assertEquals(first.get(), second.get());
        assertEquals(1, dns.queries("example.com", Type.MX), "two resolutions, one query");

        var cached = r.resolve("example.com", 25);
        assertFalse(cached.isDone(), "even a cache hit completes on the resolver's thread");
        queue.runUntilDone(cached);
        assertEquals(first.get(), cached.get());
    }

    @Test
    void closedResolverFailsTemporarily() throws Exception {
        ExecutorService thread = Executors.newSingleThreadExecutor();
        MxResolver r = new MxResolver(MxResolver.dnsClient(Optional.of(dns.address()), Duration.ofSeconds(1)),
                Duration.ofSeconds(1), thread, thread, clock, new Random(1), 100);
        r.close();
        assertTrue(thread.awaitTermination(5, TimeUnit.SECONDS));
        assertEquals("4.4.3", failure(r, "example.com").enhancedCode());
    }

    /** Runs tasks on the test thread only when told, so the test sees what ran where. */
    private static final class QueuedExecutor implements java.util.concurrent.Executor {
        private final java.util.concurrent.BlockingQueue<Runnable> tasks = new java.util.concurrent.LinkedBlockingQueue<>();

        @Override
        public void execute(Runnable task) {
            tasks.add(task);
        }

        void runUntilDone(java.util.concurrent.CompletableFuture<?>... futures) throws Exception {
            long deadline = System.nanoTime() + 20 * SECOND_NANOS;
            while (!java.util.Arrays.stream(futures).allMatch(java.util.concurrent.CompletableFuture::isDone)) {
                Runnable task = tasks.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (task == null) {
                    throw new TimeoutException("resolution did not finish within 20 s");
                }
                task.run();
            }
        }
    }
}
