package io.sluice.smtp.protocol;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Test helpers that feed wire bytes to the codec in pieces, the way a socket would. */
final class Wire {
    private Wire() {
    }

    /** One char per octet: lets tests write "\u00ff" for the octet 0xFF. */
    static byte[] octets(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    /**
     * Feeds {@code input} to a fresh parser cut at {@code cuts}, through one direct buffer that is
     * compacted between reads, and returns every parsed command as its toString().
     */
    static List<String> parseAll(int maxLineOctets, byte[] input, int... cuts) {
        CommandParser parser = new CommandParser(maxLineOctets);
        Command command = new Command();
        ByteBuffer buffer = ByteBuffer.allocateDirect(input.length + 16);
        List<String> results = new ArrayList<>();
        int from = 0;
        for (int i = 0; i <= cuts.length; i++) {
            int to = i < cuts.length ? cuts[i] : input.length;
            buffer.put(input, from, to - from).flip();
            while (true) {
                int before = buffer.position();
                boolean complete = parser.parse(buffer, command);
                if (!complete) {
                    if (buffer.position() != before && buffer.position() != buffer.limit()) {
                        throw new AssertionError("incomplete parse moved position to the middle");
                    }
                    break;
                }
                results.add(command.toString());
            }
            buffer.compact();
            from = to;
        }
        if (buffer.position() != 0 && results.isEmpty() && input.length == 0) {
            throw new AssertionError("unexpected leftover");
        }
        return results;
    }

    /** Decodes {@code input} cut at {@code cuts} with an output buffer of {@code outCapacity} octets. */
    static Decoded decodeAll(DataDecoder decoder, byte[] input, int outCapacity, int... cuts) {
        decoder.reset();
        ByteBuffer in = ByteBuffer.allocateDirect(input.length + 1);
        ByteBuffer out = ByteBuffer.allocate(outCapacity);
        java.io.ByteArrayOutputStream content = new java.io.ByteArrayOutputStream();
        boolean done = false;
        int consumedAtEnd = -1;
        int consumedBefore = 0;
        int from = 0;
        for (int i = 0; i <= cuts.length && !done; i++) {
            int to = i < cuts.length ? cuts[i] : input.length;
            in.put(input, from, to - from).flip();
            while (!done) {
                int inBefore = in.position();
                done = decoder.decode(in, out);
                out.flip();
                int produced = out.limit();
                content.write(out.array(), 0, produced);
                out.clear();
                if (done) {
                    consumedAtEnd = consumedBefore + in.position();
                } else if (!in.hasRemaining()) {
                    break;
                } else if (produced == 0 && in.position() == inBefore) {
                    throw new AssertionError("decoder made no progress with input left and an empty output buffer");
                }
            }
            consumedBefore += in.position();
            in.compact();
            from = to;
        }
        return new Decoded(done, consumedAtEnd, content.toByteArray());
    }

    /** Result of {@link #decodeAll}: end seen, wire octets consumed at the end, decoded content. */
    static final class Decoded {
        final boolean done;
        final int consumed;
        final byte[] content;

        Decoded(boolean done, int consumed, byte[] content) {
            this.done = done;
            this.consumed = consumed;
            this.content = content;
        }

        String text() {
            return new String(content, StandardCharsets.ISO_8859_1);
        }
    }
}
