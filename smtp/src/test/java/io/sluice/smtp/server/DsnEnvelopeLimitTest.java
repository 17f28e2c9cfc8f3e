package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * With DSN on (the default) a transaction within every advertised limit (1000 recipients, each
 * RCPT line within the 512 + 600 octets the session takes) can make an envelope over the spool's
 * 1 MiB BEGIN limit (review s7a: the connection was dropped at DATA). The session counts the
 * envelope as it takes recipients and refuses the RCPT that would pass the limit with 452 4.5.3,
 * like the recipient limit: not counted as an error, and DATA goes on with the others.
 */
class DsnEnvelopeLimitTest {
    @TempDir
    Path dir;

    @Test
    void recipientsPastTheEnvelopeLimitGet452AndDataIsTaken() throws Exception {
        try (TestServer server = new TestServer(dir, SmtpServer.Mode.SERVE, Map.of());
             TestServer.Client c = new TestServer.Client(server.port())) {
            c.reply();
            c.send("EHLO client.example\r\n");
            assertTrue(c.reply().contains("250-DSN\r\n"));
            c.send("MAIL FROM:<a@example.org>\r\n");
            assertTrue(c.reply().startsWith("250"));
            // 500 characters decoded (RFC 3461 4.2's limit), 1010 octets as xtext.
            String orcpt = "+2B".repeat(255) + "o".repeat(245);
            int accepted = 0;
            int refused = 0;
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
                    if (reply.startsWith("250")) {
                        assertEquals(0, refused, "no recipient is taken after the first refused: " + reply);
                        accepted++;
                    } else {
                        assertEquals("452 4.5.3 Too many recipients\r\n", reply);
                        refused++;
                    }
                }
            }
            // 1098 octets a recipient: some 950 fit in 1 MiB; the rest (more than the default
            // max_errors) are refused without the error limit's 421.
            assertTrue(accepted > 900 && refused > 20, "accepted=" + accepted + " refused=" + refused);
            c.send("DATA\r\n");
            String reply = c.reply();
            assertTrue(reply.startsWith("354"), reply);
            c.send("Subject: many\r\n\r\nbody\r\n.\r\n");
            reply = c.reply();
            assertTrue(reply.startsWith("250"), reply);
        }
    }
}
