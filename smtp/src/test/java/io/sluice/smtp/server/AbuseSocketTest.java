package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sluice.reactor.EventLoop;
import io.sluice.smtp.config.ListenerMode;

/**
 * Hostile clients against the whole server over loopback, each limit with short configured
 * deadlines: slowloris on commands, DATA and the TLS handshake, rate limits, too many errors,
 * pre-greet talkers, a huge pipeline from a client that does not read, and one that never reads.
 */
class AbuseSocketTest {

    private static final String TIMEOUT = "421 4.4.2 Timeout exceeded - closing connection\r\n";
    /** The loops' default high-water mark; a session may pass it by one reply at most. */
    private static final long WRITE_BOUND = 64 * 1024 + 1024;

    @TempDir
    Path dir;
    private TestServer server;

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    private TestServer start(Map<String, String> settings) throws IOException {
        server = new TestServer(dir, SmtpServer.Mode.SERVE, settings);
        return server;
    }

    @Test
    void commandTricklingOneByteAtATimeIsCutAtTheAbsoluteCommandDeadline() throws Exception {
        start(Map.of("smtp.command_timeout", "300ms"));
        try (TestServer.Client c = new TestServer.Client(server.port())) {
            c.reply();
            long start = System.nanoTime();
            CompletableFuture<Void> trickle = trickle(c.out, "EHLO slow.example.and.more.and.more.and.more\r\n");
            assertEquals(TIMEOUT, c.reply(), "the deadline holds although a byte came every 50 ms");
            assertTrue(c.closedByServer());
            long millis = elapsedMillis(start);
            assertTrue(millis >= 250 && millis < 10_000, "cut after " + millis + " ms");
            trickle.cancel(true);
        }
    }

    @Test
    void dataTricklingIsCutAtTheAbsoluteDataDeadline() throws Exception {
        start(Map.of("smtp.data_timeout", "300ms"));
        try (TestServer.Client c = new TestServer.Client(server.port())) {
            c.reply();
            long start = System.nanoTime(); // the DATA deadline runs from the DATA command
            c.send("EHLO c.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n");
            for (int i = 0; i < 4; i++) {
                c.reply();
            }
            CompletableFuture<Void> trickle = trickle(c.out, "Subject: slow\r\n\r\n" + "x".repeat(200) + "\r\n");
            assertEquals(TIMEOUT, c.reply());
            assertTrue(c.closedByServer());
            long millis = elapsedMillis(start);
            assertTrue(millis >= 250 && millis < 10_000, "cut after " + millis + " ms");
            trickle.cancel(true);
        }
        assertTrue(server.queued().isEmpty());
    }

    @Test
    void tlsHandshakeTricklingIsCutAtTheHandshakeDeadline() throws Exception {
        start(Map.of("tls.handshake_timeout", "300ms"));
        try (Socket s = new Socket()) {
            s.connect(server.address(ListenerMode.SMTPS), 5_000);
            s.setSoTimeout(10_000);
            long start = System.nanoTime();
            // The first bytes of a TLS record header, then nothing useful: a handshake that never ends.
            CompletableFuture<Void> trickle = trickle(s.getOutputStream(), "\u0016\u0003\u0001\u0002\u0000\u0001");
            assertTrue(drainsToClose(s.getInputStream()), "closed by the server");
            long millis = elapsedMillis(start);
            assertTrue(millis >= 250 && millis < 10_000, "cut after " + millis + " ms");
            trickle.cancel(true);
        }
        assertTrue(TestServer.await(Duration.ofSeconds(5), () -> server.server.stats().timeouts() >= 1),
                "counted as a timeout");
    }

    @Test
    void tooManyErrorsAnswer421AndClose() throws Exception {
        start(Map.of("smtp.max_errors", "3"));
        try (TestServer.Client c = new TestServer.Client(server.port())) {
            c.reply();
            c.send("BOGUS\r\nBOGUS\r\nBOGUS\r\nBOGUS\r\nNOOP\r\n");
            for (int i = 0; i < 4; i++) {
                assertEquals("500 5.5.1 Command unrecognized\r\n", c.reply(), "error " + i);
            }
            assertEquals("421 4.7.0 Too many errors\r\n", c.reply());
            assertTrue(c.closedByServer(), "the NOOP after it is never answered");
        }
    }

