package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.sluice.smtp.config.ListenerMode;
import io.sluice.smtp.metrics.HealthCheck;
import io.sluice.smtp.metrics.MetricsServer;
import io.sluice.smtp.metrics.SluiceMetrics;
import io.sluice.smtp.spool.QueuedMessage;

/**
 * {@code +proxy} listeners over loopback: the header's client is the one the limits, relay rules,
 * Received line and log see; strangers, garbage and silence are closed unanswered; smtps and
 * STARTTLS work behind the header.
 */
class ProxyProtocolSocketTest {

    private static final String LISTEN = "127.0.0.1:0 smtp+proxy, 127.0.0.1:0 smtps+proxy, 127.0.0.1:0 submission";
    private static final String GREETING = "220 mx.test ESMTP Sluice\r\n";

    @TempDir
    Path dir;

    @Test
    void theHeadersClientIsInTheReceivedLineAndTheLogWithPipelinedSmtpBehindIt() throws Exception {
        ByteArrayOutputStream logged = new ByteArrayOutputStream();
        EventLog log = new EventLog(EventLog.Level.INFO, new PrintStream(logged, true, StandardCharsets.UTF_8));
        try (TestServer server = new TestServer(dir, SmtpServer.Mode.SERVE, config(Map.of()), log);
                TestServer.Client c = new TestServer.Client(server.port())) {
            // Header and the whole transaction in one write: the bytes behind the header are the client's.
            c.out.write(concat(v2Inet("192.0.2.10", 40001), ascii("EHLO client.example\r\nMAIL FROM:<a@example.org>\r\n"
                    + "RCPT TO:<b@example.net>\r\nDATA\r\n")));
            c.out.flush();
            assertEquals(GREETING, c.reply());
            assertTrue(c.reply().startsWith("250-mx.test"));
            assertEquals("250 2.1.0 Ok\r\n", c.reply());
            assertEquals("250 2.1.5 Ok\r\n", c.reply());
            assertTrue(c.reply().startsWith("354 "));
            c.send("Subject: t\r\n\r\nbody\r\n.\r\nQUIT\r\n");
            assertTrue(c.reply().startsWith("250 2.0.0 Ok: queued as "));
            assertEquals("221 2.0.0 Bye\r\n", c.reply());
            List<QueuedMessage> queued = server.queued();
            assertEquals(1, queued.size());
            String text = server.content(queued.get(0));
            assertTrue(text.startsWith("Received: from client.example ([192.0.2.10])\r\n"), text);
            assertEquals("192.0.2.10", queued.get(0).envelope().clientAddress());
            assertTrue(TestServer.await(Duration.ofSeconds(5), () -> logged.toString(StandardCharsets.UTF_8)
                    .matches("(?s).* disconnect client=192\\.0\\.2\\.10 .*via=127\\.0\\.0\\.1.*")), logged::toString);
            assertTrue(logged.toString(StandardCharsets.UTF_8).contains("queued client=192.0.2.10 "), logged::toString);
            assertEquals(1, server.server.stats().proxyHeaders(2, true));
        } finally {
            log.close();
        }
    }

    @Test
    void v1HeaderNamesAnIpv6ClientAndRelayRulesSeeIt() throws Exception {
        try (TestServer server = new TestServer(dir, SmtpServer.Mode.SERVE, config(Map.of()));
                TestServer.Client c = new TestServer.Client(server.port())) {
            c.send("PROXY TCP6 2001:db8::25 ::1 50000 25\r\n");
            assertEquals(GREETING, c.reply());
            c.send("EHLO client.example\r\n");
            c.reply();
            // The balancer (127.0.0.1) is in relay.networks; the client it names is not.
            c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<x@elsewhere.example>\r\n");
            assertEquals("250 2.1.0 Ok\r\n", c.reply());
            assertTrue(c.reply().startsWith("550 5.7.1 "));
            assertEquals(1, server.server.stats().proxyHeaders(1, true));
        }
    }

