package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

import io.sluice.smtp.spool.BodyType;

/** BINARYMIME (RFC 3030 3) on the server side: offered beside CHUNKING, BDAT only, kept byte for byte. */
class BinaryMimeSessionTest {

    private final RecordingStore store = new RecordingStore();

    private FakeConnection open(boolean binaryMime) {
        SessionSettings settings = new SessionSettingsBuilder().binaryMime(binaryMime).build();
        ListenerContext listener = new ListenerContext(settings, null, false, new ConnectionLimiter(1000, 100),
                EventLog.silent(), new SessionStats(), null);
        SessionServices services = new SessionServices(() -> 0L, Runnable::run, (deadline, task) -> { }, store);
        FakeConnection connection = new FakeConnection("127.0.0.1");
        connection.open(new SmtpSession(listener, c -> services));
        connection.takeOutput();
        return connection;
    }

    /** Every octet value, lines that DATA would unstuff, end or normalise, and a line far over 1000 octets. */
    static byte[] binaryBody() {
        StringBuilder text = new StringBuilder("Subject: binary\r\nMIME-Version: 1.0\r\n\r\n");
        for (int b = 0; b < 256; b++) {
            text.append((char) b);
        }
        text.append("\r\n.\r\n..dot\r\nbare LF\nbare CR\r").append("z".repeat(3000)).append("\n.\n\r\n.");
        return text.toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    @Test
    void ehloOffersBinaryMimeBesideChunkingUnlessTurnedOff() {
        FakeConnection on = open(true);
        on.feed("EHLO client.example\r\n");
        String offered = on.takeOutput();
        assertTrue(offered.contains("250-CHUNKING\r\n250 BINARYMIME\r\n"), offered);
        FakeConnection off = open(false);
        off.feed("EHLO client.example\r\n");
        String reply = off.takeOutput();
        assertTrue(reply.contains("CHUNKING"), reply);
        assertFalse(reply.contains("BINARYMIME"), reply);
    }

    @Test
    void binaryMimeIsRefusedAtMailWhenNotOffered() {
        FakeConnection c = open(false);
        c.feed("EHLO client.example\r\nMAIL FROM:<a@example.org> BODY=BINARYMIME\r\n");
        assertTrue(c.takeOutput().endsWith("555 5.5.4 Unsupported parameter\r\n"));
    }

    @Test
    void dataInABinaryMimeTransactionIs503AndBdatStoresTheBodyByteExact() {
        FakeConnection c = open(true);
        c.feed("EHLO client.example\r\nMAIL FROM:<a@example.org> BODY=BINARYMIME\r\nRCPT TO:<b@example.net>\r\nDATA\r\n");
        assertTrue(c.takeOutput().endsWith("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n503 5.5.1 BINARYMIME requires BDAT\r\n"));

        byte[] body = binaryBody();
        int half = body.length / 2;
        c.feed(("BDAT " + half + "\r\n").getBytes(StandardCharsets.US_ASCII));
        c.feed(java.util.Arrays.copyOfRange(body, 0, half));
        c.feed(("BDAT " + (body.length - half) + " LAST\r\n").getBytes(StandardCharsets.US_ASCII));
        c.feed(java.util.Arrays.copyOfRange(body, half, body.length));
        store.completeCommits();
        String replies = c.takeOutput();
        assertTrue(replies.startsWith("250 2.0.0 Ok\r\n250 2.0.0 Ok: queued as "), replies);
        assertEquals(new String(body, StandardCharsets.ISO_8859_1), store.onlyBody(), "no unstuffing, no CRLF repair");
        assertEquals(BodyType.BINARY_MIME, store.envelopes.values().iterator().next().bodyType());
    }
}
