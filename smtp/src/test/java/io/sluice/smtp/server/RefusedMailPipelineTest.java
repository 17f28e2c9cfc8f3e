package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

/**
 * A pipelining client sends MAIL, its RCPTs and DATA in one batch before it sees any reply. When
 * we refuse the MAIL, the 503s its RCPTs and DATA draw are our doing, not the client's: they do
 * not count toward {@code smtp.max_errors} (limit 10 here), so 200 recipients are not cut with 421.
 * Every other 503 still counts.
 */
class RefusedMailPipelineTest {

    private static final String EHLO = "EHLO client.example\r\n";
    private static final String NEED_MAIL = "503 5.5.1 Error: need MAIL command\r\n";
    private static final String TOO_LARGE = "552 5.3.4 Message size exceeds fixed limit\r\n";

    private final RecordingStore store = new RecordingStore();

    private FakeConnection open() {
        SessionSettings settings = new SessionSettingsBuilder().maxErrors(10).maxMessageOctets(1000).build();
        ListenerContext listener = new ListenerContext(settings, null, false, new ConnectionLimiter(1000, 100),
                EventLog.silent(), new SessionStats(), null);
        SessionServices services = new SessionServices(() -> 0L, Runnable::run, (deadline, task) -> { }, store);
        FakeConnection connection = new FakeConnection("127.0.0.1");
        connection.open(new SmtpSession(listener, c -> services));
        connection.takeOutput();
        return connection;
    }

    private static String rcpts(int n) {
        StringBuilder batch = new StringBuilder();
        for (int i = 0; i < n; i++) {
            batch.append("RCPT TO:<r").append(i).append("@example.net>\r\n");
        }
        return batch.toString();
    }

    private static int count(String text, String reply) {
        return text.split(Pattern.quote(reply), -1).length - 1;
    }

    @Test
    void twoHundredRcptsAndDataBehindARefusedMailAreAnsweredNotCounted() {
        FakeConnection c = open();
        c.feed(EHLO + "MAIL FROM:<a@example.org> SIZE=5000\r\n" + rcpts(200) + "DATA\r\n");
        String out = c.takeOutput();
        assertTrue(out.contains(TOO_LARGE), out);
        assertEquals(201, count(out, NEED_MAIL), "every RCPT and the DATA");
        assertFalse(out.contains("421"), out);
        assertTrue(c.isOpen());
        // The client tries again, smaller: the same session carries the message.
        c.feed("MAIL FROM:<a@example.org> SIZE=100\r\nRCPT TO:<b@example.net>\r\nDATA\r\nSubject: t\r\n\r\nbody\r\n.\r\n");
        store.completeCommits();
        out = c.takeOutput();
        assertTrue(out.startsWith("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 "), out);
        assertTrue(out.contains("250 2.0.0 Ok: queued as "), out);
    }

    @Test
    void bdatBehindARefusedMailIsAnsweredNotCounted() {
        FakeConnection c = open();
        StringBuilder chunks = new StringBuilder();
        for (int i = 0; i < 20; i++) {
            chunks.append("BDAT 5\r\nhello");
        }
        c.feed(EHLO + "MAIL FROM:<a@example.org> SIZE=5000\r\n" + rcpts(20) + chunks + "BDAT 0 LAST\r\nNOOP\r\n");
        String out = c.takeOutput();
        assertEquals(41, count(out, NEED_MAIL), "20 RCPTs and 21 chunks");
        assertTrue(out.endsWith(NEED_MAIL + "250 2.0.0 Ok\r\n"), out);
        assertTrue(c.isOpen());
    }

    @Test
    void afterRsetOrANewMailThe503sCountAgain() {
        FakeConnection c = open();
        c.feed(EHLO + "MAIL FROM:<a@example.org> SIZE=5000\r\nRSET\r\n" + rcpts(11));
        String out = c.takeOutput();
        assertEquals(10, count(out, NEED_MAIL), "the refused MAIL itself counts: with it, the 10th 503 is the 11th error");
        assertTrue(out.endsWith("421 4.7.0 Too many errors\r\n"), out);
        assertFalse(c.isOpen(), "the RSET ended the refused transaction: these 503s are the client's");

        FakeConnection syntax = open();
        syntax.feed(EHLO + "MAIL FROM:<a@example.org> SIZE=5000\r\nMAIL FROM:<broken\r\n" + rcpts(11));
        assertFalse(syntax.isOpen(), "a MAIL of its own, refused for its syntax, does not inherit the excuse");
    }

    @Test
    void a503WithoutARefusedMailStillCounts() {
        FakeConnection c = open();
        c.feed(EHLO + rcpts(11));
        assertTrue(c.takeOutput().contains("421 "));
        assertFalse(c.isOpen());
        FakeConnection noHelo = open();
        noHelo.feed("MAIL FROM:<a@example.org>\r\n" + rcpts(10));
        assertFalse(noHelo.isOpen(), "MAIL before EHLO is the client's mistake: its RCPTs' 503s count");
        FakeConnection accepted = open();
        accepted.feed(EHLO + "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\nx\r\n.\r\n");
        store.completeCommits();
        accepted.takeOutput();
        accepted.feed(rcpts(11));
        assertFalse(accepted.isOpen(), "after a finished message there is no refused MAIL to excuse them");
    }

    /**
     * The excuse is bounded by what one pipelined transaction holds (max_recipients RCPTs and a
     * DATA or BDAT): 5000 RCPTs behind one refused MAIL, sent after its 552 was read, are cut.
     */
    @Test
    void excused503sAreBoundedByWhatOnePipelinedTransactionCanHold() {
        SessionSettings settings = new SessionSettingsBuilder().maxErrors(10).maxRecipients(50).maxMessageOctets(1000).build();
        ListenerContext listener = new ListenerContext(settings, null, false, new ConnectionLimiter(1000, 100),
                EventLog.silent(), new SessionStats(), null);
        SessionServices services = new SessionServices(() -> 0L, Runnable::run, (deadline, task) -> { }, store);
        FakeConnection c = new FakeConnection("127.0.0.1");
        c.open(new SmtpSession(listener, x -> services));
        c.takeOutput();
        c.feed(EHLO + "MAIL FROM:<a@example.org> SIZE=5000\r\n" + rcpts(50) + "DATA\r\n");
        String out = c.takeOutput();
        assertEquals(51, count(out, NEED_MAIL), "one pipelined transaction's worth is excused");
        assertFalse(out.contains("421"), out);
        int batches = 0;
        while (c.isOpen() && batches < 100) { // each batch arrives after our replies went out
            c.feed(rcpts(50));
            c.takeOutput();
            batches++;
        }
        assertFalse(c.isOpen(), "RCPTs past one transaction's worth count again: cut with 421");
        assertEquals(1, batches, "cut within the first batch past the excuse");
    }
}
