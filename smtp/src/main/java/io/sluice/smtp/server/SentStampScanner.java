package io.sluice.smtp.server;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import io.sluice.smtp.spool.QueueId;

/**
 * Finds the send timestamp a load generator put in each message ({@code X-Sluice-Sent: <epoch
 * microseconds>}, as {@code sluice load} writes it) while the sink discards the message's bytes.
 *
 * <p>Cheap on the hot path: it reads only the header section (stops at the blank line, or after
 * {@link #MAX_HEADER_OCTETS}), byte by byte with absolute gets on the buffer the store is handed
 * (the decoder's scratch buffer), parses the digits in place and allocates nothing per message.
 * The sessions of one loop interleave their messages, so the scan state of each open message
 * lives in a slot of fixed primitive arrays chosen by its queue id's counter; a slot reused while
 * its message is still open (more than {@link #SLOTS} messages begun meanwhile) loses that
 * message's stamp, which is then counted as missing. One instance per event loop, that loop's
 * thread only.
 */
final class SentStampScanner {

    /** Open messages per loop whose stamps can be tracked at once. */
    static final int SLOTS = 1 << 14;
    /** Header octets read per message before giving up on finding the stamp. */
    static final int MAX_HEADER_OCTETS = 64 * 1024;
    /** Returned by {@link #finish} when the message had no (valid) stamp. */
    static final long NO_STAMP = -1;

    /** The header name, lower case, colon included. */
    private static final byte[] NAME = "x-sluice-sent:".getBytes(StandardCharsets.US_ASCII);
    /** 18 digits cannot overflow a long. */
    private static final int MAX_DIGITS = 18;

    private static final byte LINE_START = 0;
    private static final byte NAME_MATCH = 1;
    private static final byte SKIP_LINE = 2;
    private static final byte VALUE = 3;
    private static final byte DIGITS = 4;
    private static final byte DONE = 5;

    private final long[] owner = new long[SLOTS];
    private final long[] value = new long[SLOTS];
    private final byte[] state = new byte[SLOTS];
    private final int[] matched = new int[SLOTS];
    private final int[] scanned = new int[SLOTS];

    SentStampScanner() {
        Arrays.fill(owner, -1);
    }

    /** A message with queue id value {@code id} opens. */
    void begin(long id) {
        int slot = slot(id);
        owner[slot] = id;
        value[slot] = NO_STAMP;
        state[slot] = LINE_START;
        matched[slot] = 0;
        scanned[slot] = 0;
    }

    /** Reads {@code data}'s remaining bytes (without consuming them) until the header section ends. */
    void scan(long id, ByteBuffer data) {
        int slot = slot(id);
        if (owner[slot] != id || state[slot] == DONE) {
            return;
        }
        int from = data.position();
        int to = Math.min(data.limit(), from + MAX_HEADER_OCTETS - scanned[slot]);
        byte s = state[slot];
        int m = matched[slot];
        long v = value[slot];
        int i = from;
        for (; i < to && s != DONE; i++) {
            byte b = data.get(i);
            switch (s) {
                case LINE_START -> {
                    if (b == '\r' || b == '\n') {
                        s = DONE; // the blank line: the stamp is not in this message
                    } else if (b == ' ' || b == '\t') {
                        s = SKIP_LINE; // a folded continuation line
                    } else {
                        s = matchName(b, 0);
                        m = s == NAME_MATCH ? 1 : 0;
                    }
                }
                case NAME_MATCH -> {
                    s = matchName(b, m);
                    if (s == NAME_MATCH && ++m == NAME.length) {
                        s = VALUE;
                    } else if (s != NAME_MATCH && b == '\n') {
                        s = LINE_START;
                    }
                }
                case SKIP_LINE -> s = b == '\n' ? LINE_START : SKIP_LINE;
                case VALUE -> {
                    if (b >= '0' && b <= '9') {
                        v = b - '0';
                        m = 1;
                        s = DIGITS;
                    } else if (b != ' ' && b != '\t') {
                        s = DONE; // a malformed stamp
                    }
                }
                case DIGITS -> {
                    if (b >= '0' && b <= '9' && m < MAX_DIGITS) {
                        v = v * 10 + (b - '0');
                        m++;
                    } else {
                        value[slot] = b >= '0' && b <= '9' ? NO_STAMP : v;
                        s = DONE;
                    }
                }
                default -> s = DONE;
            }
        }
        scanned[slot] += i - from;
        if (scanned[slot] >= MAX_HEADER_OCTETS) {
            s = DONE;
        }
        state[slot] = s;
        matched[slot] = m;
        if (s != DONE) {
            value[slot] = v; // digits so far, when the stamp is split across two appends
        }
    }

    /** The message ends (committed or aborted): its stamp in epoch microseconds, or {@link #NO_STAMP}. */
    long finish(long id) {
        int slot = slot(id);
        if (owner[slot] != id) {
            return NO_STAMP;
        }
        owner[slot] = -1;
        return state[slot] == DONE ? value[slot] : NO_STAMP;
    }

    /** NAME_MATCH when {@code b} is the {@code index}th character of the name (any case), else SKIP_LINE. */
    private static byte matchName(byte b, int index) {
        byte lower = b >= 'A' && b <= 'Z' ? (byte) (b + ('a' - 'A')) : b;
        return lower == NAME[index] ? NAME_MATCH : SKIP_LINE;
    }

    /** Queue ids of one loop differ in their counter bits (and time): slot by the counter. */
    private static int slot(long id) {
        return (int) (id >>> QueueId.LOOP_BITS) & (SLOTS - 1);
    }
}
