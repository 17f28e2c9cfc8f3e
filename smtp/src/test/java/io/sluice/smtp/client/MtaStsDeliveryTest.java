package io.sluice.smtp.client;

import static io.sluice.smtp.delivery.RecipientResult.Outcome.DEFERRED;
import static io.sluice.smtp.delivery.RecipientResult.Outcome.DELIVERED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.sluice.reactor.NanoClock;
import io.sluice.smtp.config.ClientTlsLevel;
import io.sluice.smtp.config.SluiceConfig;
import io.sluice.smtp.delivery.RecipientResult;
import io.sluice.smtp.delivery.Route;
import io.sluice.smtp.dns.DnsLookup;
import io.sluice.smtp.dns.DnsStub;
import io.sluice.smtp.dns.MxResolver;
import io.sluice.smtp.mtasts.FetchResult;
import io.sluice.smtp.mtasts.MtaStsPolicies;
import io.sluice.smtp.mtasts.MtaStsStats;
import io.sluice.smtp.mtasts.PolicyFetcher;
import io.sluice.smtp.mtasts.PolicyStore;
import io.sluice.smtp.mtasts.StsMode;
import io.sluice.smtp.mtasts.StsPolicy;
import io.sluice.smtp.server.EventLog;
import io.sluice.tls.CertifiedKey;
import io.sluice.tls.SelfSignedCertificate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.Type;

/**
 * MTA-STS end to end on loopback: a DNS stub answering MX, A and {@code _mta-sts} TXT, an HTTPS
 * server (its own certificate for {@code mta-sts.sts.test}) serving the policy, and a fake MX
 * with a certificate for {@code mx.test}; both certificates are the client's trust anchors.
 */
class MtaStsDeliveryTest {
    private static final String DOMAIN = "sts.test";
    private static final String POLICY_HOST = "mta-sts.sts.test";
    private static final String MESSAGE = "Subject: sts\r\n\r\nhello\r\n";
    private static final CertifiedKey POLICY_CERT = certificate(POLICY_HOST);

    @TempDir
    Path dir;
    private DnsStub dns;
    private HttpsServer https;
    private FakeNextHop fake;
    private MxResolver resolver;
    private ClientHarness harness;
    private MtaStsPolicies policies;
    private Path ca;
    private final LogCapture logged = new LogCapture();
    private final EventLog log = new EventLog(EventLog.Level.INFO, new PrintStream(logged, true, StandardCharsets.UTF_8));
    /** What the HTTPS server answers, by Host header. */
    private final Map<String, Served> served = new ConcurrentHashMap<>();
    private final AtomicInteger requests = new AtomicInteger();

    private record Served(int status, String contentType, String body, String location, boolean chunked) {
        Served(int status, String contentType, String body, String location) {
            this(status, contentType, body, location, false);
        }
    }

    @BeforeEach
    void start() throws Exception {
        dns = DnsStub.start();
        dns.add(DOMAIN, Type.MX, 300, "10 mx.test.").add("mx.test", Type.A, 300, "127.0.0.1")
                .add(POLICY_HOST, Type.A, 300, "127.0.0.1");
        https = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        https.setHttpsConfigurator(new HttpsConfigurator(serverContext(POLICY_CERT)));
        https.createContext("/", this::answer);
        https.start();
        fake = new FakeNextHop();
        fake.offerStartTls = true;
        ca = dir.resolve("ca.pem");
        Files.writeString(ca, FakeNextHop.certificatePem() + pem(POLICY_CERT));
        resolver = resolver();
    }

    private MxResolver resolver() throws IOException {
        return MxResolver.fromConfig(SluiceConfig.defaults().withOverrides(Map.of(
                "dns.resolver", "127.0.0.1:" + dns.address().getPort(), "dns.timeout", "5s")));
    }

    private void client(Map<String, ClientTlsLevel> explicit) throws IOException {
        client(explicit, new PolicyStore(null), MtaStsPolicies.REFRESH_SWEEP);
    }

