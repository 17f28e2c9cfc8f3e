package io.sluice.smtp.client;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;
import java.util.Arrays;

/**
 * A message's content encoded once for the wire, in the form BDAT carries (RFC 3030): CRLF-only
 * (a bare CR or LF becomes CRLF), no line over {@link #MAX_LINE_OCTETS} octets (longer lines are
 * wrapped: in the header a CRLF SP is inserted, which folds the header; in the body a CRLF), a
 * last line end added when missing. It is not dot-stuffed: the offsets of the lines that start
 * with a dot are kept ({@link #dotOffset}), so a DATA transfer inserts the stuffing dots and the
 * final {@code .CRLF} as it writes, and one encoding serves both BDAT and DATA (a delivery may
 * try several hops that differ). A {@code BODY=BINARYMIME} message is kept verbatim (BDAT only).
 *
 * <p>Encoding skips whole lines that need no change (CRLF-terminated, no other CR or LF,
 * inside the line limit with their stuffing dot: what the inbound side stores for ordinary mail)
 * with an eight-octets-at-a-time scan, noting only their dots and the end of the header; it copies
 * runs of ordinary octets in bulk; only the rest (bare CR or LF, long lines, lines cut by a write
 * boundary) goes through the per-octet state machine.
 *
 * <p>{@link #read} is how the client fills it: the stored octets are read straight into the
 * array (positional reads of at most {@link #READ_CHUNK_OCTETS}) and encoded in place, so a
 * clean message costs one copy out of the page cache and one scan; from the first line that
 * changes on (if any), the rest is read once more in 8 KiB pieces and encoded behind the clean
 * lines by the state machine.
 *
 * <p>Threading: filled on a client worker thread by {@link #read} (or as a channel by any single
 * thread, e.g. a benchmark or a test), then read-only and handed to an event loop (the hand-off
 * publishes it). Public only for the benchmark in {@code bench}: the constructor, {@link #read},
 * {@link #write}, {@link #finish()} and {@link #length()}.
 *
 * <p>Why a per-message heap array and not a pooled buffer: the encoded bytes must outlive the
 * worker's call and survive a retry on the next MX host or a fresh connection, and they are
 * written in pieces as the socket drains; the connection copies them into its own pooled
 * direct buffers anyway. The array is sized from the stored size, so it grows at most once (a
 * 64 KiB message's array is a young-generation allocation that dies with the attempt; profiles of
 * the relay show the GC well under 1 % of its CPU, the per-octet encoding far above it).
 */
public final class OutboundContent implements WritableByteChannel {
    /** RFC 5321 §4.5.3.1.6: 1000 octets with the CRLF. */
    static final int MAX_LINE_OCTETS = 998;
    /** The most octets copied out of a direct buffer at once (spool reads arrive in 8 KiB pieces). */
    private static final int SCRATCH_OCTETS = 8192;
    /**
     * One scratch array per encoding thread (the client's two workers), not one per message: a
     * direct source buffer is copied here in bulk, then scanned like a heap array.
     */
    private static final ThreadLocal<byte[]> SCRATCH = ThreadLocal.withInitial(() -> new byte[SCRATCH_OCTETS]);
    private static final int[] NO_DOTS = new int[0];
    /** Eight octets at a time for the run scan (SWAR); little-endian, so the first octet is the lowest. */
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final long CRS = 0x0D0D0D0D0D0D0D0DL;
    private static final long LFS = 0x0A0A0A0A0A0A0A0AL;
    private static final long LOW7 = 0x7F7F7F7F7F7F7F7FL;
    private static final long HIGH_BITS = 0x8080808080808080L;
    /**
     * The most octets one positional read asks for: a read into a heap array goes through the
     * JDK's per-thread temporary direct buffer of that size, which stays cached; this bounds it.
     */
    static final int READ_CHUNK_OCTETS = 128 * 1024;

    /** Stored content read at a position (the spool's positional read); blocking, any thread. */
    @FunctionalInterface
    public interface StoredContent {
        /** Reads from {@code position} into {@code dst}; the octets read, -1 at the end. */
        int read(long position, ByteBuffer dst) throws IOException;
    }

