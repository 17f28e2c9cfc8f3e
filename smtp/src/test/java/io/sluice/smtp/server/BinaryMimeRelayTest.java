package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sluice.smtp.spool.BodyType;
import io.sluice.smtp.spool.QueuedMessage;

/** A BODY=BINARYMIME message relayed Sluice to Sluice over loopback arrives byte for byte, still BINARYMIME. */
class BinaryMimeRelayTest {

    @TempDir
    Path dir;

    @Test
    void binaryMimeMessageCrossesTwoSluicesUnchanged() throws Exception {
        try (TestServer last = new TestServer(dir.resolve("last"), SmtpServer.Mode.SERVE, Map.of("listen", "127.0.0.1:0", "tls.level", "none"));
             TestServer first = new TestServer(dir.resolve("first"), SmtpServer.Mode.SERVE, Map.of(
                     "listen", "127.0.0.1:0",
                     "tls.level", "none",
                     "transport.example.net", "smtp:[127.0.0.1]:" + last.port(),
                     "tls.client.level", "none"))) {
            byte[] body = BinaryMimeSessionTest.binaryBody();
            try (TestServer.Client c = new TestServer.Client(first.port())) {
                c.reply();
                c.send("EHLO client.example\r\n");
                assertTrue(c.reply().contains("BINARYMIME"));
                c.send("MAIL FROM:<a@example.org> BODY=BINARYMIME\r\nRCPT TO:<b@example.net>\r\nBDAT "
                        + body.length + " LAST\r\n");
                c.out.write(body);
                c.out.flush();
                assertEquals("250 2.1.0 Ok\r\n", c.reply());
                assertEquals("250 2.1.5 Ok\r\n", c.reply());
                assertTrue(c.reply().startsWith("250 2.0.0 Ok: queued as "));
            }
            assertTrue(TestServer.await(Duration.ofSeconds(10), () -> first.server.queue().delivered() == 1),
                    "relayed to the last hop");
            QueuedMessage arrived = last.queued().get(0);
            assertEquals(BodyType.BINARY_MIME, arrived.envelope().bodyType());
            ByteArrayOutputStream stored = new ByteArrayOutputStream();
            last.server.spool().copyContent(arrived.id(), Channels.newChannel(stored));
            byte[] text = stored.toByteArray();
            String received = new String(text, 0, text.length - body.length, StandardCharsets.ISO_8859_1);
            assertEquals(2, received.split("Received: from ", -1).length - 1, "both hops' Received: lines: " + received);
            assertArrayEquals(body, Arrays.copyOfRange(text, text.length - body.length, text.length));
        }
    }
}
