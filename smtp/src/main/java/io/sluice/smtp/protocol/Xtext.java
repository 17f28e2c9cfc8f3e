package io.sluice.smtp.protocol;

import java.nio.charset.StandardCharsets;

/**
 * RFC 3461 4 xtext: 1* of {@code "!".."~"} except {@code "+"} and {@code "="}, or {@code "+"} and two
 * upper-case hex digits for any other octet. The encoding of ENVID, ORCPT and AUTH values. Like
 * Postfix, ENVID and ORCPT also take lower-case hex digits, which {@link #upperCaseHex} makes
 * canonical before the value is kept (so what we pass on is strict xtext). Stateless.
 */
public final class Xtext {
    /** RFC 3461 4.2: ORCPT's address is at most 500 characters (before encoding). */
    private static final int ORIGINAL_RECIPIENT_MAX_CHARS = 500;

    private static final char[] HEX_DIGITS = "0123456789ABCDEF".toCharArray();

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

    /**
     * Checks {@code b[from, to)} as RFC 6533 3 utf-8-addr-unitext: printable US-ASCII except
     * {@code "+"}, {@code "="} and {@code "\"}, well-formed UTF-8 (RFC 3629) for anything else, and
     * {@code \x{HEX}} (2 to 6 hex digits, a Unicode scalar value) for an escaped character.
     *
     * @return the number of characters (an escape is one), or -1 when it is empty or not unitext
     */
    static int unitextLength(byte[] b, int from, int to) {
        if (from >= to) {
            return -1;
        }
        int chars = 0;
        for (int i = from; i < to; chars++) {
            int c = b[i] & 0xFF;
            if (c == '\\') {
                i = escapeEnd(b, i, to);
            } else if (c >= 0x80) {
                i = utf8End(b, i, to);
            } else if (c < '!' || c > '~' || c == '+' || c == '=') {
                return -1;
            } else {
                i++;
            }
            if (i < 0) {
                return -1;
            }
        }
        return chars;
    }

    /** After the {@code \x{HEX}} at {@code b[i]}, or -1. */
    private static int escapeEnd(byte[] b, int i, int to) {
        if (i + 3 >= to || b[i + 1] != 'x' || b[i + 2] != '{') {
            return -1;
        }
        int value = 0;
        int digits = 0;
        int p = i + 3;
        for (; p < to && b[p] != '}'; p++, digits++) {
            if (digits == 6 || !isHex(b[p], true)) {
                return -1;
            }
            value = value << 4 | hex(upper(b[p]));
        }
        boolean scalar = value <= 0x10FFFF && (value < 0xD800 || value > 0xDFFF);
        return p < to && digits >= 2 && scalar ? p + 1 : -1;
    }

    /** After the well-formed UTF-8 sequence of two to four octets at {@code b[i]} (RFC 3629 4), or -1. */
    private static int utf8End(byte[] b, int i, int to) {
        int lead = b[i] & 0xFF;
        int n = lead >= 0xC2 && lead <= 0xDF ? 2 : lead >= 0xE0 && lead <= 0xEF ? 3 : lead >= 0xF0 && lead <= 0xF4 ? 4 : 0;
        if (n == 0 || i + n > to) {
            return -1;
        }
        int second = b[i + 1] & 0xFF;
        int low = lead == 0xE0 ? 0xA0 : lead == 0xF0 ? 0x90 : 0x80;
        int high = lead == 0xED ? 0x9F : lead == 0xF4 ? 0x8F : 0xBF;
        if (second < low || second > high) {
            return -1;
        }
        for (int k = 2; k < n; k++) {
            if ((b[i + k] & 0xC0) != 0x80) {
                return -1;
            }
        }
        return i + n;
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

    /**
     * Appends the ORCPT value (RFC 3461 4.2) for a recipient that arrived without one, as Postfix
     * does when it relays: {@code rfc822;} and the address in xtext; for an address with characters
     * over U+007F, {@code utf-8;} and RFC 6533 3 utf-8-addr-unitext, which only an SMTPUTF8
     * transaction may carry. Appends nothing when the address cannot be expressed: non-ASCII
     * without SMTPUTF8, a control character, or more than 500 characters. Any thread.
     *
     * @param out      the RCPT command line being built (appended to in place, no other allocation)
     * @param address  the recipient as received, without angle brackets
     * @param smtpUtf8 the transaction is SMTPUTF8 (RFC 6531), so UTF-8 may go on the wire
     * @return whether the value was appended
     */
    public static boolean appendOriginalRecipient(StringBuilder out, String address, boolean smtpUtf8) {
        boolean ascii = true;
        int chars = 0;
        for (int i = 0; i < address.length(); i += Character.charCount(address.codePointAt(i)), chars++) {
            int c = address.codePointAt(i);
            if (c < ' ' || c == 0x7F || c >= 0x80 && c <= 0x9F) {
                return false; // RFC 3461 4.2: the address is printable
            }
            ascii &= c < 0x80;
        }
        if (address.isEmpty() || chars > ORIGINAL_RECIPIENT_MAX_CHARS || !ascii && !smtpUtf8) {
            return false;
        }
        if (ascii) {
            appendEncoded(out.append("rfc822;"), address);
        } else {
            appendUnitext(out.append("utf-8;"), address);
        }
        return true;
    }

    /** Appends US-ASCII {@code text} as xtext. */
    private static void appendEncoded(StringBuilder out, String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c >= '!' && c <= '~' && c != '+' && c != '=') {
                out.append(c);
            } else {
                out.append('+').append(HEX_DIGITS[c >> 4 & 0xF]).append(HEX_DIGITS[c & 0xF]);
            }
        }
    }

    /**
     * Appends {@code text} as utf-8-addr-unitext: printable US-ASCII other than {@code "+"},
     * {@code "="} and {@code "\"} as is, non-ASCII as is (UTF-8 on the wire), the rest as {@code \x{HH}}.
     */
    private static void appendUnitext(StringBuilder out, String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c >= 0x80 || c >= '!' && c <= '~' && c != '+' && c != '=' && c != '\\') {
                out.append(c); // surrogate pairs are copied one char at a time, unchanged
            } else {
                out.append("\\x{").append(HEX_DIGITS[c >> 4 & 0xF]).append(HEX_DIGITS[c & 0xF]).append('}');
            }
        }
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
