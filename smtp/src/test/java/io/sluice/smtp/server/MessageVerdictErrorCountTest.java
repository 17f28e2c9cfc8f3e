package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.UnaryOperator;

import org.junit.jupiter.api.Test;

import io.sluice.smtp.protocol.BareNewline;

/**
 * Verdicts on a whole message (after its end, or on a BDAT chunk past the size limit) do not count
 * toward {@code smtp.max_errors}: the client kept to the protocol. With a limit of one error, three
 * refused messages in a row leave the session open; two protocol errors still close it.
 */
class MessageVerdictErrorCountTest {

    private static final String EHLO = "EHLO client.example\r\n";
    private static final String MAIL_RCPT = "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n";

    private final RecordingStore store = new RecordingStore();

    private FakeConnection open(UnaryOperator<SessionSettingsBuilder> change) {
        SessionSettings settings = change.apply(new SessionSettingsBuilder().maxErrors(1)).build();
        ListenerContext listener = new ListenerContext(settings, null, false, new ConnectionLimiter(1000, 100),
                EventLog.silent(), new SessionStats(), null);
        SessionServices services = new SessionServices(() -> 0L, Runnable::run, (deadline, task) -> { }, store);
        FakeConnection connection = new FakeConnection("127.0.0.1");
        connection.open(new SmtpSession(listener, c -> services));
        connection.feed(EHLO);
        connection.takeOutput();
        return connection;
    }

    /** Sends the same refused message three times over DATA, then NOOP: three verdicts and a 250, still open. */
    private void threeRefusedMessagesKeepTheSession(FakeConnection c, String text, String verdict) {
        for (int i = 0; i < 3; i++) {
            c.feed(MAIL_RCPT + "DATA\r\n" + text + ".\r\n");
        }
        c.feed("NOOP\r\n");
        String dialogue = c.takeOutput();
        assertEquals(3, dialogue.split(java.util.regex.Pattern.quote(verdict), -1).length - 1, dialogue);
        assertTrue(dialogue.endsWith(verdict + "250 2.0.0 Ok\r\n"), dialogue);
        assertFalse(dialogue.contains("421"), dialogue);
        assertTrue(c.isOpen());
        assertTrue(store.committed.isEmpty());
    }

    @Test
    void mailLoopsDoNotCount() {
        threeRefusedMessagesKeepTheSession(open(b -> b.maxHops(2)), MailLoopSessionTest.looped(3),
                "554 5.4.6 Too many hops (mail forwarding loop)\r\n");
    }

    @Test
    void oversizedMessagesDoNotCount() {
        threeRefusedMessagesKeepTheSession(open(b -> b.maxMessageOctets(100)), ("x".repeat(70) + "\r\n").repeat(2),
                "552 5.3.4 Message size exceeds fixed limit\r\n");
    }

    @Test
    void bareNewlineRejectsDoNotCount() {
        threeRefusedMessagesKeepTheSession(open(b -> b.bareNewline(BareNewline.REJECT)), "a\nb\r\n",
                "550 5.6.0 Message contains bare CR or LF\r\n");
    }

    @Test
    void overlongTextLinesDoNotCount() {
        threeRefusedMessagesKeepTheSession(open(b -> b), "x".repeat(2000) + "\r\n",
                "500 5.5.2 Line too long in message data\r\n");
    }

    @Test
    void spoolFailuresDoNotCount() {
        FakeConnection c = open(b -> b);
        for (int i = 0; i < 3; i++) {
            store.failAppends = false;
            c.feed(MAIL_RCPT + "DATA\r\n");
            store.failAppends = true; // our Received: line went in; the text does not
            c.feed("body\r\n.\r\n");
        }
        c.feed("NOOP\r\n");
        String dialogue = c.takeOutput();
        assertTrue(dialogue.endsWith("452 4.3.1 Insufficient system storage\r\n250 2.0.0 Ok\r\n"), dialogue);
        assertFalse(dialogue.contains("421"), dialogue);
        assertTrue(c.isOpen());
    }

    @Test
    void everyChunkPastTheSizeLimitIsAnsweredWithoutClosingTheSession() {
        FakeConnection c = open(b -> b.maxMessageOctets(100));
        String chunk = "y".repeat(60);
        StringBuilder input = new StringBuilder(MAIL_RCPT);
        for (int i = 0; i < 4; i++) {
            input.append("BDAT 60\r\n").append(chunk);
        }
        input.append("BDAT 60 LAST\r\n").append(chunk).append("NOOP\r\n");
        c.feed(input.toString());
        String tooLarge = "552 5.3.4 Message size exceeds fixed limit\r\n";
        assertTrue(c.takeOutput().endsWith("250 2.1.5 Ok\r\n250 2.0.0 Ok\r\n" + tooLarge.repeat(4) + "250 2.0.0 Ok\r\n"));
        assertTrue(c.isOpen());
        assertTrue(store.committed.isEmpty());
    }

    @Test
    void loopingBdatMessagesDoNotCount() {
        FakeConnection c = open(b -> b.maxHops(2));
        String text = MailLoopSessionTest.looped(3);
        for (int i = 0; i < 3; i++) {
            c.feed(MAIL_RCPT + "BDAT " + text.length() + " LAST\r\n" + text);
        }
        c.feed("NOOP\r\n");
        String dialogue = c.takeOutput();
        assertTrue(dialogue.endsWith("554 5.4.6 Too many hops (mail forwarding loop)\r\n250 2.0.0 Ok\r\n"), dialogue);
        assertTrue(c.isOpen());
    }

    @Test
    void protocolErrorsStillCount() {
        FakeConnection c = open(b -> b);
        c.feed("DATA\r\nRCPT TO:<b@example.net>\r\nNOOP\r\n");
        assertEquals("503 5.5.1 Error: need MAIL command\r\n503 5.5.1 Error: need MAIL command\r\n"
                + "421 4.7.0 Too many errors\r\n", c.takeOutput());
        assertFalse(c.isOpen());
    }
}