    @Test
    void localAndUnknownKeepTheBalancersAddressButNotItsRelayRight() throws Exception {
        try (TestServer server = new TestServer(dir, SmtpServer.Mode.SERVE, config(Map.of()))) {
            for (byte[] header : List.of(ascii("PROXY UNKNOWN\r\n"), v2Local())) {
                try (TestServer.Client c = new TestServer.Client(server.port())) {
                    c.out.write(header);
                    c.out.flush();
                    assertEquals(GREETING, c.reply());
                    c.send("EHLO balancer.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<x@elsewhere.example>\r\n");
                    c.reply();
                    c.reply();
                    assertEquals("550 5.7.1 Relay access denied\r\n", c.reply(),
                            "127.0.0.1 may relay, but a LOCAL/UNKNOWN header names no client");
                }
            }
            assertEquals(1, server.server.stats().proxyHeaders(1, false));
            assertEquals(1, server.server.stats().proxyHeaders(2, false));
        }
    }

    @Test
    void perClientLimitCountsTheProxiedAddressNotTheBalancer() throws Exception {
        try (TestServer server = new TestServer(dir, SmtpServer.Mode.SERVE, config(Map.of("limits.connections_per_ip", "1")));
                TestServer.Client a = proxied(server.port(), "192.0.2.1");
                TestServer.Client b = proxied(server.port(), "192.0.2.2");
                TestServer.Client again = proxied(server.port(), "192.0.2.1")) {
            assertEquals(GREETING, a.reply());
            assertEquals(GREETING, b.reply(), "two clients behind one balancer are two clients");
            assertTrue(again.reply().startsWith("421 4.7.0 "));
            assertTrue(again.closedByServer());
            // A balancer's connection waiting for its header holds a place in the total, no per-client count.
            try (TestServer.Client waiting = new TestServer.Client(server.port())) {
                a.send("QUIT\r\n");
                assertEquals("221 2.0.0 Bye\r\n", a.reply());
                assertTrue(a.closedByServer());
                // Its count is given back when the session closes on the server, just after our EOF.
                assertTrue(TestServer.await(Duration.ofSeconds(5), () -> server.server.openConnections() == 2), "b and waiting (in the total only)");
                waiting.out.write(v2Inet("192.0.2.1", 1));
                waiting.out.flush();
                assertEquals(GREETING, waiting.reply());
            }
        }
    }

    @Test
    void aPeerOutsideTheBalancerNetworksIsClosedUnanswered() throws Exception {
        try (TestServer server = new TestServer(dir, SmtpServer.Mode.SERVE,
                config(Map.of("proxy.networks", "192.0.2.0/24")));
                TestServer.Client c = new TestServer.Client(server.port())) {
            c.send("PROXY TCP4 203.0.113.9 192.0.2.1 1 25\r\n");
            assertTrue(c.closedByServer(), "no greeting, no reply");
            assertTrue(TestServer.await(Duration.ofSeconds(5),
                    () -> server.server.stats().proxyRefusals().get(ProxyRefusal.UNTRUSTED) == 1));
            assertEquals(1, server.server.stats().rejectionsByReason().get(ConnectionRejection.PROXY));
            // A listener without +proxy takes the same peer directly.
            try (TestServer.Client direct = new TestServer.Client(server.address(ListenerMode.SUBMISSION).getPort())) {
                assertEquals(GREETING, direct.reply());
            }
        }
    }

    @Test
    void garbageAndAnOverlongHeaderAreClosedUnanswered() throws Exception {
        try (TestServer server = new TestServer(dir, SmtpServer.Mode.SERVE, config(Map.of()))) {
            try (TestServer.Client c = new TestServer.Client(server.port())) {
                c.send("EHLO client.example\r\n");
                assertTrue(c.closedByServer());
            }
            try (TestServer.Client c = new TestServer.Client(server.port())) {
                c.send("PROXY UNKNOWN " + "x".repeat(200));
                assertTrue(c.closedByServer());
            }
            try (TestServer.Client c = new TestServer.Client(server.port())) {
                c.send("PROXY TCP4 1.2.3.4");
                c.socket.shutdownOutput(); // a health check that gives up
                assertTrue(c.closedByServer());
            }
            Map<ProxyRefusal, Long> refusals = server.server.stats().proxyRefusals();
            assertTrue(TestServer.await(Duration.ofSeconds(5), () -> server.server.stats().proxyRefusals()
                    .get(ProxyRefusal.NO_HEADER) == 1), refusals::toString);
            assertEquals(1, server.server.stats().proxyRefusals().get(ProxyRefusal.MALFORMED));
            assertEquals(1, server.server.stats().proxyRefusals().get(ProxyRefusal.TOO_LONG));
        }
    }

