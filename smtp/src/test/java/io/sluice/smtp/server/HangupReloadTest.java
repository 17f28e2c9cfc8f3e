package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.sluice.smtp.auth.PasswordHash;
import io.sluice.smtp.dkim.TestKeys;
import io.sluice.smtp.metrics.HealthCheck;
import io.sluice.smtp.metrics.MetricsServer;
import io.sluice.smtp.metrics.SluiceMetrics;

/**
 * One SIGHUP reloads all three parts (TLS, users, DKIM), through the process's one handler: first
 * through its injection point ({@link ConfigReloader#hangup()}), then with a real SIGHUP to this
 * JVM, sent only while our handler is installed (so it can never take the JVM's default action and
 * end the test run). Two servers share the handler whatever order they close in.
 */
class HangupReloadTest {
    private static final List<String> PARTS = List.of("tls", "users", "dkim");

    @TempDir
    Path dir;

    private final ByteArrayOutputStream logged = new ByteArrayOutputStream();

    private String log() {
        synchronized (logged) {
            return logged.toString(StandardCharsets.UTF_8);
        }
    }

    private TestServer server(String name) throws Exception {
        Path users = Files.writeString(dir.resolve(name + ".users"),
                "alice:" + PasswordHash.create("secret".toCharArray(), 10_000) + "\n");
        Path key = TestKeys.write(dir.resolve(name + ".pem"), TestKeys.pkcs8("Ed25519", 0));
        Map<String, String> settings = new HashMap<>();
        settings.put("auth.users", users.toString());
        settings.put("dkim.example.org.selector", "s1");
        settings.put("dkim.example.org.key", key.toString());
        settings.put("reload.poll_interval", "0s");
        EventLog log = new EventLog(EventLog.Level.INFO, new PrintStream(logged, true, StandardCharsets.UTF_8));
        return new TestServer(dir.resolve(name), SmtpServer.Mode.SERVE, settings, log);
    }

    private static boolean reloadedTimes(ConfigReloader reloader, long times) throws InterruptedException {
        return TestServer.await(Duration.ofSeconds(20), () -> PARTS.stream().allMatch(p -> reloader.reloads(p) == times));
    }

    @Test
    void oneHangupReloadsTlsUsersAndDkimKeys() throws Exception {
        try (TestServer server = server("one")) {
            ConfigReloader reloader = server.server.reloader();
            assertEquals(PARTS, reloader.partNames());
            reloader.hangup();
            assertTrue(reloadedTimes(reloader, 1), "each part once: " + log());
            // The log is written by its own thread, after the counters: wait for the lines.
            assertTrue(TestServer.await(Duration.ofSeconds(10), () -> PARTS.stream()
                    .allMatch(part -> log().contains(" INFO reload what=" + part + " ok=true trigger=sighup "))), log());
            for (String part : PARTS) {
                assertEquals(0, reloader.failedReloads(part), part);
            }
            assertTrue(log().contains("detail=\"users=1 from "), log());
            assertTrue(log().contains("detail=\"keys=1 renewed=0: example.org s=s1 unchanged\""), log());

            PrometheusRegistry registry = new PrometheusRegistry();
            SluiceMetrics.register(registry, server.server, EventLog.silent(), 20);
            try (MetricsServer metrics = MetricsServer.start(new InetSocketAddress("127.0.0.1", 0), registry,
                    new HealthCheck(server.server))) {
                Map<String, Double> m = MetricsScrape.samples(MetricsScrape.get(metrics.address(), "/metrics").body());
                for (String part : PARTS) {
                    assertEquals(1.0, MetricsScrape.value(m, "sluice_config_reloads_total", "what=\"" + part + "\"",
                            "result=\"ok\""), part);
                    assertEquals(0.0, MetricsScrape.value(m, "sluice_config_reloads_total", "what=\"" + part + "\"",
                            "result=\"failed\""), part);
                }
                assertEquals(1.0, MetricsScrape.value(m, "sluice_auth_users"));
                assertEquals(1.0, MetricsScrape.value(m, "sluice_dkim_keys"));
            }
        }
    }

    @Test
    void aRealSighupReachesEveryServerWhicheverClosesFirst() throws Exception {
        TestServer first = server("first");
        try (TestServer second = server("second")) {
            try (first) {
                Assumptions.assumeTrue(HangupSignal.installed(), "this JVM cannot handle SIGHUP: only the injection point is tested");
                sighup();
                assertTrue(reloadedTimes(first.server.reloader(), 1), "first server: " + log());
                assertTrue(reloadedTimes(second.server.reloader(), 1), "second server: " + log());
            }
            assertTrue(HangupSignal.installed(), "the handler stays while a server is open");
            sighup();
            assertTrue(reloadedTimes(second.server.reloader(), 2), "after the first closed: " + log());
            assertEquals(1, first.server.reloader().reloads("users"), "a closed server reloads nothing");
        }
    }

    /** kill -HUP to this JVM; only called while {@link HangupSignal#installed()}. */
    private static void sighup() throws Exception {
        assertTrue(HangupSignal.installed());
        Process kill = new ProcessBuilder("kill", "-HUP", Long.toString(ProcessHandle.current().pid()))
                .redirectErrorStream(true).start();
        assertTrue(kill.waitFor(10, TimeUnit.SECONDS), "kill did not finish");
        assertEquals(0, kill.exitValue());
    }
}
