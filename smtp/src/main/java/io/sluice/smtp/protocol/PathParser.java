package io.sluice.smtp.protocol;

import java.nio.charset.StandardCharsets;

/**
 * Parses an RFC 5321 Path ({@code "<" [A-d-l ":"] Mailbox ">"}) from a command line copied into a
 * byte array. One instance per {@link CommandParser}, used by its owner thread only. The parse
 * result is left in {@link #path()}; the only allocations are the MailPath and its Strings, and
 * none when the path repeats the previous one of its kind (the same sender on every transaction).
 */
final class PathParser {
    /** RFC 5321 4.5.3.1.3: reverse- or forward-path including the angle brackets and source route. */
    static final int MAX_PATH_OCTETS = 256;
    /** Forward paths remembered: a transaction's recipient list often repeats on one connection. */
    static final int RECENT_PATHS = 4;

    private final RecentValue<MailPath> recentReverse = new RecentValue<>(1, MAX_PATH_OCTETS);
    private final RecentValue<MailPath> recentForward = new RecentValue<>(RECENT_PATHS, MAX_PATH_OCTETS);
    private MailPath path;

    /** @return the path of the last successful {@link #parse} */
    MailPath path() {
        return path;
    }

    /**
     * Parses the path whose '<' is at {@code b[from]}. The domain is lower-cased in place.
     *
     * @param reverse true for MAIL FROM ({@code <>} allowed), false for RCPT TO ({@code <Postmaster>} allowed)
     * @return the index just after '>', or -1 when the path is malformed or over a length limit
     */
    int parse(byte[] b, int from, int to, boolean reverse) {
        path = null;
        int p = from + 1;
        if (p < to && b[p] == '>') {
            if (!reverse) {
                return -1;
            }
            path = MailPath.NULL;
            return p + 1;
        }
        boolean routed = p < to && b[p] == '@';
        if (routed) {
            p = skipSourceRoute(b, p, to);
            if (p < 0) {
                return -1;
            }
        }
        int localStart = p;
        p = p < to && b[p] == '"' ? AddressSyntax.scanQuotedString(b, p, to) : AddressSyntax.scanDotString(b, p, to);
        if (p < 0 || p >= to || p - localStart > AddressSyntax.MAX_LOCAL_PART_OCTETS) {
            return -1;
        }
        int localEnd = p;
        if (b[p] == '>' && !reverse && !routed && AddressSyntax.equalsIgnoreCase(b, localStart, localEnd, "postmaster")) {
            path = MailPath.POSTMASTER;
            return p + 1;
        }
        if (b[p] != '@') {
            return -1;
        }
        int domainStart = ++p;
        boolean literal = p < to && b[p] == '[';
        p = literal ? scanLiteral(b, p, to) : AddressSyntax.scanDomain(b, p, to, true);
        if (p < 0 || p >= to || b[p] != '>' || p + 1 - from > MAX_PATH_OCTETS) {
            return -1;
        }
        boolean utf8 = AddressSyntax.hasNonAscii(b, localStart, p);
        if (utf8 && !AddressSyntax.isWellFormedUtf8(b, localStart, p)) {
            return -1;
        }
        if (!literal) {
            AddressSyntax.toLowerAscii(b, domainStart, p);
        }
        RecentValue<MailPath> recent = reverse ? recentReverse : recentForward;
        path = recent.lookup(b, from, p + 1);
        if (path == null) {
            // The one allocation a command may cost: MailPath and its Strings, kept by the session.
            path = MailPath.mailbox(string(b, localStart, localEnd, utf8), string(b, domainStart, p, utf8), utf8);
            recent.remember(b, from, p + 1, path);
        }
        return p + 1;
    }

    /** Skips {@code @dom,@dom:} (RFC 5321 4.1.2 A-d-l, accepted and ignored per Appendix C). */
    private static int skipSourceRoute(byte[] b, int p, int to) {
        while (true) {
            if (p >= to || b[p] != '@') {
                return -1;
            }
            p = AddressSyntax.scanDomain(b, p + 1, to, false);
            if (p < 0 || p >= to) {
                return -1;
            }
            if (b[p] == ':') {
                return p + 1;
            }
            if (b[p] != ',') {
                return -1;
            }
            p++;
        }
    }

    private static int scanLiteral(byte[] b, int p, int to) {
        int close = p;
        while (close < to && b[close] != ']') {
            close++;
        }
        if (close == to || !AddressSyntax.isAddressLiteral(b, p, close + 1, false)) {
            return -1;
        }
        return close + 1;
    }

    private static String string(byte[] b, int from, int to, boolean utf8) {
        // ISO-8859-1 for pure ASCII is a straight copy into a compact (Latin-1) String.
        return new String(b, from, to - from, utf8 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
    }
}
