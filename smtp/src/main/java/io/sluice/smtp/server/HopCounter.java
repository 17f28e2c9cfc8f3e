package io.sluice.smtp.server;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Counts the {@code Received:} header fields of the message a session is reading, for mail loop
 * detection (RFC 5321 6.3, Postfix's {@code hopcount_limit}): a message that went round a loop
 * carries one more of them per pass.
 *
 * <p>Cheap on the hot path: it reads only the header section, stops at the first empty line (or as
 * soon as the count is over the limit), keeps its state in a few fields across the reads a header
 * line may be split over, reads with absolute gets (the buffer's position is left alone) and
 * allocates nothing. A field counts when its name, in any case, starts a line and is followed by
 * optional blanks and a colon; continuation lines (starting with a space or tab) of a folded field
 * are skipped, so {@code Received-SPF:} and {@code X-Received:} do not count. One instance per
 * session, that session's loop thread only.
 */
final class HopCounter {

    /** The field name, lower case, without the colon (RFC 5322 obsolete syntax allows blanks before it). */
    private static final byte[] NAME = "received".getBytes(StandardCharsets.US_ASCII);

    private static final byte LINE_START = 0;
    private static final byte NAME_MATCH = 1;
    private static final byte BEFORE_COLON = 2;
    private static final byte SKIP_LINE = 3;
    private static final byte DONE = 4;

    private int maxHops;
    private int hops;
    private byte state = DONE;
    private int matched;

    /** A message begins; {@code maxHops} 0 counts nothing (loop detection off). */
    void begin(int maxHops) {
        this.maxHops = maxHops;
        hops = 0;
        matched = 0;
        state = maxHops > 0 ? LINE_START : DONE;
    }

    /** Reads {@code data}'s remaining bytes (without consuming them) while the header section lasts. */
    void scan(ByteBuffer data) {
        byte s = state;
        if (s == DONE) {
            return; // the body, or the limit already passed: one compare per append
        }
        int m = matched;
        int n = hops;
        int to = data.limit();
        for (int i = data.position(); i < to && s != DONE; i++) {
            byte b = data.get(i);
            switch (s) {
                case LINE_START -> {
                    if (b == '\r' || b == '\n') {
                        s = DONE; // the empty line ends the header section
                    } else if (lower(b) == NAME[0]) {
                        s = NAME_MATCH;
                        m = 1;
                    } else {
                        s = SKIP_LINE; // another field, or a folded continuation line
                    }
                }
                case NAME_MATCH -> {
                    if (lower(b) == NAME[m]) {
                        if (++m == NAME.length) {
                            s = BEFORE_COLON;
                        }
                    } else {
                        s = b == '\n' ? LINE_START : SKIP_LINE;
                    }
                }
                case BEFORE_COLON -> {
                    if (b == ':') {
                        s = ++n > maxHops ? DONE : SKIP_LINE; // over the limit: nothing more to learn
                    } else if (b != ' ' && b != '\t') {
                        s = b == '\n' ? LINE_START : SKIP_LINE; // Received-SPF, Receivedx, ...
                    }
                }
                case SKIP_LINE -> {
                    if (b == '\n') {
                        s = LINE_START;
                    }
                }
                default -> s = DONE;
            }
        }
        state = s;
        matched = m;
        hops = n;
    }

    /** {@code Received:} fields counted so far (up to one over the limit). */
    int hops() {
        return hops;
    }

    /** True when the message carries more {@code Received:} fields than the limit allows. */
    boolean tooManyHops() {
        return maxHops > 0 && hops > maxHops;
    }

    private static byte lower(byte b) {
        return b >= 'A' && b <= 'Z' ? (byte) (b + ('a' - 'A')) : b;
    }
}
