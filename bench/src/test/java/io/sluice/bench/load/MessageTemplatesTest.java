package io.sluice.bench.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class MessageTemplatesTest {

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2, 3, 76, 77, 78, 79, 80, 155, 156, 157, 158, 1000, 65536})
    void bodyHasTheSizeShortLinesAndNoDotLines(int bodyBytes) {
        String wire = new String(MessageTemplates.buildBody(bodyBytes), StandardCharsets.US_ASCII);
        assertTrue(wire.endsWith(".\r\n"), "terminated");
        String body = wire.substring(0, wire.length() - 3);
        assertEquals(bodyBytes == 1 ? 2 : bodyBytes, body.length(), "a 1-byte body is rounded up to CRLF");
        assertTrue(body.isEmpty() || body.endsWith("\r\n"), "ends with CRLF before the terminator");
        assertEquals(0, count("\r\n" + body, "\r\n.\r\n"), "no dot line inside");
        for (String line : body.split("\r\n", -1)) {
            assertTrue(line.length() <= MessageTemplates.LINE_CHARS, "line of " + line.length());
            assertFalse(line.startsWith("."));
            assertFalse(line.contains("\r") || line.contains("\n"), "no bare CR or LF");
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1024, 1025, 16 * 1024, 256 * 1024})
    void messageHasTheRequestedSize(int size) {
        MessageTemplates templates = new MessageTemplates(SizeDistribution.fixed(size), "a@b.example", "c@d.example", 7);
        String wire = wire(templates);
        assertTrue(wire.endsWith("\r\n\r\n") || !wire.substring(0, wire.length() - 3).contains("\r\n.\r\n"));
        assertEquals(size, wire.length() - 3);
        assertEquals(size, templates.messageBytes(0));
    }

    @Test
    void stampWritesTheIdAndTimeInPlace() {
        MessageTemplates templates = new MessageTemplates(SizeDistribution.fixed(1024), "a@b.example", "c@d.example", 0xabcL);
        byte[] header = templates.copyHeaders(0);
        templates.stamp(header, 0x1234L, 1_700_000_000_123_456L);
        String text = new String(header, StandardCharsets.US_ASCII);
        assertTrue(text.contains("Message-ID: <0000000000000abc.0000000000001234@load.sluice.test>\r\n"), text);
        assertTrue(text.contains("X-Sluice-Sent: 1700000000123456\r\n"), text);
        assertFalse(new String(templates.copyHeaders(0), StandardCharsets.US_ASCII).contains("1234@"),
                "the shared template is untouched");
    }

    private static String wire(MessageTemplates templates) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(templates.copyHeaders(0));
        out.writeBytes(templates.body(0));
        return out.toString(StandardCharsets.US_ASCII);
    }

    private static int count(String text, String part) {
        int n = 0;
        for (int i = text.indexOf(part); i >= 0; i = text.indexOf(part, i + 1)) {
            n++;
        }
        return n;
    }
}
