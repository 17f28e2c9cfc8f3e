package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
 * RFC 3461 through two real servers: a client sends DSN parameters to a front {@code serve}, which
 * relays to a back {@code serve} delivering to maildir. When the back offers DSN the parameters
 * travel with the message and the back, which delivers, sends the success report; when it does not
 * ({@code smtp.dsn = false}) the front sends none of them and reports "relayed" itself.
 */
class DsnEndToEndTest {
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

    /** Sends one message with every DSN parameter; returns the EHLO reply. */
    private static String submit(int port) throws IOException {
        return submit(port, "RCPT TO:<b@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;orig+2Bb@example.net\r\n");
    }

    /** Sends one message with RET and ENVID and the given RCPT line; returns the EHLO reply. */
    private static String submit(int port, String rcpt) throws IOException {
        try (TestServer.Client c = new TestServer.Client(port)) {
            c.reply();
            c.send("EHLO client.example\r\n");
            String ehlo = c.reply();
            c.send("MAIL FROM:<a@example.org> RET=HDRS ENVID=env+2B1\r\n");
            assertEquals("250 2.1.0 Ok\r\n", c.reply());
            c.send(rcpt);
            assertTrue(c.reply().startsWith("250 "));
            c.send("DATA\r\n");
            assertTrue(c.reply().startsWith("354"));
            c.send("Subject: dsn end to end\r\n\r\nbody\r\n.\r\n");
            assertTrue(c.reply().startsWith("250 2.0.0 Ok: queued as "));
            c.send("QUIT\r\n");
            return ehlo;
        }
    }

    private Map<String, String> maildir() {
        return Map.of("transport.*", "maildir:" + dir.resolve("mail").toAbsolutePath() + "/{domain}/{user}");
    }

    private String awaitReportForA() throws Exception {
        Path reports = dir.resolve("mail/example.org/a/new");
        assertTrue(TestServer.await(Duration.ofSeconds(30), () -> files(reports).size() == 1), "one report for a@");
        return Files.readString(files(reports).get(0), StandardCharsets.UTF_8);
    }

    @Test
    void aDsnHopGetsTheParametersAndReportsDeliveryItself() throws Exception {
        try (TestServer back = new TestServer(dir.resolve("back"), SmtpServer.Mode.SERVE, maildir());
             TestServer front = new TestServer(dir.resolve("front"), SmtpServer.Mode.SERVE,
                     Map.of("relay.host", "[127.0.0.1]:" + back.port(), "tls.client.level", "none"))) {
            String ehlo = submit(front.port());
            assertTrue(ehlo.contains("250-DSN\r\n"), ehlo);
            Path inbox = dir.resolve("mail/example.net/b/new");
            assertTrue(TestServer.await(Duration.ofSeconds(30), () -> files(inbox).size() == 1), "delivered to b");
            String report = awaitReportForA();
            // Made by the back server from the parameters the front passed on.
            assertTrue(report.contains("Subject: Successful Mail Delivery Report\r\n"), report);
            assertTrue(report.contains("Original-Envelope-Id: env+1\r\n"), report);
            assertTrue(report.contains("Original-Recipient: rfc822;orig+b@example.net\r\n"
                    + "Final-Recipient: rfc822; b@example.net\r\nAction: delivered\r\n"), report);
            assertTrue(report.contains("Received: from "), "headers of the original: " + report);
            assertTrue(TestServer.await(Duration.ofSeconds(20), () -> front.queued().isEmpty()), "front emptied");
            assertEquals(0, front.server.queue().successNotices(), "the front leaves the report to the DSN hop");
            assertEquals(1, back.server.queue().successNotices());
        }
    }

    /**
     * RFC 3461 4.2: a recipient that reached the front without ORCPT reaches the back with one that
     * names it as received, so the back's report has the Original-Recipient the sender used.
     */
    @Test
    void aRecipientWithoutOrcptIsNamedToTheDsnHop() throws Exception {
        try (TestServer back = new TestServer(dir.resolve("back"), SmtpServer.Mode.SERVE, maildir());
             TestServer front = new TestServer(dir.resolve("front"), SmtpServer.Mode.SERVE,
                     Map.of("relay.host", "[127.0.0.1]:" + back.port(), "tls.client.level", "none"))) {
            submit(front.port(), "RCPT TO:<b@example.net> NOTIFY=SUCCESS\r\n");
            String report = awaitReportForA();
            assertTrue(report.contains("Original-Recipient: rfc822;b@example.net\r\n"
                    + "Final-Recipient: rfc822; b@example.net\r\nAction: delivered\r\n"), report);
            assertEquals(0, front.server.queue().successNotices(), "the front leaves the report to the DSN hop");
            assertEquals(1, back.server.queue().successNotices());
        }
    }

    @Test
    void aHopWithoutDsnGetsNoParametersAndTheFrontReportsRelayed() throws Exception {
        Map<String, String> backSettings = new java.util.HashMap<>(maildir());
        backSettings.put("smtp.dsn", "false");
        try (TestServer back = new TestServer(dir.resolve("back"), SmtpServer.Mode.SERVE, backSettings);
             TestServer front = new TestServer(dir.resolve("front"), SmtpServer.Mode.SERVE,
                     Map.of("relay.host", "[127.0.0.1]:" + back.port(), "tls.client.level", "none"))) {
            try (TestServer.Client c = new TestServer.Client(back.port())) {
                c.reply();
                c.send("EHLO client.example\r\nMAIL FROM:<a@example.org> RET=FULL\r\nMAIL FROM:<a@example.org>\r\n"
                        + "RCPT TO:<b@example.net> NOTIFY=NEVER\r\n");
                assertFalse(c.reply().contains("DSN"), "not offered");
                assertEquals("555 5.5.4 Unsupported parameter\r\n", c.reply());
                assertTrue(c.reply().startsWith("250"));
                assertEquals("555 5.5.4 Unsupported parameter\r\n", c.reply());
            }
            submit(front.port());
            Path inbox = dir.resolve("mail/example.net/b/new");
            assertTrue(TestServer.await(Duration.ofSeconds(30), () -> files(inbox).size() == 1), "relayed to b");
            String report = awaitReportForA();
            assertTrue(report.contains("Subject: Successful Mail Delivery Report\r\n"), report);
            assertTrue(report.contains("Original-Envelope-Id: env+1\r\n"), report);
            assertTrue(report.contains("Original-Recipient: rfc822;orig+b@example.net\r\n"
                    + "Final-Recipient: rfc822; b@example.net\r\nAction: relayed\r\n"), report);
            assertEquals(1, front.server.queue().successNotices());
            assertEquals(0, back.server.queue().successNotices());
        }
    }
}
