package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SentStampScannerTest {

    private static final String STAMPED = "From: <a@example.org>\r\nSubject: x\r\n"
            + "X-Sluice-Sent: 1764355200123456\r\nMessage-ID: <1@x>\r\n\r\nbody\r\n";

    private final SentStampScanner scanner = new SentStampScanner();

    private long scanWhole(long id, String message) {
        scanner.begin(id);
        scanner.scan(id, direct(message));
        return scanner.finish(id);
    }

    private static ByteBuffer direct(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
        ByteBuffer buffer = ByteBuffer.allocateDirect(bytes.length + 8);
        buffer.position(3); // the scan must honour position and limit
        buffer.put(bytes).flip().position(3);
        return buffer;
    }

    @Test
    void findsTheStampAndLeavesTheBufferAlone() {
        scanner.begin(64);
        ByteBuffer data = direct(STAMPED);
        int position = data.position();
        scanner.scan(64, data);
        assertEquals(position, data.position(), "scanning does not consume");
        assertEquals(1764355200123456L, scanner.finish(64));
    }

    @Test
    void findsTheStampAtEverySplitPoint() {
        for (int split = 0; split <= STAMPED.length(); split++) {
            scanner.begin(128);
            scanner.scan(128, direct(STAMPED.substring(0, split)));
            scanner.scan(128, direct(STAMPED.substring(split)));
            assertEquals(1764355200123456L, scanner.finish(128), "split at " + split);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "Subject: x\r\n\r\nX-Sluice-Sent: 123\r\n",          // in the body: not a header
        "Subject: x\r\n X-Sluice-Sent: 123\r\n\r\n",          // a folded continuation line
        "X-Sluice-Sentx: 123\r\n\r\n",
        "X-Sluice-Sent: abc\r\n\r\n",
        "X-Sluice-Sent: 1234567890123456789012\r\n\r\n",     // would overflow
        "Subject: no stamp at all\r\n\r\nbody\r\n",
        ""})
    void noStampWhereThereIsNone(String message) {
        assertEquals(SentStampScanner.NO_STAMP, scanWhole(192, message));
    }

    @Test
    void headerNameIsCaseInsensitiveAndWhitespaceIsSkipped() {
        assertEquals(42, scanWhole(256, "x-sluice-sent:\t  42\r\n\r\n"));
        assertEquals(7, scanWhole(256, "Subject: a\r\nX-SLUICE-SENT: 7\r\n\r\n"));
    }

    @Test
    void interleavedMessagesKeepTheirOwnState() {
        long a = 1L << 6;
        long b = 2L << 6;
        scanner.begin(a);
        scanner.begin(b);
        scanner.scan(a, direct("X-Sluice-Sent: 11"));
        scanner.scan(b, direct("X-Sluice-Sent: 22"));
        scanner.scan(a, direct("1\r\n\r\n"));
        scanner.scan(b, direct("2\r\n\r\n"));
        assertEquals(111, scanner.finish(a));
        assertEquals(222, scanner.finish(b));
        assertEquals(SentStampScanner.NO_STAMP, scanner.finish(a), "finished twice");
    }

    @Test
    void aReusedSlotLosesTheOlderMessageOnly() {
        long older = 5L << 6;
        long newer = older + ((long) SentStampScanner.SLOTS << 6);
        scanner.begin(older);
        scanner.begin(newer);
        scanner.scan(older, direct(STAMPED));
        scanner.scan(newer, direct(STAMPED));
        assertEquals(SentStampScanner.NO_STAMP, scanner.finish(older));
        assertEquals(1764355200123456L, scanner.finish(newer));
    }
}
