package io.sluice.smtp.client;

import java.io.ByteArrayOutputStream;

/**
 * The reference encoder for {@link OutboundContent}: the original octet-by-octet state machine,
 * producing the DATA wire form (CRLF-only, dot-stuffed, lines wrapped at 998 octets, header lines
 * folded, {@code .CRLF} at the end). The bulk encoder must produce exactly this, whatever the
 * input and however it is split into writes. Test code only; one thread.
 */
final class ByteAtATimeContent {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private int lineOctets;
    private boolean lineStart = true;
    private boolean pendingCr;
    private boolean inHeader = true;
    private boolean eightBit;

    void write(byte[] in, int from, int count) {
        for (int i = from; i < from + count; i++) {
            accept(in[i]);
        }
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
        if (lineOctets >= OutboundContent.MAX_LINE_OCTETS) {
            out.write('\r');
            out.write('\n');
            lineOctets = 0;
            lineStart = true;
            if (inHeader) {
                out.write(' ');
                lineOctets = 1;
                lineStart = false;
            }
        }
        if (lineStart && b == '.') {
            out.write('.');
            lineOctets++;
        }
        lineStart = false;
        eightBit |= b < 0;
        out.write(b);
        lineOctets++;
    }

    private void newline() {
        if (lineStart && inHeader) {
            inHeader = false;
        }
        out.write('\r');
        out.write('\n');
        lineOctets = 0;
        lineStart = true;
    }

    /** The DATA wire form, with the final dot. */
    byte[] finish() {
        if (pendingCr) {
            pendingCr = false;
            newline();
        }
        if (!lineStart) {
            newline();
        }
        out.write('.');
        out.write('\r');
        out.write('\n');
        return out.toByteArray();
    }

    boolean eightBit() {
        return eightBit;
    }
}
