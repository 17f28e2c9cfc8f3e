package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.sluice.smtp.metrics.HealthCheck;
import io.sluice.smtp.metrics.MetricsServer;

/** {@code /healthz}: 200 while listening with a writable spool, 503 with the reason otherwise. */
class HealthEndpointTest {

    @TempDir
    Path dir;

    @Test
    void okWhileListeningThenUnavailableOnceTheSpoolIsClosed() throws Exception {
        try (TestServer server = new TestServer(dir);
             MetricsServer http = start(server)) {
            assertTrue(TestServer.await(Duration.ofSeconds(5), () -> status(http, "/healthz") == 200),
                    "healthy once all three listeners accept");
            assertEquals(new MetricsScrape.Response(200, "ok\n"), MetricsScrape.get(http.address(), "/healthz"));
            assertEquals(404, status(http, "/nothing"));

            server.server.spool().close();
            MetricsScrape.Response down = MetricsScrape.get(http.address(), "/healthz");
            assertEquals(503, down.status());
            assertTrue(down.body().contains("spool"), down.body());
        }
    }

    @Test
    void unavailableWhenTheListenersStop() throws Exception {
        try (TestServer server = new TestServer(dir);
             MetricsServer http = start(server)) {
            assertTrue(TestServer.await(Duration.ofSeconds(5), () -> status(http, "/healthz") == 200));
            server.server.acceptor().close();
            MetricsScrape.Response down = MetricsScrape.get(http.address(), "/healthz");
            assertEquals(new MetricsScrape.Response(503, "listeners: 0 of 3 accepting\n"), down);
        }
    }

    @Test
    void theSinkIsHealthyWithoutASpool() throws Exception {
        try (TestServer server = new TestServer(dir, SmtpServer.Mode.SINK, Map.of());
             MetricsServer http = start(server)) {
            assertTrue(TestServer.await(Duration.ofSeconds(5), () -> status(http, "/healthz") == 200));
        }
    }

    private static MetricsServer start(TestServer server) throws IOException {
        return MetricsServer.start(new InetSocketAddress("127.0.0.1", 0), new PrometheusRegistry(),
                new HealthCheck(server.server));
    }

    private static int status(MetricsServer http, String path) {
        try {
            return MetricsScrape.get(http.address(), path).status();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
