package io.sluice.smtp.protocol;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Decodes the DATA stream (the bytes after "354") into message content: removes the leading dot of
 * every line (RFC 5321 4.5.2), stops at {@code CRLF.CRLF} and only there, and normalises line
 * endings per {@link BareNewline}. Keeps its state between calls, so input may be split anywhere.
 *
 * <p>The dot rule only applies to a line begun by a real CRLF: after a bare LF (stored as CRLF) a
 * '.' is plain data, so none of the smuggling variants ({@code LF.LF}, {@code CR.CR},
 * {@code LF.CRLF}, {@code CRLF.LF}, {@code CR.CRLF}, {@code CRLF.CR CRLF}) can end the message, here
 * or in any server that later relays what we stored.
 *
 * <p>One instance per session, used only by the session's loop thread. {@link #decode} allocates
 * nothing: line ends are found eight octets at a time, and a run of ordinary lines (no bare CR or
 * LF, no leading dot) is bulk-copied between the buffers in one piece.
 */
public final class DataDecoder {
    /** RFC 5321 4.5.3.1.6: a text line is at most 1000 octets including CRLF. */
    public static final int DEFAULT_MAX_LINE_OCTETS = 1000;

    private static final byte CR = '\r';
    private static final byte LF = '\n';
    private static final byte DOT = '.';

    /** Inside a line, or after a bare LF (where a '.' is data). */
    private static final int IN_LINE = 0;
    /** Just after CRLF (or at the start of data): a '.' here is removed or starts the end mark. */
    private static final int LINE_START = 1;
    /** A CR inside a line, not yet known to be part of CRLF. */
    private static final int AFTER_CR = 2;
    /** A '.' at line start. */
    private static final int AFTER_DOT = 3;
    /** ".CR" at line start: LF now ends the message. */
    private static final int AFTER_DOT_CR = 4;
    /** The end of data was consumed; {@link #reset()} starts the next message. */
    private static final int DONE = 5;

    private static final long LOW7 = 0x7F7F7F7F7F7F7F7FL;
    private static final long CRS = 0x0D0D0D0D0D0D0D0DL;
    private static final long LFS = 0x0A0A0A0A0A0A0A0AL;

    private final BareNewline policy;
    private final int maxLineOctets;
    private final long maxMessageOctets;
    private int state = LINE_START;
    private long messageOctets;
    private long lineOctets;
    private boolean tooLarge;
    private boolean lineTooLong;
    private boolean bareNewlineSeen;

    /**
     * @param policy           what the session does about bare CR/LF (decoding is the same)
     * @param maxLineOctets    longest text line including CRLF, {@link #DEFAULT_MAX_LINE_OCTETS} by RFC
     * @param maxMessageOctets largest decoded message, 0 for unlimited
     */
    public DataDecoder(BareNewline policy, int maxLineOctets, long maxMessageOctets) {
        if (maxLineOctets < 3) {
            throw new IllegalArgumentException("maxLineOctets=" + maxLineOctets + " < MIN=3");
        }
        if (maxMessageOctets < 0) {
            throw new IllegalArgumentException("maxMessageOctets=" + maxMessageOctets + " < 0");
        }
        this.policy = policy;
        this.maxLineOctets = maxLineOctets;
        this.maxMessageOctets = maxMessageOctets;
    }

    /** @return the bare newline policy the session applies after end of data */
    public BareNewline policy() {
        return policy;
    }

    /** Starts a new message: at line start (the DATA command's CRLF counts), counters and flags cleared. */
    public void reset() {
        state = LINE_START;
        messageOctets = 0;
        lineOctets = 0;
        tooLarge = false;
        lineTooLong = false;
        bareNewlineSeen = false;
    }

    /**
     * Decodes wire octets from {@code in} into {@code out}.
     *
     * @param out needs room for at least two octets to make progress (a CRLF is written whole)
     * @return true at end of data ({@code in.position()} just after the final CRLF; the ".CRLF" is not
     *         output, the CRLF before it is); false when {@code in} is exhausted or {@code out} is full
     */
    public boolean decode(ByteBuffer in, ByteBuffer out) {
        int p = in.position();
        int limit = in.limit();
        try {
            while (p < limit) {
                switch (state) {
                    case IN_LINE: {
                        byte c = in.get(p);
                        if (c == CR) {
                            state = AFTER_CR;
                            p++;
                        } else if (c == LF) {
                            if (!emitNewline(out)) {
                                return false;
                            }
                            bareNewlineSeen = true; // stays IN_LINE: a bare LF never starts a line
                            p++;
                        } else {
                            int copied = emitLines(in, p, limit, out);
                            if (copied == 0) {
                                copied = emitRun(in, p, runEnd(in, p, limit) - p, out);
                            }
                            if (copied == 0) {
                                return false;
                            }
                            p += copied;
                        }
                        break;
                    }
                    case LINE_START:
                        if (in.get(p) == DOT) {
                            state = AFTER_DOT;
                            p++;
                        } else {
                            state = IN_LINE;
                        }
                        break;
                    case AFTER_CR:
                        if (in.get(p) == LF) {
                            if (!emitNewline(out)) {
                                return false;
                            }
                            state = LINE_START;
                            p++;
                        } else if (!emitBareCr(out)) {
                            return false; // else: the octet after the bare CR is decoded IN_LINE
                        }
                        break;
                    case AFTER_DOT:
                        if (in.get(p) == CR) {
                            state = AFTER_DOT_CR;
                            p++;
                        } else {
                            state = IN_LINE; // the leading dot is dropped, the rest is data
                        }
                        break;
                    case AFTER_DOT_CR:
                        if (in.get(p) == LF) {
                            state = DONE;
                            p++;
                            return true;
                        } else if (!emitBareCr(out)) {
                            return false;
                        }
                        break;
                    default:
                        return true;
                }
            }
            return state == DONE;
        } finally {
            in.position(p);
        }
    }

