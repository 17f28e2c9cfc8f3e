package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Mail loop detection ({@code smtp.max_hops}) through a real server over loopback. */
class MailLoopSocketTest {

    private static final String HOPS_REFUSED = "554 5.4.6 Too many hops (mail forwarding loop)\r\n";

    @TempDir
    Path dir;

    @Test
    void fiftyHopsAreQueuedFiftyOneAreRefusedOverDataAndBdatOnOneConnection() throws Exception {
        try (TestServer server = new TestServer(dir, SmtpServer.Mode.SERVE,
                Map.of("listen", "127.0.0.1:0", "tls.level", "none"));
                TestServer.Client c = new TestServer.Client(server.port())) {
            c.reply();
            c.send("EHLO client.example\r\n");
            c.reply();
            assertEquals(HOPS_REFUSED, sendData(c, MailLoopSessionTest.looped(51)));
            assertTrue(sendData(c, MailLoopSessionTest.looped(50)).startsWith("250 2.0.0 Ok: queued as "));
            assertEquals(HOPS_REFUSED, sendBdat(c, MailLoopSessionTest.looped(51)));
            assertTrue(sendBdat(c, MailLoopSessionTest.looped(50)).startsWith("250 2.0.0 Ok: queued as "));
            c.send("QUIT\r\n");
            assertEquals("221 2.0.0 Bye\r\n", c.reply());

            assertEquals(2, server.queued().size(), "only the messages under the limit are queued");
            for (var message : server.queued()) {
                assertTrue(server.body(message).startsWith("Return-Path: <a@example.org>\r\nReceived: from relay0"));
            }
            assertEquals(2, server.server.stats().rejectedMessagesByCode().count(554));
        }
    }

    @Test
    void zeroTurnsDetectionOff() throws Exception {
        try (TestServer server = new TestServer(dir, SmtpServer.Mode.SERVE,
                Map.of("listen", "127.0.0.1:0", "tls.level", "none", "smtp.max_hops", "0"));
                TestServer.Client c = new TestServer.Client(server.port())) {
            c.reply();
            c.send("EHLO client.example\r\n");
            c.reply();
            assertTrue(sendData(c, MailLoopSessionTest.looped(120)).startsWith("250 2.0.0 Ok: queued as "));
            assertEquals(1, server.queued().size());
        }
    }

    @Test
    void theSinkDoesNotCountHops() throws Exception {
        try (TestServer sink = new TestServer(dir, SmtpServer.Mode.SINK,
                Map.of("listen", "127.0.0.1:0", "tls.level", "none"));
                TestServer.Client c = new TestServer.Client(sink.port())) {
            c.reply();
            c.send("EHLO client.example\r\n");
            c.reply();
            assertTrue(sendData(c, MailLoopSessionTest.looped(120)).startsWith("250 2.0.0 Ok: queued as "));
            assertEquals(0, sink.server.stats().rejectedMessages());
        }
    }

    /** One DATA transaction, pipelined; the reply to the end of data. */
    private static String sendData(TestServer.Client c, String text) throws Exception {
        c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n");
        assertEquals("250 2.1.0 Ok\r\n", c.reply());
        assertEquals("250 2.1.5 Ok\r\n", c.reply());
        assertEquals("354 End data with <CR><LF>.<CR><LF>\r\n", c.reply());
        c.send(text + ".\r\n");
        return c.reply();
    }

    /** One transaction in two BDAT chunks, all pipelined; the reply to the last chunk. */
    private static String sendBdat(TestServer.Client c, String text) throws Exception {
        int half = text.length() / 2;
        c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nBDAT " + half + "\r\n" + text.substring(0, half)
                + "BDAT " + (text.length() - half) + " LAST\r\n" + text.substring(half));
        assertEquals("250 2.1.0 Ok\r\n", c.reply());
        assertEquals("250 2.1.5 Ok\r\n", c.reply());
        assertEquals("250 2.0.0 Ok\r\n", c.reply(), "the first chunk");
        return c.reply();
    }
}
