package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
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

    /** Off means "not in our EHLO reply": every DSN parameter is 555 (RFC 5321 4.1.1.11), whatever its value. */
    @Test
    void whenOffAMalformedParameterIsStill555() {
        FakeConnection c = open(false);
        c.feed("EHLO client.example\r\nMAIL FROM:<a@example.org> RET=BOTH\r\n");
        c.takeOutput();
        c.feed("MAIL FROM:<a@example.org> ENVID=a+zz\r\nMAIL FROM:<a@example.org>\r\n");
        assertEquals("555 5.5.4 Unsupported parameter\r\n250 2.1.0 Ok\r\n", c.takeOutput());
        for (String line : List.of("RCPT TO:<b@example.net> NOTIFY=SOMETIMES", "RCPT TO:<b@example.net> ORCPT=rfc822",
                "RCPT TO:<b@example.net> NOTIFY=NEVER NOTIFY=NEVER")) {
            c.feed(line + "\r\n");
            assertEquals("555 5.5.4 Unsupported parameter\r\n", c.takeOutput(), line);
        }
    }

    /**
     * RFC 6533 3: with SMTPUTF8, ORCPT's utf-8 address type may carry the address as
     * utf-8-addr-unitext (UTF-8 octets as they are, or {@code \x{HEX}}); it is kept as received.
     */
    @Test
    void aUtf8OrcptIsTakenUnderSmtpUtf8AndKeptAsReceived() {
        FakeConnection c = open(true);
        c.feed("EHLO client.example\r\nMAIL FROM:<a@example.org> SMTPUTF8\r\n");
        c.takeOutput();
        c.feed("RCPT TO:<caf\u00e9@example.net> NOTIFY=FAILURE ORCPT=utf-8;caf\u00e9@example.net\r\n"
                .getBytes(StandardCharsets.UTF_8));
        String reply = c.takeOutput();
        assertTrue(reply.startsWith("250"), reply);
        c.feed("RCPT TO:<b@example.net> ORCPT=utf-8;\u4e2d\\x{E9}b@example.net\r\n".getBytes(StandardCharsets.UTF_8));
        reply = c.takeOutput();
        assertTrue(reply.startsWith("250"), reply);
        c.feed("DATA\r\nSubject: x\r\n\r\nb\r\n.\r\n");
        Envelope e = onlyEnvelope();
        assertEquals("utf-8;caf\u00e9@example.net", e.dsn().recipient(0).originalRecipient());
        assertEquals("utf-8;\u4e2d\\x{E9}b@example.net", e.dsn().recipient(1).originalRecipient());
    }

    /** Without SMTPUTF8 on MAIL, unitext is refused (553 5.6.7, as a UTF-8 address is) and counted. */
    @Test
    void aUtf8OrcptWithoutSmtpUtf8IsRefused() {
        FakeConnection c = open(true);
        c.feed("EHLO client.example\r\nMAIL FROM:<a@example.org>\r\n");
        c.takeOutput();
        c.feed("RCPT TO:<b@example.net> ORCPT=utf-8;caf\u00e9@example.net\r\n".getBytes(StandardCharsets.UTF_8));
        assertEquals("553 5.6.7 SMTPUTF8 required\r\n", c.takeOutput());
        c.feed("RCPT TO:<b@example.net> ORCPT=rfc822;caf\u00e9@example.net\r\n".getBytes(StandardCharsets.UTF_8));
        assertTrue(c.takeOutput().startsWith("501 5.5.4"), "rfc822 stays xtext");
        c.feed("RCPT TO:<b@example.net> ORCPT=utf-8;caf\\x{E9}@example.net\r\n");
        assertTrue(c.takeOutput().startsWith("250"), "utf-8-addr-xtext (ASCII) needs no SMTPUTF8");
    }

    /** Should the store still refuse an envelope (its IllegalArgumentException), DATA and BDAT get a 452, never a drop. */
    @Test
    void anEnvelopeTheStoreRefusesGetsA452AndTheSessionGoesOn() {
        store.refuseEnvelopes = true;
        FakeConnection c = open(true);
        c.feed("EHLO client.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n");
        c.takeOutput();
        c.feed("DATA\r\n");
        assertEquals("452 4.3.1 Insufficient system storage\r\n", c.takeOutput());
        c.feed("BDAT 5 LAST\r\nhello");
        assertEquals("452 4.3.1 Insufficient system storage\r\n", c.takeOutput());
        c.feed("NOOP\r\n");
        assertTrue(c.takeOutput().startsWith("250"), "the connection stays");
        assertTrue(store.envelopes.isEmpty());
    }
}
