package io.sluice.smtp.dkim;

import java.util.Arrays;

/**
 * The header fields of a message in wire form (CRLF lines): where each field starts, where its
 * colon is and where it ends (before its last CRLF; folded lines included), and where the body
 * starts. Offsets into the caller's array, which must not change while this is used. Confined to
 * the thread that parsed it.
 */
final class HeaderBlock {
    private final byte[] bytes;
    private int[] starts = new int[32];
    private int[] colons = new int[32];
    private int[] ends = new int[32];
    private int count;
    private int bodyStart;
    private final int length;

    private HeaderBlock(byte[] bytes, int length) {
        this.bytes = bytes;
        this.length = length;
    }

    /**
     * Parses the header of {@code bytes[0, length)}; null when a line of it is neither a field
     * ({@code name:}) nor a continuation (starts with SP or HTAB): such a message is not signed.
     * A message without an empty line is all header, with an empty body.
     */
    static HeaderBlock parse(byte[] bytes, int length) {
        HeaderBlock h = new HeaderBlock(bytes, length);
        int at = 0;
        while (at < length) {
            int eol = lineEnd(bytes, at, length);
            if (eol == at) {
                h.bodyStart = Math.min(length, at + 2);
                return h;
            }
            byte first = bytes[at];
            if (first == ' ' || first == '\t') {
                if (h.count == 0) {
                    return null; // a continuation of nothing
                }
                h.ends[h.count - 1] = eol;
            } else {
                int colon = colon(bytes, at, eol);
                if (colon <= at) {
                    return null;
                }
                h.add(at, colon, eol);
            }
            at = Math.min(length, eol + 2);
        }
        h.bodyStart = length;
        return h;
    }

    /** The offset of the CR of the next CRLF from {@code from}, or {@code length} when none. */
    private static int lineEnd(byte[] b, int from, int length) {
        for (int i = from; i + 1 < length; i++) {
            if (b[i] == '\r' && b[i + 1] == '\n') {
                return i;
            }
        }
        return length;
    }

    private static int colon(byte[] b, int from, int to) {
        for (int i = from; i < to; i++) {
            if (b[i] == ':') {
                return i;
            }
        }
        return -1;
    }

    private void add(int start, int colon, int end) {
        if (count == starts.length) {
            starts = Arrays.copyOf(starts, count * 2);
            colons = Arrays.copyOf(colons, count * 2);
            ends = Arrays.copyOf(ends, count * 2);
        }
        starts[count] = start;
        colons[count] = colon;
        ends[count] = end;
        count++;
    }

    int count() {
        return count;
    }

    /** Where the body starts (after the empty line), or the length for a message without one. */
    int bodyStart() {
        return bodyStart;
    }

    /** The end of the message (the length it was parsed with): the body is {@code [bodyStart, contentLength)}. */
    int contentLength() {
        return length;
    }

    byte[] bytes() {
        return bytes;
    }

    int start(int field) {
        return starts[field];
    }

    int colon(int field) {
        return colons[field];
    }

    int end(int field) {
        return ends[field];
    }

    /** Whether field {@code field}'s name is {@code lowerName} (ASCII, ignoring case; blanks before the colon ignored). */
    boolean named(int field, String lowerName) {
        int nameEnd = colons[field];
        while (nameEnd > starts[field] && isWsp(bytes[nameEnd - 1])) {
            nameEnd--;
        }
        int n = nameEnd - starts[field];
        if (n != lowerName.length()) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            int c = bytes[starts[field] + i];
            if (c >= 'A' && c <= 'Z') {
                c += 'a' - 'A';
            }
            if (c != lowerName.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    /** The first field named {@code lowerName}, or -1. */
    int first(String lowerName) {
        for (int i = 0; i < count; i++) {
            if (named(i, lowerName)) {
                return i;
            }
        }
        return -1;
    }

    /** How many fields are named {@code lowerName}. */
    int occurrences(String lowerName) {
        int n = 0;
        for (int i = 0; i < count; i++) {
            n += named(i, lowerName) ? 1 : 0;
        }
        return n;
    }

    /** The field's value unfolded (CRLFs removed), octets as ISO-8859-1 characters (UTF-8 stays undecoded). */
    String unfoldedValue(int field) {
        StringBuilder out = new StringBuilder(ends[field] - colons[field]);
        for (int i = colons[field] + 1; i < ends[field]; i++) {
            if (bytes[i] == '\r' && i + 1 < ends[field] && bytes[i + 1] == '\n') {
                i++;
                continue;
            }
            out.append((char) (bytes[i] & 0xFF));
        }
        return out.toString();
    }

    static boolean isWsp(byte b) {
        return b == ' ' || b == '\t';
    }

    @Override
    public String toString() {
        return "HeaderBlock[fields=" + count + ", body at " + bodyStart + "]";
    }
}