    /** A client whose policy cache is {@code store}, swept for refreshes every {@code sweep}. */
    private void client(Map<String, ClientTlsLevel> explicit, PolicyStore store, Duration sweep) throws IOException {
        client(explicit, store, sweep, NanoClock.SYSTEM);
    }

    private void client(Map<String, ClientTlsLevel> explicit, PolicyStore store, Duration sweep, NanoClock clock)
            throws IOException {
        policies = new MtaStsPolicies(resolver, new PolicyFetcher(PolicyFetcher.trusting(Optional.of(ca)),
                https.getAddress().getPort(), Duration.ofSeconds(5)), Duration.ofSeconds(5), clock,
                System::currentTimeMillis, store, sweep, log);
        TlsPolicyTable table = new TlsPolicyTable(ClientTlsLevel.MAY, explicit);
        ClientSettings settings = ClientSettings.defaults("client.test", table).withTimeouts(Duration.ofSeconds(10))
                .withTls(table, Optional.of(ca), false);
        harness = new ClientHarness(settings, dir, resolver, policies, log);
    }

    @AfterEach
    void stop() throws Exception {
        if (harness != null) {
            harness.close();
        }
        resolver.close();
        https.stop(0);
        fake.close();
        dns.close();
        log.close();
    }

    // ---------------------------------------------------------------- enforce

    @Test
    void enforceMatchingMxWithAValidCertificateDelivers() throws Exception {
        publish("1", policy("enforce", "mx.test"));
        client(Map.of());
        RecipientResult r = send();
        assertEquals(DELIVERED, r.outcome(), r.reply());
        assertTrue(fake.tlsSessions.get() >= 1, "delivered inside TLS");
        assertFalse(fake.plaintextReceived().contains("MAIL FROM"));
        assertEquals(1, policies.stats().fetches(FetchResult.OK));
        assertEquals(1, policies.stats().outcomes(MtaStsStats.Outcome.ENFORCED));
    }

    @Test
    void enforceWithNoMatchingMxDefersAndSendsNothing() throws Exception {
        publish("1", policy("enforce", "mail.elsewhere.test", "*.other.test"));
        client(Map.of());
        RecipientResult r = send();
        assertEquals(DEFERRED, r.outcome());
        assertEquals(451, r.replyCode());
        assertEquals("4.7.5", r.enhancedCode());
        assertTrue(r.text().contains("MTA-STS policy of sts.test (enforce)") && r.text().contains("mx.test"), r.text());
        assertEquals(0, fake.connections.get(), "no connection to an MX outside the policy");
        assertEquals(1, policies.stats().outcomes(MtaStsStats.Outcome.REFUSED_MX));
        logged.await("mta-sts-refused");
    }

    @Test
    void enforceWithACertificateNotForTheMxDefers() throws Exception {
        dns.replace(DOMAIN, Type.MX, 300, "10 wrong.test.").add("wrong.test", Type.A, 300, "127.0.0.1");
        publish("1", policy("enforce", "wrong.test"));
        client(Map.of());
        RecipientResult r = send();
        assertEquals(DEFERRED, r.outcome());
        assertEquals("4.7.5", r.enhancedCode());
        assertTrue(r.text().contains("MTA-STS") && r.text().contains("TLS handshake"), r.text());
        assertTrue(fake.messages.isEmpty());
        assertFalse(fake.plaintextReceived().contains("MAIL FROM"));
        assertEquals(1, policies.stats().outcomes(MtaStsStats.Outcome.REFUSED_TLS));
    }

    @Test
    void enforceWithoutStartTlsDefers() throws Exception {
        fake.offerStartTls = false;
        publish("1", policy("enforce", "mx.test"));
        client(Map.of());
        RecipientResult r = send();
        assertEquals(DEFERRED, r.outcome());
        assertEquals("4.7.5", r.enhancedCode());
        assertFalse(fake.plaintextReceived().contains("MAIL FROM"));
    }

