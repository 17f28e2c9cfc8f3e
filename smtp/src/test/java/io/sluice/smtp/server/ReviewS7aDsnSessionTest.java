package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

/** Review s7a: DSN parameters in the server session. */
class ReviewS7aDsnSessionTest {
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

    /**
     * RFC 6533 3: with SMTPUTF8, ORCPT's utf-8 address type may carry the address as
     * utf-8-addr-unitext (UTF-8 octets as they are). The recipient must not be refused for it.
     */
    @Test
    void aUtf8OrcptIsTakenUnderSmtpUtf8() {
        FakeConnection c = open(true);
        c.feed("EHLO client.example\r\nMAIL FROM:<a@example.org> SMTPUTF8\r\n");
        c.takeOutput();
        c.feed("RCPT TO:<caf\u00e9@example.net> NOTIFY=FAILURE ORCPT=utf-8;caf\u00e9@example.net\r\n"
                .getBytes(StandardCharsets.UTF_8));
        String reply = c.takeOutput();
        assertTrue(reply.startsWith("250"), reply);
    }

    /** Off means "not in our EHLO reply": every DSN parameter is 555 (RFC 5321 4.1.1.11), whatever its value. */
    @Test
    void whenOffAMalformedParameterIsStill555() {
        FakeConnection c = open(false);
        c.feed("EHLO client.example\r\nMAIL FROM:<a@example.org>\r\n");
        c.takeOutput();
        c.feed("RCPT TO:<b@example.net> NOTIFY=SOMETIMES\r\n");
        assertEquals("555 5.5.4 Unsupported parameter\r\n", c.takeOutput());
    }
}
