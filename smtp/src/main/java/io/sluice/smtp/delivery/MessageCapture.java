package io.sluice.smtp.delivery;

import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.util.Arrays;

/**
 * A channel that keeps a whole message of known size (at most the bounce size limit), for a
 * RET=FULL bounce; anything past {@code octets} marks it overflowed. Confined to the thread that
 * copies into it.
 */
final class MessageCapture implements WritableByteChannel {
    private final byte[] kept;
    private int length;
    private boolean overflowed;
    private boolean open = true;

    MessageCapture(int octets) {
        kept = new byte[octets];
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

    /** Whether any byte was non-ASCII (then the report is 8BITMIME). */
    boolean eightBit() {
        for (int i = 0; i < length; i++) {
            if (kept[i] < 0) {
                return true;
            }
        }
        return false;
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    @Override
    public void close() {
        open = false;
    }
}