    private final boolean binary;
    private byte[] out;
    private int length;
    /** Offsets in {@link #out} of lines whose first octet is a dot (DATA stuffs them). */
    private int[] dots = NO_DOTS;
    private int dotCount;
    private int lineOctets;
    private boolean lineStart = true;
    private boolean pendingCr;
    private boolean inHeader = true;
    private boolean eightBit;
    private int wrappedLines;
    private boolean finished;

    /**
     * A text message (7bit or 8BITMIME): normalised and wrapped as the class comment says.
     *
     * @param storedOctets the stored size (the array starts a little larger)
     */
    public OutboundContent(long storedOctets) {
        this(storedOctets, false);
    }

    /**
     * @param storedOctets the stored size (the array starts a little larger)
     * @param binary       a {@code BODY=BINARYMIME} message: kept verbatim, only BDAT can carry it
     */
    public OutboundContent(long storedOctets, boolean binary) {
        this.binary = binary;
        long capacity = Math.min(Integer.MAX_VALUE - 64, storedOctets + storedOctets / 32 + 64);
        this.out = new byte[(int) capacity];
    }

    /**
     * Reads a stored message of {@code storedOctets} octets into a new content and encodes it
     * (see the class comment); finished. Blocking: a worker thread.
     *
     * @throws IOException when the source fails or ends before {@code storedOctets}
     */
    public static OutboundContent read(StoredContent source, long storedOctets, boolean binary) throws IOException {
        OutboundContent c = new OutboundContent(storedOctets, binary);
        if (storedOctets > c.out.length) {
            return c.readInPieces(source, storedOctets); // beyond any array: never for a real message size
        }
        int n = (int) storedOctets;
        int at = 0;
        while (at < n) {
            int got = source.read(at, ByteBuffer.wrap(c.out, at, Math.min(READ_CHUNK_OCTETS, n - at)));
            if (got <= 0) {
                throw new IOException("stored content ends after " + at + " of " + n + " octets");
            }
            at += got;
        }
        int clean = c.keepCleanLines(n);
        if (clean < n) {
            c.encodeRest(source, clean, n);
        }
        return c.finish();
    }

    private OutboundContent readInPieces(StoredContent source, long storedOctets) throws IOException {
        ByteBuffer piece = ByteBuffer.allocate(READ_CHUNK_OCTETS); // the one buffer of this rare path
        long at = 0;
        while (at < storedOctets) {
            piece.clear().limit((int) Math.min(piece.capacity(), storedOctets - at));
            int got = source.read(at, piece);
            if (got <= 0) {
                throw new IOException("stored content ends after " + at + " of " + storedOctets + " octets");
            }
            at += got;
            write(piece.flip());
        }
        return finish();
    }

    /**
     * The first {@code n} octets of {@link #out} are the stored form: keeps the leading lines that
     * need no change where they are (all {@code n} octets for binary content) and returns where
     * they end.
     */
    private int keepCleanLines(int n) {
        eightBit = anyHighBit(out, 0, n);
        length = binary ? n : cleanLines(out, 0, n);
        return length;
    }

    /**
     * Encodes the stored octets from {@code from} to {@code n}, read once more in scratch-sized
     * pieces: their encoded form may outgrow them in place, and a copy of the whole rest would
     * double a large message's memory for a moment. Rare: only content that changes gets here.
     */
    private void encodeRest(StoredContent source, int from, int n) throws IOException {
        byte[] scratch = SCRATCH.get();
        int at = from;
        while (at < n) {
            int got = source.read(at, ByteBuffer.wrap(scratch, 0, Math.min(scratch.length, n - at)));
            if (got <= 0) {
                throw new IOException("stored content ends after " + at + " of " + n + " octets");
            }
            encode(scratch, 0, got);
            at += got;
        }
    }

    /** Encodes a whole text message at once (tests). */
    static OutboundContent of(byte[] content) {
        OutboundContent c = new OutboundContent(content.length);
        c.write(ByteBuffer.wrap(content));
        c.finish();
        return c;
    }

