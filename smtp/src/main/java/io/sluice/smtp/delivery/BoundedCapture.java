package io.sluice.smtp.delivery;

import java.nio.channels.WritableByteChannel;

/**
 * A channel that keeps what is copied into it in one array of a fixed size, for a report that
 * quotes the original: {@link HeaderCapture} (the header block) and {@link MessageCapture} (the
 * whole message). Confined to the thread that copies into it.
 */
abstract sealed class BoundedCapture implements WritableByteChannel permits HeaderCapture, MessageCapture {
    /** Allocated once per report, bounded by the caller's limit. */
    final byte[] kept;
    int length;
    private boolean open = true;

    BoundedCapture(int maxOctets) {
        kept = new byte[maxOctets];
    }

    /** Whether any byte kept was non-ASCII (then the report is 8BITMIME). */
    final boolean eightBit() {
        for (int i = 0; i < length; i++) {
            if (kept[i] < 0) {
                return true;
            }
        }
        return false;
    }

    @Override
    public final boolean isOpen() {
        return open;
    }

    @Override
    public final void close() {
        open = false;
    }
}
