package io.sluice.smtp.spool;

/**
 * Identity of one spooled message: a 64-bit value laid out as
 * {@code epochMillis(42) | counter(16) | loopIndex(6)}, compared unsigned, so ids sort by arrival
 * time and two event loops never mint the same id. Rendered as 13 characters of Crockford
 * base-32 ({@code queued as 01HF3K9Q7Z0A4}), which sorts like the number. Immutable; any thread.
 */
public final class QueueId implements Comparable<QueueId> {
    /** Bits holding the event-loop index (so at most 64 loops write one spool). */
    public static final int LOOP_BITS = 6;
    /** Bits holding the per-millisecond counter. */
    public static final int COUNTER_BITS = 16;
    /** Exclusive upper bound of a loop index. */
    public static final int MAX_LOOPS = 1 << LOOP_BITS;
    /** Characters in {@link #toString()}. */
    public static final int TEXT_LENGTH = 13;

    private static final char[] ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ".toCharArray();

    private final long value;

    private QueueId(long value) {
        this.value = value;
    }

    /** Wraps a raw value, as read from disk or from {@link #value()}. */
    public static QueueId of(long value) {
        return new QueueId(value);
    }

    /** Parses the text form; case-insensitive; throws IllegalArgumentException on malformed text. */
    public static QueueId parse(CharSequence text) {
        if (text.length() != TEXT_LENGTH) {
            throw new IllegalArgumentException(
                    "queue id length=" + text.length() + " != " + TEXT_LENGTH + ": " + text);
        }
        long v = 0;
        for (int i = 0; i < TEXT_LENGTH; i++) {
            int digit = digit(text.charAt(i));
            if (digit < 0 || (i == 0 && digit > 15)) {
                throw new IllegalArgumentException("not a queue id: " + text);
            }
            v = (v << 5) | digit;
        }
        return new QueueId(v);
    }

    private static int digit(char c) {
        char u = Character.toUpperCase(c);
        for (int d = 0; d < ALPHABET.length; d++) {
            if (ALPHABET[d] == u) {
                return d;
            }
        }
        return -1;
    }

    /** The raw 64-bit value (unsigned). */
    public long value() {
        return value;
    }

    /** Milliseconds since the epoch when the id was minted (never earlier than the clock said). */
    public long epochMillis() {
        return value >>> (COUNTER_BITS + LOOP_BITS);
    }

    /** The event loop whose appender minted this id. */
    public int loopIndex() {
        return loopIndexOf(value);
    }

    /** {@link #loopIndex()} of a raw value, without wrapping it. */
    public static int loopIndexOf(long value) {
        return (int) (value & (MAX_LOOPS - 1));
    }

    @Override
    public int compareTo(QueueId other) {
        return Long.compareUnsigned(value, other.value);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof QueueId && ((QueueId) o).value == value;
    }

    @Override
    public int hashCode() {
        // The low bits of the value are the loop index and a per-millisecond counter, so a plain
        // Long.hashCode puts one loop's in-flight ids into one HashMap bucket (seen as TreeNode
        // inserts in a profile). MurmurHash3's 64-bit finaliser makes every bit count.
        long h = value;
        h = (h ^ (h >>> 33)) * 0xff51afd7ed558ccdL;
        h = (h ^ (h >>> 33)) * 0xc4ceb9fe1a85ec53L;
        return (int) (h ^ (h >>> 33));
    }

    @Override
    public String toString() {
        char[] out = new char[TEXT_LENGTH];
        long v = value;
        for (int i = TEXT_LENGTH - 1; i >= 0; i--) {
            out[i] = ALPHABET[(int) (v & 31)];
            v >>>= 5;
        }
        return new String(out);
    }
}
