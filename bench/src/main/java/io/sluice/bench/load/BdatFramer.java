package io.sluice.bench.load;

import io.sluice.reactor.Connection;
import java.nio.charset.StandardCharsets;

/**
 * Frames one message as BDAT chunks (RFC 3030 §2): {@code BDAT n CRLF} and n octets of the text,
 * the last chunk {@code BDAT n LAST}. The text is the session's stamped header copy followed by
 * the shared body without its dot terminator; BDAT carries it verbatim (no dot-stuffing). Writes
 * only the chunks the session has released ({@link #release}): all of them when pipelining, one
 * at a time otherwise, since a client must not send the next chunk before the previous one's reply
 * when it cannot pipeline. Writes stop at the connection's high-water mark; {@link #write} goes on
 * from there.
 *
 * <p>One per session, reused for every message: the command line is formatted into a fixed array
 * (the connection copies what it is given), so framing allocates nothing. Loop thread only.
 */
final class BdatFramer {

    /** Message octets handed to the connection per step; the connection's water marks pace the rest. */
    private static final int WRITE_STEP_OCTETS = 16 * 1024;
    private static final byte[] VERB = ascii("BDAT ");
    private static final byte[] LAST = ascii(" LAST");
    /** "BDAT " + 10 digits + " LAST" + CRLF fits. */
    private final byte[] commandLine = new byte[24];

    private byte[] header;
    private byte[] body;
    private int messageOctets;
    private int chunkOctets;
    private int chunks;
    /** Chunks the session allows to be written; chunks 0 .. released - 1. */
    private int released;
    /** Chunks whose command line has been written. */
    private int started;
    /** Message octets handed to the connection. */
    private int position;
    /** Where the chunk whose command was written last ends, in message octets. */
    private int chunkEnd;

    /**
     * Frames a new message: {@code header}, then {@code body[0, bodyOctets)}.
     *
     * @param chunkOctets octets per chunk, or 0 for one chunk of the whole message
     */
    void start(byte[] header, byte[] body, int bodyOctets, int chunkOctets) {
        this.header = header;
        this.body = body;
        this.messageOctets = header.length + bodyOctets;
        // One chunk for 0 or a size beyond the message; counted so that no sum can overflow
        // (a chunk size near Integer.MAX_VALUE once made the count 0: nothing sent, a hang).
        this.chunkOctets = chunkOctets <= 0 || chunkOctets > messageOctets ? Math.max(1, messageOctets) : chunkOctets;
        this.chunks = messageOctets == 0 ? 1 : 1 + (messageOctets - 1) / this.chunkOctets;
        released = 0;
        started = 0;
        position = 0;
        chunkEnd = 0;
    }

    /** Forgets the message: nothing pending, {@link #active()} false. */
    void clear() {
        header = null;
        body = null;
        chunks = 0;
        released = 0;
    }

    /** A message is framed and not yet {@link #clear()}ed. */
    boolean active() {
        return header != null;
    }

    /** Chunks of the current message. */
    int chunks() {
        return chunks;
    }

    /** Allows chunks up to (not including) {@code chunkCount} to be written. */
    void release(int chunkCount) {
        released = Math.min(chunks, Math.max(released, chunkCount));
    }

    /** Released text is still waiting for the connection. */
    boolean pending() {
        return active() && (position < chunkEnd || started < released);
    }

    /** Every octet of the message, LAST command included, was handed to the connection. */
    boolean allWritten() {
        return active() && position == messageOctets && started == chunks;
    }

    /** Some of the message was handed to the connection. */
    boolean anyWritten() {
        return active() && started > 0;
    }

    /**
     * Writes released chunks until they are all handed over or the connection is above its
     * high-water mark (then call again from {@code onWritable}).
     */
    void write(Connection connection) {
        while (pending()) {
            if (position == chunkEnd) {
                writeCommand(connection);
            }
            int step = Math.min(WRITE_STEP_OCTETS, chunkEnd - position);
            if (position < header.length) {
                step = Math.min(step, header.length - position);
                connection.write(header, position, step);
            } else {
                connection.write(body, position - header.length, step);
            }
            position += step;
            if (!connection.isWritable()) {
                connection.flush();
                if (!connection.isWritable()) {
                    return;
                }
            }
        }
    }

    private void writeCommand(Connection connection) {
        int octets = Math.min(chunkOctets, messageOctets - position);
        chunkEnd = position + octets;
        started++;
        System.arraycopy(VERB, 0, commandLine, 0, VERB.length);
        int at = writeDecimal(commandLine, VERB.length, octets);
        if (chunkEnd == messageOctets) {
            System.arraycopy(LAST, 0, commandLine, at, LAST.length);
            at += LAST.length;
        }
        commandLine[at++] = '\r';
        commandLine[at++] = '\n';
        connection.write(commandLine, 0, at);
    }

    /** Writes {@code value} (>= 0) in decimal at {@code at}; returns the index after it. */
    static int writeDecimal(byte[] out, int at, int value) {
        int digits = 1;
        for (int rest = value / 10; rest > 0; rest /= 10) {
            digits++;
        }
        int rest = value;
        for (int i = at + digits - 1; i >= at; i--) {
            out[i] = (byte) ('0' + rest % 10);
            rest /= 10;
        }
        return at + digits;
    }

    private static byte[] ascii(String text) {
        return text.getBytes(StandardCharsets.US_ASCII);
    }
}