    @Test
    void anExplicitTlsPolicyEntryWinsOverMtaSts() throws Exception {
        fake.offerStartTls = false;
        publish("1", policy("enforce", "mail.elsewhere.test"));
        client(Map.of(DOMAIN, ClientTlsLevel.MAY));
        assertEquals(DELIVERED, send().outcome());
        assertEquals(0, requests.get(), "no fetch for a domain with tls.client.policy.<domain>");
        assertEquals(0, dns.queries("_mta-sts." + DOMAIN, Type.TXT));
    }

    @Test
    void aPolicyThatNeverArrivesDoesNotHoldTheDelivery() throws Exception {
        // The _mta-sts TXT question never answers: the delivery goes on without a policy after
        // fetch timeout + DNS timeout (300 + 200 ms), not whenever (if ever) the lookup ends.
        CompletableFuture<List<String>> never = new CompletableFuture<>();
        DnsLookup silentTxt = new DnsLookup() {
            @Override
            public CompletableFuture<List<String>> txt(String name) {
                return never;
            }

            @Override
            public CompletableFuture<List<InetAddress>> addresses(String host) {
                return resolver.addresses(host);
            }
        };
        policies = new MtaStsPolicies(silentTxt, new PolicyFetcher(PolicyFetcher.trusting(Optional.of(ca)),
                https.getAddress().getPort(), Duration.ofMillis(300)), Duration.ofMillis(200), NanoClock.SYSTEM, log);
        assertEquals(Duration.ofMillis(500), policies.waitLimit());
        TlsPolicyTable table = new TlsPolicyTable(ClientTlsLevel.MAY, Map.of());
        ClientSettings settings = ClientSettings.defaults("client.test", table).withTimeouts(Duration.ofSeconds(10))
                .withTls(table, Optional.of(ca), false);
        harness = new ClientHarness(settings, dir, resolver, policies, log);
        long start = System.nanoTime();
        RecipientResult r = send();
        long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertEquals(DELIVERED, r.outcome(), r.reply());
        assertTrue(tookMillis >= 400 && tookMillis < 5_000, "delivered after " + tookMillis + " ms");
        assertFalse(never.isDone(), "the lookup itself is still pending; only the wait was cut");
    }

    // ---------------------------------------------------------------- testing, none, no policy

    @Test
    void testingDeliversAndLogsTheMismatch() throws Exception {
        fake.offerStartTls = true; // TLS (any certificate under may): the mismatch is the only line
        publish("1", policy("testing", "mail.elsewhere.test"));
        client(Map.of());
        assertEquals(DELIVERED, send().outcome());
        String line = logged.await("mta-sts-testing");
        assertTrue(line.contains("mta-sts=\"MX host mx.test does not match"), line);
        assertEquals(1, policies.stats().outcomes(MtaStsStats.Outcome.TESTING_MISMATCH));
        assertEquals(0, policies.stats().outcomes(MtaStsStats.Outcome.TESTING_NO_TLS));
    }

    @Test
    void testingLogsAHopWithoutTls() throws Exception {
        fake.offerStartTls = false;
        publish("1", policy("testing", "mx.test"));
        client(Map.of());
        assertEquals(DELIVERED, send().outcome());
        String line = logged.await("mta-sts-testing");
        assertTrue(line.contains("did not offer STARTTLS") && line.contains("domain=sts.test"), line);
        assertEquals(1, policies.stats().outcomes(MtaStsStats.Outcome.TESTING_NO_TLS));
        assertEquals(0, policies.stats().outcomes(MtaStsStats.Outcome.TESTING_MISMATCH));
    }

    @Test
    void testingLogsACertificateThatDoesNotNameTheMx() throws Exception {
        dns.replace(DOMAIN, Type.MX, 300, "10 wrong.test.").add("wrong.test", Type.A, 300, "127.0.0.1");
        publish("1", policy("testing", "wrong.test")); // the MX matches: the name on the certificate is the only problem
        client(Map.of());
        RecipientResult r = send();
        assertEquals(DELIVERED, r.outcome(), r.reply());
        assertTrue(fake.tlsSessions.get() >= 1, "delivered inside TLS");
        String line = logged.await("mta-sts-testing");
        assertTrue(line.startsWith("WARN") || line.contains(" WARN "), line);
        assertTrue(line.contains("domain=sts.test") && line.contains("mx=wrong.test[127.0.0.1]")
                && line.contains("not wrong.test") && line.contains("certificate would fail verify"), line);
        awaitCondition(() -> policies.stats().certificateChecks() == 1, "a certificate check");
        assertEquals(1, policies.stats().outcomes(MtaStsStats.Outcome.TESTING_BAD_CERTIFICATE));
        assertEquals(0, policies.stats().outcomes(MtaStsStats.Outcome.TESTING_MISMATCH));
    }

