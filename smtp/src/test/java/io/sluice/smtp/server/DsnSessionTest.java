package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

import io.sluice.smtp.spool.DsnReturn;
import io.sluice.smtp.spool.Envelope;
import io.sluice.smtp.spool.EnvelopeDsn;
import io.sluice.smtp.spool.RecipientDsn;

/** DSN (RFC 3461) in the server session: offered, its parameters kept in the envelope, or refused when off. */
class DsnSessionTest {
    private final RecordingStore store = new RecordingStore();

    private FakeConnection open(boolean dsn) {
        SessionSettings settings = new SessionSettingsBuilder().dsn(dsn).build();
        ListenerContext listener = new ListenerContext(settings, null, false, new ConnectionLimiter(1000, 100),
                EventLog.silent(), new SessionStats(), null);
        SessionServices services = new SessionServices(() -> 0L, Runnable::run, (deadline, task) -> { }, store);
        FakeConnection connection = new FakeConnection("127.0.0.1");
        connection.open(new SmtpSession(listener, c -> services));
        connection.takeOutput();
        return connection;
    }

    private Envelope onlyEnvelope() {
        assertEquals(1, store.envelopes.size(), store.envelopes::toString);
        return store.envelopes.values().iterator().next();
    }

    @Test
    void parametersAreKeptPerRecipientInEnvelopeOrder() {
        FakeConnection c = open(true);
        c.feed("EHLO client.example\r\n");
        assertTrue(c.takeOutput().contains("250-DSN\r\n"));
        c.feed("MAIL FROM:<a@example.org> RET=FULL ENVID=QQ+2B1\r\nRCPT TO:<plain@example.net>\r\n"
                + "RCPT TO:<b@example.net> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;b@example.net\r\n"
                + "RCPT TO:<c@example.net> NOTIFY=NEVER\r\nRCPT TO:<d@example.net> NOTIFY=NEVER,DELAY\r\n"
                + "DATA\r\n");
        String replies = c.takeOutput();
        assertTrue(replies.contains("501 5.5.4 Syntax: NOTIFY=NEVER or NOTIFY=SUCCESS,FAILURE,DELAY"), replies);
        c.feed("Subject: x\r\n\r\nbody\r\n.\r\n");
        Envelope e = onlyEnvelope();
        assertEquals(List.of("plain@example.net", "b@example.net", "c@example.net"), e.recipients());
        assertEquals(new EnvelopeDsn(DsnReturn.FULL, "QQ+2B1", List.of(RecipientDsn.NONE,
                new RecipientDsn(RecipientDsn.NOTIFY_SUCCESS | RecipientDsn.NOTIFY_DELAY, "rfc822;b@example.net"),
                new RecipientDsn(RecipientDsn.NOTIFY_NEVER, ""))), e.dsn());
    }

    @Test
    void aTransactionWithoutParametersHasNoDsnAndTheNextForgetsThem() {
        FakeConnection c = open(true);
        c.feed("EHLO client.example\r\nMAIL FROM:<a@example.org> RET=HDRS\r\nRCPT TO:<b@example.net> NOTIFY=NEVER\r\n"
                + "RSET\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\nSubject: x\r\n\r\nb\r\n.\r\n");
        assertSame(EnvelopeDsn.NONE, onlyEnvelope().dsn());
    }

    @Test
    void aLongOrcptFitsWhileDsnIsOffered() {
        FakeConnection c = open(true);
        String address = "o".repeat(60) + "@" + "d".repeat(60) + ".example.net";
        String orcpt = ("x".repeat(99) + "+2B").repeat(5); // 500 characters decoded, 510 encoded
        c.feed("EHLO client.example\r\nMAIL FROM:<a@example.org> ENVID=" + "e".repeat(100) + "\r\n"
                + "RCPT TO:<" + address + "> NOTIFY=FAILURE ORCPT=rfc822;" + orcpt + "\r\n");
        String replies = c.takeOutput();
        assertFalse(replies.contains("Line too long"), replies);
        assertTrue(replies.endsWith("250 2.1.5 Ok\r\n"), replies);
    }

    @Test
    void whenOffNotAdvertisedAndEveryParameterIs555() {
        FakeConnection c = open(false);
        c.feed("EHLO client.example\r\n");
        assertFalse(c.takeOutput().contains("DSN"));
        for (String line : List.of("MAIL FROM:<a@example.org> RET=FULL", "MAIL FROM:<a@example.org> ENVID=x")) {
            c.feed(line + "\r\n");
            assertEquals("555 5.5.4 Unsupported parameter\r\n", c.takeOutput(), line);
        }
        c.feed("MAIL FROM:<a@example.org>\r\n");
        assertTrue(c.takeOutput().startsWith("250"));
        for (String line : List.of("RCPT TO:<b@example.net> NOTIFY=NEVER", "RCPT TO:<b@example.net> ORCPT=rfc822;b@x")) {
            c.feed(line + "\r\n");
            assertEquals("555 5.5.4 Unsupported parameter\r\n", c.takeOutput(), line);
        }
    }
}
