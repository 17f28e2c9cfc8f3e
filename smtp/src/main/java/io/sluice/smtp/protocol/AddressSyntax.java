package io.sluice.smtp.protocol;

/**
 * RFC 5321 4.1.2/4.1.3 syntax checks over a byte range of a command line: domains, address
 * literals, local parts and UTF-8 well-formedness. Stateless and allocation-free; any thread.
 * Methods that scan return the index just after what they matched, or -1 when it is malformed.
 */
final class AddressSyntax {
    static final int MAX_LABEL_OCTETS = 63;
    static final int MAX_DOMAIN_OCTETS = 255;
    static final int MAX_LOCAL_PART_OCTETS = 64;

    private AddressSyntax() {
    }

    /**
     * Scans a dot-separated domain starting at {@code p}: labels of letters, digits and hyphens (and,
     * when {@code utf8}, octets above 0x7F for U-labels), 1..63 octets, no hyphen at either end,
     * 255 octets at most. Stops at the first octet that cannot continue a domain.
     */
    static int scanDomain(byte[] b, int p, int to, boolean utf8) {
        int start = p;
        while (true) {
            int label = p;
            while (p < to && isLabelOctet(b[p], utf8)) {
                p++;
            }
            int length = p - label;
            if (length == 0 || length > MAX_LABEL_OCTETS || b[label] == '-' || b[p - 1] == '-') {
                return -1;
            }
            if (p < to && b[p] == '.') {
                p++;
                continue;
            }
            return p - start > MAX_DOMAIN_OCTETS ? -1 : p;
        }
    }

    private static boolean isLabelOctet(byte c, boolean utf8) {
        return isLetterOrDigit(c) || c == '-' || (utf8 && c < 0);
    }

    static boolean isLetterOrDigit(byte c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    }

    /**
     * Checks {@code [from, to)} is a whole address literal with brackets: {@code [IPv4]},
     * {@code [IPv6:...]} or {@code [tag:content]}. With {@code strict} (EHLO/HELO) the general form
     * may only hold letters, digits, '.', ':' and '-', so nothing unusual reaches a Received: header.
     */
    static boolean isAddressLiteral(byte[] b, int from, int to, boolean strict) {
        if (to - from < 3 || b[from] != '[' || b[to - 1] != ']') {
            return false;
        }
        int p = from + 1;
        int end = to - 1;
        if (b[p] >= '0' && b[p] <= '9') {
            return isIpv4(b, p, end);
        }
        int colon = p;
        while (colon < end && b[colon] != ':') {
            colon++;
        }
        if (colon == end || colon + 1 == end) {
            return false;
        }
        if (colon - p == 4 && (b[p] | 0x20) == 'i' && (b[p + 1] | 0x20) == 'p' && (b[p + 2] | 0x20) == 'v' && b[p + 3] == '6') {
            return isIpv6(b, colon + 1, end);
        }
        return isStandardizedTag(b, p, colon) && isGeneralContent(b, colon + 1, end, strict);
    }

    private static boolean isStandardizedTag(byte[] b, int from, int to) {
        for (int i = from; i < to; i++) {
            if (!isLetterOrDigit(b[i]) && b[i] != '-') {
                return false;
            }
        }
        return isLetterOrDigit(b[from]) && b[to - 1] != '-';
    }

