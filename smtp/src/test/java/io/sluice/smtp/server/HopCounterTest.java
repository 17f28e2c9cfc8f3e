package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class HopCounterTest {

    private static final String RECEIVED = "Received: from a.example by b.example;\r\n\tSat, 28 Nov 2026 10:00:00 +0000\r\n";

    private final HopCounter counter = new HopCounter();

    private static ByteBuffer direct(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
        ByteBuffer buffer = ByteBuffer.allocateDirect(bytes.length + 8);
        buffer.position(3); // the scan must honour position and limit
        buffer.put(bytes).flip().position(3);
        return buffer;
    }

    private int count(String message, int maxHops) {
        counter.begin(maxHops);
        counter.scan(direct(message));
        return counter.hops();
    }

    private static String message(int hops) {
        return "Return-Path: <a@example.org>\r\n" + RECEIVED.repeat(hops) + "Subject: x\r\n\r\nbody\r\n";
    }

    @Test
    void countsFoldedReceivedFieldsOnceAndLeavesTheBufferAlone() {
        ByteBuffer data = direct(message(3));
        int position = data.position();
        counter.begin(50);
        counter.scan(data);
        assertEquals(position, data.position(), "scanning does not consume");
        assertEquals(3, counter.hops());
        assertFalse(counter.tooManyHops());
    }

    @Test
    void countsTheSameAtEverySplitPointAndByteByByte() {
        String text = "received :x\r\n" + message(4) + "Received: in the body\r\n";
        for (int split = 0; split <= text.length(); split++) {
            counter.begin(50);
            counter.scan(direct(text.substring(0, split)));
            counter.scan(direct(text.substring(split)));
            assertEquals(5, counter.hops(), "split at " + split);
        }
        counter.begin(50);
        for (int i = 0; i < text.length(); i++) {
            counter.scan(direct(text.substring(i, i + 1)));
        }
        assertEquals(5, counter.hops(), "one byte per read");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "RECEIVED: x\\r\\nreceived:x\\r\\nReCeIvEd\\t: x\\r\\n\\r\\n| 3",  // any case, blanks before the colon
        "Received-SPF: pass\\r\\nX-Received: x\\r\\nReceivedx: y\\r\\n\\r\\n| 0",
        "Subject: x\\r\\n Received: folded into Subject\\r\\n\\r\\n| 0",
        "Subject: x\\r\\n\\r\\nReceived: in the body\\r\\n| 0",
        "Subject: x\\r\\n\\nReceived: after a bare LF empty line\\r\\n| 0",
        "Received\\r\\nReceived: y\\r\\n\\r\\n| 1",                   // a name cut by the line end
        "Rec\\r\\nReceived: y\\r\\n\\r\\n| 1",
        "Received: only header, no body| 1",
        "\\r\\nReceived: no header at all\\r\\n| 0",
    })
    void countsOnlyReceivedFieldsOfTheHeaderSection(String text, int hops) {
        assertEquals(hops, count(text.replace("\\r", "\r").replace("\\n", "\n").replace("\\t", "\t"), 50));
    }

    @Test
    void limitIsExceededOnlyPastIt() {
        assertEquals(50, count(message(50), 50));
        assertFalse(counter.tooManyHops());
        count(message(51), 50);
        assertTrue(counter.tooManyHops());
        assertEquals(51, counter.hops(), "stops counting once over the limit");
        assertEquals(51, count(message(80), 50));
        assertTrue(counter.tooManyHops());
    }

    @Test
    void zeroLimitCountsNothing() {
        assertEquals(0, count(message(500), 0));
        assertFalse(counter.tooManyHops());
    }

    @Test
    void aNewMessageStartsFromZero() {
        count(message(60), 50);
        assertTrue(counter.tooManyHops());
        assertEquals(1, count(message(1), 50));
        assertFalse(counter.tooManyHops());
    }
}
