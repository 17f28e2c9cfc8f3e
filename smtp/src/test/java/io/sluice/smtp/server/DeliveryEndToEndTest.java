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

/** A message received over a socket by {@code serve} lands in a maildir and leaves the spool. */
class DeliveryEndToEndTest {

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

    @Test
    void receivedMessageIsDeliveredToTheMaildirAndRemovedFromTheSpool() throws Exception {
        String template = dir.resolve("mail").toAbsolutePath() + "/{domain}/{user}";
        try (TestServer server = new TestServer(dir, SmtpServer.Mode.SERVE, Map.of("transport.*", "maildir:" + template));
             TestServer.Client c = new TestServer.Client(server.port())) {
            c.reply();
            c.send("EHLO client.example\r\n");
            c.reply();
            c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nRCPT TO:<c@example.net>\r\nDATA\r\n");
            assertTrue(c.reply().startsWith("250"));
            assertTrue(c.reply().startsWith("250"));
            assertTrue(c.reply().startsWith("250"));
            assertTrue(c.reply().startsWith("354"));
            c.send("Subject: end to end\r\n\r\nHello maildir.\r\n.\r\n");
            assertTrue(c.reply().startsWith("250 2.0.0 Ok: queued as "));

            Path bNew = dir.resolve("mail/example.net/b/new");
            Path cNew = dir.resolve("mail/example.net/c/new");
            assertTrue(TestServer.await(Duration.ofSeconds(10), () -> files(bNew).size() == 1 && files(cNew).size() == 1),
                    "one file in each maildir");
            assertTrue(TestServer.await(Duration.ofSeconds(10), () -> server.queued().isEmpty()), "spool emptied");
            String delivered = Files.readString(files(bNew).get(0), StandardCharsets.UTF_8);
            assertTrue(delivered.startsWith("Return-Path: <a@example.org>\r\nDelivered-To: b@example.net\r\nReceived: "),
                    delivered);
            assertTrue(delivered.endsWith("Subject: end to end\r\n\r\nHello maildir.\r\n"), delivered);
            assertEquals(2, server.server.queue().delivered());
        }
    }

    @Test
    void theSinkHasNoQueue() throws Exception {
        try (TestServer server = new TestServer(dir, SmtpServer.Mode.SINK, Map.of())) {
            assertEquals(null, server.server.queue());
        }
    }
}
