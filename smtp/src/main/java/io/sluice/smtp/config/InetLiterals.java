package io.sluice.smtp.config;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;

/** Strict IP literal and host name syntax; never touches DNS. Stateless. */
final class InetLiterals {
    private InetLiterals() {
    }

    /**
     * Parses a dotted-quad IPv4 address: four decimal octets 0..255, no leading zeros (which some
     * resolvers read as octal).
     *
     * @return the four bytes, or null when the text is not an IPv4 literal
     */
    static byte[] parseIpv4(String text) {
        byte[] out = new byte[4];
        int octet = 0;
        int pos = 0;
        int n = text.length();
        while (octet < 4) {
            int start = pos;
            int value = 0;
            while (pos < n && pos - start < 4 && isDigit(text.charAt(pos))) {
                value = value * 10 + (text.charAt(pos) - '0');
                pos++;
            }
            int digits = pos - start;
            if (digits == 0 || digits > 3 || value > 255 || (digits > 1 && text.charAt(start) == '0')) {
                return null;
            }
            out[octet++] = (byte) value;
            if (octet < 4) {
                if (pos >= n || text.charAt(pos) != '.') {
                    return null;
                }
                pos++;
            }
        }
        return pos == n ? out : null;
    }

    /**
     * Parses an IPv6 literal without brackets (an optional %zone is allowed). An IPv4-mapped
     * literal ({@code ::ffff:10.0.0.1}) comes back as an {@link Inet4Address}, as the JDK does.
     *
     * @return the address, or null when the text is not an IPv6 literal
     */
    static InetAddress parseIpv6(String text) {
        if (text.indexOf(':') < 0 || !ipv6Chars(text)) {
            return null;
        }
        try {
            // Brackets make the JDK treat the text as a literal only: an invalid one throws
            // instead of being looked up in DNS.
            return InetAddress.getByName("[" + text + "]");
        } catch (UnknownHostException e) {
            return null;
        }
    }

    /**
     * True when the text is a DNS host name: dot-separated LDH labels of 1..63, at most 253 chars,
     * the last one not all digits (so {@code 1.2.3} is not taken for a name, nor passed to a
     * resolver that reads it as the address 1.2.0.3).
     */
    static boolean isHostName(String text) {
        int n = text.length();
        if (n == 0 || n > 253 || allDigits(text, text.lastIndexOf('.') + 1, n)) {
            return false;
        }
        int labelStart = 0;
        for (int i = 0; i <= n; i++) {
            if (i == n || text.charAt(i) == '.') {
                if (!isLabel(text, labelStart, i)) {
                    return false;
                }
                labelStart = i + 1;
            }
        }
        return true;
    }

    private static boolean isLabel(String text, int from, int to) {
        int len = to - from;
        if (len < 1 || len > 63 || text.charAt(from) == '-' || text.charAt(to - 1) == '-') {
            return false;
        }
        for (int i = from; i < to; i++) {
            char c = text.charAt(i);
            if (!(isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-')) {
                return false;
            }
        }
        return true;
    }

    private static boolean allDigits(String text, int from, int to) {
        for (int i = from; i < to; i++) {
            if (!isDigit(text.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    private static boolean ipv6Chars(String text) {
        int zone = text.indexOf('%');
        int end = zone < 0 ? text.length() : zone;
        for (int i = 0; i < end; i++) {
            char c = text.charAt(i);
            if (!(isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.')) {
                return false;
            }
        }
        for (int i = end + 1; i < text.length(); i++) {
            char c = text.charAt(i);
            if (!(Character.isLetterOrDigit(c) || c == '_' || c == '-' || c == '.')) {
                return false;
            }
        }
        return zone != text.length() - 1;
    }

    /** Formats 4 bytes as dotted quad, 16 bytes in RFC 5952 form (lower case, longest zero run as ::). */
    static String format(byte[] a) {
        if (a.length == 4) {
            return (a[0] & 0xff) + "." + (a[1] & 0xff) + "." + (a[2] & 0xff) + "." + (a[3] & 0xff);
        }
        int[] groups = new int[8];
        for (int i = 0; i < 8; i++) {
            groups[i] = (a[2 * i] & 0xff) << 8 | (a[2 * i + 1] & 0xff);
        }
        int bestStart = -1;
        int bestLen = 1;
        for (int i = 0; i < 8; ) {
            int j = i;
            while (j < 8 && groups[j] == 0) {
                j++;
            }
            if (j - i > bestLen) {
                bestStart = i;
                bestLen = j - i;
            }
            i = j == i ? i + 1 : j;
        }
        StringBuilder out = new StringBuilder(39);
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                out.append("::");
                i += bestLen - 1;
                continue;
            }
            if (out.length() > 0 && out.charAt(out.length() - 1) != ':') {
                out.append(':');
            }
            out.append(Integer.toHexString(groups[i]));
        }
        return out.toString();
    }

    static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }
}
