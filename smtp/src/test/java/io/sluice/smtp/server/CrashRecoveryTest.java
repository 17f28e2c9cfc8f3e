package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sluice.smtp.cli.Main;
import io.sluice.smtp.spool.QueueId;
import io.sluice.smtp.spool.QueuedMessage;
import io.sluice.smtp.spool.Spool;

/**
 * {@code sluice serve} in a child JVM killed with SIGKILL at chosen moments, three rounds on one
 * spool: every message that got its 250 must be in the spool byte for byte after each kill, a
 * message cut mid-DATA must never appear, and a message whose final dot was sent but whose 250 the
 * client never read may appear (counted, not failed). Each round restarts the server on the spool.
 */
class CrashRecoveryTest {

    private static final Pattern QUEUED = Pattern.compile("250 2\\.0\\.0 Ok: queued as (\\w{13})\r\n");
    private static final Pattern SUBJECT = Pattern.compile("\r\nSubject: (\\S+)\r\n");
    private static final Duration START_TIMEOUT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    /** id -> what the spool must hold after our Received: line, for every 250 we read. */
    private final Map<String, byte[]> acknowledged = new LinkedHashMap<>();
    /** subject -> stored form, for messages whose final dot was sent but whose 250 we never read. */
    private final Map<String, byte[]> inFlight = new HashMap<>();
    /** Subjects of messages cut before their final dot: never to be seen in the spool. */
    private final Set<String> cut = new HashSet<>();
    /** In-flight messages that did reach the spool: from then on they must stay, like acknowledged ones. */
    private final Map<String, byte[]> recoveredInFlight = new LinkedHashMap<>();

    private PeerProcess child;
    private int port;

    @AfterEach
    void killChild() {
        if (child != null) {
            child.close();
        }
    }

    @Test
    void acknowledgedMessagesSurviveSigkillAndCutOnesNeverAppear() throws Exception {
        Path spool = dir.resolve("spool");

        // Round 1: kill right after a 250 while another client is in the middle of DATA.
        startChild(spool);
        try (TestServer.Client cutClient = new TestServer.Client(port);
                TestServer.Client c = new TestServer.Client(port)) {
            greetAndEhlo(c);
            for (int i = 0; i < 5; i++) {
                sendAcknowledged(c, "r1-m" + i);
            }
            beginCut(cutClient, "r1-cut", 4096);
            sendAcknowledged(c, "r1-last");
            kill();
        }
        verify(spool);

        // Round 2: kill during DATA; one message has its final dot on the wire but no 250 read yet.
        startChild(spool);
        try (TestServer.Client cutClient = new TestServer.Client(port);
                TestServer.Client flying = new TestServer.Client(port);
                TestServer.Client c = new TestServer.Client(port)) {
            greetAndEhlo(c);
            for (int i = 0; i < 3; i++) {
                sendAcknowledged(c, "r2-m" + i);
            }
            greetAndEhlo(flying);
            sendWithoutReadingTheReply(flying, "r2-flying");
            beginCut(cutClient, "r2-cut", 256 * 1024);
            kill();
        }
        verify(spool);

        // Round 3: a pipelined burst of 30 on one connection, killed after 10 of its 250s.
        startChild(spool);
        try (TestServer.Client c = new TestServer.Client(port)) {
            greetAndEhlo(c);
            pipelinedBurstKilledAfter(c, "r3-m", 30, 10);
        }
        verify(spool);

        // The server starts again on what the three crashes left, and the CLI lists exactly that.
        startChild(spool);
        try (TestServer.Client c = new TestServer.Client(port)) {
            greetAndEhlo(c);
            sendAcknowledged(c, "r4-after");
        }
        Set<String> listed = queueListIds(spool);
        assertTrue(listed.containsAll(acknowledged.keySet()), "queue list shows every acknowledged id");
        assertEquals(acknowledged.size() + recoveredInFlight.size(), listed.size(), listed.toString());
        assertEquals(5 + 1 + 3 + 10 + 1, acknowledged.size());
        System.out.println("crash recovery: " + acknowledged.size() + " acknowledged, " + recoveredInFlight.size()
                + " of " + (inFlight.size() + recoveredInFlight.size()) + " unacknowledged in-flight messages recovered, " + cut.size()
                + " cut mid-DATA (none recovered)");
    }

