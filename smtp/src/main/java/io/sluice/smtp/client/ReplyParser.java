package io.sluice.smtp.client;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Incremental parser of SMTP and LMTP replies (RFC 5321 §4.2) on the client side: the outbound
 * delivery client and the load generator. Consumes whole CRLF-terminated lines only, in place,
 * so a partial line stays in the caller's buffer for the next read. Strict: the code is three
 * digits ({@code [2-5][0-5][0-9]}), followed by SP, {@code -} (continuation) or CRLF; every line
 * of a multi-line reply carries the same code; a line longer than {@link #MAX_LINE_BYTES} or a
 * bare LF is malformed.
 *
 * <p>While parsing it notes the EHLO keywords a client acts on ({@link #keywords()}, the
 * {@code SIZE} limit) and copies up to {@link #MAX_TEXT_BYTES} of the reply text into a fixed
 * array, so a failure can be reported with the peer's words ({@link #text()} makes the one
 * String, on demand). One per session; loop thread only; {@link #parse} allocates nothing.
 */
public final class ReplyParser {

    /** No complete reply in the buffer yet. */
    public static final int NEED_MORE = -1;
    /** The reply is malformed; the session should give up on the connection. */
    public static final int MALFORMED = -2;

    /** RFC 5321 §4.5.3.1.5 says 512 octets; tolerate long EHLO lines from real servers. */
    public static final int MAX_LINE_BYTES = 2048;
    /** Reply text kept for {@link #text()}: enough for any DSN diagnostic. */
    public static final int MAX_TEXT_BYTES = 400;

    /** Keyword bit: PIPELINING (RFC 2920). */
    public static final int PIPELINING = 1;
    /** Keyword bit: STARTTLS (RFC 3207). */
    public static final int STARTTLS = 2;
    /** Keyword bit: SIZE (RFC 1870); the limit is {@link #sizeLimit()}. */
    public static final int SIZE = 4;
    /** Keyword bit: 8BITMIME (RFC 6152). */
    public static final int EIGHT_BIT_MIME = 8;
    /** Keyword bit: SMTPUTF8 (RFC 6531). */
    public static final int SMTPUTF8 = 16;
    /** Keyword bit: CHUNKING (RFC 3030). */
    public static final int CHUNKING = 32;
    /** Keyword bit: ENHANCEDSTATUSCODES (RFC 2034). */
    public static final int ENHANCED_STATUS_CODES = 64;
    /** Keyword bit: BINARYMIME (RFC 3030; only with CHUNKING). */
    public static final int BINARYMIME = 128;
    /** Keyword bit: AUTH (RFC 4954) listing the PLAIN mechanism (RFC 4616). */
    public static final int AUTH_PLAIN = 256;
    /** Keyword bit: AUTH listing the LOGIN mechanism (draft-murchison-sasl-login). */
    public static final int AUTH_LOGIN = 512;
    /** Keyword bit: DSN (RFC 3461). */
    public static final int DSN = 1024;

    private static final byte[][] WORDS = {
        ascii("PIPELINING"), ascii("STARTTLS"), ascii("SIZE"), ascii("8BITMIME"), ascii("SMTPUTF8"),
        ascii("CHUNKING"), ascii("ENHANCEDSTATUSCODES"), ascii("BINARYMIME"), ascii("DSN"),
    };
    private static final int[] BITS = {PIPELINING, STARTTLS, SIZE, EIGHT_BIT_MIME, SMTPUTF8, CHUNKING,
        ENHANCED_STATUS_CODES, BINARYMIME, DSN};
    private static final byte[] AUTH = ascii("AUTH");
    private static final byte[] PLAIN = ascii("PLAIN");
    private static final byte[] LOGIN = ascii("LOGIN");

    /** Code of the first line of the reply in progress, or 0 between replies. */
    private int pendingCode;
    private int pendingKeywords;
    private long pendingSize;
    private int keywords;
    private long sizeLimit;
    private final byte[] text = new byte[MAX_TEXT_BYTES];
    private int textLength;
    private boolean pendingFirstLine = true;

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * Consumes lines from {@code in} until a reply is complete.
     *
     * @return the reply code, {@link #NEED_MORE} (partial lines left in {@code in}) or {@link #MALFORMED}
     */
    public int parse(ByteBuffer in) {
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
            noteLine(in, start + 4, end);
            if (last) {
                pendingCode = 0;
                pendingFirstLine = true;
                keywords = pendingKeywords;
                sizeLimit = pendingSize;
                pendingKeywords = 0;
                pendingSize = 0;
                return code;
            }
            pendingCode = code;
        }
    }

    /** The keyword bits seen in the last complete reply (meaningful after an EHLO reply). */
    public int keywords() {
        return keywords;
    }

    /** The {@code SIZE} value of the last complete reply; 0 when absent or without a limit. */
    public long sizeLimit() {
        return sizeLimit;
    }

    /**
     * The text of the last complete reply (after the code and separator; continuation lines
     * joined with a space), at most {@link #MAX_TEXT_BYTES} octets, non-ASCII shown as '?'.
     * Allocates: for reports, not per reply.
     */
    public String text() {
        char[] chars = new char[textLength];
        for (int i = 0; i < textLength; i++) {
            int b = text[i] & 0xff;
            chars[i] = b < 0x20 || b > 0x7e ? '?' : (char) b;
        }
        return new String(chars);
    }

    /** Forgets a reply in progress (after STARTTLS, when earlier input is discarded). */
    public void reset() {
        pendingCode = 0;
        pendingKeywords = 0;
        pendingSize = 0;
        pendingFirstLine = true;
    }

    /** Records the text [from, end) of one line: keyword bits and the copied text. */
    private void noteLine(ByteBuffer in, int from, int end) {
        if (pendingFirstLine) {
            textLength = 0;
            pendingFirstLine = false;
        } else if (textLength < MAX_TEXT_BYTES) {
            text[textLength++] = ' ';
        }
        for (int i = from; i < end && textLength < MAX_TEXT_BYTES; i++) {
            text[textLength++] = in.get(i);
        }
        // One byte decides for almost every line (replies' text starts with a digit); only then the word.
        if (end - from > AUTH.length && (in.get(from) | 0x20) == 'a' && isAuthKeyword(in, from)) {
            pendingKeywords |= mechanisms(in, from + AUTH.length + 1, end);
            return;
        }
        for (int w = 0; w < WORDS.length; w++) {
            if (isWord(in, from, end, WORDS[w])) {
                pendingKeywords |= BITS[w];
                if (BITS[w] == SIZE) {
                    pendingSize = number(in, from + WORDS[w].length + 1, end);
                }
                return;
            }
        }
    }

    /**
     * The mechanism bits of an AUTH line's list [from, end): {@code AUTH PLAIN LOGIN}, or the
     * pre-RFC {@code AUTH=PLAIN LOGIN} some servers still send.
     */
    private static int mechanisms(ByteBuffer in, int from, int end) {
        int bits = 0;
        int start = from;
        for (int i = from; i <= end; i++) {
            if (i == end || in.get(i) == ' ') {
                if (isWord(in, start, i, PLAIN)) {
                    bits |= AUTH_PLAIN;
                } else if (isWord(in, start, i, LOGIN)) {
                    bits |= AUTH_LOGIN;
                }
                start = i + 1;
            }
        }
        return bits;
    }

    /** The decimal number at [from, end) (stopping at the first non-digit), 0 if none or absurd. */
    private static long number(ByteBuffer in, int from, int end) {
        long value = 0;
        for (int i = from; i < end; i++) {
            int d = in.get(i) - '0';
            if (d < 0 || d > 9) {
                break;
            }
            if (value > (Long.MAX_VALUE - d) / 10) {
                return 0; // larger than any message: no limit
            }
            value = value * 10 + d;
        }
        return value;
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

    /**
     * True when the line at {@code from} (known to be longer than "AUTH") starts with {@code AUTH}
     * (case-insensitive) followed by SP or by the {@code =} of the pre-RFC form.
     */
    private static boolean isAuthKeyword(ByteBuffer in, int from) {
        for (int i = 1; i < AUTH.length; i++) {
            if ((in.get(from + i) & ~0x20) != AUTH[i]) {
                return false;
            }
        }
        byte next = in.get(from + AUTH.length);
        return next == ' ' || next == '=';
    }

    /** True when [from, end) starts with {@code word} (case-insensitive) followed by the end or SP. */
    private static boolean isWord(ByteBuffer in, int from, int end, byte[] word) {
        if (end - from < word.length) {
            return false;
        }
        for (int i = 0; i < word.length; i++) {
            byte b = in.get(from + i);
            byte w = word[i];
            if (b != w && (w < 'A' || w > 'Z' || (b & ~0x20) != w)) {
                return false;
            }
        }
        return end - from == word.length || in.get(from + word.length) == ' ';
    }
}
