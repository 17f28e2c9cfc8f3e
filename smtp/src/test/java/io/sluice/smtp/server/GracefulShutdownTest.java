package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ConnectException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sluice.smtp.spool.QueuedMessage;

/**
 * Graceful shutdown: listeners close, idle sessions get {@code 421 4.3.2} at their next command,
 * a message in DATA may finish and is acknowledged, and the spool holds exactly what was
 * acknowledged. In process ({@link SmtpServer#shutdown}) and as {@code sluice serve} given SIGTERM.
 */
class GracefulShutdownTest {

    private static final Pattern QUEUED = Pattern.compile("250 2\\.0\\.0 Ok: queued as (\\w{13})\r\n");
    private static final String SHUTTING_DOWN = "421 4.3.2 Service shutting down\r\n";
    /** Delivery defers everything, so what the spool holds after the stop is exactly what was accepted. */
    private static final Map<String, String> HOLD = Map.of("transport.*", "error:4.3.0 held by the test");

    @TempDir
    Path dir;
    private TestServer server;
    private PeerProcess child;

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
        if (child != null) {
            child.close();
        }
    }

    @Test
    void messageInDataFinishesAndIdleSessionsGet421() throws Exception {
        server = new TestServer(dir, SmtpServer.Mode.SERVE, HOLD);
        int port = server.port();
        try (TestServer.Client busy = new TestServer.Client(port); TestServer.Client idle = new TestServer.Client(port)) {
            greetAndEhlo(busy);
            greetAndEhlo(idle);
            busy.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n");
            busy.reply();
            busy.reply();
            assertTrue(busy.reply().startsWith("354 "));
            busy.send("Subject: in flight\r\n\r\nfirst half\r\n");

            SmtpServer running = server.server;
            CompletableFuture<Boolean> stopped = CompletableFuture.supplyAsync(() -> shutdown(running, Duration.ofSeconds(20)));
            assertTrue(TestServer.await(Duration.ofSeconds(5), running::isShuttingDown), "shutdown began");
            assertRefused(port);

            idle.send("NOOP\r\n");
            assertEquals(SHUTTING_DOWN, idle.reply());
            assertTrue(idle.closedByServer());

            busy.send("second half\r\n.\r\n");
            Matcher queued = QUEUED.matcher(busy.reply());
            assertTrue(queued.matches(), "the message in DATA was accepted");
            busy.send("NOOP\r\n");
            assertEquals(SHUTTING_DOWN, busy.reply());
            assertTrue(busy.closedByServer());

            assertTrue(stopped.get(10, TimeUnit.SECONDS), "every transaction finished within the grace period");
            server = new TestServer(dir, SmtpServer.Mode.SERVE, HOLD);
            List<QueuedMessage> spooled = server.queued();
            assertEquals(1, spooled.size());
            assertEquals(queued.group(1), spooled.get(0).id().toString());
            assertEquals("Subject: in flight\r\n\r\nfirst half\r\nsecond half\r\n", server.body(spooled.get(0)));
        }
    }

    @Test
    void transactionStillOpenAtTheDeadlineIsCutWith421AndLeavesNothing() throws Exception {
        server = new TestServer(dir, SmtpServer.Mode.SERVE, HOLD);
        try (TestServer.Client slow = new TestServer.Client(server.port())) {
            greetAndEhlo(slow);
            slow.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n");
            slow.reply();
            slow.reply();
            slow.reply();
            slow.send("Subject: never finished\r\n\r\n");
            long start = System.nanoTime();
            assertFalse(server.server.shutdown(Duration.ofMillis(300)), "the open transaction did not finish");
            long tookMillis = (System.nanoTime() - start) / 1_000_000;
            assertTrue(tookMillis >= 300 && tookMillis < 5_000, "waited for the grace period only: " + tookMillis + " ms");
            assertEquals(SHUTTING_DOWN, slow.reply());
            assertTrue(slow.closedByServer());
        }
        server = new TestServer(dir, SmtpServer.Mode.SERVE, HOLD);
        assertTrue(server.queued().isEmpty(), "an unacknowledged message is not kept");
    }

    @Test
    void sigtermStopsServeGracefullyWithExitStatus0() throws Exception {
        Path spool = dir.resolve("spool");
        int port = freePort();
        String java = ProcessHandle.current().info().command().orElse("java");
        child = PeerProcess.start(List.of(java, "-Xmx128m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                "-cp", System.getProperty("java.class.path"), "io.sluice.smtp.cli.Main", "serve",
                "--set", "listen=127.0.0.1:" + port, "--set", "spool.dir=" + spool, "--set", "hostname=mx.test",
                "--set", "tls.level=none", "--set", "reactor.threads=1", "--set", "domains=example.net",
                "--set", "transport.*=error:4.3.0 held by the test", "--set", "shutdown.grace=20s"));
        assertTrue(TestServer.await(Duration.ofSeconds(30), () -> greets(port) || !child.isAlive()),
                "child serving on " + port + "\n--- stderr\n" + child.stderr());
        String first;
        String second;
        try (TestServer.Client done = new TestServer.Client(port); TestServer.Client busy = new TestServer.Client(port)) {
            greetAndEhlo(done);
            first = send(done, "before");
            greetAndEhlo(busy);
            busy.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n");
            busy.reply();
            busy.reply();
            busy.reply();
            busy.send("Subject: during\r\n\r\nhalf");

            // SIGTERM through the handle: Process.destroy() would also close our ends of its pipes.
            assertTrue(child.process().toHandle().destroy(), "SIGTERM sent");
            assertTrue(TestServer.await(Duration.ofSeconds(10), () -> child.stderr().contains("draining")),
                    "the child began draining, alive=" + child.isAlive() + "\n--- stderr\n" + child.stderr());
            assertRefused(port);
            busy.send(" and the rest\r\n.\r\n");
            Matcher queued = QUEUED.matcher(busy.reply());
            assertTrue(queued.matches(), "acknowledged after SIGTERM");
            second = queued.group(1);
            busy.send("QUIT\r\n");
            assertEquals(SHUTTING_DOWN, busy.reply());
        }
        int status = child.terminate(Duration.ofSeconds(20));
        assertEquals(0, status, "exit status after SIGTERM\n--- stderr\n" + child.stderr());
        child = null;

        server = new TestServer(dir, SmtpServer.Mode.SERVE, HOLD);
        List<String> ids = server.queued().stream().map(m -> m.id().toString()).sorted().toList();
        assertEquals(List.of(first, second).stream().sorted().toList(), ids, "exactly the acknowledged messages");
    }

    private static boolean shutdown(SmtpServer server, Duration grace) {
        try {
            return server.shutdown(grace);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static String send(TestServer.Client c, String subject) throws IOException {
        c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n");
        c.reply();
        c.reply();
        c.reply();
        c.send("Subject: " + subject + "\r\n\r\nbody\r\n.\r\n");
        Matcher queued = QUEUED.matcher(c.reply());
        assertTrue(queued.matches());
        return queued.group(1);
    }

    static void greetAndEhlo(TestServer.Client c) throws IOException {
        assertEquals("220 mx.test ESMTP Sluice\r\n", c.reply());
        c.send("EHLO client.example\r\n");
        assertTrue(c.reply().startsWith("250-mx.test"));
    }

    private static void assertRefused(int port) {
        try (java.net.Socket s = new java.net.Socket()) {
            s.connect(new java.net.InetSocketAddress("127.0.0.1", port), 5_000);
            throw new AssertionError("a new connection was accepted during shutdown");
        } catch (ConnectException expected) {
            // the listener is closed
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static boolean greets(int port) {
        try (TestServer.Client probe = new TestServer.Client(port)) {
            return probe.reply().equals("220 mx.test ESMTP Sluice\r\n");
        } catch (IOException notYet) {
            return false;
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }
}