    @Override
    public int write(ByteBuffer src) {
        int n = src.remaining();
        if (src.hasArray()) {
            encode(src.array(), src.arrayOffset() + src.position(), n);
            src.position(src.limit());
            return n;
        }
        byte[] scratch = SCRATCH.get();
        while (src.hasRemaining()) {
            int k = Math.min(scratch.length, src.remaining());
            src.get(scratch, 0, k);
            encode(scratch, 0, k);
        }
        return n;
    }

    private void encode(byte[] in, int from, int count) {
        if (binary) {
            copy(in, from, count);
            return;
        }
        int end = from + count;
        int i = from;
        while (i < end) {
            if (pendingCr) {
                accept(in[i++]);
                continue;
            }
            if (lineStart) {
                int clean = cleanLines(in, i, end);
                if (clean > i) {
                    copy(in, i, clean - i);
                    i = clean;
                } else {
                    accept(in[i++]);
                }
                continue;
            }
            int stop = Math.min(end, i + (MAX_LINE_OCTETS - lineOctets));
            int j = ordinaryRun(in, i, stop);
            if (j > i) {
                copy(in, i, j - i);
                lineOctets += j - i;
                i = j;
            }
            if (i < end) {
                accept(in[i++]); // a CR or LF, or the octet that needs a wrap first
            }
        }
    }

    /**
     * The end of the run of octets from {@code from} that are neither CR nor LF, at most
     * {@code stop}: eight octets per step while they last, then one by one.
     */
    static int ordinaryRun(byte[] in, int from, int stop) {
        int j = from;
        while (j + Long.BYTES <= stop) {
            long v = (long) LONGS.get(in, j);
            long hits = zeroOctets(v ^ CRS) | zeroOctets(v ^ LFS);
            if (hits != 0) {
                return j + (Long.numberOfTrailingZeros(hits) >>> 3);
            }
            j += Long.BYTES;
        }
        while (j < stop && in[j] != '\r' && in[j] != '\n') {
            j++;
        }
        return j;
    }

    /**
     * At a line start (no CR pending, nothing of the line written): the end of the run of whole
     * lines from {@code from} that go out unchanged, each ending in CRLF inside {@code end} with
     * no other CR or LF and at most {@link #MAX_LINE_OCTETS} octets with its stuffing dot. Notes
     * their dots (at the offsets they get when copied to {@link #length} on) and an empty line
     * ending the header; copies nothing. {@code from} itself when the first line needs the state
     * machine.
     */
    private int cleanLines(byte[] in, int from, int end) {
        int base = length - from;
        int i = from;
        while (i < end) {
            boolean dot = in[i] == '.';
            // The CR may be at most MAX_LINE_OCTETS (one less with a stuffing dot) after the start.
            int stop = Math.min(end, i + MAX_LINE_OCTETS + (dot ? 0 : 1));
            int j = ordinaryRun(in, i, stop);
            if (j >= stop || j + 1 >= end || in[j] != '\r' || in[j + 1] != '\n') {
                break;
            }
            if (dot) {
                noteDot(base + i);
            } else if (j == i && inHeader) {
                inHeader = false; // the empty line between header and body
            }
            i = j + 2;
        }
        return i;
    }

    /** 0x80 in exactly the octets of {@code v} that are zero, 0 elsewhere (no carries between octets). */
    private static long zeroOctets(long v) {
        long t = (v & LOW7) + LOW7;
        return ~(t | v | LOW7);
    }

    /** Appends octets that need no change; notes 8-bit ones. */
    private void copy(byte[] in, int from, int count) {
        ensure(count);
        System.arraycopy(in, from, out, length, count);
        length += count;
        if (!eightBit) {
            eightBit = anyHighBit(in, from, count);
        }
    }

    private static boolean anyHighBit(byte[] in, int from, int count) {
        int end = from + count;
        int k = from;
        long acc = 0;
        for (; k + Long.BYTES <= end; k += Long.BYTES) {
            acc |= (long) LONGS.get(in, k);
        }
        for (; k < end; k++) {
            acc |= in[k]; // sign-extended: an 8-bit octet sets 0x80 of the low octet too
        }
        return (acc & HIGH_BITS) != 0;
    }

