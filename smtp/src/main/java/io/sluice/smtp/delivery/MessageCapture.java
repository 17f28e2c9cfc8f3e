package io.sluice.smtp.delivery;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * A channel that keeps a whole message of known size (at most the bounce size limit), for a
 * RET=FULL bounce; anything past {@code octets} marks it overflowed. Confined to the thread that
 * copies into it.
 */
final class MessageCapture extends BoundedCapture {
    private boolean overflowed;

    MessageCapture(int octets) {
        super(octets);
    }

    @Override
    public int write(ByteBuffer src) {
        int n = src.remaining();
        int take = Math.min(n, kept.length - length);
        src.get(kept, length, take);
        length += take;
        overflowed |= take < n;
        src.position(src.limit());
        return n;
    }

    /** Whether exactly the expected octets arrived (not more, not fewer). */
    boolean complete() {
        return !overflowed && length == kept.length;
    }

    /** The message as copied. */
    byte[] message() {
        return length == kept.length ? kept : Arrays.copyOf(kept, length);
    }
}
