package io.sluice.smtp.proxy;

import java.nio.ByteBuffer;

/**
 * Reads the textual addresses and ports of a PROXY v1 line in place: IPv4 dotted quads, IPv6 in
 * RFC 4291 2.2 text (with {@code ::} and a dotted IPv4 tail) and decimal ports, each from a range
 * of a buffer into a caller's array, allocating nothing. Strict: no leading zeros in a decimal
 * number (an octet {@code 010} is octal to some readers, decimal to others), no zone ids, no
 * brackets. Stateless; any thread.
 */
final class InetText {

    private InetText() {
    }

    /**
     * Parses a dotted quad in {@code [from, end)} into {@code dst[offset..offset+3]}.
     *
     * @return 4, or -1 when it is not exactly one dotted quad
     */
    static int parseIpv4(ByteBuffer in, int from, int end, byte[] dst, int offset) {
        int at = from;
        for (int octet = 0; octet < 4; octet++) {
            if (octet > 0) {
                if (at >= end || in.get(at) != '.') {
                    return -1;
                }
                at++;
            }
            int digitsEnd = decimalEnd(in, at, end);
            int value = decimal(in, at, digitsEnd, 3);
            if (value < 0 || value > 255) {
                return -1;
            }
            dst[offset + octet] = (byte) value;
            at = digitsEnd;
        }
        return at == end ? 4 : -1;
    }

    /**
     * Parses IPv6 text in {@code [from, end)} into {@code dst[0..15]}.
     *
     * @return 16, or -1 when it is not exactly one IPv6 address
     */
    static int parseIpv6(ByteBuffer in, int from, int end, byte[] dst) {
        if (end - from < 2) {
            return -1;
        }
        int at = from;
        int n = 0;
        int gap = -1; // where "::" stands, as an index into dst
        if (in.get(at) == ':') {
            if (in.get(at + 1) != ':') {
                return -1;
            }
            gap = 0;
            at += 2;
        }
        while (at < end) {
            int groupStart = at;
            int value = 0;
            while (at < end && hex(in.get(at)) >= 0 && at - groupStart <= 4) {
                value = value << 4 | hex(in.get(at));
                at++;
            }
            if (at < end && in.get(at) == '.') { // a dotted IPv4 tail: the last 32 bits
                if (n > 12 || parseIpv4(in, groupStart, end, dst, n) < 0) {
                    return -1;
                }
                n += 4;
                break;
            }
            if (at == groupStart || at - groupStart > 4 || n > 14) {
                return -1;
            }
            dst[n++] = (byte) (value >>> 8);
            dst[n++] = (byte) value;
            if (at == end) {
                break;
            }
            if (in.get(at) != ':' || at + 1 == end) {
                return -1; // not a separator, or a single trailing colon
            }
            at++;
            if (in.get(at) == ':') {
                if (gap >= 0) {
                    return -1; // "::" at most once
                }
                gap = n;
                at++;
            }
        }
        return expandGap(dst, n, gap);
    }

    /** Moves the groups after "::" to the end and zeroes the ones it stands for. */
    private static int expandGap(byte[] dst, int n, int gap) {
        if (gap < 0) {
            return n == 16 ? 16 : -1;
        }
        if (n == 16) {
            return -1; // "::" must stand for at least one group
        }
        int tail = n - gap;
        System.arraycopy(dst, gap, dst, 16 - tail, tail);
        for (int i = gap; i < 16 - tail; i++) {
            dst[i] = 0;
        }
        return 16;
    }

    /**
     * A TCP port in {@code [from, end)}: 0 to 65535 in decimal.
     *
     * @return the port, or -1
     */
    static int parsePort(ByteBuffer in, int from, int end) {
        if (decimalEnd(in, from, end) != end) {
            return -1;
        }
        int value = decimal(in, from, end, 5);
        return value > 65535 ? -1 : value;
    }

    /** Where the run of decimal digits from {@code from} ends. */
    private static int decimalEnd(ByteBuffer in, int from, int end) {
        int at = from;
        while (at < end && in.get(at) >= '0' && in.get(at) <= '9') {
            at++;
        }
        return at;
    }

    /** The digits in {@code [from, end)}: 1 to maxDigits of them, no leading zero; else -1. */
    private static int decimal(ByteBuffer in, int from, int end, int maxDigits) {
        int digits = end - from;
        if (digits < 1 || digits > maxDigits || digits > 1 && in.get(from) == '0') {
            return -1;
        }
        int value = 0;
        for (int i = from; i < end; i++) {
            value = value * 10 + in.get(i) - '0';
        }
        return value;
    }

    private static int hex(byte b) {
        if (b >= '0' && b <= '9') {
            return b - '0';
        }
        int folded = b | 0x20; // 'A'..'F' onto 'a'..'f'; no other octet lands in 'a'..'f'
        return folded >= 'a' && folded <= 'f' ? folded - 'a' + 10 : -1;
    }
}
