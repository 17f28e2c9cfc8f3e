package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.Socket;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sluice.smtp.config.ListenerMode;
import io.sluice.smtp.spool.QueuedMessage;

/** The whole server over loopback sockets: raw pipelined dialogues and the JDK's SSLSocket. */
class ServerSocketTest {

    @TempDir
    Path dir;
    private TestServer server;

    @BeforeEach
    void start() throws IOException {
        server = new TestServer(dir);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void pipelinedTransactionIsQueuedByteExact() throws Exception {
        try (TestServer.Client c = new TestServer.Client(server.port())) {
            assertEquals("220 mx.test ESMTP Sluice\r\n", c.reply());
            c.send("EHLO client.example\r\n");
            assertTrue(c.reply().contains("250-PIPELINING\r\n"));
            c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nRCPT TO:<c@example.net>\r\nDATA\r\n");
            assertEquals("250 2.1.0 Ok\r\n", c.reply());
            assertEquals("250 2.1.5 Ok\r\n", c.reply());
            assertEquals("250 2.1.5 Ok\r\n", c.reply());
            assertEquals("354 End data with <CR><LF>.<CR><LF>\r\n", c.reply());
            c.send("Subject: t\r\n\r\n..leading dot\r\nline\r\n.\r\nQUIT\r\n");
            String queued = c.reply();
            assertTrue(queued.matches("250 2\\.0\\.0 Ok: queued as \\w{13}\r\n"), queued);
            assertEquals("221 2.0.0 Bye\r\n", c.reply());
            assertTrue(c.closedByServer());
            List<QueuedMessage> messages = server.queued();
            assertEquals(1, messages.size());
            assertEquals(queued.substring(24, 37), messages.get(0).id().toString());
            assertEquals(List.of("b@example.net", "c@example.net"), messages.get(0).envelope().recipients());
            assertEquals("Subject: t\r\n\r\n.leading dot\r\nline\r\n", server.body(messages.get(0)));
        }
    }

    @Test
    void manyMessagesOnOneConnectionAllQueued() throws Exception {
        try (TestServer.Client c = new TestServer.Client(server.port())) {
            c.reply();
            c.send("EHLO client.example\r\n");
            c.reply();
            StringBuilder burst = new StringBuilder();
            for (int i = 0; i < 50; i++) {
                burst.append("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\nmessage ").append(i).append("\r\n.\r\n");
            }
            c.send(burst.toString());
            for (int i = 0; i < 50; i++) {
                assertEquals("250 2.1.0 Ok\r\n", c.reply(), "message " + i);
                assertEquals("250 2.1.5 Ok\r\n", c.reply());
                assertEquals("354 End data with <CR><LF>.<CR><LF>\r\n", c.reply());
                assertTrue(c.reply().startsWith("250 2.0.0 Ok: queued as "));
            }
        }
        assertEquals(50, server.queued().size());
    }

    @Test
    void clientThatDropsMidDataLeavesNothingQueued() throws Exception {
        try (TestServer.Client c = new TestServer.Client(server.port())) {
            c.reply();
            c.send("EHLO client.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n");
            for (int i = 0; i < 4; i++) {
                c.reply();
            }
            c.send("Subject: cut\r\n\r\nhalf a message");
        }
        try (TestServer.Client c = new TestServer.Client(server.port())) {
            c.reply();
            c.send("NOOP\r\n");
            assertEquals("250 2.0.0 Ok\r\n", c.reply(), "the server is still serving");
        }
        assertTrue(server.queued().isEmpty());
    }

    @Test
    void startTlsWithTheJdkClientDiscardsInjectedCommands() throws Exception {
        try (TestServer.Client c = new TestServer.Client(server.port())) {
            c.reply();
            c.send("EHLO client.example\r\n");
            assertTrue(c.reply().matches("(?s).*250[- ]STARTTLS\r\n.*"), "STARTTLS offered before TLS");
            // CVE-2011-0411: a command pipelined after STARTTLS must never be answered inside TLS.
            c.send("STARTTLS\r\nNOOP\r\n");
            assertEquals("220 2.0.0 Ready to start TLS\r\n", c.reply());
            SSLSocket tls = handshake(c.socket);
            c.upgrade(tls);
            c.send("EHLO client.example\r\n");
            String ehlo = c.reply();
            assertTrue(ehlo.startsWith("250-mx.test\r\n"), "the first reply inside TLS answers our EHLO: " + ehlo);
            assertFalse(ehlo.contains("STARTTLS"));
            c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n");
            c.reply();
            c.reply();
            c.reply();
            c.send("Subject: tls\r\n\r\nsecret\r\n.\r\nQUIT\r\n");
            assertTrue(c.reply().startsWith("250 2.0.0 Ok: queued as "));
            assertEquals("221 2.0.0 Bye\r\n", c.reply(), "the 221 is sealed before close_notify");
        }
        String stored = server.content(server.queued().get(0));
        assertTrue(stored.contains("with ESMTPS id"), stored);
        assertTrue(stored.contains("(using TLSv1.3 with cipher "), stored);
    }

    @Test
    void tlsClientThatDropsTheSocketMidDataLeavesNothingQueued() throws Exception {
        try (TestServer.Client c = tlsSessionInData()) {
            c.send("Subject: cut\r\n\r\nhalf a message");
            c.socket.setSoLinger(true, 0); // an RST under the TLS layer: no close_notify, no FIN
            c.socket.close();
        }
        assertServingAndNothingQueued();
    }

    @Test
    void tlsClientThatSendsCloseNotifyMidDataLeavesNothingQueued() throws Exception {
        try (TestServer.Client c = tlsSessionInData()) {
            c.send("Subject: cut\r\n\r\nhalf a message\r\n");
        } // closes the SSLSocket: close_notify, then FIN, in the middle of DATA
        assertServingAndNothingQueued();
    }

    /** A STARTTLS session that got its 354: the caller sends part of a message and leaves. */
    private TestServer.Client tlsSessionInData() throws Exception {
        TestServer.Client c = new TestServer.Client(server.port());
        c.reply();
        c.send("EHLO client.example\r\nSTARTTLS\r\n");
        c.reply();
        assertEquals("220 2.0.0 Ready to start TLS\r\n", c.reply());
        c.upgrade(handshake(c.socket));
        c.send("EHLO client.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n");
        assertTrue(c.reply().startsWith("250-mx.test\r\n"));
        assertEquals("250 2.1.0 Ok\r\n", c.reply());
        assertEquals("250 2.1.5 Ok\r\n", c.reply());
        assertEquals("354 End data with <CR><LF>.<CR><LF>\r\n", c.reply());
        return c;
    }

    private void assertServingAndNothingQueued() throws Exception {
        try (TestServer.Client c = new TestServer.Client(server.port())) {
            c.reply();
            c.send("NOOP\r\n");
            assertEquals("250 2.0.0 Ok\r\n", c.reply(), "the server is still serving");
        }
        // The dropped session ends on its loop after the read that saw the close: wait for that.
        assertTrue(TestServer.await(Duration.ofSeconds(10), () -> server.server.loops().loops().stream()
                .mapToInt(loop -> loop.openConnections()).sum() == 0), "the dropped session was closed");
        assertTrue(server.queued().isEmpty(), "a message cut inside TLS is never queued");
    }

    @Test
    void lineSplitAcrossTheTlsBoundaryIsNotJoined() throws Exception {
        try (TestServer.Client c = new TestServer.Client(server.port())) {
            c.reply();
            c.send("EHLO client.example\r\n");
            c.reply();
            c.send("STARTTLS\r\nNO");
            assertEquals("220 2.0.0 Ready to start TLS\r\n", c.reply());
            c.upgrade(handshake(c.socket));
            c.send("OP\r\nEHLO client.example\r\n");
            assertEquals("500 5.5.1 Command unrecognized\r\n", c.reply());
            assertTrue(c.reply().startsWith("250-mx.test\r\n"));
        }
    }

    @Test
    void implicitTlsListenerGreetsInsideTls() throws Exception {
        Socket plain = new Socket("127.0.0.1", server.address(ListenerMode.SMTPS).getPort());
        try (TestServer.Client c = new TestServer.Client(server.port())) {
            c.upgrade(handshake(plain));
            assertEquals("220 mx.test ESMTP Sluice\r\n", c.reply());
            c.send("EHLO client.example\r\n");
            assertFalse(c.reply().contains("STARTTLS"));
        } finally {
            plain.close();
        }
    }

    @Test
    void submissionListenerRequiresStartTls() throws Exception {
        try (TestServer.Client c = new TestServer.Client(server.address(ListenerMode.SUBMISSION).getPort())) {
            c.reply();
            c.send("EHLO client.example\r\nMAIL FROM:<a@example.org>\r\n");
            c.reply();
            assertEquals("530 5.7.0 Must issue a STARTTLS command first\r\n", c.reply());
        }
    }

    @Test
    void plaintextOnTheTlsPortIsClosedAndTheLoopKeepsServing() throws Exception {
        try (TestServer.Client c = new TestServer.Client(server.address(ListenerMode.SMTPS).getPort())) {
            c.send("EHLO client.example\r\n");
            assertTrue(c.closedByServer());
        }
        try (TestServer.Client c = new TestServer.Client(server.port())) {
            c.send("STARTTLS\r\n");
            c.reply();
            c.reply();
            c.send("GARBAGE THAT IS NOT A CLIENT HELLO\r\n");
            assertTrue(c.closedByServer());
        }
        try (TestServer.Client c = new TestServer.Client(server.port())) {
            assertEquals("220 mx.test ESMTP Sluice\r\n", c.reply());
        }
        assertTrue(TestServer.await(Duration.ofSeconds(5), () -> server.server.stats().tlsFailures() >= 2),
                "both failed handshakes counted: " + server.server.stats().tlsFailures());
    }

    @Test
    void tls10OnlyClientIsRefused() throws Exception {
        try (TestServer.Client c = new TestServer.Client(server.port())) {
            c.reply();
            c.send("EHLO client.example\r\nSTARTTLS\r\n");
            c.reply();
            c.reply();
            SSLSocket tls = (SSLSocket) trustAll().getSocketFactory().createSocket(c.socket, "mx.test", server.port(), true);
            String[] old = {"TLSv1"};
            try {
                tls.setEnabledProtocols(old);
                tls.startHandshake();
                throw new AssertionError("a TLS 1.0 handshake succeeded");
            } catch (IOException | IllegalArgumentException expected) {
                // refused: by our server, or by this JDK which disables TLS 1.0 itself
            }
        }
        try (TestServer.Client c = new TestServer.Client(server.port())) {
            assertEquals("220 mx.test ESMTP Sluice\r\n", c.reply());
        }
    }

    @Test
    void perClientConnectionLimitAnswers421() throws Exception {
        server.close();
        server = new TestServer(dir, SmtpServer.Mode.SERVE, Map.of("limits.connections_per_ip", "2"));
        // Each client is greeted (so holds its slot) before the next connects: the order is fixed.
        try (TestServer.Client a = new TestServer.Client(server.port())) {
            assertEquals("220 mx.test ESMTP Sluice\r\n", a.reply());
            try (TestServer.Client b = new TestServer.Client(server.port())) {
                assertEquals("220 mx.test ESMTP Sluice\r\n", b.reply());
                try (TestServer.Client c = new TestServer.Client(server.port())) {
                    assertEquals("421 4.7.0 Too many connections\r\n", c.reply());
                    assertTrue(c.closedByServer());
                }
            }
        }
    }

    @Test
    void sinkAcknowledgesWithoutSpooling() throws Exception {
        server.close();
        server = new TestServer(dir.resolve("sink"), SmtpServer.Mode.SINK, Map.of());
        try (TestServer.Client c = new TestServer.Client(server.port())) {
            c.reply();
            c.send("EHLO x.example\r\n");
            c.reply();
            for (int m = 0; m < 3; m++) {
                // The sink answers its commit at once; the session must go on reading after it.
                c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\nhi\r\n.\r\n");
                for (int i = 0; i < 3; i++) {
                    c.reply();
                }
                assertTrue(c.reply().startsWith("250 2.0.0 Ok: queued as "), "message " + m);
            }
            c.send("QUIT\r\n");
            assertEquals("221 2.0.0 Bye\r\n", c.reply());
        }
        assertEquals(3, server.server.stats().messages());
        assertFalse(java.nio.file.Files.exists(server.dir.resolve("spool")), "the sink spools nothing");
    }

    static SSLSocket handshake(Socket plain) throws Exception {
        SSLSocket tls = (SSLSocket) trustAll().getSocketFactory().createSocket(plain, "mx.test", plain.getPort(), true);
        tls.setSoTimeout(10_000);
        tls.startHandshake();
        return tls;
    }

    static SSLContext trustAll() throws Exception {
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, new TrustManager[] {new X509TrustManager() {
            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) {
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) {
            }

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[0];
            }
        }}, new SecureRandom());
        return context;
    }
}