    // --- the child server ---------------------------------------------------------------------

    private void startChild(Path spool) throws Exception {
        port = freePort();
        String java = ProcessHandle.current().info().command().orElse("java");
        child = PeerProcess.start(List.of(java, "-Xmx128m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                "-cp", System.getProperty("java.class.path"), "io.sluice.smtp.cli.Main", "serve",
                "--set", "listen=127.0.0.1:" + port, "--set", "spool.dir=" + spool, "--set", "hostname=mx.test",
                "--set", "tls.level=none", "--set", "reactor.threads=1", "--set", "domains=example.net",
                "--set", "transport.*=error:4.3.0 held by the test")); // no DNS, mail stays queued
        boolean ready = TestServer.await(START_TIMEOUT, () -> greets(port) || !child.isAlive());
        assertTrue(ready && child.isAlive(), "child server not serving on " + port + "\n--- stderr\n" + child.stderr());
    }

    /** True when a connection to {@code port} is answered with our greeting. */
    private static boolean greets(int port) {
        try (TestServer.Client probe = new TestServer.Client(port)) {
            return probe.reply().equals("220 mx.test ESMTP Sluice\r\n");
        } catch (IOException notYet) {
            return false;
        }
    }

    private void kill() throws InterruptedException {
        child.kill();
        assertFalse(child.isAlive(), "SIGKILL took effect");
        child = null;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }

    // --- clients ------------------------------------------------------------------------------

    private static void greetAndEhlo(TestServer.Client c) throws IOException {
        assertEquals("220 mx.test ESMTP Sluice\r\n", c.reply());
        c.send("EHLO client.example\r\n");
        assertTrue(c.reply().startsWith("250-mx.test\r\n"));
    }

    private void sendAcknowledged(TestServer.Client c, String subject) throws IOException {
        c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n");
        assertEquals("250 2.1.0 Ok\r\n", c.reply());
        assertEquals("250 2.1.5 Ok\r\n", c.reply());
        assertEquals("354 End data with <CR><LF>.<CR><LF>\r\n", c.reply());
        c.send(wire(subject) + ".\r\n");
        record(c.reply(), subject);
    }

    private void sendWithoutReadingTheReply(TestServer.Client c, String subject) throws IOException {
        c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n");
        c.reply();
        c.reply();
        c.reply();
        c.send(wire(subject) + ".\r\n");
        inFlight.put(subject, stored(subject));
    }

    /** Starts a message and sends {@code octets} of its text without the final dot. */
    private void beginCut(TestServer.Client c, String subject, int octets) throws IOException {
        greetAndEhlo(c);
        c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n");
        c.reply();
        c.reply();
        assertEquals("354 End data with <CR><LF>.<CR><LF>\r\n", c.reply());
        StringBuilder text = new StringBuilder(wire(subject));
        while (text.length() < octets) {
            text.append("filler line that is not the end of the message\r\n");
        }
        c.send(text.toString());
        cut.add(subject);
    }

    private void pipelinedBurstKilledAfter(TestServer.Client c, String prefix, int messages, int acks)
            throws Exception {
        StringBuilder burst = new StringBuilder();
        for (int i = 0; i < messages; i++) {
            burst.append("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n")
                    .append(wire(prefix + i)).append(".\r\n");
            inFlight.put(prefix + i, stored(prefix + i));
        }
        c.send(burst.toString());
        for (int i = 0; i < acks; i++) {
            assertEquals("250 2.1.0 Ok\r\n", c.reply(), "message " + i);
            assertEquals("250 2.1.5 Ok\r\n", c.reply());
            assertEquals("354 End data with <CR><LF>.<CR><LF>\r\n", c.reply());
            String reply = c.reply();
            inFlight.remove(prefix + i);
            record(reply, prefix + i);
        }
        kill();
    }