    @Test
    void testingLogsAnUntrustedSelfSignedCertificate() throws Exception {
        Files.writeString(ca, pem(POLICY_CERT)); // the policy host is trusted; the MX's self-signed certificate is not
        publish("1", policy("testing", "mx.test"));
        client(Map.of());
        assertEquals(DELIVERED, send().outcome());
        String line = logged.await("mta-sts-testing");
        assertTrue(line.contains("mx=mx.test[127.0.0.1]") && line.contains("chain not trusted"), line);
        awaitCondition(() -> policies.stats().certificateChecks() == 1, "a certificate check");
        assertEquals(1, policies.stats().outcomes(MtaStsStats.Outcome.TESTING_BAD_CERTIFICATE));
    }

    @Test
    void testingWithAValidCertificateLogsNothing() throws Exception {
        publish("1", policy("testing", "mx.test"));
        client(Map.of());
        assertEquals(DELIVERED, send().outcome());
        awaitCondition(() -> policies.stats().certificateChecks() == 1, "a certificate check");
        assertEquals(0, policies.stats().outcomes(MtaStsStats.Outcome.TESTING_BAD_CERTIFICATE));
        assertEquals(0, logged.count("mta-sts-testing"));
    }

    @Test
    void noTxtRecordCostsOneNegativeCachedQuery() throws Exception {
        fake.offerStartTls = false;
        client(Map.of());
        assertEquals(DELIVERED, send().outcome());
        assertEquals(DELIVERED, send().outcome());
        assertEquals(1, dns.queries("_mta-sts." + DOMAIN, Type.TXT), "the NXDOMAIN is cached");
        assertEquals(0, requests.get());
    }

    @Test
    void aRedirectIsNotFollowed() throws Exception {
        fake.offerStartTls = false;
        publishTxt("1");
        served.put(POLICY_HOST, new Served(301, "text/plain", "", "https://" + POLICY_HOST + "/elsewhere"));
        client(Map.of());
        assertEquals(DELIVERED, send().outcome(), "no policy: delivered as without one");
        assertEquals(1, policies.stats().fetches(FetchResult.REDIRECT));
        assertEquals(1, requests.get());
    }

    @Test
    void aBodyThatIsNotTextPlainIsNoPolicy() throws Exception {
        fake.offerStartTls = false;
        publishTxt("1");
        served.put(POLICY_HOST, new Served(200, "text/html", policy("enforce", "elsewhere.test"), null));
        client(Map.of());
        assertEquals(DELIVERED, send().outcome());
        assertEquals(1, policies.stats().fetches(FetchResult.BAD_RESPONSE));
    }

    @Test
    void aPolicyHostWithAnotherNamesCertificateIsNoPolicy() throws Exception {
        fake.offerStartTls = false;
        String other = "sts2.test";
        dns.add(other, Type.MX, 300, "10 mx.test.").add("mta-sts." + other, Type.A, 300, "127.0.0.1")
                .add("_mta-sts." + other, Type.TXT, 0, "\"v=STSv1; id=1;\"");
        served.put("mta-sts." + other, new Served(200, "text/plain", policy("enforce", "elsewhere.test"), null));
        client(Map.of());
        RecipientResult r = harness.deliver(new Route(Route.Kind.SMTP_MX, other, fake.port(), ""), "a@example.org",
                List.of("b@" + other), MESSAGE).get("b@" + other);
        assertEquals(DELIVERED, r.outcome(), r.reply());
        assertEquals(1, policies.stats().fetches(FetchResult.TLS), "the certificate names mta-sts.sts.test only");
    }

