package io.sluice.bench.load;

import java.nio.ByteBuffer;

/**
 * Incremental parser of SMTP replies (RFC 5321 §4.2) on the client side of a load session.
 * Consumes whole CRLF-terminated lines only, so a partial line stays in the caller's buffer for
 * the next read. Strict: the code is three digits ({@code [2-5][0-5][0-9]}), followed by SP,
 * {@code -} (continuation) or CRLF; every line of a multi-line reply carries the same code; a
 * line longer than {@link #MAX_LINE_BYTES} or a bare LF is malformed. While parsing it notes the
 * EHLO keywords the load generator cares about. One per session; loop thread only; allocates
 * nothing.
 */
final class ReplyParser {

    /** No complete reply in the buffer yet. */
    static final int NEED_MORE = -1;
    /** The reply is malformed; the session should give up on the connection. */
    static final int MALFORMED = -2;

    /** RFC 5321 §4.5.3.1.5 says 512 octets; tolerate long EHLO lines from real servers. */
    static final int MAX_LINE_BYTES = 2048;

    /** Keyword bit: the server offered PIPELINING (RFC 2920). */
    static final int PIPELINING = 1;
    /** Keyword bit: the server offered STARTTLS (RFC 3207). */
    static final int STARTTLS = 2;

    private static final byte[] PIPELINING_WORD = {'P', 'I', 'P', 'E', 'L', 'I', 'N', 'I', 'N', 'G'};
    private static final byte[] STARTTLS_WORD = {'S', 'T', 'A', 'R', 'T', 'T', 'L', 'S'};

    /** Code of the first line of the reply in progress, or 0 between replies. */
    private int pendingCode;
    private int pendingKeywords;
    private int keywords;

    /**
     * Consumes lines from {@code in} until a reply is complete.
     *
     * @return the reply code, {@link #NEED_MORE} (partial lines left in {@code in}) or {@link #MALFORMED}
     */
    int parse(ByteBuffer in) {
        while (true) {
            int start = in.position();
            int end = findLineEnd(in, start);
            if (end == NEED_MORE || end == MALFORMED) {
                return end;
            }
            int code = lineCode(in, start, end);
            if (code < 0) {
                return MALFORMED;
            }
            if (pendingCode != 0 && code != pendingCode) {
                return MALFORMED;
            }
            in.position(end + 2);
            boolean last = end - start == 3 || in.get(start + 3) == ' ';
            pendingKeywords |= keywordOf(in, start + 4, end);
            if (last) {
                pendingCode = 0;
                keywords = pendingKeywords;
                pendingKeywords = 0;
                return code;
            }
            pendingCode = code;
        }
    }

    /** The keyword bits seen in the last complete reply (meaningful after an EHLO reply). */
    int keywords() {
        return keywords;
    }

    /** Forgets a reply in progress (after STARTTLS, when earlier input is discarded). */
    void reset() {
        pendingCode = 0;
        pendingKeywords = 0;
    }

    /** Index of the CR of the first CRLF from {@code start}, NEED_MORE, or MALFORMED. */
    private static int findLineEnd(ByteBuffer in, int start) {
        int limit = in.limit();
        for (int i = start; i < limit; i++) {
            byte b = in.get(i);
            if (b == '\n') {
                return MALFORMED; // a bare LF: a CRLF would have been found at i - 1
            }
            if (b == '\r') {
                if (i + 1 == limit) {
                    return i - start + 2 > MAX_LINE_BYTES ? MALFORMED : NEED_MORE;
                }
                return in.get(i + 1) == '\n' && i - start + 2 <= MAX_LINE_BYTES ? i : MALFORMED;
            }
        }
        return limit - start >= MAX_LINE_BYTES ? MALFORMED : NEED_MORE;
    }

    /** The code of the line [start, end), or -1 when it is not a valid reply line. */
    private static int lineCode(ByteBuffer in, int start, int end) {
        if (end - start < 3) {
            return -1;
        }
        int d1 = in.get(start) - '0';
        int d2 = in.get(start + 1) - '0';
        int d3 = in.get(start + 2) - '0';
        if (d1 < 2 || d1 > 5 || d2 < 0 || d2 > 5 || d3 < 0 || d3 > 9) {
            return -1;
        }
        if (end - start > 3) {
            byte separator = in.get(start + 3);
            if (separator != ' ' && separator != '-') {
                return -1;
            }
        }
        return d1 * 100 + d2 * 10 + d3;
    }

    /** The keyword bit of the text [from, end) of an EHLO line, or 0. */
    private static int keywordOf(ByteBuffer in, int from, int end) {
        if (isWord(in, from, end, PIPELINING_WORD)) {
            return PIPELINING;
        }
        if (isWord(in, from, end, STARTTLS_WORD)) {
            return STARTTLS;
        }
        return 0;
    }

    /** True when [from, end) starts with {@code word} (case-insensitive) followed by the end or SP. */
    private static boolean isWord(ByteBuffer in, int from, int end, byte[] word) {
        if (end - from < word.length) {
            return false;
        }
        for (int i = 0; i < word.length; i++) {
            if ((in.get(from + i) & ~0x20) != word[i]) {
                return false;
            }
        }
        return end - from == word.length || in.get(from + word.length) == ' ';
    }
}