    @Test
    void aHeaderThatDoesNotComeInTimeIsClosedUnanswered() throws Exception {
        try (TestServer server = new TestServer(dir, SmtpServer.Mode.SERVE, config(Map.of("proxy.header_timeout", "200ms")));
                TestServer.Client c = new TestServer.Client(server.port())) {
            long start = System.nanoTime();
            c.send("PROXY TCP4 "); // a start, then silence: the deadline is absolute, from connect
            assertTrue(c.closedByServer(), "no greeting, no reply"); // bounded by the client's 10 s read timeout
            long elapsedMillis = (System.nanoTime() - start) / 1_000_000;
            assertTrue(elapsedMillis >= 150 && elapsedMillis < 5_000, "closed after " + elapsedMillis + " ms");
            assertTrue(TestServer.await(Duration.ofSeconds(5),
                    () -> server.server.stats().proxyRefusals().get(ProxyRefusal.TIMEOUT) == 1));
        }
    }

    @Test
    void smtpsBehindTheHeaderWithTheClientHelloInTheSameWrite() throws Exception {
        try (TestServer server = new TestServer(dir, SmtpServer.Mode.SERVE, config(Map.of()))) {
            Socket plain = new HeaderFirstSocket(v2Inet("198.51.100.7", 1234));
            plain.connect(server.address(ListenerMode.SMTPS), 5_000);
            try (TestServer.Client c = new TestServer.Client(plain)) {
                c.upgrade(ServerSocketTest.handshake(plain));
                assertEquals(GREETING, c.reply());
                sendOneMessage(c);
            }
            String text = server.content(server.queued().get(0));
            assertTrue(text.startsWith("Received: from client.example ([198.51.100.7])\r\n\t(using TLS"), text);
        }
    }

    @Test
    void starttlsBehindTheHeader() throws Exception {
        try (TestServer server = new TestServer(dir, SmtpServer.Mode.SERVE, config(Map.of()));
                TestServer.Client c = proxied(server.port(), "198.51.100.8")) {
            assertEquals(GREETING, c.reply());
            c.send("EHLO client.example\r\n");
            assertTrue(c.reply().matches("(?s).*250[- ]STARTTLS\r\n.*"));
            c.send("STARTTLS\r\n");
            assertTrue(c.reply().startsWith("220 "));
            c.upgrade(ServerSocketTest.handshake(c.socket));
            sendOneMessage(c);
            String text = server.content(server.queued().get(0));
            assertTrue(text.startsWith("Received: from client.example ([198.51.100.8])\r\n\t(using TLS"), text);
        }
    }

    @Test
    void metricsCountHeadersAndRefusalsByReason() throws Exception {
        try (TestServer server = new TestServer(dir, SmtpServer.Mode.SERVE, config(Map.of()))) {
            PrometheusRegistry registry = new PrometheusRegistry();
            SluiceMetrics.register(registry, server.server, EventLog.silent(), 20);
            try (MetricsServer metrics = MetricsServer.start(
                    new InetSocketAddress("127.0.0.1", 0), registry, new HealthCheck(server.server))) {
                try (TestServer.Client c = proxied(server.port(), "192.0.2.20")) {
                    assertEquals(GREETING, c.reply());
                }
                try (TestServer.Client c = new TestServer.Client(server.port())) {
                    c.send("PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n");
                    assertTrue(c.closedByServer());
                }
                new Socket(InetAddress.getLoopbackAddress(), server.port()).close(); // a plain TCP health check
                assertTrue(TestServer.await(Duration.ofSeconds(5),
                        () -> server.server.stats().proxyRefusals().get(ProxyRefusal.MALFORMED) == 1));
                assertTrue(TestServer.await(Duration.ofSeconds(5), () -> server.server.stats().proxyHealthChecks(false) == 1));
                Map<String, Double> s = MetricsScrape.samples(MetricsScrape.get(metrics.address(), "/metrics").body());
                assertEquals(1.0, MetricsScrape.value(s, "sluice_proxy_headers_total", "version=\"2\"", "result=\"proxied\""));
                assertEquals(0.0, MetricsScrape.value(s, "sluice_proxy_headers_total", "version=\"1\"", "result=\"local\""));
                assertEquals(1.0, MetricsScrape.value(s, "sluice_proxy_refused_total", "reason=\"malformed\""));
                assertEquals(0.0, MetricsScrape.value(s, "sluice_proxy_refused_total", "reason=\"untrusted\""));
                assertEquals(1.0, MetricsScrape.value(s, "sluice_connections_rejected_total", "reason=\"proxy\""),
                        "the health check is not a rejection");
                assertEquals(1.0, MetricsScrape.value(s, "sluice_proxy_health_checks_total", "kind=\"connect\""));
                assertEquals(0.0, MetricsScrape.value(s, "sluice_proxy_health_checks_total", "kind=\"local\""));
                assertEquals(0.0, MetricsScrape.value(s, "sluice_proxy_refused_total", "reason=\"no_header\""));
            }
        }
    }

