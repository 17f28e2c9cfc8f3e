package io.sluice.smtp.fuzz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;

import io.sluice.smtp.protocol.BareNewline;
import io.sluice.smtp.protocol.DataDecoder;

/**
 * Fuzzes {@link DataDecoder} with arbitrary octets cut into arbitrary reads and decoded into small or
 * large output buffers, and compares every outcome (output octets, end position, counters, flags)
 * with {@link ReferenceDecoder}, a plain whole-input restatement of RFC 5321 4.5.2 and of the
 * decoder's documented bare-newline rules.
 *
 * <p>Input layout ({@link FuzzedDataProvider} takes numbers from the end): last octet = flags (bit 0
 * REJECT policy, bit 1 direct input, bit 2 little-endian input, bit 3 direct output), then the text
 * line limit (0: 1000, else 3 + n), the message limit (0: none, else 4n), the output capacity
 * (0: 64 KiB, else 1 + n), the chunk count (0..16) and one octet per chunk size; the octets left at
 * the front are the wire after "354".
 */
class DataDecoderFuzzTest {

    /** Direct buffers are reused: allocating one per run would dominate the run and the RSS. */
    private static final ByteBuffer DIRECT_IN = ByteBuffer.allocateDirect(1 << 20);
    private static final ByteBuffer DIRECT_OUT = ByteBuffer.allocateDirect(64 * 1024);

    @FuzzTest(maxDuration = "2m")
    void anySplitDecodesLikeTheReference(FuzzedDataProvider data) {
        int flags = data.consumeInt(0, 255);
        int lineSelector = data.consumeInt(0, 255);
        int maxLineOctets = lineSelector == 0 ? DataDecoder.DEFAULT_MAX_LINE_OCTETS : 3 + lineSelector;
        long maxMessageOctets = 4L * data.consumeInt(0, 255);
        int outSelector = data.consumeInt(0, 255);
        int outCapacity = outSelector == 0 ? 64 * 1024 : 1 + outSelector;
        int[] chunks = new int[data.consumeInt(0, 16)];
        for (int i = 0; i < chunks.length; i++) {
            chunks[i] = data.consumeInt(0, 255);
        }
        byte[] wire = data.consumeRemainingAsBytes();

        BareNewline policy = (flags & 1) != 0 ? BareNewline.REJECT : BareNewline.NORMALIZE;
        DataDecoder decoder = new DataDecoder(policy, maxLineOctets, maxMessageOctets);
        ReferenceDecoder expected = new ReferenceDecoder(wire, maxLineOctets);
        Outcome split = decodeAll(decoder, wire, chunks, (flags & 2) != 0, (flags & 4) != 0, (flags & 8) != 0, outCapacity);
        check(expected, split, decoder, maxMessageOctets);

        decoder.reset(); // a reused decoder must behave as a new one
        Outcome whole = decodeAll(decoder, wire, new int[0], false, false, false, 64 * 1024);
        check(expected, whole, decoder, maxMessageOctets);
    }

    /** What one decoding run produced. */
    private record Outcome(byte[] output, long endOffset) {
    }

    private static Outcome decodeAll(DataDecoder decoder, byte[] wire, int[] chunks, boolean directIn,
            boolean littleEndian, boolean directOut, int outCapacity) {
        ByteBuffer in = directIn && wire.length <= DIRECT_IN.capacity()
                ? DIRECT_IN.clear().limit(wire.length).slice() : ByteBuffer.allocate(wire.length);
        in.order(littleEndian ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN).flip();
        ByteBuffer out = directOut ? DIRECT_OUT.clear().limit(outCapacity).slice() : ByteBuffer.allocate(outCapacity);
        ByteArrayOutputStream output = new ByteArrayOutputStream();
        int fed = 0;
        long base = 0;
        for (int c = 0; c <= chunks.length; c++) {
            int n = c < chunks.length ? Math.min(chunks[c], wire.length - fed) : wire.length - fed;
            base += in.position();
            in.compact().put(wire, fed, n).flip();
            fed += n;
            while (true) {
                int inBefore = in.position();
                boolean end = decoder.decode(in, out);
                int produced = out.position();
                drain(out, output);
                if (end) {
                    long endOffset = base + in.position();
                    int at = in.position();
                    assertTrue(decoder.decode(in, out), "decode after the end must keep answering true");
                    assertEquals(at, in.position(), "decode after the end must consume nothing");
                    assertEquals(0, out.position(), "decode after the end must output nothing");
                    return new Outcome(output.toByteArray(), endOffset);
                }
                if (!in.hasRemaining()) {
                    break;
                }
                if (in.position() == inBefore && produced == 0) {
                    fail("no progress: " + in.remaining() + " octets left, empty output buffer of " + outCapacity);
                }
            }
        }
        assertTrue(!decoder.isDone(), "isDone without decode answering true");
        return new Outcome(output.toByteArray(), -1);
    }

