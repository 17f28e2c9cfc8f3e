package io.sluice.smtp.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

/** A DKIM-Signature put in front of encoded content: BDAT and DATA forms, dot offsets, 8-bit flag, lengths. */
class OutboundContentPrependTest {
    private static final byte[] FIELD = "DKIM-Signature: v=1; a=ed25519-sha256;\r\n b=abc\r\n".getBytes(StandardCharsets.US_ASCII);

    @Test
    void theFieldGoesFirstAndDotsStillGetStuffed() {
        OutboundContent c = OutboundContent.of(".a\r\nb\r\n.\r\n".getBytes(StandardCharsets.US_ASCII));
        int before = c.length();
        c.prepend(FIELD);
        assertEquals(before + FIELD.length, c.length());
        assertEquals(2, c.dotCount());
        assertEquals(new String(FIELD, StandardCharsets.US_ASCII) + ".a\r\nb\r\n.\r\n",
                new String(c.bytes(), 0, c.length(), StandardCharsets.US_ASCII), "BDAT form");
        assertEquals(new String(FIELD, StandardCharsets.US_ASCII) + "..a\r\nb\r\n..\r\n.\r\n",
                new String(OutboundContentTest.dataWire(c), StandardCharsets.US_ASCII), "DATA form");
        assertEquals(c.length() + 2 + 3, c.dataLength());
    }

    @Test
    void aReadMessageKeepsItsEightBitFlagAndWrappedLines() throws IOException {
        byte[] stored = ("Subject: caf\u00e9\r\n\r\n" + "y".repeat(2000) + "\r\n").getBytes(StandardCharsets.UTF_8);
        OutboundContent c = OutboundContent.read((position, dst) -> {
            int n = Math.min(dst.remaining(), stored.length - (int) position);
            dst.put(stored, (int) position, n);
            return n;
        }, stored.length, false);
        int wrapped = c.wrappedLines();
        c.prepend(FIELD);
        assertTrue(c.eightBit());
        assertEquals(2, wrapped, "2000 octets: 998 + 998 + 4");
        assertEquals(wrapped, c.wrappedLines());
        String text = new String(c.bytes(), 0, c.length(), StandardCharsets.UTF_8);
        assertTrue(text.startsWith("DKIM-Signature: v=1;") && text.contains("\r\n\r\n" + "y".repeat(998) + "\r\n"), text);
    }
}