    /** The per-octet state machine: line ends, line starts, wraps (and the reference for the bulk path). */
    private void accept(byte b) {
        if (pendingCr) {
            pendingCr = false;
            newline();
            if (b == '\n') {
                return;
            }
        }
        if (b == '\r') {
            pendingCr = true;
        } else if (b == '\n') {
            newline();
        } else {
            content(b);
        }
    }

    private void content(byte b) {
        if (lineOctets >= MAX_LINE_OCTETS) {
            wrappedLines++;
            put((byte) '\r');
            put((byte) '\n');
            lineOctets = 0;
            lineStart = true;
            if (inHeader) {
                put((byte) ' ');
                lineOctets = 1;
                lineStart = false;
            }
        }
        if (lineStart && b == '.') {
            noteDot(length);
            lineOctets++; // the stuffing dot DATA adds counts against the line limit
        }
        lineStart = false;
        eightBit |= b < 0;
        put(b);
        lineOctets++;
    }

    private void noteDot(int offset) {
        if (dotCount == dots.length) {
            dots = Arrays.copyOf(dots, Math.max(8, dotCount * 2));
        }
        dots[dotCount++] = offset;
    }

    private void newline() {
        if (lineStart && inHeader) {
            inHeader = false; // the empty line between header and body
        }
        put((byte) '\r');
        put((byte) '\n');
        lineOctets = 0;
        lineStart = true;
    }

    private void put(byte b) {
        ensure(1);
        out[length++] = b;
    }

    private void ensure(int more) {
        if (length + more > out.length) {
            long wanted = Math.max((long) length + more, out.length + (long) (out.length >> 1));
            out = Arrays.copyOf(out, (int) Math.min(Integer.MAX_VALUE - 8, Math.max(64, wanted)));
        }
    }

    /** Ends the content: a last line end if missing (not for binary content). Idempotent. */
    public OutboundContent finish() {
        if (finished) {
            return this;
        }
        finished = true;
        if (binary) {
            return this;
        }
        if (pendingCr) {
            pendingCr = false;
            newline();
        }
        if (!lineStart) {
            newline();
        }
        return this;
    }

    /**
     * Puts a header field (a DKIM-Signature: US-ASCII, CRLF lines, none starting with a dot, each
     * within the line limit) in front of the finished content. Copies the content once into a new
     * array: only for a signed message, on the worker, where the signature's ~1 ms dwarfs the copy.
     */
    void prepend(byte[] field) {
        byte[] grown = new byte[length + field.length];
        System.arraycopy(field, 0, grown, 0, field.length);
        System.arraycopy(out, 0, grown, field.length, length);
        out = grown;
        length += field.length;
        for (int i = 0; i < dotCount; i++) {
            dots[i] += field.length;
        }
    }

    /** The encoded bytes (the BDAT form), valid up to {@link #length()}. */
    byte[] bytes() {
        return out;
    }

    /** Octets of the BDAT form: what {@code BDAT n} counts. */
    public int length() {
        return length;
    }

    /** Lines that start with a dot (DATA sends each with one more dot in front). */
    int dotCount() {
        return dotCount;
    }

    /** The offset in {@link #bytes()} of the {@code index}th line that starts with a dot, in ascending order. */
    int dotOffset(int index) {
        return dots[index];
    }

    /** Octets DATA sends: the content, its stuffing dots and the final {@code .CRLF}. */
    long dataLength() {
        return (long) length + dotCount + 3;
    }

    /** True for {@code BODY=BINARYMIME} content (verbatim; only BDAT may carry it). */
    boolean binary() {
        return binary;
    }

    /** True when any octet has the high bit set (needs 8BITMIME). */
    boolean eightBit() {
        return eightBit;
    }

    /** Lines that were longer than {@link #MAX_LINE_OCTETS} and were wrapped. */
    int wrappedLines() {
        return wrappedLines;
    }

    @Override
    public boolean isOpen() {
        return !finished;
    }

    @Override
    public void close() {
        finish();
    }
}
