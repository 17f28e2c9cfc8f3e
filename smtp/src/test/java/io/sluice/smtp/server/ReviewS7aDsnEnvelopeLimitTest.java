package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Review s7a: with DSN on (the default) a transaction within every advertised limit (1000
 * recipients, each RCPT line within the 512 + 600 octets the session takes) makes an envelope
 * over the spool's 1 MiB BEGIN limit. SpoolAppender.begin then throws IllegalArgumentException,
 * which SmtpSession.beginMessage does not catch (only IOException): the handler fails and the
 * connection is dropped at DATA instead of getting a reply.
 */
class ReviewS7aDsnEnvelopeLimitTest {
    @TempDir
    Path dir;

    @Test
    void aThousandMaximalOrcptRecipientsGetAReplyToData() throws Exception {
        try (TestServer server = new TestServer(dir, SmtpServer.Mode.SERVE, Map.of());
             TestServer.Client c = new TestServer.Client(server.port())) {
            c.reply();
            c.send("EHLO client.example\r\n");
            assertTrue(c.reply().contains("250-DSN\r\n"));
            c.send("MAIL FROM:<a@example.org>\r\n");
            assertTrue(c.reply().startsWith("250"));
            // 500 characters decoded (RFC 3461 4.2's limit), 1010 octets as xtext.
            String orcpt = "+2B".repeat(255) + "o".repeat(245);
            for (int batch = 0; batch < 10; batch++) {
                StringBuilder lines = new StringBuilder();
                for (int i = 0; i < 100; i++) {
                    String local = String.format("%04d", batch * 100 + i) + "l".repeat(60);
                    String line = "RCPT TO:<" + local + "@example.net> ORCPT=rfc822;" + orcpt;
                    assertTrue(line.length() + 2 <= 512 + SmtpSession.DSN_LINE_OCTETS, "within the line limit");
                    lines.append(line).append("\r\n");
                }
                c.send(lines.toString());
                for (int i = 0; i < 100; i++) {
                    String reply = c.reply();
                    assertTrue(reply.startsWith("250"), reply);
                }
            }
            c.send("DATA\r\n");
            String reply;
            try {
                reply = c.reply();
            } catch (IOException e) {
                fail("1000 recipients accepted with 250, then DATA dropped the connection: " + e.getMessage());
                return;
            }
            assertEquals('3', reply.charAt(0), "354 expected (or at worst a 4xx/5xx reply): " + reply);
        }
    }
}
