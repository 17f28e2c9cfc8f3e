package io.sluice.smtp.client;

import static io.sluice.smtp.delivery.RecipientResult.Outcome.DEFERRED;
import static io.sluice.smtp.delivery.RecipientResult.Outcome.DELIVERED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sluice.smtp.config.ClientTlsLevel;
import io.sluice.smtp.delivery.RecipientResult;
import io.sluice.smtp.delivery.Route;

/**
 * Outbound SMTP AUTH against a real peer: Haraka with its {@code auth/flat_file} plugin and its
 * {@code tls} plugin, started on 127.0.0.1 by the shared {@code peers.sh} (a config hook adds the
 * plugin and one user). The client does STARTTLS, then AUTH PLAIN, then the message; a wrong
 * password is deferred with Haraka's 535 text.
 *
 * <p>Skipped, with the reason, when peers.sh or Haraka (node, and Haraka under
 * {@code $PEERS_HOME/haraka}, which {@code peers.sh install} puts there) is missing, or no port of
 * 3310-3319 is free. {@code peers.sh stop PORT} stops the instance (by its recorded PIDs).
 */
class HarakaAuthInteropTest {
    private static final Path PEERS_SH = Path.of(System.getProperty("sluice.peers.sh", "/work/shared/peers.sh"));
    private static final String USER = "relayuser";
    private static final String PASSWORD = "relay-pass";

    @TempDir
    static Path dir;

    private static int port = -1;

    @BeforeAll
    static void startHaraka() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(PEERS_SH), PEERS_SH + " not found: Haraka AUTH interop skipped");
        String home = System.getenv().getOrDefault("PEERS_HOME",
                Path.of(System.getenv().getOrDefault("TMPDIR", "/tmp"), "sluice-peers").toString());
        Assumptions.assumeTrue(Files.isDirectory(Path.of(home, "haraka", "node_modules", "Haraka", "plugins", "auth")),
                "Haraka not installed under " + home + "/haraka (run peers.sh install): Haraka AUTH interop skipped");
        Assumptions.assumeTrue(run(List.of("node", "--version"), Map.of(), 10) == 0, "node not on PATH: Haraka AUTH interop skipped");
        int free = freePort();
        Assumptions.assumeTrue(free > 0, "no free port in 3310-3319: Haraka AUTH interop skipped");
        Path hook = dir.resolve("auth-hook.sh");
        Files.writeString(hook, String.join("\n",
                "#!/bin/sh",
                "# HARAKA_CONFIG_HOOK of HarakaAuthInteropTest: auth/flat_file with one user (TLS is on already)",
                "set -e",
                "printf 'auth/flat_file\\n' >> \"$1/config/plugins\"",
                "printf '[core]\\nmethods=PLAIN,LOGIN\\n[users]\\n" + USER + "=" + PASSWORD + "\\n' > \"$1/config/auth_flat_file.ini\"",
                ""), StandardCharsets.US_ASCII);
        Files.setPosixFilePermissions(hook, PosixFilePermissions.fromString("rwxr-xr-x"));
        int exit = run(List.of(PEERS_SH.toString(), "start-haraka", Integer.toString(free)),
                Map.of("HARAKA_CONFIG_HOOK", hook.toString(), "HARAKA_NODES", "none"), 120);
        assertEquals(0, exit, "peers.sh start-haraka " + free + ": " + Files.readString(dir.resolve("peers.out")));
        port = free;
    }

    @AfterAll
    static void stopHaraka() throws Exception {
        if (port > 0) {
            run(List.of(PEERS_SH.toString(), "stop", Integer.toString(port)), Map.of(), 30);
        }
    }

    /** A port of our range (3300-3349; this test uses 3310-3319) that nothing listens on, or -1. */
    private static int freePort() {
        for (int p = 3310; p < 3320; p++) {
            try (ServerSocket probe = new ServerSocket()) {
                probe.bind(new InetSocketAddress("127.0.0.1", p));
                return p;
            } catch (IOException busy) {
                // next
            }
        }
        return -1;
    }

    private static int run(List<String> command, Map<String, String> env, long timeoutSeconds) throws Exception {
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(dir.resolve("peers.out").toFile());
        builder.environment().putAll(env);
        Process process;
        try {
            process = builder.start();
        } catch (IOException e) {
            return -1;
        }
        if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            return -1;
        }
        return process.exitValue();
    }

    private static RecipientResult deliver(String password, ClientHarness[] keep) throws Exception {
        ClientSettings settings = ClientSettings.defaults("client.test", new TlsPolicyTable(ClientTlsLevel.NONE, Map.of("127.0.0.1", ClientTlsLevel.ENCRYPT)))
                .withTimeouts(Duration.ofSeconds(15))
                .withAuth(new AuthTable(Map.of("127.0.0.1", SmtpCredentials.of("127.0.0.1", USER, password))));
        ClientHarness harness = new ClientHarness(settings, dir);
        keep[0] = harness;
        return harness.deliver(new Route(Route.Kind.SMTP_HOST, "127.0.0.1", port, ""), "a@example.org",
                List.of("b@example.net"), "Subject: auth interop\r\n\r\nHello Haraka.\r\n").get("b@example.net");
    }

    @Test
    void goodCredentialsDeliverAfterStartTlsAndAuth() throws Exception {
        ClientHarness[] harness = new ClientHarness[1];
        try {
            RecipientResult r = deliver(PASSWORD, harness);
            assertEquals(DELIVERED, r.outcome(), r.reply());
            assertEquals(1, harness[0].client.stats().tlsHandshakes());
            assertEquals(1, harness[0].client.stats().authSucceeded());
        } finally {
            if (harness[0] != null) {
                harness[0].close();
            }
        }
    }

    @Test
    void wrongPasswordIsDeferredWithHarakasReply() throws Exception {
        ClientHarness[] harness = new ClientHarness[1];
        try {
            RecipientResult r = deliver("not-" + PASSWORD, harness);
            assertEquals(DEFERRED, r.outcome(), r.reply());
            assertTrue(r.reply().contains("said: 535"), r.reply());
            assertFalse(r.reply().contains(PASSWORD), r.reply());
            assertEquals(1, harness[0].client.stats().authFailed());
        } finally {
            if (harness[0] != null) {
                harness[0].close();
            }
        }
    }
}
