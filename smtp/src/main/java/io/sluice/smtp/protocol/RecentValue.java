package io.sluice.smtp.protocol;

import java.util.Arrays;

/**
 * Remembers the values last built from byte ranges so a range seen again (the same MAIL FROM on
 * every transaction of a bulk sender's connection, the same recipient list, the same EHLO name)
 * reuses the immutable value instead of allocating a new one. A few entries replaced round-robin;
 * owned by one parser, so one thread. Its arrays are allocated once, with the parser.
 */
final class RecentValue<T> {
    private final byte[][] raw;
    private final int[] lengths;
    private final Object[] values;
    private int next;

    RecentValue(int entries, int capacityOctets) {
        raw = new byte[entries][capacityOctets];
        lengths = new int[entries];
        values = new Object[entries];
        Arrays.fill(lengths, -1);
    }

    /** @return the value remembered for exactly these octets, or null */
    @SuppressWarnings("unchecked") // values[i] is only ever set from a T in remember()
    T lookup(byte[] b, int from, int to) {
        int length = to - from;
        for (int i = 0; i < lengths.length; i++) {
            if (lengths[i] == length && Arrays.equals(raw[i], 0, length, b, from, to)) {
                return (T) values[i];
            }
        }
        return null;
    }

    void remember(byte[] b, int from, int to, T value) {
        int length = to - from;
        if (length <= raw[next].length) {
            System.arraycopy(b, from, raw[next], 0, length);
            lengths[next] = length;
            values[next] = value;
            next = (next + 1) % lengths.length;
        }
    }
}