    private static void drain(ByteBuffer out, ByteArrayOutputStream into) {
        out.flip();
        byte[] octets = new byte[out.remaining()];
        out.get(octets);
        into.write(octets, 0, octets.length);
        out.clear();
    }

    private static void check(ReferenceDecoder expected, Outcome actual, DataDecoder decoder, long maxMessageOctets) {
        assertEquals(expected.endOffset, actual.endOffset, "end of data offset");
        assertEquals(expected.endOffset >= 0, decoder.isDone(), "isDone");
        byte[] full = expected.output.toByteArray();
        assertEquals(full.length, decoder.messageOctets(), "messageOctets");
        boolean tooLarge = maxMessageOctets > 0 && full.length > maxMessageOctets;
        assertEquals(tooLarge, decoder.tooLarge(), "tooLarge");
        if (tooLarge) {
            assertTrue(actual.output.length <= maxMessageOctets,
                    "output " + actual.output.length + " > limit " + maxMessageOctets + " while tooLarge");
            assertArrayEquals(Arrays.copyOf(full, actual.output.length), actual.output, "output is a prefix of the reference");
        } else {
            assertArrayEquals(full, actual.output, "decoded octets");
        }
        assertEquals(expected.lineTooLong, decoder.lineTooLong(), "lineTooLong");
        assertEquals(expected.bareNewline, decoder.bareNewlineSeen(), "bareNewlineSeen");
    }

    /**
     * The DATA rules over the whole input at once: a '.' at the start of the data or right after a
     * CRLF is removed, and when it is followed by CRLF the data ends there; every other CRLF is a line
     * end; a bare LF becomes CRLF without starting a line (so a '.' after it is data); a bare CR stays.
     * A CR at the very end of the input is undecided and not output. Written for clarity, not speed.
     */
    private static final class ReferenceDecoder {
        final ByteArrayOutputStream output = new ByteArrayOutputStream();
        long endOffset = -1;
        boolean lineTooLong;
        boolean bareNewline;
        private final int maxLineOctets;
        private long lineOctets;

        ReferenceDecoder(byte[] in, int maxLineOctets) {
            this.maxLineOctets = maxLineOctets;
            boolean lineStart = true;
            int i = 0;
            while (i < in.length) {
                if (lineStart && in[i] == '.') {
                    if (i + 2 < in.length && in[i + 1] == '\r' && in[i + 2] == '\n') {
                        endOffset = i + 3;
                        return;
                    }
                    i++; // the stuffed dot is dropped
                }
                lineStart = false;
                if (i == in.length) {
                    break;
                }
                byte c = in[i];
                if (c == '\r') {
                    if (i + 1 == in.length) {
                        break; // undecided: CRLF or bare CR
                    }
                    if (in[i + 1] == '\n') {
                        newline();
                        lineStart = true;
                        i += 2;
                        continue;
                    }
                    bareNewline = true;
                    content(c);
                } else if (c == '\n') {
                    bareNewline = true;
                    newline();
                } else {
                    content(c);
                }
                i++;
            }
        }

        private void newline() {
            output.write('\r');
            output.write('\n');
            lineOctets = 0;
        }

        private void content(byte c) {
            output.write(c);
            if (++lineOctets + 2 > maxLineOctets) {
                lineTooLong = true;
            }
        }
    }
}
