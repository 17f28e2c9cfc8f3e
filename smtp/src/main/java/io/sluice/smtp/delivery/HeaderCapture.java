package io.sluice.smtp.delivery;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * A channel that keeps a message's header block (up to the first empty line, at most
 * {@code maxOctets}, cut at a line end) and counts the rest away: what a bounce quotes of the
 * original. Confined to the thread that copies into it.
 */
final class HeaderCapture extends BoundedCapture {
    private boolean complete;

    HeaderCapture(int maxOctets) {
        super(maxOctets);
    }

    @Override
    public int write(ByteBuffer src) {
        int n = src.remaining();
        while (!complete && src.hasRemaining()) {
            if (length == kept.length) {
                complete = true;
                break;
            }
            byte b = src.get();
            kept[length++] = b;
            if (b == '\n' && endsWithEmptyLine()) {
                length -= 2; // drop the empty line, keep the last header's CRLF
                complete = true;
            }
        }
        src.position(src.limit());
        return n;
    }

    private boolean endsWithEmptyLine() {
        return length == 2 && kept[0] == '\r' || length >= 4 && kept[length - 2] == '\r' && kept[length - 3] == '\n';
    }

    /** The header block, each line ending in CRLF; cut after the last whole line if it was too long. */
    byte[] headers() {
        int end = length;
        if (length == kept.length) {
            while (end > 0 && kept[end - 1] != '\n') {
                end--;
            }
        }
        return Arrays.copyOf(kept, end);
    }
}