    private void record(String reply, String subject) {
        Matcher m = QUEUED.matcher(reply);
        assertTrue(m.matches(), subject + ": " + reply);
        assertNotNull(QueueId.parse(m.group(1)));
        assertFalse(acknowledged.containsKey(m.group(1)), "queue id " + m.group(1) + " handed out twice");
        acknowledged.put(m.group(1), stored(subject));
    }

    /** The message as sent: CRLF lines, one dot-stuffed line. */
    private static String wire(String subject) {
        return "From: <a@example.org>\r\nSubject: " + subject + "\r\n\r\nbody of " + subject
                + "\r\n..a line that starts with a dot\r\nlast line\r\n";
    }

    /** The message as the spool must keep it after our Received: line. */
    private static byte[] stored(String subject) {
        return ("From: <a@example.org>\r\nSubject: " + subject + "\r\n\r\nbody of " + subject
                + "\r\n.a line that starts with a dot\r\nlast line\r\n").getBytes(StandardCharsets.US_ASCII);
    }

    // --- checks -------------------------------------------------------------------------------

    /**
     * Reads the crashed spool the way {@code sluice queue} does (read-only: no repair, so the next
     * child server's own recovery is what cleans up the torn tail) and checks it against what we sent.
     */
    private void verify(Path spoolDir) throws IOException {
        try (Spool spool = Spool.openReadOnly(spoolDir)) {
            for (Map.Entry<String, byte[]> e : acknowledged.entrySet()) {
                QueueId id = QueueId.parse(e.getKey());
                QueuedMessage m = spool.find(id).orElseThrow(
                        () -> new AssertionError("acknowledged " + id + " lost after SIGKILL; spool has " + spool.list()));
                assertEquals("a@example.org", m.envelope().sender());
                assertEquals(List.of("b@example.net"), m.envelope().recipients());
                assertArrayEquals(e.getValue(), StoredMessages.withoutReceived(StoredMessages.content(spool, id)),
                        "content of " + id);
            }
            Set<String> subjectsSeen = new HashSet<>();
            for (QueuedMessage m : spool.list()) {
                byte[] content = StoredMessages.withoutReceived(StoredMessages.content(spool, m.id()));
                String subject = subjectOf(content);
                assertTrue(subjectsSeen.add(subject), "stored twice: " + subject);
                assertFalse(cut.contains(subject), "a message cut mid-DATA was recovered: " + subject);
                if (acknowledged.containsKey(m.id().toString())) {
                    continue;
                }
                byte[] expected = inFlight.remove(subject);
                if (expected == null) {
                    expected = recoveredInFlight.get(m.id().toString());
                } else {
                    recoveredInFlight.put(m.id().toString(), expected);
                }
                assertNotNull(expected, "an unknown message appeared: " + m.id() + " " + subject);
                assertArrayEquals(expected, content, "content of in-flight " + subject);
            }
            for (String id : recoveredInFlight.keySet()) {
                assertTrue(spool.find(QueueId.parse(id)).isPresent(), "recovered once, lost later: " + id);
            }
        }
    }

    private static String subjectOf(byte[] content) {
        Matcher m = SUBJECT.matcher("\r\n" + new String(content, StandardCharsets.US_ASCII));
        assertTrue(m.find(), "no subject in " + new String(content, StandardCharsets.US_ASCII));
        return m.group(1);
    }

    /** {@code sluice queue list --json --spool DIR}, in process, next to the running child. */
    private static Set<String> queueListIds(Path spool) throws IOException {
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream original = System.out;
        int status;
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            status = Main.run("queue", "list", "--json", "--spool", spool.toString());
        } finally {
            System.setOut(original);
        }
        String output = captured.toString(StandardCharsets.UTF_8);
        assertEquals(0, status, output);
        Set<String> ids = new HashSet<>();
        Matcher m = Pattern.compile("^\\{\"id\":\"(\\w{13})\",\"sender\":\"a@example.org\",\"recipients\":\\[\"b@example.net\"\\]",
                Pattern.MULTILINE).matcher(output);
        while (m.find()) {
            ids.add(m.group(1));
        }
        List<String> lines = new ArrayList<>(List.of(output.split("\n")));
        lines.removeIf(String::isBlank);
        assertEquals(lines.size(), ids.size(), output);
        return ids;
    }
}
