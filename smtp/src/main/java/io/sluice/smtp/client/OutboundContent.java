package io.sluice.smtp.client;

import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.util.Arrays;

/**
 * A message's content as it goes on the wire after DATA: CRLF-only (a bare CR or LF becomes CRLF),
 * dot-stuffed, no line over {@link #MAX_LINE_OCTETS} octets (longer lines are wrapped: in the
 * header a CRLF SP is inserted, which folds the header; in the body a CRLF), ending with
 * {@code .CRLF}. Filled by the spool's blocking {@code copyContent} as a channel on a client
 * worker thread, then read-only and handed to an event loop (the hand-off publishes it).
 *
 * <p>Why a per-message heap array and not a pooled buffer: the encoded bytes must outlive the
 * worker's call and survive a retry on the next MX host or a fresh connection, and they are
 * written in pieces as the socket drains; the connection copies them into its own pooled
 * direct buffers anyway. The array is sized from the stored size, so it grows at most once.
 */
final class OutboundContent implements WritableByteChannel {
    /** RFC 5321 §4.5.3.1.6: 1000 octets with the CRLF. */
    static final int MAX_LINE_OCTETS = 998;

    private byte[] out;
    private int length;
    private int lineOctets;
    private boolean lineStart = true;
    private boolean pendingCr;
    private boolean inHeader = true;
    private boolean eightBit;
    private int wrappedLines;
    private boolean finished;

    /** @param storedOctets the stored size (the array starts a little larger) */
    OutboundContent(long storedOctets) {
        long capacity = Math.min(Integer.MAX_VALUE - 64, storedOctets + storedOctets / 32 + 64);
        this.out = new byte[(int) capacity];
    }

    /** Encodes a whole message at once (tests). */
    static OutboundContent of(byte[] content) {
        OutboundContent c = new OutboundContent(content.length);
        c.write(ByteBuffer.wrap(content));
        c.finish();
        return c;
    }

    @Override
    public int write(ByteBuffer src) {
        int n = src.remaining();
        while (src.hasRemaining()) {
            accept(src.get());
        }
        return n;
    }

    private void accept(byte b) {
        if (pendingCr) {
            pendingCr = false;
            newline();
            if (b == '\n') {
                return;
            }
        }
        if (b == '\r') {
            pendingCr = true;
        } else if (b == '\n') {
            newline();
        } else {
            content(b);
        }
    }

    private void content(byte b) {
        if (lineOctets >= MAX_LINE_OCTETS) {
            wrappedLines++;
            put((byte) '\r');
            put((byte) '\n');
            lineOctets = 0;
            lineStart = true;
            if (inHeader) {
                put((byte) ' ');
                lineOctets = 1;
                lineStart = false;
            }
        }
        if (lineStart && b == '.') {
            put((byte) '.');
            lineOctets++;
        }
        lineStart = false;
        eightBit |= b < 0;
        put(b);
        lineOctets++;
    }

    private void newline() {
        if (lineStart && inHeader) {
            inHeader = false; // the empty line between header and body
        }
        put((byte) '\r');
        put((byte) '\n');
        lineOctets = 0;
        lineStart = true;
    }

    private void put(byte b) {
        if (length == out.length) {
            out = Arrays.copyOf(out, Math.max(64, out.length + (out.length >> 1)));
        }
        out[length++] = b;
    }

    /** Ends the content: a last line end if missing, then {@code .CRLF}. Idempotent. */
    OutboundContent finish() {
        if (finished) {
            return this;
        }
        finished = true;
        if (pendingCr) {
            pendingCr = false;
            newline();
        }
        if (!lineStart) {
            newline();
        }
        put((byte) '.');
        put((byte) '\r');
        put((byte) '\n');
        return this;
    }

    /** The encoded bytes, valid up to {@link #length()}. */
    byte[] bytes() {
        return out;
    }

    int length() {
        return length;
    }

    /** True when any octet has the high bit set (needs 8BITMIME). */
    boolean eightBit() {
        return eightBit;
    }

    /** Lines that were longer than {@link #MAX_LINE_OCTETS} and were wrapped. */
    int wrappedLines() {
        return wrappedLines;
    }

    @Override
    public boolean isOpen() {
        return !finished;
    }

    @Override
    public void close() {
        finish();
    }
}