    @Test
    void aChunkedPolicyIsRead() throws Exception {
        publishTxt("1");
        served.put(POLICY_HOST, new Served(200, "text/plain", policy("enforce", "mail.elsewhere.test"), null, true));
        client(Map.of());
        assertEquals(DEFERRED, send().outcome(), "the chunked policy was read and enforced");
        assertEquals(1, policies.stats().fetches(FetchResult.OK));
    }

    @Test
    void aBodyOver64KiBIsNoPolicy() throws Exception {
        fake.offerStartTls = false;
        publishTxt("1");
        String big = policy("enforce", "mail.elsewhere.test") + "x_pad: " + "p".repeat(64 * 1024) + "\r\n";
        served.put(POLICY_HOST, new Served(200, "text/plain", big, null, true));
        client(Map.of());
        assertEquals(DELIVERED, send().outcome());
        assertEquals(1, policies.stats().fetches(FetchResult.TOO_LARGE));
    }

    // ---------------------------------------------------------------- the cache

    @Test
    void aNewIdRefetchesAndTheSameIdDoesNot() throws Exception {
        publish("1", policy("enforce", "mx.test"));
        client(Map.of());
        assertEquals(DELIVERED, send().outcome());
        assertEquals(DELIVERED, send().outcome());
        assertEquals(1, requests.get(), "same id: the cached policy");
        publish("2", policy("enforce", "mail.elsewhere.test"));
        RecipientResult r = send();
        assertEquals(DEFERRED, r.outcome(), "the new policy applies");
        assertEquals(2, requests.get());
    }

    @Test
    void aFailedFetchOrDnsFailureKeepsTheCachedPolicy() throws Exception {
        publish("1", policy("enforce", "mail.elsewhere.test"));
        client(Map.of());
        assertEquals(DEFERRED, send().outcome());
        publishTxt("2");
        served.put(POLICY_HOST, new Served(500, "text/plain", "down", null));
        RecipientResult r = send();
        assertEquals(DEFERRED, r.outcome(), "the cached policy (id 1) still holds");
        assertTrue(r.text().contains("MTA-STS"), r.text());
        assertEquals(1, policies.stats().fetches(FetchResult.HTTP_STATUS));
        logged.await("mta-sts-fetch-failed");
        dns.servfail("_mta-sts." + DOMAIN);
        assertEquals(DEFERRED, send().outcome(), "TXT lookup failing: the cached policy still holds");
        assertEquals(2, requests.get(), "a failed (domain, id) is not fetched again at once");
    }

    // ---------------------------------------------------------------- the cache across restarts

    @Test
    void anEnforcePolicySurvivesARestartWithThePolicyHostDown() throws Exception {
        Path file = dir.resolve(PolicyStore.FILE_NAME);
        publish("1", policy("enforce", "mx.test"));
        client(Map.of(), new PolicyStore(file), MtaStsPolicies.REFRESH_SWEEP);
        assertEquals(DELIVERED, send().outcome());
        assertEquals(1, requests.get());
        awaitCondition(() -> Files.exists(file), "the background save"); // within SAVE_DELAY, not only at close
        harness.close(); // the server stops
        harness = null;
        assertTrue(Files.readString(file).contains("sts.test 1 enforce 86400 "), Files.readString(file));

        // Restart, with the policy host down, the TXT record stripped, and an MX outside the policy.
        https.stop(0);
        dns.replace("_mta-sts." + DOMAIN, Type.TXT, 0);
        dns.replace(DOMAIN, Type.MX, 300, "10 evil.test.").add("evil.test", Type.A, 300, "127.0.0.1");
        resolver.close();
        resolver = resolver(); // a restarted server's resolver cache is empty too
        client(Map.of(), new PolicyStore(file), MtaStsPolicies.REFRESH_SWEEP);
        logged.await("mta-sts-cache-loaded");
        RecipientResult r = send();
        assertEquals(DEFERRED, r.outcome(), r.reply());
        assertEquals(451, r.replyCode());
        assertEquals("4.7.5", r.enhancedCode());
        assertTrue(r.text().contains("MTA-STS policy of sts.test (enforce)"), r.text());
        assertEquals(1, fake.messages.size(), "only the delivery from before the restart reached the MX");
        assertEquals(1, policies.stats().outcomes(MtaStsStats.Outcome.REFUSED_MX));
        assertEquals(0, policies.stats().fetches(FetchResult.OK), "nothing fetched after the restart");
    }

