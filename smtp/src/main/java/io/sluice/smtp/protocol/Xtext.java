package io.sluice.smtp.protocol;

import java.nio.charset.StandardCharsets;

/**
 * RFC 3461 4 xtext: 1* of {@code "!".."~"} except {@code "+"} and {@code "="}, or {@code "+"} and two
 * upper-case hex digits for any other octet. The encoding of ENVID, ORCPT and AUTH values. Like
 * Postfix, ENVID and ORCPT also take lower-case hex digits, which {@link #upperCaseHex} makes
 * canonical before the value is kept (so what we pass on is strict xtext). Stateless.
 */
public final class Xtext {
    private Xtext() {
    }

    /**
     * Checks {@code b[from, to)} as xtext.
     *
     * @param printable also require each decoded octet to be printable US-ASCII ({@code " ".."~"}), as
     *                  RFC 3461 4.2 and 4.4 require of ORCPT's address and ENVID before encoding
     * @param anyCase   accept lower-case hex digits too (Postfix does; RFC 3461 says upper case)
     * @return the number of decoded octets, or -1 when it is empty or not xtext
     */
    static int decodedLength(byte[] b, int from, int to, boolean printable, boolean anyCase) {
        if (from >= to) {
            return -1;
        }
        int octets = 0;
        for (int i = from; i < to; i++, octets++) {
            byte c = b[i];
            if (c == '+') {
                if (i + 2 >= to || !isHex(b[i + 1], anyCase) || !isHex(b[i + 2], anyCase)) {
                    return -1;
                }
                int decoded = hex(upper(b[i + 1])) << 4 | hex(upper(b[i + 2]));
                if (printable && (decoded < ' ' || decoded > '~')) {
                    return -1;
                }
                i += 2;
            } else if (c < '!' || c > '~' || c == '=') {
                return -1;
            }
        }
        return octets;
    }

    /** Makes the hex digits after each {@code "+"} of valid xtext in {@code b[from, to)} upper case, in place. */
    static void upperCaseHex(byte[] b, int from, int to) {
        for (int i = from; i + 2 < to; i++) {
            if (b[i] == '+') {
                b[i + 1] = upper(b[i + 1]);
                b[i + 2] = upper(b[i + 2]);
                i += 2;
            }
        }
    }

    /**
     * Decodes a valid xtext for display (a report's {@code Original-Recipient:}); octets outside
     * printable US-ASCII are kept encoded ({@code +0A}) so the result is one safe line. Allocates.
     */
    public static String decode(String xtext) {
        StringBuilder out = new StringBuilder(xtext.length());
        for (int i = 0; i < xtext.length(); i++) {
            char c = xtext.charAt(i);
            if (c == '+' && i + 2 < xtext.length() && isUpperHex((byte) xtext.charAt(i + 1))
                    && isUpperHex((byte) xtext.charAt(i + 2))) {
                int decoded = hex((byte) xtext.charAt(i + 1)) << 4 | hex((byte) xtext.charAt(i + 2));
                if (decoded >= ' ' && decoded <= '~') {
                    out.append((char) decoded);
                    i += 2;
                    continue;
                }
            }
            out.append(c >= ' ' && c <= '~' ? c : '?');
        }
        return out.toString();
    }

    /** Encodes UTF-8 text as xtext (for tests and tools; the relay passes received xtext on unchanged). */
    public static String encode(String text) {
        StringBuilder out = new StringBuilder(text.length() + 8);
        for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xFF;
            if (c >= '!' && c <= '~' && c != '+' && c != '=') {
                out.append((char) c);
            } else {
                out.append('+').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 0xF, 16)));
            }
        }
        return out.toString();
    }

    private static boolean isUpperHex(byte c) {
        return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
    }

    private static boolean isHex(byte c, boolean anyCase) {
        return isUpperHex(c) || anyCase && c >= 'a' && c <= 'f';
    }

    private static byte upper(byte c) {
        return c >= 'a' && c <= 'f' ? (byte) (c - 0x20) : c;
    }

    private static int hex(byte c) {
        return c <= '9' ? c - '0' : c - 'A' + 10;
    }
}
