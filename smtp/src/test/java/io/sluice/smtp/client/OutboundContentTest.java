package io.sluice.smtp.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

/** The wire form of outbound content: CRLF only, dot-stuffed, no line over 998 octets, a final dot. */
class OutboundContentTest {

    private static String wire(String content) {
        OutboundContent c = OutboundContent.of(content.getBytes(StandardCharsets.ISO_8859_1));
        return new String(c.bytes(), 0, c.length(), StandardCharsets.ISO_8859_1);
    }

    @Test
    void dotsAtLineStartAreStuffedAndTheEndIsAdded() {
        assertEquals("..a\r\nb.c\r\n..\r\n.\r\n", wire(".a\r\nb.c\r\n.\r\n"));
        assertEquals("x\r\n.\r\n", wire("x"), "a missing last line end is added");
        assertEquals(".\r\n", wire(""));
    }

    @Test
    void bareCrAndLfBecomeCrlf() {
        assertEquals("a\r\nb\r\nc\r\n\r\n.\r\n", wire("a\nb\rc\r\r\n"));
        assertEquals("a\r\n..b\r\n.\r\n", wire("a\n.b"), "a dot after a bare LF starts a line too");
    }

    @Test
    void longLinesAreWrappedFoldedInTheHeader() {
        String wire = wire("X: " + "h".repeat(1200) + "\r\n\r\n" + "." + "b".repeat(1200) + "\r\n");
        for (String line : wire.split("\r\n")) {
            assertTrue(line.length() <= OutboundContent.MAX_LINE_OCTETS, "line of " + line.length());
        }
        String[] lines = wire.split("\r\n");
        assertTrue(lines[1].startsWith(" h"), "header continuation is folded: " + lines[1]);
        assertTrue(lines[3].startsWith("..b"), "body line stuffed");
        assertFalse(lines[4].startsWith(" "), "body wrap adds no space");
    }

    @Test
    void eightBitIsNoticedAcrossWrites() {
        OutboundContent c = new OutboundContent(10);
        c.write(ByteBuffer.wrap("abc\r".getBytes(StandardCharsets.ISO_8859_1)));
        assertFalse(c.eightBit());
        c.write(ByteBuffer.wrap(new byte[] {'\n', (byte) 0xe9, '\r', '\n'}));
        c.finish();
        assertTrue(c.eightBit());
        assertEquals("abc\r\n\u00e9\r\n.\r\n", new String(c.bytes(), 0, c.length(), StandardCharsets.ISO_8859_1));
    }
}
