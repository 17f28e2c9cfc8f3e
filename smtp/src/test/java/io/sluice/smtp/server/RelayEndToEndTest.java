package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sluice to Sluice through {@code serve}: messages submitted over a socket to one server, whose
 * {@code relay.host} / {@code transport.*} is a second server, arrive in the second server's
 * maildir, over reused outbound connections, in plaintext and with STARTTLS required, with BDAT
 * (our server offers CHUNKING) and with DATA ({@code delivery.chunking = false}).
 */
class RelayEndToEndTest {
    private static final int MESSAGES = 12;

    @TempDir
    Path dir;

    private static List<Path> files(Path folder) {
        if (!Files.isDirectory(folder)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(folder)) {
            return s.collect(Collectors.toList());
        } catch (IOException e) {
            return List.of();
        }
    }

    /** Submits {@code count} messages on one connection, each to b@example.net. */
    static void submit(int port, int count) throws IOException {
        try (TestServer.Client c = new TestServer.Client(port)) {
            c.reply();
            c.send("EHLO client.example\r\n");
            c.reply();
            for (int i = 0; i < count; i++) {
                c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n");
                assertTrue(c.reply().startsWith("250"));
                assertTrue(c.reply().startsWith("250"));
                assertTrue(c.reply().startsWith("354"));
                c.send("Subject: relay " + i + "\r\n\r\n..dot line " + i + "\r\n.\r\n");
                assertTrue(c.reply().startsWith("250 2.0.0 Ok: queued as "));
            }
            c.send("QUIT\r\n");
        }
    }

    private void relay(Map<String, String> frontSettings) throws Exception {
        String template = dir.resolve("mail").toAbsolutePath() + "/{domain}/{user}";
        try (TestServer back = new TestServer(dir.resolve("back"), SmtpServer.Mode.SERVE,
                Map.of("transport.*", "maildir:" + template));
             TestServer front = new TestServer(dir.resolve("front"), SmtpServer.Mode.SERVE,
                     with(frontSettings, "relay.host", "[127.0.0.1]:" + back.port()))) {
            submit(front.port(), MESSAGES);
            Path inbox = dir.resolve("mail/example.net/b/new");
            assertTrue(TestServer.await(Duration.ofSeconds(60), () -> files(inbox).size() == MESSAGES),
                    "all relayed: " + files(inbox).size() + " of " + MESSAGES);
            assertTrue(TestServer.await(Duration.ofSeconds(20), () -> front.queued().isEmpty()), "front spool emptied");
            assertEquals(MESSAGES, front.server.queue().delivered());
            long connections = back.server.stats().connections();
            assertTrue(connections < MESSAGES, "connections reused: " + connections + " for " + MESSAGES + " messages");
            String one = Files.readString(files(inbox).get(0), StandardCharsets.UTF_8);
            assertTrue(one.contains("\r\n.dot line "), "dot-stuffing undone by the receiver (or none with BDAT): " + one);
            boolean chunking = !"false".equals(frontSettings.get("delivery.chunking"));
            assertEquals(chunking ? MESSAGES : 0, front.server.client().stats().chunkedMessages(),
                    "BDAT exactly when delivery.chunking is on (our server offers CHUNKING)");
        }
    }

    private static Map<String, String> with(Map<String, String> base, String key, String value) {
        Map<String, String> m = new java.util.HashMap<>(base);
        m.put(key, value);
        return m;
    }

    @Test
    void relaysInPlaintextOverReusedConnections() throws Exception {
        relay(Map.of("tls.client.level", "none", "delivery.concurrency", "2"));
    }

    @Test
    void relaysWithDataWhenChunkingIsOff() throws Exception {
        relay(Map.of("tls.client.level", "none", "delivery.concurrency", "2", "delivery.chunking", "false"));
    }

    @Test
    void relaysWithStarttlsRequired() throws Exception {
        relay(Map.of("tls.client.level", "encrypt", "delivery.concurrency", "2"));
    }
}
