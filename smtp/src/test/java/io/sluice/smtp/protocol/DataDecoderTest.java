package io.sluice.smtp.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class DataDecoderTest {

    static DataDecoder decoder() {
        return new DataDecoder(BareNewline.NORMALIZE, DataDecoder.DEFAULT_MAX_LINE_OCTETS, 0);
    }

    static Wire.Decoded decode(String wire) {
        return Wire.decodeAll(decoder(), Wire.octets(wire), 4096);
    }

    @Test
    void decodesAPlainMessageAndStopsAtTheEnd() {
        String wire = "Subject: hi\r\n\r\nbody line\r\n.\r\nQUIT\r\n";
        DataDecoder decoder = decoder();
        Wire.Decoded decoded = Wire.decodeAll(decoder, Wire.octets(wire), 4096);
        assertTrue(decoded.done);
        assertEquals("Subject: hi\r\n\r\nbody line\r\n", decoded.text());
        assertEquals(wire.indexOf("QUIT"), decoded.consumed, "stops just after CRLF.CRLF");
        assertEquals(decoded.content.length, decoder.messageOctets());
        assertFalse(decoder.bareNewlineSeen());
        assertFalse(decoder.lineTooLong());
        assertFalse(decoder.tooLarge());
    }

    @Test
    void theDataCommandsCrlfCountsSoALoneDotEndsAnEmptyMessage() {
        Wire.Decoded decoded = decode(".\r\nNOOP\r\n");
        assertTrue(decoded.done);
        assertEquals("", decoded.text());
        assertEquals(3, decoded.consumed);
    }

    @Test
    void incompleteMessageIsNotDone() {
        assertFalse(decode("a\r\n.\r").done);
        assertFalse(decode("a\r\n.").done);
        assertFalse(decode("a\r\n").done);
        assertFalse(decode("a.\r\n").done);
    }

    static Stream<Arguments> dotStuffing() {
        return Stream.of(
            Arguments.of("..x\r\n.\r\n", ".x\r\n"),
            Arguments.of("a\r\n..\r\n.\r\n", "a\r\n.\r\n"),
            Arguments.of("...\r\n.\r\n", "..\r\n"),
            Arguments.of(".x\r\n.\r\n", "x\r\n"),
            Arguments.of("a.\r\nb.c\r\n . \r\n.\r\n", "a.\r\nb.c\r\n . \r\n"),
            Arguments.of("..\r\n..\r\n.\r\n", ".\r\n.\r\n"),
            Arguments.of("a\r\n\r\n.\r\n", "a\r\n\r\n"));
    }

    @ParameterizedTest
    @MethodSource("dotStuffing")
    void leadingDotOfEveryLineIsRemoved(String wire, String content) {
        Wire.Decoded decoded = decode(wire);
        assertTrue(decoded.done);
        assertEquals(content, decoded.text());
        assertEquals(wire.length(), decoded.consumed);
    }

    /** Each smuggling variant sits between "a" and a smuggled command; only the final CRLF.CRLF ends data. */
    static Stream<Arguments> smuggling() {
        return Stream.of(
            Arguments.of("\n.\n", "a\r\n.\r\n"),
            Arguments.of("\r.\r", "a\r.\r"),
            Arguments.of("\n.\r\n", "a\r\n.\r\n"),
            Arguments.of("\r\n.\n", "a\r\n\r\n"),
            Arguments.of("\r.\r\n", "a\r.\r\n"),
            Arguments.of("\n.\r", "a\r\n.\r"),
            Arguments.of("\r\n.\r\r\n", "a\r\n\r\r\n"),
            Arguments.of("\r\n.\r\r", "a\r\n\r\r"),
            Arguments.of("\n\n.\n\n", "a\r\n\r\n.\r\n\r\n"));
    }

    @ParameterizedTest
    @MethodSource("smuggling")
    void smugglingVariantsNeverEndData(String variant, String decodedStart) {
        for (BareNewline policy : BareNewline.values()) {
            String wire = "a" + variant + "MAIL FROM:<evil@x.example>\r\nb\r\n.\r\nRSET\r\n";
            DataDecoder decoder = new DataDecoder(policy, 1000, 0);
            Wire.Decoded decoded = Wire.decodeAll(decoder, Wire.octets(wire), 4096);
            assertTrue(decoded.done);
            assertEquals(wire.indexOf("RSET"), decoded.consumed, "the real CRLF.CRLF ends data");
            assertEquals(decodedStart + "MAIL FROM:<evil@x.example>\r\nb\r\n", decoded.text());
            assertTrue(decoder.bareNewlineSeen());
            assertEquals(policy, decoder.policy());
        }
    }

    @ParameterizedTest
    @EnumSource(BareNewline.class)
    void bareLfIsStoredAsCrlfAndBareCrIsKept(BareNewline policy) {
        DataDecoder decoder = new DataDecoder(policy, 1000, 0);
        Wire.Decoded lf = Wire.decodeAll(decoder, Wire.octets("a\nb\n\r\n.\r\n"), 4096);
        assertEquals("a\r\nb\r\n\r\n", lf.text());
        assertTrue(decoder.bareNewlineSeen());
        Wire.Decoded cr = Wire.decodeAll(decoder, Wire.octets("a\rb\r\r\n.\r\n"), 4096);
        assertEquals("a\rb\r\r\n", cr.text());
        assertTrue(decoder.bareNewlineSeen());
        Wire.decodeAll(decoder, Wire.octets("clean\r\n.\r\n"), 4096);
        assertFalse(decoder.bareNewlineSeen(), "reset clears the flag");
    }

    @ParameterizedTest
    @ValueSource(ints = {998, 999, 1000, 1001, 1002})
    void lineLimitIs1000OctetsIncludingCrlf(int octetsWithCrlf) {
        DataDecoder decoder = decoder();
        String line = "x".repeat(octetsWithCrlf - 2) + "\r\n";
        Wire.Decoded decoded = Wire.decodeAll(decoder, Wire.octets("short\r\n" + line + "short\r\n.\r\n"), 4096);
        assertTrue(decoded.done);
        assertEquals(octetsWithCrlf > 1000, decoder.lineTooLong());
        assertEquals("short\r\n" + line + "short\r\n", decoded.text(), "a long line is still delivered whole");
    }

    @Test
    void theStuffedDotDoesNotCountTowardTheLineLimit() {
        DataDecoder decoder = decoder();
        Wire.decodeAll(decoder, Wire.octets("." + ".".repeat(998) + "\r\n.\r\n"), 4096);
        assertFalse(decoder.lineTooLong());
        Wire.decodeAll(decoder, Wire.octets("." + ".".repeat(999) + "\r\n.\r\n"), 4096);
        assertTrue(decoder.lineTooLong());
    }

    @Test
    void bareLfEndsALineForTheLineLimit() {
        DataDecoder decoder = decoder();
        String line = "y".repeat(900);
        Wire.decodeAll(decoder, Wire.octets(line + "\n" + line + "\r\n.\r\n"), 4096);
        assertFalse(decoder.lineTooLong());
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3, 16, 4096})
    void sizeLimitStopsOutputButConsumesToTheEnd(int outCapacity) {
        DataDecoder decoder = new DataDecoder(BareNewline.NORMALIZE, 1000, 100);
        StringBuilder wire = new StringBuilder();
        for (int i = 0; i < 2000; i++) {
            wire.append("line ").append(i).append(" of a message that is far too large\r\n");
        }
        String all = wire.append(".\r\nQUIT\r\n").toString();
        Wire.Decoded decoded = Wire.decodeAll(decoder, Wire.octets(all), outCapacity);
        assertTrue(decoded.done);
        assertTrue(decoder.tooLarge());
        assertEquals(all.indexOf("QUIT"), decoded.consumed);
        assertTrue(decoded.content.length <= 100, "output stops at the limit: " + decoded.content.length);
        assertEquals(all.length() - ".\r\nQUIT\r\n".length(), decoder.messageOctets(), "counts past the limit");
    }

    @Test
    void messageOfExactlyTheLimitIsNotTooLarge() {
        DataDecoder decoder = new DataDecoder(BareNewline.NORMALIZE, 1000, 12);
        Wire.Decoded decoded = Wire.decodeAll(decoder, Wire.octets("0123456789\r\n.\r\n"), 4096);
        assertFalse(decoder.tooLarge());
        assertEquals("0123456789\r\n", decoded.text());
        Wire.decodeAll(decoder, Wire.octets("01234567890\r\n.\r\n"), 4096);
        assertTrue(decoder.tooLarge());
        assertEquals(13, decoder.messageOctets());
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3, 5, 7, 64, 1000})
    void outputBufferSmallerThanInputWorks(int outCapacity) {
        String wire = bigMessage(64 * 1024);
        Wire.Decoded reference = Wire.decodeAll(decoder(), Wire.octets(wire), 256 * 1024);
        Wire.Decoded decoded = Wire.decodeAll(decoder(), Wire.octets(wire), outCapacity);
        assertTrue(decoded.done);
        assertEquals(reference.consumed, decoded.consumed);
        assertArrayEquals(reference.content, decoded.content);
        assertEquals(expectedContent(wire), decoded.text());
    }

    /** Realistic 78-octet lines, every seventh dot-stuffed, then the end mark. */
    static String bigMessage(int approximateOctets) {
        StringBuilder wire = new StringBuilder("Subject: test\r\n\r\n");
        for (int i = 0; wire.length() < approximateOctets; i++) {
            String line = (i % 7 == 0 ? ".." : "") + ("line " + i + " ").repeat(12);
            wire.append(line, 0, Math.min(line.length(), 78)).append("\r\n");
        }
        return wire.append(".\r\n").toString();
    }

    /** A plain reference for well-formed input: split at CRLF, drop one leading dot, stop at ".". */
    static String expectedContent(String wire) {
        StringBuilder content = new StringBuilder();
        for (String line : wire.split("\r\n", -1)) {
            if (line.equals(".")) {
                return content.toString();
            }
            content.append(line.startsWith(".") ? line.substring(1) : line).append("\r\n");
        }
        throw new AssertionError("no end of data");
    }

    static Stream<String> trickyMessages() {
        return Stream.of(
            "..a\r\n.b\r\nc.\r\n\r\n.\r\n",
            "a\n.\nb\r.\rc\n.\r\nd\r\n.\ne\r.\r\nf\n.\rg\r\n.\r\r\nh\r\n.\r\n",
            "\r\r\n\n\r\n..\r\n.\r\n",
            "x".repeat(30) + "\r\n" + "y".repeat(12) + "\r\n.\r\nextra");
    }

    @ParameterizedTest
    @MethodSource("trickyMessages")
    void everySplitPointGivesTheSameResult(String message) {
        byte[] wire = Wire.octets(message);
        DataDecoder decoder = new DataDecoder(BareNewline.REJECT, 20, 0);
        Wire.Decoded whole = Wire.decodeAll(decoder, wire, 4096);
        boolean bare = decoder.bareNewlineSeen();
        boolean tooLong = decoder.lineTooLong();
        assertTrue(whole.done);
        for (int outCapacity : new int[] {2, 3, 4096}) {
            for (int i = 0; i <= wire.length; i++) {
                assertSame(whole, Wire.decodeAll(decoder, wire, outCapacity, i), decoder, bare, tooLong, "split " + i);
                for (int j = i; j <= wire.length; j += 2) {
                    assertSame(whole, Wire.decodeAll(decoder, wire, outCapacity, i, j), decoder, bare, tooLong,
                            "split " + i + "," + j + " out " + outCapacity);
                }
            }
        }
    }

    private static void assertSame(Wire.Decoded expected, Wire.Decoded actual, DataDecoder decoder, boolean bare,
                                   boolean tooLong, String where) {
        assertTrue(actual.done, where);
        assertEquals(expected.consumed, actual.consumed, where);
        assertEquals(expected.text(), actual.text(), where);
        assertEquals(bare, decoder.bareNewlineSeen(), where);
        assertEquals(tooLong, decoder.lineTooLong(), where);
        assertEquals(expected.content.length, decoder.messageOctets(), where);
    }

    /**
     * The multi-line bulk copy must give exactly what the octet-by-octet states give: random wires
     * of short lines, dots, bare CRs and LFs, under random line and size limits, decoded whole into
     * a large buffer and one octet at a time into a two-octet buffer (where whole lines never fit).
     * Past the size limit only the flags and counts are compared: what was stored before the limit
     * depends on the buffer sizes there (as it did before the bulk copy), and the message is refused.
     */
    @Test
    void wholeLinesCopiedInBulkDecodeLikeOneOctetAtATime() {
        java.util.Random random = new java.util.Random(20261129);
        byte[] alphabet = Wire.octets("aaaaaaaaaaaaaaaaaaaa...\r\r\n\n\n\n\n\n");
        for (int trial = 0; trial < 2000; trial++) {
            byte[] body = new byte[random.nextInt(300)];
            for (int i = 0; i < body.length; i++) {
                body[i] = alphabet[random.nextInt(alphabet.length)];
            }
            byte[] wire = java.util.Arrays.copyOf(body, body.length + 5);
            System.arraycopy(Wire.octets("\r\n.\r\n"), 0, wire, body.length, 5);
            int maxLine = 3 + random.nextInt(40);
            long maxMessage = random.nextBoolean() ? 0 : 1 + random.nextInt(300);
            DataDecoder decoder = new DataDecoder(BareNewline.NORMALIZE, maxLine, maxMessage);
            int[] cuts = new int[wire.length - 1];
            for (int i = 0; i < cuts.length; i++) {
                cuts[i] = i + 1;
            }
            Wire.Decoded octetwise = Wire.decodeAll(decoder, wire, 2, cuts);
            boolean[] flags = {decoder.bareNewlineSeen(), decoder.lineTooLong(), decoder.tooLarge()};
            long octets = decoder.messageOctets();
            int outCapacity = new int[] {2, 3, 17, 4096}[random.nextInt(4)];
            Wire.Decoded whole = Wire.decodeAll(decoder, wire, outCapacity);
            String where = "trial " + trial + " out " + outCapacity + " maxLine " + maxLine + " maxMessage " + maxMessage;
            assertEquals(octetwise.done, whole.done, where);
            assertEquals(octetwise.consumed, whole.consumed, where);
            if (!flags[2]) { // past the size limit the stored prefix depends on the buffer sizes, and is discarded
                assertEquals(octetwise.text(), whole.text(), where);
            }
            assertArrayEquals(flags, new boolean[] {decoder.bareNewlineSeen(), decoder.lineTooLong(), decoder.tooLarge()},
                    where);
            assertEquals(octets, decoder.messageOctets(), where);
        }
    }

    @Test
    void oneOctetAtATimeGivesTheSameResult() {
        byte[] wire = Wire.octets(bigMessage(4096));
        int[] cuts = new int[wire.length - 1];
        for (int i = 0; i < cuts.length; i++) {
            cuts[i] = i + 1;
        }
        Wire.Decoded whole = Wire.decodeAll(decoder(), wire, 4096);
        Wire.Decoded bytewise = Wire.decodeAll(decoder(), wire, 2, cuts);
        assertEquals(whole.consumed, bytewise.consumed);
        assertArrayEquals(whole.content, bytewise.content);
    }

    @Test
    void littleEndianAndHeapBuffersDecodeTheSame() {
        byte[] wire = Wire.octets(bigMessage(8192));
        String expected = expectedContent(bigMessage(8192));
        for (ByteOrder order : new ByteOrder[] {ByteOrder.BIG_ENDIAN, ByteOrder.LITTLE_ENDIAN}) {
            for (ByteBuffer in : new ByteBuffer[] {ByteBuffer.wrap(wire), ByteBuffer.allocateDirect(wire.length).put(wire).flip()}) {
                in.order(order);
                ByteBuffer out = ByteBuffer.allocateDirect(wire.length);
                DataDecoder decoder = decoder();
                assertTrue(decoder.decode(in, out));
                out.flip();
                byte[] content = new byte[out.remaining()];
                out.get(content);
                assertEquals(expected, new String(content, java.nio.charset.StandardCharsets.ISO_8859_1), order + " " + in);
            }
        }
    }

    @Test
    void decodeAfterTheEndConsumesNothingUntilReset() {
        DataDecoder decoder = decoder();
        ByteBuffer in = ByteBuffer.wrap(Wire.octets(".\r\nmore"));
        ByteBuffer out = ByteBuffer.allocate(16);
        assertTrue(decoder.decode(in, out));
        assertTrue(decoder.isDone());
        assertTrue(decoder.decode(in, out));
        assertEquals(3, in.position());
        decoder.reset();
        assertFalse(decoder.isDone());
        assertFalse(decoder.decode(in, out));
        assertEquals(7, in.position());
        assertEquals(4, out.position());
    }

    @Test
    void invalidLimitsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new DataDecoder(BareNewline.NORMALIZE, 2, 0));
        assertThrows(IllegalArgumentException.class, () -> new DataDecoder(BareNewline.NORMALIZE, 1000, -1));
    }

    @Test
    void decodingAllocatesNothing() {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        byte[] wire = Wire.octets(bigMessage(16 * 1024));
        ByteBuffer in = ByteBuffer.allocateDirect(wire.length).put(wire);
        ByteBuffer out = ByteBuffer.allocateDirect(4096);
        DataDecoder decoder = decoder();
        int rounds = 500;
        for (int pass = 0; pass < 2; pass++) {
            long before = threads.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < rounds; i++) {
                decoder.reset();
                in.flip().position(0);
                in.limit(wire.length);
                while (!decoder.decode(in, out)) {
                    out.clear();
                }
                out.clear();
            }
            long allocated = threads.getCurrentThreadAllocatedBytes() - before;
            if (pass == 1) {
                assertTrue(allocated < 1024, "allocated " + allocated + " bytes decoding " + rounds + " messages");
            }
        }
    }
}
