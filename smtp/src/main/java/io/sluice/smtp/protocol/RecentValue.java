package io.sluice.smtp.protocol;

import java.util.Arrays;

/**
 * Remembers the value last built from a byte range so the same range seen again (the same MAIL
 * FROM on every transaction of a bulk sender's connection, the same EHLO name) reuses the immutable
 * value instead of allocating a new one. One entry; owned by one parser, so one thread.
 */
final class RecentValue<T> {
    private final byte[] raw;
    private int length = -1;
    private T value;

    RecentValue(int capacityOctets) {
        raw = new byte[capacityOctets];
    }

    /** @return the value remembered for exactly these octets, or null */
    T lookup(byte[] b, int from, int to) {
        return to - from == length && Arrays.equals(raw, 0, length, b, from, to) ? value : null;
    }

    void remember(byte[] b, int from, int to, T newValue) {
        if (to - from <= raw.length) {
            System.arraycopy(b, from, raw, 0, to - from);
            length = to - from;
            value = newValue;
        }
    }
}
