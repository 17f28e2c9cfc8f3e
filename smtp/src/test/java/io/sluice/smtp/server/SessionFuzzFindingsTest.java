package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Plain reproducers of what {@link SessionFuzzTest} found, one per bug; enabled once fixed. */
class SessionFuzzFindingsTest {

    private static final String ENVELOPE = "EHLO client.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n";

    private final RecordingStore store = new RecordingStore();

    private FakeConnection open() {
        ListenerContext listener = new ListenerContext(SessionSettings.defaults("mx.test"), null, false,
                new ConnectionLimiter(1000, 100), EventLog.silent(), new SessionStats(), null);
        SessionServices services = new SessionServices(() -> 0L, Runnable::run, (deadline, task) -> { }, store);
        FakeConnection connection = new FakeConnection("127.0.0.1");
        connection.open(new SmtpSession(listener, c -> services));
        connection.takeOutput();
        return connection;
    }

    /**
     * SmtpSession.beginMessage: when the store's first append (our Received: line) fails, the
     * message stays open in the store and messageId keeps pointing at it; the transaction is not
     * reset, so the next DATA begins a second message and overwrites messageId: the first is never
     * aborted (an open spool message leaked for the life of the process).
     */
    @Test
    void failedFirstAppendAtDataDoesNotLeakAnOpenMessage() {
        FakeConnection c = open();
        c.feed(ENVELOPE);
        c.takeOutput();
        store.failAppends = true;
        c.feed("DATA\r\n");
        assertEquals("452 4.3.1 Insufficient system storage\r\n", c.takeOutput());
        store.failAppends = false;
        c.feed("DATA\r\nbody\r\n.\r\n");
        store.completeCommits();
        assertTrue(c.takeOutput().contains("250 2.0.0 Ok: queued as "));
        assertTrue(store.open.isEmpty(), "left open while the connection is still up: " + store.open.keySet());
        c.close();
        assertTrue(store.open.isEmpty(), "left open after close: " + store.open.keySet());
    }
}
