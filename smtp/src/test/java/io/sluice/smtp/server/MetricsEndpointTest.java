package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

import javax.net.ssl.SSLSocket;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.sluice.smtp.config.SluiceConfig;
import io.sluice.smtp.metrics.HealthCheck;
import io.sluice.smtp.metrics.MetricsServer;
import io.sluice.smtp.metrics.SluiceMetrics;

/**
 * A real server and its metrics endpoint on loopback: after a plain message, a STARTTLS session,
 * an HTTP request and an oversized message, the scraped counters show exactly those.
 */
class MetricsEndpointTest {

    @TempDir
    Path dir;

    private TestServer server;
    private MetricsServer metrics;

    @BeforeEach
    void start() throws Exception {
        server = new TestServer(dir, SmtpServer.Mode.SERVE, Map.of(
                "smtp.max_message_size", "1KiB",
                "transport.example.net", "discard",
                "transport.example.com", "error:4.3.0 try later"));
        PrometheusRegistry registry = new PrometheusRegistry();
        SluiceMetrics.register(registry, server.server, EventLog.silent(), 20);
        metrics = MetricsServer.start(new InetSocketAddress("127.0.0.1", 0), registry, new HealthCheck(server.server));
    }

    @AfterEach
    void stop() {
        metrics.close();
        server.close();
    }

    @Test
    void countersMoveWithTraffic() throws Exception {
        sendOneMessage();
        startTlsSession();
        httpRequest();
        oversizedMessage();
        assertTrue(TestServer.await(Duration.ofSeconds(10),
                () -> server.server.queue().delivered() == 1 && server.server.queue().deferred() == 1),
                "one recipient sent, one deferred");
        assertTrue(TestServer.await(Duration.ofSeconds(10), () -> server.server.stats().connections() == 4
                && server.server.openConnections() == 0), "every session closed");

        MetricsScrape.Response response = MetricsScrape.get(metrics.address(), "/metrics");
        assertEquals(200, response.status());
        Map<String, Double> s = MetricsScrape.samples(response.body());
        if (java.nio.file.Files.isDirectory(Path.of("target"))) {
            java.nio.file.Files.writeString(Path.of("target", "metrics-sample.txt"), response.body()); // for the docs
        }

        assertEquals(1.0, MetricsScrape.value(s, "sluice_messages_accepted_total"));
        assertEquals(1.0, MetricsScrape.value(s, "sluice_messages_rejected_total", "code=\"552\""));
        assertTrue(MetricsScrape.value(s, "sluice_message_bytes_total") > 20);
        assertEquals(4.0, MetricsScrape.value(s, "sluice_smtp_sessions_total"));
        assertEquals(4.0, MetricsScrape.value(s, "sluice_connections_accepted_total"));
        assertEquals(0.0, MetricsScrape.value(s, "sluice_connections_open"));
        assertEquals(1.0, MetricsScrape.value(s, "sluice_connections_rejected_total", "reason=\"http\""));
        assertEquals(0.0, MetricsScrape.value(s, "sluice_connections_rejected_total", "reason=\"limit\""));
        assertEquals(1.0, MetricsScrape.value(s, "sluice_tls_sessions_total", "protocol=\"TLSv1."));
        assertEquals(0.0, MetricsScrape.value(s, "sluice_tls_handshake_failures_total", "reason=\"not_tls\""));
        assertEquals(3.0, MetricsScrape.value(s, "sluice_listeners_accepting"));

        assertTrue(MetricsScrape.value(s, "sluice_spool_commit_batch_size_count") >= 1);
        assertTrue(MetricsScrape.value(s, "sluice_spool_fsync_duration_seconds_count") >= 1);
        assertTrue(MetricsScrape.value(s, "sluice_spool_commits_total", "result=\"committed\"") >= 1);
        assertEquals(1.0, MetricsScrape.value(s, "sluice_spool_writable"));
        assertEquals(0.0, MetricsScrape.value(s, "sluice_spool_journal_compaction_errors_total"));
        assertEquals(0.0, MetricsScrape.value(s, "sluice_spool_damaged_ranges_total"));

        assertEquals(1.0, MetricsScrape.value(s, "sluice_delivery_attempts_total", "result=\"sent\""));
        assertEquals(1.0, MetricsScrape.value(s, "sluice_delivery_attempts_total", "result=\"deferred\""));
        assertEquals(0.0, MetricsScrape.value(s, "sluice_delivery_attempts_total", "result=\"bounced\""));
        assertEquals(0.0, MetricsScrape.value(s, "sluice_delivery_notices_total", "kind=\"success\""));
        assertEquals(1.0, MetricsScrape.value(s, "sluice_queue_messages"));
        assertEquals(1.0, MetricsScrape.value(s, "sluice_queue_recipients",
                "destination=\"error:4.3.0 try later\"", "state=\"deferred\""));
        assertEquals(0.0, MetricsScrape.value(s, "sluice_queue_recipients",
                "destination=\"error:4.3.0 try later\"", "state=\"active\""));

        assertTrue(MetricsScrape.value(s, "sluice_loop_cycles_total", "loop=\"0\"") > 0);
        assertTrue(MetricsScrape.value(s, "sluice_loop_busy_seconds_total", "loop=\"1\"") > 0);
        assertTrue(MetricsScrape.value(s, "jvm_memory_used_bytes", "area=\"heap\"") > 0);
        assertTrue(response.body().contains("# TYPE sluice_loop_stalls_total counter"), "counters typed as such");
    }