    /** @return decoded octets so far, including those dropped after the size limit was passed */
    public long messageOctets() {
        return messageOctets;
    }

    /** @return true once {@link #messageOctets()} exceeded the limit; nothing is appended to out from then on */
    public boolean tooLarge() {
        return tooLarge;
    }

    /** @return true when some line exceeded maxLineOctets including CRLF */
    public boolean lineTooLong() {
        return lineTooLong;
    }

    /** @return true when a bare CR or bare LF was seen (under either policy) */
    public boolean bareNewlineSeen() {
        return bareNewlineSeen;
    }

    /** @return true once the end of data was consumed (until {@link #reset()}) */
    public boolean isDone() {
        return state == DONE;
    }

    private boolean emitBareCr(ByteBuffer out) {
        if (!tooLarge && !out.hasRemaining()) {
            return false;
        }
        bareNewlineSeen = true;
        count(1);
        if (!tooLarge) {
            out.put(CR);
        }
        state = IN_LINE;
        return true;
    }

    private boolean emitNewline(ByteBuffer out) {
        if (!tooLarge && out.remaining() < 2) {
            return false;
        }
        messageOctets += 2; // CRLF counts toward the message, not toward the line's content
        lineOctets = 0;
        if (maxMessageOctets > 0 && messageOctets > maxMessageOctets) {
            tooLarge = true;
        }
        if (!tooLarge) {
            out.put(CR).put(LF);
        }
        return true;
    }

    /**
     * The fast path for ordinary text: copies, in one bulk copy, the run of whole lines from
     * {@code from} (inside a line, at an ordinary octet) up to the last CRLF whose next octet is in
     * {@code in} and is not a '.', so the state after the copy is again IN_LINE. Stops short of a
     * bare CR or LF, a dot line, the end of {@code in}, the room in {@code out} and the size limit;
     * those (and a message already too large) are left to the octet-by-octet states, so the output
     * and the flags are exactly theirs. Returns the octets consumed, 0 when not even one line fits.
     */
    private int emitLines(ByteBuffer in, int from, int limit, ByteBuffer out) {
        if (tooLarge) {
            return 0;
        }
        long room = out.remaining();
        if (maxMessageOctets > 0) {
            room = Math.min(room, maxMessageOctets - messageOctets);
        }
        long line = lineOctets;
        boolean longLine = false;
        int end = from;
        int p = from;
        while (true) {
            int eol = runEnd(in, p, limit);
            if (eol + 2 >= limit || eol + 2 - from > room || in.get(eol) != CR || in.get(eol + 1) != LF
                    || in.get(eol + 2) == DOT) {
                break;
            }
            longLine |= line + (eol - p) + 2 > maxLineOctets;
            line = 0;
            p = eol + 2;
            end = p;
        }
        int n = end - from;
        if (n > 0) {
            messageOctets += n;
            lineOctets = 0;
            lineTooLong |= longLine;
            int at = out.position();
            out.put(at, in, from, n);
            out.position(at + n);
        }
        return n;
    }

    /** Copies up to {@code length} ordinary octets; returns how many were consumed (0: out is full). */
    private int emitRun(ByteBuffer in, int from, int length, ByteBuffer out) {
        int n = tooLarge ? length : Math.min(length, out.remaining());
        count(n);
        if (!tooLarge && n > 0) {
            int at = out.position();
            out.put(at, in, from, n);
            out.position(at + n);
        }
        return n;
    }

    private void count(int octets) {
        messageOctets += octets;
        lineOctets += octets;
        if (lineOctets + 2 > maxLineOctets) {
            lineTooLong = true;
        }
        if (maxMessageOctets > 0 && messageOctets > maxMessageOctets) {
            tooLarge = true;
        }
    }

    /** @return the index of the first CR or LF at or after {@code p}, or {@code limit} */
    private static int runEnd(ByteBuffer in, int p, int limit) {
        boolean bigEndian = in.order() == ByteOrder.BIG_ENDIAN;
        while (p + Long.BYTES <= limit) {
            long word = in.getLong(p);
            long found = zeroBytes(word ^ CRS) | zeroBytes(word ^ LFS);
            if (found != 0) {
                return p + ((bigEndian ? Long.numberOfLeadingZeros(found) : Long.numberOfTrailingZeros(found)) >>> 3);
            }
            p += Long.BYTES;
        }
        while (p < limit && in.get(p) != CR && in.get(p) != LF) {
            p++;
        }
        return p;
    }

    /** @return 0x80 in each byte of {@code x} that is zero and 0 elsewhere (exact: no false positives) */
    private static long zeroBytes(long x) {
        long y = (x & LOW7) + LOW7;
        return ~(y | x | LOW7);
    }
}