    @Test
    void anEmptyBalancerListIsAStartupError() {
        IOException e = assertThrows(IOException.class,
                () -> new TestServer(dir, SmtpServer.Mode.SERVE, config(Map.of("proxy.networks", ""))));
        assertTrue(e.getMessage().contains("proxy.networks"), e.getMessage());
    }

    // ---- helpers ----------------------------------------------------------------------------

    private static void sendOneMessage(TestServer.Client c) throws IOException {
        c.send("EHLO client.example\r\n");
        c.reply();
        c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n");
        assertEquals("250 2.1.0 Ok\r\n", c.reply());
        assertEquals("250 2.1.5 Ok\r\n", c.reply());
        assertTrue(c.reply().startsWith("354 "));
        c.send("Subject: t\r\n\r\nbody\r\n.\r\n");
        assertTrue(c.reply().startsWith("250 2.0.0 Ok: queued as "));
        c.send("QUIT\r\n");
        assertEquals("221 2.0.0 Bye\r\n", c.reply());
    }

    private static Map<String, String> config(Map<String, String> extra) {
        Map<String, String> settings = new HashMap<>();
        settings.put("listen", LISTEN);
        settings.putAll(extra);
        return settings;
    }

    private static TestServer.Client proxied(int port, String clientAddress) throws IOException {
        TestServer.Client c = new TestServer.Client(port);
        c.out.write(v2Inet(clientAddress, 40000));
        c.out.flush();
        return c;
    }

    /** A v2 PROXY TCP-over-IPv4 header naming {@code source} as the client, us as 127.0.0.1:25. */
    static byte[] v2Inet(String source, int sourcePort) throws IOException {
        byte[] block = concat(InetAddress.getByName(source).getAddress(), new byte[] {127, 0, 0, 1,
            (byte) (sourcePort >>> 8), (byte) sourcePort, 0, 25});
        return concat(SIGNATURE, new byte[] {0x21, 0x11, 0, (byte) block.length}, block);
    }

    private static byte[] v2Local() {
        return concat(SIGNATURE, new byte[] {0x20, 0x00, 0, 0});
    }

    private static final byte[] SIGNATURE = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * A socket whose first write carries the PROXY header in front: layered under an SSLSocket, the
     * header and the ClientHello leave in one write, as a balancer forwarding a fast client sends them.
     */
    private static final class HeaderFirstSocket extends Socket {
        private final byte[] header;
        private OutputStream out;

        HeaderFirstSocket(byte[] header) {
            this.header = header;
        }

        @Override
        public synchronized OutputStream getOutputStream() throws IOException {
            if (out == null) {
                out = new FilterOutputStream(super.getOutputStream()) {
                    private boolean sent;

                    @Override
                    public void write(byte[] b, int off, int len) throws IOException {
                        if (!sent) {
                            sent = true;
                            byte[] both = concat(header, java.util.Arrays.copyOfRange(b, off, off + len));
                            super.out.write(both, 0, both.length);
                        } else {
                            super.out.write(b, off, len);
                        }
                    }
                };
            }
            return out;
        }

        @Override
        public void connect(java.net.SocketAddress endpoint, int timeout) throws IOException {
            super.connect(endpoint, timeout);
            setSoTimeout(10_000);
        }
    }
}