    private static boolean isGeneralContent(byte[] b, int from, int to, boolean strict) {
        for (int i = from; i < to; i++) {
            byte c = b[i];
            boolean ok = strict
                    ? isLetterOrDigit(c) || c == '.' || c == ':' || c == '-'
                    : c >= 33 && c <= 126 && c != '[' && c != '\\' && c != ']';
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    /** Dotted quad, each part 1..3 digits and at most 255, exactly covering {@code [from, to)}. */
    static boolean isIpv4(byte[] b, int from, int to) {
        int p = from;
        for (int part = 0; part < 4; part++) {
            int value = 0;
            int digits = 0;
            while (p < to && b[p] >= '0' && b[p] <= '9' && digits < 4) {
                value = value * 10 + (b[p] - '0');
                digits++;
                p++;
            }
            if (digits == 0 || digits > 3 || value > 255) {
                return false;
            }
            if (part < 3) {
                if (p >= to || b[p] != '.') {
                    return false;
                }
                p++;
            }
        }
        return p == to;
    }

    /**
     * RFC 5321 IPv6-addr: eight groups, or at most six around one "::", where a trailing IPv4
     * address counts as two groups.
     */
    static boolean isIpv6(byte[] b, int from, int to) {
        int p = from;
        int groups = 0;
        boolean compressed = false;
        if (to - p >= 2 && b[p] == ':' && b[p + 1] == ':') {
            compressed = true;
            p += 2;
        }
        while (p < to) {
            int q = p;
            while (q < to && isHex(b[q])) {
                q++;
            }
            if (q < to && b[q] == '.') {
                if (!isIpv4(b, p, to)) {
                    return false;
                }
                groups += 2;
                break;
            }
            if (q == p || q - p > 4) {
                return false;
            }
            groups++;
            p = q;
            if (p == to) {
                break;
            }
            if (b[p] != ':' || ++p == to) {
                return false;
            }
            if (b[p] == ':') {
                if (compressed) {
                    return false;
                }
                compressed = true;
                p++;
            }
        }
        return compressed ? groups <= 6 : groups == 8;
    }

    private static boolean isHex(byte c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }

    /** RFC 5322 atext plus, for SMTPUTF8 (RFC 6531), any octet above 0x7F. */
    static boolean isAtext(byte c) {
        if (c < 0) {
            return true;
        }
        if (isLetterOrDigit(c)) {
            return true;
        }
        switch (c) {
            case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
            case '/': case '=': case '?': case '^': case '_': case '`': case '{': case '|': case '}': case '~':
                return true;
            default:
                return false;
        }
    }

    /** Scans a Dot-string (atoms separated by single dots) from {@code p}. */
    static int scanDotString(byte[] b, int p, int to) {
        while (true) {
            int atom = p;
            while (p < to && isAtext(b[p])) {
                p++;
            }
            if (p == atom) {
                return -1;
            }
            if (p < to && b[p] == '.') {
                p++;
                continue;
            }
            return p;
        }
    }

    /** Scans a Quoted-string (RFC 5321 qtextSMTP / quoted-pairSMTP, plus UTF-8) from the DQUOTE at {@code p}. */
    static int scanQuotedString(byte[] b, int p, int to) {
        p++;
        while (p < to) {
            byte c = b[p];
            if (c == '"') {
                return p + 1;
            }
            if (c == '\\') {
                if (p + 1 >= to || b[p + 1] < 32 || b[p + 1] > 126) {
                    return -1;
                }
                p += 2;
            } else if (c >= 32 && c != 127 || c < 0) {
                p++;
            } else {
                return -1;
            }
        }
        return -1;
    }

    /** @return true when {@code [from, to)} holds an octet above 0x7F */
    static boolean hasNonAscii(byte[] b, int from, int to) {
        for (int i = from; i < to; i++) {
            if (b[i] < 0) {
                return true;
            }
        }
        return false;
    }

    /** RFC 3629 well-formedness: no overlongs, no surrogates, nothing above U+10FFFF. */
    static boolean isWellFormedUtf8(byte[] b, int from, int to) {
        int i = from;
        while (i < to) {
            int c = b[i] & 0xFF;
            if (c < 0x80) {
                i++;
                continue;
            }
            int trailing;
            int low = 0x80;
            int high = 0xBF;
            if (c >= 0xC2 && c <= 0xDF) {
                trailing = 1;
            } else if (c >= 0xE0 && c <= 0xEF) {
                trailing = 2;
                low = c == 0xE0 ? 0xA0 : 0x80;
                high = c == 0xED ? 0x9F : 0xBF;
            } else if (c >= 0xF0 && c <= 0xF4) {
                trailing = 3;
                low = c == 0xF0 ? 0x90 : 0x80;
                high = c == 0xF4 ? 0x8F : 0xBF;
            } else {
                return false;
            }
            if (i + trailing >= to) {
                return false;
            }
            int second = b[i + 1] & 0xFF;
            if (second < low || second > high) {
                return false;
            }
            for (int k = 2; k <= trailing; k++) {
                if ((b[i + k] & 0xC0) != 0x80) {
                    return false;
                }
            }
            i += trailing + 1;
        }
        return true;
    }

    /** Lower-cases ASCII letters in place; octets above 0x7F are left alone. */
    static void toLowerAscii(byte[] b, int from, int to) {
        for (int i = from; i < to; i++) {
            if (b[i] >= 'A' && b[i] <= 'Z') {
                b[i] |= 0x20;
            }
        }
    }

    /** @return true when {@code [from, to)} equals the lower-case ASCII {@code lower} ignoring case */
    static boolean equalsIgnoreCase(byte[] b, int from, int to, String lower) {
        if (to - from != lower.length()) {
            return false;
        }
        for (int i = 0; i < lower.length(); i++) {
            byte c = b[from + i];
            if (c >= 'A' && c <= 'Z') {
                c |= 0x20;
            }
            if (c != lower.charAt(i)) {
                return false;
            }
        }
        return true;
    }
}