    @Test
    void preGreetTalkerIsRejectedAndAPatientClientGreeted() throws Exception {
        start(Map.of("smtp.greet_pause", "300ms"));
        try (TestServer.Client rude = new TestServer.Client(server.port())) {
            rude.send("EHLO bot.example\r\n");
            assertEquals("554 5.5.1 Protocol error: talked before greeting\r\n", rude.reply());
            assertTrue(rude.closedByServer());
        }
        try (TestServer.Client patient = new TestServer.Client(server.port())) {
            long start = System.nanoTime();
            assertEquals("220 mx.test ESMTP Sluice\r\n", patient.reply());
            assertTrue(elapsedMillis(start) >= 250, "greeted only after the pause");
        }
        assertEquals(1, server.server.stats().rejectedConnections());
    }

    @Test
    void connectionRateLimitAnswers421BeforeTheGreeting() throws Exception {
        start(Map.of("limits.connections_per_minute", "2", "relay.networks", "192.0.2.0/24"));
        for (int i = 0; i < 2; i++) {
            try (TestServer.Client c = new TestServer.Client(server.port())) {
                assertEquals("220 mx.test ESMTP Sluice\r\n", c.reply(), "connection " + i);
            }
        }
        try (TestServer.Client c = new TestServer.Client(server.port())) {
            assertEquals("421 4.7.0 Too many connections per minute, try again later\r\n", c.reply());
            assertTrue(c.closedByServer());
        }
    }

    @Test
    void messageRateLimitAnswers421AtMail() throws Exception {
        start(Map.of("limits.messages_per_minute", "2", "relay.networks", "192.0.2.0/24"));
        try (TestServer.Client c = new TestServer.Client(server.port())) {
            c.reply();
            c.send("EHLO c.example\r\n");
            c.reply();
            c.send("MAIL FROM:<a@example.org>\r\nRSET\r\nMAIL FROM:<a@example.org>\r\nRSET\r\nMAIL FROM:<a@example.org>\r\n");
            for (int i = 0; i < 2; i++) {
                assertEquals("250 2.1.0 Ok\r\n", c.reply());
                assertEquals("250 2.0.0 Ok\r\n", c.reply());
            }
            assertEquals("421 4.7.0 Too many messages per minute, try again later\r\n", c.reply());
            assertTrue(c.closedByServer());
        }
    }

    @Test
    void relayNetworksAreExemptFromRateLimits() throws Exception {
        start(Map.of("limits.connections_per_minute", "1", "limits.messages_per_minute", "1"));
        for (int i = 0; i < 3; i++) {
            try (TestServer.Client c = new TestServer.Client(server.port())) {
                assertEquals("220 mx.test ESMTP Sluice\r\n", c.reply(), "loopback is in relay.networks");
                c.send("EHLO c.example\r\nMAIL FROM:<a@example.org>\r\nRSET\r\nMAIL FROM:<a@example.org>\r\n");
                c.reply();
                assertEquals("250 2.1.0 Ok\r\n", c.reply());
                c.reply();
                assertEquals("250 2.1.0 Ok\r\n", c.reply());
            }
        }
    }

