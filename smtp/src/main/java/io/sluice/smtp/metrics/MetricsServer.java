package io.sluice.smtp.metrics;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

import com.sun.net.httpserver.HttpExchange;

import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.sluice.smtp.config.ConfigKeys;
import io.sluice.smtp.config.SluiceConfig;
import io.sluice.smtp.server.EventLog;
import io.sluice.smtp.server.SmtpServer;

/**
 * The HTTP side of a server ({@code metrics.listen}): {@code GET /metrics} in the Prometheus text
 * format and {@code GET /healthz}, 200 {@code ok} or 503 with the reason. Runs on the exporter's
 * own small thread pool, never on an event loop. Start and close from the thread that owns the
 * {@link SmtpServer}; close it before the server.
 */
public final class MetricsServer implements AutoCloseable {

    private final HTTPServer http;
    private final InetSocketAddress address;

    private MetricsServer(HTTPServer http, InetSocketAddress address) {
        this.http = http;
        this.address = address;
    }

    /**
     * Starts the HTTP server {@code metrics.listen} asks for, or returns empty when it is empty.
     *
     * @throws IOException if the address cannot be bound
     */
    public static Optional<MetricsServer> start(SluiceConfig config, SmtpServer server, EventLog log) throws IOException {
        Optional<InetSocketAddress> listen = config.get(ConfigKeys.METRICS_LISTEN);
        if (listen.isEmpty()) {
            return Optional.empty();
        }
        PrometheusRegistry registry = new PrometheusRegistry();
        SluiceMetrics.register(registry, server, log, config.get(ConfigKeys.METRICS_QUEUE_DESTINATIONS));
        MetricsServer started = start(listen.get(), registry, new HealthCheck(server));
        log.log(EventLog.Level.INFO, "metrics", "listen", started.address());
        return Optional.of(started);
    }

    /** Serves {@code registry} and {@code health} on {@code listen} (port 0 picks a free port). */
    public static MetricsServer start(InetSocketAddress listen, PrometheusRegistry registry, HealthCheck health)
            throws IOException {
        HTTPServer http = HTTPServer.builder()
                .inetAddress(listen.getAddress())
                .port(listen.getPort())
                .registry(registry)
                .registerHealthHandler(false)
                .defaultHandler(exchange -> serveOther(exchange, health))
                .buildAndStart();
        return new MetricsServer(http, new InetSocketAddress(listen.getAddress(), http.getPort()));
    }

    /** Every path but {@code /metrics}: the health check, else 404. */
    private static void serveOther(HttpExchange exchange, HealthCheck health) throws IOException {
        try (exchange) {
            String path = exchange.getRequestURI().getPath();
            if (!path.equals("/healthz")) {
                respond(exchange, 404, "not found: try /metrics or /healthz\n");
                return;
            }
            String reason = health.unhealthyReason();
            respond(exchange, reason == null ? 200 : 503, reason == null ? "ok\n" : reason + "\n");
        }
    }

    private static void respond(HttpExchange exchange, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
        exchange.getResponseHeaders().set("Cache-Control", "no-store");
        boolean head = exchange.getRequestMethod().equals("HEAD");
        exchange.sendResponseHeaders(status, head ? -1 : bytes.length);
        if (!head) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        }
    }

    /** The bound address (the real port when 0 was asked for). */
    public InetSocketAddress address() {
        return address;
    }

    /** Stops serving; requests in progress get up to a second. */
    @Override
    public void close() {
        http.close();
    }
}
