package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * While the spool's fsync hangs ({@link MessageStore#stalled}), MAIL is answered {@code 451 4.3.0}
 * (our failure: not counted toward {@code smtp.max_errors}, no message begun); once it returns,
 * MAIL is taken again in the same session.
 */
class SpoolStallSessionTest {

    private static final String MAIL = "MAIL FROM:<a@example.org>\r\n";
    private static final String LOCAL_ERROR = "451 4.3.0 Local error in processing\r\n";

    private final RecordingStore store = new RecordingStore();
    private final SessionStats stats = new SessionStats();

    private FakeConnection open() {
        SessionSettings settings = new SessionSettingsBuilder().maxErrors(1).build();
        ListenerContext listener = new ListenerContext(settings, null, false, new ConnectionLimiter(1000, 100),
                EventLog.silent(), stats, null);
        SessionServices services = new SessionServices(() -> 0L, Runnable::run, (deadline, task) -> { }, store);
        FakeConnection connection = new FakeConnection("127.0.0.1");
        connection.open(new SmtpSession(listener, c -> services));
        connection.feed("EHLO client.example\r\n");
        connection.takeOutput();
        return connection;
    }

    @Test
    void mailIsRefusedWhileTheSpoolStallsAndTakenAfter() {
        FakeConnection c = open();
        store.stalled = true;
        for (int i = 0; i < 3; i++) {
            c.feed(MAIL);
        }
        assertEquals(LOCAL_ERROR.repeat(3), c.takeOutput());
        assertTrue(c.isOpen(), "three refusals with smtp.max_errors=1: not counted");
        assertTrue(store.envelopes.isEmpty(), "no message begun");
        assertEquals(3, stats.rejectedMessages());

        store.stalled = false;
        c.feed(MAIL + "RCPT TO:<b@example.net>\r\nDATA\r\nhello\r\n.\r\n");
        store.completeCommits();
        String dialogue = c.takeOutput();
        assertTrue(dialogue.startsWith("250 2.1.0"), dialogue);
        assertTrue(dialogue.contains("250 2.0.0 Ok: queued as "), dialogue);
        assertEquals(1, store.committed.size());
    }
}