    @Test
    void aDamagedCacheFileIsLoggedOnceAndIgnored() throws Exception {
        Path file = dir.resolve(PolicyStore.FILE_NAME);
        Files.write(file, new byte[] {'G', 'A', 'R', 'B', 'A', 'G', 'E', 0, '\n'});
        fake.offerStartTls = false;
        client(Map.of(), new PolicyStore(file), MtaStsPolicies.REFRESH_SWEEP);
        String line = logged.await("mta-sts-cache-ignored");
        assertTrue(line.startsWith("WARN") || line.contains("WARN"), line);
        assertEquals(DELIVERED, send().outcome(), "no policy: delivered as without one");
        assertEquals(1, logged.count("mta-sts-cache-ignored"));
    }

    // ---------------------------------------------------------------- proactive refresh (fake clock, real sweeps)

    @Test
    void aUsedPolicyIsRefreshedBeforeItExpiresAndAnUnusedOneIsLetGo() throws Exception {
        AtomicLong now = new AtomicLong(System.nanoTime());
        publish("1", policy("enforce", "mx.test")); // max_age 86400: refreshed in its last 6 h (+ one sweep)
        client(Map.of(), new PolicyStore(null), Duration.ofMillis(20), now::get);
        assertEquals(DELIVERED, send().outcome());
        assertEquals(1, requests.get());

        now.addAndGet(TimeUnit.SECONDS.toNanos(86_400 - 21_600 + 1)); // inside the refresh margin
        awaitCondition(() -> logged.count("mta-sts-policy") == 2, "a background refresh"); // logged once cached
        assertEquals(1, policies.stats().refreshes());
        assertEquals(2, requests.get());

        now.addAndGet(TimeUnit.SECONDS.toNanos(21_600)); // past the first fetch's expiry
        awaitSweeps(2);
        assertEquals(1, policies.cachedPolicies(), "the refreshed policy lives on");

        now.addAndGet(TimeUnit.SECONDS.toNanos(43_201)); // the refreshed policy's margin, but unused for > max_age
        awaitSweeps(2);
        assertEquals(1, policies.cachedPolicies());
        assertEquals(1, policies.stats().refreshes(), "a policy no delivery used within max_age is not refreshed");
        assertEquals(2, requests.get());

        now.addAndGet(TimeUnit.SECONDS.toNanos(21_600)); // past the refreshed expiry
        awaitSweeps(2);
        assertEquals(0, policies.cachedPolicies(), "expired and dropped");
    }

    @Test
    void aFailedRefreshKeepsTheCachedPolicy() throws Exception {
        AtomicLong now = new AtomicLong(System.nanoTime());
        publish("1", policy("enforce", "mx.test"));
        client(Map.of(), new PolicyStore(null), Duration.ofMillis(20), now::get);
        assertEquals(DELIVERED, send().outcome());
        served.put(POLICY_HOST, new Served(500, "text/plain", "down", null));
        dns.replace("_mta-sts." + DOMAIN, Type.TXT, 0); // stripped too: the refresh fetches anyway (RFC 8461 §10.2)
        now.addAndGet(TimeUnit.SECONDS.toNanos(86_400 - 21_600 + 1));
        awaitCondition(() -> policies.stats().fetches(FetchResult.HTTP_STATUS) == 1, "a failed background refresh");
        String line = logged.await("mta-sts-fetch-failed");
        assertTrue(line.contains("using=\"cached policy id 1\""), line);
        assertEquals(2, requests.get());
        awaitSweeps(2);
        assertEquals(2, requests.get(), "a failed refresh waits out the failure backoff");
        StsPolicy kept = policies.cachedPolicy(DOMAIN);
        assertEquals(StsMode.ENFORCE, kept == null ? null : kept.mode(), "still enforced until max_age");
    }

