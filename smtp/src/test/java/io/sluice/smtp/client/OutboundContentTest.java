package io.sluice.smtp.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/**
 * The wire forms of outbound content: CRLF only, no line over 998 octets, and for DATA dot-stuffed
 * with a final dot, for BDAT neither; the bulk encoder against the octet-by-octet reference.
 */
class OutboundContentTest {

    /** What DATA sends: the content with a stuffing dot before each dot line, then {@code .CRLF}. */
    static byte[] dataWire(OutboundContent c) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int at = 0;
        for (int i = 0; i < c.dotCount(); i++) {
            int dot = c.dotOffset(i);
            out.write(c.bytes(), at, dot - at);
            out.write('.');
            at = dot;
        }
        out.write(c.bytes(), at, c.length() - at);
        out.write('.');
        out.write('\r');
        out.write('\n');
        return out.toByteArray();
    }

    /** The DATA form with its stuffing and final dot removed: what BDAT must send. */
    static byte[] unstuff(byte[] data) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        boolean lineStart = true;
        for (int i = 0; i < data.length - 3; i++) {
            if (!(lineStart && data[i] == '.')) {
                out.write(data[i]);
            }
            lineStart = data[i] == '\n';
        }
        return out.toByteArray();
    }

    private static String wire(String content) {
        return new String(dataWire(OutboundContent.of(content.getBytes(StandardCharsets.ISO_8859_1))), StandardCharsets.ISO_8859_1);
    }

    private static String bdat(String content) {
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
    void theBdatFormIsNotStuffedAndHasNoFinalDot() {
        assertEquals(".a\r\nb.c\r\n.\r\n", bdat(".a\r\nb.c\r\n.\r\n"));
        assertEquals("x\r\n", bdat("x"));
        assertEquals("", bdat(""));
        OutboundContent c = OutboundContent.of(".a\r\n.\r\n".getBytes(StandardCharsets.US_ASCII));
        assertEquals(2, c.dotCount());
        assertEquals(c.length() + 2 + 3, c.dataLength());
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
        assertEquals("abc\r\n\u00e9\r\n.\r\n", new String(dataWire(c), StandardCharsets.ISO_8859_1));
    }

    @Test
    void binaryContentIsKeptVerbatim() {
        byte[] raw = {'S', ':', ' ', 'x', '\n', '\n', '.', 0, (byte) 0xff, '\r', 'z'};
        OutboundContent c = new OutboundContent(raw.length, true);
        ByteBuffer direct = ByteBuffer.allocateDirect(raw.length);
        direct.put(raw).flip();
        c.write(direct);
        c.finish();
        assertTrue(c.binary());
        assertTrue(c.eightBit());
        assertArrayEquals(raw, Arrays.copyOf(c.bytes(), c.length()));
    }

    // ---------------------------------------------------------------- bulk encoder = reference

    @Test
    void runScanFindsTheFirstLineEndAtEveryOffsetAndAlignment() {
        byte[] octets = {'a', (byte) 0x8d, (byte) 0x8a, 0, (byte) 0xff, 0x0c, 0x0e, 0x09, 0x0b, '.'}; // near misses
        for (int length = 0; length < 40; length++) {
            for (int at = -1; at < length; at++) {
                for (byte end : new byte[] {'\r', '\n'}) {
                    byte[] in = new byte[length];
                    for (int i = 0; i < length; i++) {
                        in[i] = octets[(i * 7 + length) % octets.length];
                    }
                    if (at >= 0) {
                        in[at] = end;
                    }
                    for (int from = 0; from <= length; from++) {
                        int expected = from;
                        while (expected < length && in[expected] != '\r' && in[expected] != '\n') {
                            expected++;
                        }
                        assertEquals(expected, OutboundContent.ordinaryRun(in, from, length), length + "/" + at + "/" + from);
                    }
                }
            }
        }
    }

    /** Lines of random lengths around the wrap limit, with CR, LF, CRLF, dots at line starts and 8-bit octets. */
    private static byte[] randomMessage(SplittableRandom random) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int lines = random.nextInt(0, 12);
        for (int l = 0; l < lines; l++) {
            int kind = random.nextInt(6);
            int length = kind == 0 ? random.nextInt(990, 2100) : kind == 1 ? 0 : random.nextInt(0, 120);
            for (int i = 0; i < length; i++) {
                int r = random.nextInt(100);
                byte b = r < 3 ? (byte) '\r' : r < 6 ? (byte) '\n' : r < 12 ? (byte) '.' : r < 16
                        ? (byte) random.nextInt(0x80, 0x100) : r < 20 ? (byte) ' ' : (byte) random.nextInt('0', 'z');
                out.write(b);
            }
            int end = random.nextInt(10);
            if (end < 6) {
                out.write('\r');
                out.write('\n');
            } else if (end == 6) {
                out.write('\n');
            } else if (end == 7) {
                out.write('\r');
            } else if (end == 8) {
                out.write('.'); // a dot right before the next line's start
                out.write('\n');
                out.write('.');
            }
        }
        return out.toByteArray();
    }

    /** Feeds {@code message} in random pieces, from heap buffers at an offset or from direct buffers. */
    private static OutboundContent bulk(byte[] message, SplittableRandom random) {
        OutboundContent c = new OutboundContent(random.nextInt(0, message.length + 2));
        int at = 0;
        while (at < message.length) {
            int n = random.nextInt(1, Math.min(message.length - at, random.nextBoolean() ? 7 : 5000) + 1);
            if (random.nextBoolean()) {
                byte[] padded = new byte[n + 10];
                System.arraycopy(message, at, padded, 5, n);
                c.write(ByteBuffer.wrap(padded, 3, n + 4).slice().position(2).limit(n + 2));
            } else {
                ByteBuffer direct = ByteBuffer.allocateDirect(n);
                direct.put(message, at, n).flip();
                c.write(direct);
            }
            at += n;
        }
        return c.finish();
    }

    @Test
    void bulkEncoderMatchesTheOctetByOctetReferenceForRandomInputsAndSplits() {
        SplittableRandom seeds = new SplittableRandom(20261128);
        for (int run = 0; run < 3000; run++) {
            long seed = seeds.nextLong();
            SplittableRandom random = new SplittableRandom(seed);
            byte[] message = randomMessage(random);
            ByteAtATimeContent reference = new ByteAtATimeContent();
            reference.write(message, 0, message.length);
            byte[] expected = reference.finish();
            OutboundContent c = bulk(message, random);
            assertArrayEquals(expected, dataWire(c), "DATA form, seed " + seed);
            assertArrayEquals(unstuff(expected), Arrays.copyOf(c.bytes(), c.length()), "BDAT form, seed " + seed);
            assertEquals(expected.length, c.dataLength(), "seed " + seed);
            assertEquals(reference.eightBit(), c.eightBit(), "seed " + seed);
            for (String line : new String(c.bytes(), 0, c.length(), StandardCharsets.ISO_8859_1).split("\r\n")) {
                assertTrue(line.length() <= OutboundContent.MAX_LINE_OCTETS, "seed " + seed);
            }
        }
    }

    // ---------------------------------------------------------------- read (in place) = reference

    /**
     * What the inbound side stores for ordinary mail, with the exceptions the fast path must hand
     * to the state machine: header and body lines of 0-120 octets and of 990-1001 octets (around
     * the limit, with and without a leading dot), now and then a bare LF or CR, a lone CR before
     * CRLF, an 8-bit octet, and a missing last line end.
     */
    private static byte[] mostlyCleanMessage(SplittableRandom random) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int lines = random.nextInt(0, 40);
        int headerLines = random.nextInt(0, 6);
        boolean defects = random.nextInt(3) == 0;
        for (int l = 0; l < lines; l++) {
            if (l == headerLines) {
                out.write('\r');
                out.write('\n');
                continue;
            }
            int length = random.nextInt(8) == 0 ? random.nextInt(990, 1002) : random.nextInt(0, 120);
            for (int i = 0; i < length; i++) {
                byte b = (byte) random.nextInt(' ', '~' + 1);
                if (i == 0 && random.nextInt(4) == 0) {
                    b = '.';
                } else if (defects && random.nextInt(2000) == 0) {
                    b = (byte) random.nextInt(0x80, 0x100);
                }
                out.write(b);
            }
            int end = defects ? random.nextInt(40) : 0;
            if (end == 1) {
                out.write('\n');
            } else if (end == 2) {
                out.write('\r');
            } else if (end == 3) {
                out.write('\r');
                out.write('\r');
                out.write('\n');
            } else if (end != 4 || l < lines - 1) {
                out.write('\r');
                out.write('\n');
            }
        }
        return out.toByteArray();
    }

    /** A stored message read back in random pieces (positional reads that return short). */
    private static OutboundContent.StoredContent stored(byte[] message, SplittableRandom random) {
        return (position, dst) -> {
            if (position >= message.length) {
                return -1;
            }
            int n = (int) Math.min(Math.min(dst.remaining(), message.length - position), random.nextInt(1, 3000));
            dst.put(message, (int) position, n);
            return n;
        };
    }

    private static void assertMatchesReference(byte[] message, OutboundContent c, String what) {
        ByteAtATimeContent reference = new ByteAtATimeContent();
        reference.write(message, 0, message.length);
        byte[] expected = reference.finish();
        assertArrayEquals(expected, dataWire(c), "DATA form, " + what);
        assertArrayEquals(unstuff(expected), Arrays.copyOf(c.bytes(), c.length()), "BDAT form, " + what);
        assertEquals(expected.length, c.dataLength(), what);
        assertEquals(reference.eightBit(), c.eightBit(), what);
        for (String line : new String(c.bytes(), 0, c.length(), StandardCharsets.ISO_8859_1).split("\r\n")) {
            assertTrue(line.length() <= OutboundContent.MAX_LINE_OCTETS, what);
        }
    }

    @Test
    void readInPlaceMatchesTheReferenceForMostlyCleanAndRandomMessages() throws IOException {
        SplittableRandom seeds = new SplittableRandom(20261129);
        for (int run = 0; run < 1200; run++) {
            long seed = seeds.nextLong();
            SplittableRandom random = new SplittableRandom(seed);
            byte[] message = run % 3 == 2 ? randomMessage(random) : mostlyCleanMessage(random);
            OutboundContent c = OutboundContent.read(stored(message, random), message.length, false);
            assertMatchesReference(message, c, "read, seed " + seed);
        }
    }

    @Test
    void writesSplitAnywhereMatchTheReferenceForMostlyCleanMessages() {
        SplittableRandom seeds = new SplittableRandom(11292026);
        for (int run = 0; run < 600; run++) {
            long seed = seeds.nextLong();
            SplittableRandom random = new SplittableRandom(seed);
            byte[] message = mostlyCleanMessage(random);
            assertMatchesReference(message, bulk(message, random), "writes, seed " + seed);
        }
    }

    @Test
    void linesAtTheLimitAreKeptAndOneOctetMoreIsWrapped() throws IOException {
        for (int length = 995; length <= 1000; length++) {
            for (boolean dot : new boolean[] {false, true}) {
                String line = (dot ? "." : "") + "b".repeat(length - (dot ? 1 : 0));
                byte[] message = ("S: x\r\n\r\n" + line + "\r\n" + line + "\r\n").getBytes(StandardCharsets.US_ASCII);
                OutboundContent c = OutboundContent.read(stored(message, new SplittableRandom(length)), message.length, false);
                assertMatchesReference(message, c, "length " + length + (dot ? " with a dot" : ""));
                boolean fits = length + (dot ? 1 : 0) <= OutboundContent.MAX_LINE_OCTETS;
                assertEquals(fits ? 0 : 2, c.wrappedLines(), "length " + length + (dot ? " with a dot" : ""));
            }
        }
    }

    @Test
    void readKeepsBinaryContentVerbatim() throws IOException {
        byte[] raw = {'S', ':', ' ', 'x', '\n', '\n', '.', 0, (byte) 0xff, '\r', 'z'};
        OutboundContent c = OutboundContent.read(stored(raw, new SplittableRandom(1)), raw.length, true);
        assertTrue(c.binary());
        assertTrue(c.eightBit());
        assertEquals(0, c.dotCount());
        assertArrayEquals(raw, Arrays.copyOf(c.bytes(), c.length()));
    }

    @Test
    void readFailsWhenTheStoredContentIsShorterThanItsSize() {
        byte[] message = "a\r\nb\r\n".getBytes(StandardCharsets.US_ASCII);
        IOException e = assertThrows(IOException.class,
                () -> OutboundContent.read(stored(message, new SplittableRandom(2)), message.length + 5, false));
        assertTrue(e.getMessage().contains("after 6 of 11"), e.getMessage());
    }
}