    @Test
    void hundredThousandPipelinedRecipientsWithoutReadingStayBoundedAndInOrder() throws Exception {
        int recipients = 100_000;
        start(Map.of("smtp.max_recipients", Integer.toString(recipients)));
        try (Socket s = new Socket()) {
            s.setReceiveBufferSize(16 * 1024); // so the replies pile up in the server, not in our kernel
            s.connect(new InetSocketAddress("127.0.0.1", server.port()), 5_000);
            s.setSoTimeout(20_000);
            InputStream in = new BufferedInputStream(s.getInputStream(), 64 * 1024);
            OutputStream out = s.getOutputStream();
            assertTrue(line(in).startsWith("220 "));
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try {
                    StringBuilder batch = new StringBuilder(64 * 1024);
                    out.write("EHLO c.example\r\nMAIL FROM:<a@example.org>\r\n".getBytes(StandardCharsets.US_ASCII));
                    for (int i = 0; i < recipients; i++) {
                        batch.append("RCPT TO:<u").append(i).append("@example.net>\r\n");
                        if (batch.length() > 60_000) {
                            out.write(batch.toString().getBytes(StandardCharsets.US_ASCII));
                            batch.setLength(0);
                        }
                    }
                    batch.append("RSET\r\nQUIT\r\n");
                    out.write(batch.toString().getBytes(StandardCharsets.US_ASCII));
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            // We read nothing until the server has queued up to its high-water mark and stopped reading,
            // or (when the kernel's autotuned socket buffers took all 1.4 MB of replies) until all is sent.
            assertTrue(TestServer.await(Duration.ofSeconds(60),
                    () -> server.server.stats().peakPendingWriteBytes() >= 32 * 1024 || writer.isDone()),
                    "replies piled up in the server: " + server.server.stats().peakPendingWriteBytes());
            String ehlo = line(in);
            while (ehlo.startsWith("250-")) {
                ehlo = line(in);
            }
            assertEquals("250 2.1.0 Ok\r\n", line(in));
            // Some 45000 of these fill the spool's 1 MiB envelope record: the rest get 452 4.5.3, in order.
            int accepted = 0;
            for (int i = 0; i < recipients; i++) {
                String reply = line(in);
                if (reply.equals("250 2.1.5 Ok\r\n") && accepted == i) {
                    accepted++;
                } else if (!reply.equals("452 4.5.3 Too many recipients\r\n") || accepted == 0) {
                    throw new AssertionError("reply " + i + " after " + accepted + " accepted: " + reply);
                }
            }
            assertTrue(accepted > 40_000, "accepted=" + accepted);
            assertEquals("250 2.0.0 Ok\r\n", line(in), "RSET after every RCPT, in order");
            assertEquals("221 2.0.0 Bye\r\n", line(in));
            writer.get(30, TimeUnit.SECONDS);
        }
        long peak = server.server.stats().peakPendingWriteBytes();
        assertTrue(peak <= WRITE_BOUND, "queued replies stayed under the high-water mark plus one reply: " + peak);
    }

    @Test
    void clientThatNeverReadsIsCutAtItsDeadlineWithABoundedQueue() throws Exception {
        start(Map.of("smtp.command_timeout", "300ms"));
        try (SocketChannel ch = SocketChannel.open()) {
            ch.setOption(java.net.StandardSocketOptions.SO_RCVBUF, 16 * 1024);
            ch.connect(new InetSocketAddress("127.0.0.1", server.port()));
            ch.configureBlocking(false);
            ByteBuffer noops = ByteBuffer.wrap("NOOP\r\n".repeat(10_000).getBytes(StandardCharsets.US_ASCII));
            long written = 0;
            long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            // Write until the server stops taking our commands (its queue is full and it stopped reading),
            // or it closed us; never read a byte.
            while (written < (64L << 20) && System.nanoTime() < end) {
                if (!noops.hasRemaining()) {
                    noops.rewind();
                }
                int n;
                try {
                    n = ch.write(noops);
                } catch (IOException closed) {
                    break;
                }
                written += n;
                if (n == 0 && server.server.stats().peakPendingWriteBytes() >= 32 * 1024) {
                    break;
                }
            }
            assertTrue(TestServer.await(Duration.ofSeconds(5), () -> openConnections() == 0),
                    "closed at its deadline; open: " + openConnections());
            assertTrue(written < (64L << 20), "the server stopped reading: " + written + " bytes written");
        }
        assertTrue(server.server.stats().timeouts() >= 1);
        long peak = server.server.stats().peakPendingWriteBytes();
        assertTrue(peak >= 32 * 1024 && peak <= WRITE_BOUND, "the write queue stopped growing at " + peak);
    }

    private int openConnections() {
        int open = 0;
        for (EventLoop loop : server.server.loops().loops()) {
            open += loop.openConnections();
        }
        return open;
    }

    /** Sends {@code text} one byte every 50 ms on another thread until done, cancelled or closed. */
    private static CompletableFuture<Void> trickle(OutputStream out, String text) {
        byte[] bytes = text.getBytes(StandardCharsets.ISO_8859_1);
        return CompletableFuture.runAsync(() -> {
            for (byte b : bytes) {
                try {
                    out.write(b);
                    out.flush();
                    TimeUnit.MILLISECONDS.sleep(50); // the attack's pace, not a wait for the server
                } catch (IOException | InterruptedException e) {
                    return;
                }
            }
        });
    }

    /** Reads until end of stream or reset; true when that happened before the read timeout. */
    private static boolean drainsToClose(InputStream in) {
        byte[] buffer = new byte[4096];
        try {
            while (in.read(buffer) >= 0) {
                // whatever the server said mid-handshake, it is not the point
            }
            return true;
        } catch (java.net.SocketTimeoutException e) {
            return false;
        } catch (IOException reset) {
            return true;
        }
    }

    private static String line(InputStream in) throws IOException {
        StringBuilder line = new StringBuilder(32);
        int previous = -1;
        while (true) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("closed after \"" + line + "\"");
            }
            line.append((char) b);
            if (previous == '\r' && b == '\n') {
                return line.toString();
            }
            previous = b;
        }
    }

    private static long elapsedMillis(long startNanos) {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }

    static Map<String, String> with(String key, String value) {
        Map<String, String> m = new HashMap<>();
        m.put(key, value);
        return m;
    }
}