    private void awaitSweeps(int n) throws InterruptedException {
        long target = policies.sweeps() + n;
        awaitCondition(() -> policies.sweeps() >= target, n + " sweeps");
    }

    private static void awaitCondition(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() - deadline < 0, "no " + what + " within 5 s");
            TimeUnit.MILLISECONDS.sleep(5); // a bounded poll of a condition, not a wait for things to happen
        }
    }

    // ---------------------------------------------------------------- helpers

    private RecipientResult send() throws Exception {
        return harness.deliver(new Route(Route.Kind.SMTP_MX, DOMAIN, fake.port(), ""), "a@example.org",
                List.of("b@" + DOMAIN), MESSAGE).get("b@" + DOMAIN);
    }

    private void publish(String id, String policy) throws IOException {
        publishTxt(id);
        served.put(POLICY_HOST, new Served(200, "text/plain; charset=utf-8", policy, null));
    }

    /** TTL 0: every delivery asks again, so a changed id is seen at once. */
    private void publishTxt(String id) throws IOException {
        dns.replace("_mta-sts." + DOMAIN, Type.TXT, 0, "\"v=STSv1; id=" + id + ";\"", "\"v=spf1 -all\"");
    }

    private static String policy(String mode, String... mx) {
        StringBuilder b = new StringBuilder("version: STSv1\r\nmode: " + mode + "\r\n");
        for (String m : mx) {
            b.append("mx: ").append(m).append("\r\n");
        }
        return b.append("max_age: 86400\r\n").toString();
    }

    private void answer(HttpExchange exchange) throws IOException {
        requests.incrementAndGet();
        String host = exchange.getRequestHeaders().getFirst("Host");
        Served s = served.get(host == null ? "" : host.replaceFirst(":\\d+$", ""));
        if (s == null || !exchange.getRequestURI().getPath().equals(PolicyFetcher.WELL_KNOWN_PATH)) {
            s = new Served(404, "text/plain", "not found", null);
        }
        byte[] body = s.body().getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", s.contentType());
        if (s.location() != null) {
            exchange.getResponseHeaders().set("Location", s.location());
        }
        // Length 0 makes the JDK server send the body chunked.
        exchange.sendResponseHeaders(s.status(), s.chunked() ? 0 : body.length == 0 ? -1 : body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    private static CertifiedKey certificate(String name) {
        try {
            return SelfSignedCertificate.create(name, "EC");
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static SSLContext serverContext(CertifiedKey key) throws Exception {
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        store.setKeyEntry("k", key.key(), new char[0], key.chain().toArray(new java.security.cert.Certificate[0]));
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(store, new char[0]);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(kmf.getKeyManagers(), null, null);
        return context;
    }

    private static String pem(CertifiedKey key) throws Exception {
        return "-----BEGIN CERTIFICATE-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(key.leaf().getEncoded())
                + "\n-----END CERTIFICATE-----\n";
    }

    /** The log's output; a test waits (bounded) for a line with an event. */
    private static final class LogCapture extends ByteArrayOutputStream {
        @Override
        public synchronized void write(byte[] b, int off, int len) {
            super.write(b, off, len);
            notifyAll();
        }

        @Override
        public synchronized void write(int b) {
            super.write(b);
            notifyAll();
        }

        synchronized int count(String event) {
            int n = 0;
            for (String line : toString(StandardCharsets.UTF_8).split("\n")) {
                n += line.contains(" " + event + " ") ? 1 : 0;
            }
            return n;
        }

        synchronized String await(String event) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (true) {
                for (String line : toString(StandardCharsets.UTF_8).split("\n")) {
                    if (line.contains(" " + event + " ")) {
                        return line;
                    }
                }
                long left = deadline - System.nanoTime();
                assertTrue(left > 0, "no " + event + " line in " + toString(StandardCharsets.UTF_8));
                wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
            }
        }
    }
}