    @Test
    void outboundCountersMoveWhenRelaying() throws Exception {
        try (TestServer sink = new TestServer(dir.resolve("sink"), SmtpServer.Mode.SINK, Map.of("tls.level", "may"));
             TestServer relay = new TestServer(dir.resolve("relay"), SmtpServer.Mode.SERVE, Map.of(
                     "transport.example.net", "smtp:[127.0.0.1]:" + sink.port(),
                     "transport.example.com", "discard",
                     "tls.client.level", "encrypt"))) {
            PrometheusRegistry registry = new PrometheusRegistry();
            SluiceMetrics.register(registry, relay.server, EventLog.silent(), 20);
            try (MetricsServer relayMetrics = MetricsServer.start(new InetSocketAddress("127.0.0.1", 0), registry,
                    new HealthCheck(relay.server))) {
                for (int i = 0; i < 2; i++) {
                    try (TestServer.Client c = new TestServer.Client(relay.port())) {
                        c.reply();
                        c.send("EHLO client.example\r\n");
                        c.reply();
                        c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n");
                        assertTrue(c.reply().startsWith("250"), "MAIL");
                        assertTrue(c.reply().startsWith("250"), "RCPT");
                        assertTrue(c.reply().startsWith("354"), "DATA");
                        c.send("Subject: relayed\r\n\r\nHello.\r\n.\r\nQUIT\r\n");
                        assertTrue(c.reply().startsWith("250 2.0.0 Ok: queued as "));
                        assertTrue(c.reply().startsWith("221"));
                    }
                    int sent = i + 1;
                    assertTrue(TestServer.await(Duration.ofSeconds(10), () -> relay.server.queue().delivered() == sent),
                            "relayed to the sink: " + sent);
                }
                Map<String, Double> s = MetricsScrape.samples(MetricsScrape.get(relayMetrics.address(), "/metrics").body());
                assertEquals(2.0, MetricsScrape.value(s, "sluice_outbound_messages_total"));
                assertEquals(1.0, MetricsScrape.value(s, "sluice_outbound_connections_total"), "the second message reused it");
                assertEquals(1.0, MetricsScrape.value(s, "sluice_outbound_connection_reuses_total"));
                assertEquals(1.0, MetricsScrape.value(s, "sluice_outbound_tls_handshakes_total"));
                assertEquals(0.0, MetricsScrape.value(s, "sluice_outbound_tls_downgrades_total"));
                assertEquals(0.0, MetricsScrape.value(s, "sluice_outbound_auth_total", "result=\"ok\""));
                assertEquals(0.0, MetricsScrape.value(s, "sluice_outbound_auth_total", "result=\"refused\""));
            }
        }
    }

    @Test
    void metricsListenEmptyMeansNoHttpServer() throws Exception {
        Optional<MetricsServer> none = MetricsServer.start(SluiceConfig.load(null, Map.of()), server.server,
                EventLog.silent());
        assertTrue(none.isEmpty());
    }

    @Test
    void metricsListenStartsTheServerFromConfiguration() throws Exception {
        SluiceConfig config = SluiceConfig.load(null, Map.of("metrics.listen", "127.0.0.1:0"));
        try (MetricsServer configured = MetricsServer.start(config, server.server, EventLog.silent()).orElseThrow()) {
            assertTrue(configured.address().getPort() > 0);
            MetricsScrape.Response r = MetricsScrape.get(configured.address(), "/metrics");
            assertEquals(200, r.status());
            assertTrue(r.body().contains("sluice_messages_accepted_total 0"), r.body());
        }
    }

    private void sendOneMessage() throws Exception {
        try (TestServer.Client c = new TestServer.Client(server.port())) {
            c.reply();
            c.send("EHLO client.example\r\n");
            c.reply();
            c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nRCPT TO:<c@example.com>\r\nDATA\r\n");
            assertTrue(c.reply().startsWith("250"));
            assertTrue(c.reply().startsWith("250"));
            assertTrue(c.reply().startsWith("250"));
            assertTrue(c.reply().startsWith("354"));
            c.send("Subject: counted\r\n\r\nHello metrics.\r\n.\r\nQUIT\r\n");
            assertTrue(c.reply().startsWith("250 2.0.0 Ok: queued as "));
            assertTrue(c.reply().startsWith("221"));
        }
    }

    private void startTlsSession() throws Exception {
        try (TestServer.Client c = new TestServer.Client(server.port())) {
            c.reply();
            c.send("EHLO client.example\r\n");
            c.reply();
            c.send("STARTTLS\r\n");
            assertTrue(c.reply().startsWith("220"));
            SSLSocket tls = ServerSocketTest.handshake(c.socket);
            c.upgrade(tls);
            c.send("EHLO client.example\r\n");
            assertTrue(c.reply().startsWith("250"));
            c.send("QUIT\r\n");
            assertTrue(c.reply().startsWith("221"));
        }
    }

    private void httpRequest() throws Exception {
        try (TestServer.Client c = new TestServer.Client(server.port())) {
            c.reply();
            c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            c.reply();
            assertTrue(c.closedByServer());
        }
    }

    private void oversizedMessage() throws Exception {
        try (TestServer.Client c = new TestServer.Client(server.port())) {
            c.reply();
            c.send("EHLO client.example\r\n");
            c.reply();
            c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n");
            c.reply();
            c.reply();
            assertTrue(c.reply().startsWith("354"));
            c.send("Subject: big\r\n\r\n" + "x".repeat(70).concat("\r\n").repeat(30) + ".\r\n");
            assertTrue(c.reply().startsWith("552"));
            c.send("QUIT\r\n");
            c.reply();
        }
    }
}
