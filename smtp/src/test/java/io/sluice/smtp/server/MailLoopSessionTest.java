package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

/** Mail loop detection ({@code smtp.max_hops}) in the session state machine, without sockets. */
class MailLoopSessionTest {

    private static final String EHLO_MAIL_RCPT = "EHLO client.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n";
    private static final String HOPS_REFUSED = "554 5.4.6 Too many hops (mail forwarding loop)\r\n";

    private final RecordingStore store = new RecordingStore();
    private final SessionStats stats = new SessionStats();
    private final ByteArrayOutputStream logged = new ByteArrayOutputStream();
    /** Silent (no writer thread) unless a test reads the log. */
    private EventLog log = EventLog.silent();

    private FakeConnection open(int maxHops) {
        SessionSettings settings = new SessionSettingsBuilder().maxHops(maxHops).build();
        ListenerContext listener = new ListenerContext(settings, null, false, new ConnectionLimiter(1000, 100), log,
                stats, null);
        SessionServices services = new SessionServices(() -> 0L, Runnable::run, (deadline, task) -> { }, store);
        FakeConnection connection = new FakeConnection("127.0.0.1");
        connection.open(new SmtpSession(listener, c -> services));
        connection.takeOutput();
        return connection;
    }

    /** A header with {@code hops} Received: fields, the first folded, and one in the body that does not count. */
    static String looped(int hops) {
        StringBuilder text = new StringBuilder("Return-Path: <a@example.org>\r\n");
        for (int i = 0; i < hops; i++) {
            text.append("Received: from relay").append(i).append(".example by relay").append(i + 1)
                    .append(".example;\r\n\tSat, 28 Nov 2026 10:00:00 +0000\r\n");
        }
        return text.append("X-Received: not a hop\r\nSubject: loop\r\n\r\nReceived: quoted in the body\r\n").toString();
    }

    @Test
    void fiftyHopsAreQueued() {
        FakeConnection c = open(50);
        c.feed(EHLO_MAIL_RCPT + "DATA\r\n" + looped(50) + ".\r\n");
        store.completeCommits();
        assertTrue(c.takeOutput().contains("250 2.0.0 Ok: queued as "));
        assertEquals(1, store.committed.size());
    }

    @Test
    void fiftyOneHopsAreRefusedAfterTheDataAndTheSessionGoesOn() {
        log = new EventLog(EventLog.Level.INFO, new PrintStream(logged, true, StandardCharsets.UTF_8));
        FakeConnection c = open(50);
        c.feed(EHLO_MAIL_RCPT + "DATA\r\n" + looped(51) + ".\r\n");
        assertTrue(c.takeOutput().endsWith("354 End data with <CR><LF>.<CR><LF>\r\n" + HOPS_REFUSED));
        assertEquals(0, store.pendingCommits());
        assertTrue(store.committed.isEmpty());
        assertEquals(1, store.aborted.size());
        assertEquals(1, stats.rejectedMessagesByCode().count(554));
        log.close(); // writes what was logged
        String line = logged.toString(StandardCharsets.UTF_8);
        assertTrue(line.contains(" reject ") && line.contains("reason=\"too many hops\" hops=51 limit=50"), line);

        c.feed("MAIL FROM:<a@example.org>\r\n");
        assertEquals("250 2.1.0 Ok\r\n", c.takeOutput(), "the transaction was reset");
        c.feed("RCPT TO:<b@example.net>\r\nDATA\r\n" + looped(2) + ".\r\n");
        store.completeCommits();
        assertTrue(c.takeOutput().contains("250 2.0.0 Ok: queued as "));
        assertEquals(1, store.committed.size());
    }

    @Test
    void everyReadSplitGivesTheSameVerdict() {
        String input = EHLO_MAIL_RCPT + "DATA\r\n" + looped(3) + ".\r\n";
        int dataStart = input.indexOf("Return-Path");
        for (int split = dataStart; split < input.length(); split++) {
            RecordingStore fresh = new RecordingStore();
            SessionSettings settings = new SessionSettingsBuilder().maxHops(2).build();
            ListenerContext listener = new ListenerContext(settings, null, false, new ConnectionLimiter(1000, 100),
                    EventLog.silent(), new SessionStats(), null);
            SessionServices services = new SessionServices(() -> 0L, Runnable::run, (deadline, task) -> { }, fresh);
            FakeConnection c = new FakeConnection("127.0.0.1");
            c.open(new SmtpSession(listener, x -> services));
            c.feed(input.substring(0, split));
            c.feed(input.substring(split));
            assertTrue(c.takeOutput().endsWith(HOPS_REFUSED), "split at " + split);
            assertEquals(0, fresh.pendingCommits(), "split at " + split);
        }
    }

    @Test
    void bdatWithTooManyHopsIsRefusedAtTheLastChunk() {
        FakeConnection c = open(50);
        String text = looped(51);
        int half = text.length() / 2;
        c.feed(EHLO_MAIL_RCPT + "BDAT " + half + "\r\n" + text.substring(0, half)
                + "BDAT " + (text.length() - half) + " LAST\r\n" + text.substring(half) + "NOOP\r\n");
        assertTrue(c.takeOutput().endsWith("250 2.1.5 Ok\r\n250 2.0.0 Ok\r\n" + HOPS_REFUSED + "250 2.0.0 Ok\r\n"));
        assertEquals(0, store.pendingCommits());
        assertTrue(store.committed.isEmpty());
        assertEquals(1, stats.rejectedMessagesByCode().count(554));

        String ok = looped(50);
        c.feed("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nBDAT " + ok.length() + " LAST\r\n" + ok);
        store.completeCommits();
        assertTrue(c.takeOutput().contains("250 2.0.0 Ok: queued as "));
        assertEquals(1, store.committed.size());
    }

    @Test
    void zeroTurnsDetectionOff() {
        FakeConnection c = open(0);
        c.feed(EHLO_MAIL_RCPT + "DATA\r\n" + looped(200) + ".\r\n");
        store.completeCommits();
        assertTrue(c.takeOutput().contains("250 2.0.0 Ok: queued as "));
        assertEquals(1, store.committed.size());
        assertEquals(0, stats.rejectedMessages());
    }

    @Test
    void ourOwnReceivedLineIsNotCounted() {
        FakeConnection c = open(1);
        c.feed(EHLO_MAIL_RCPT + "DATA\r\n" + looped(1) + ".\r\n");
        store.completeCommits();
        assertTrue(c.takeOutput().contains("250 2.0.0 Ok: queued as "));
        String stored = store.committed.values().iterator().next();
        assertTrue(stored.startsWith("Received: from client.example") && stored.contains("Received: from relay0"),
                "two Received: lines stored, one counted: " + stored);
    }
}
