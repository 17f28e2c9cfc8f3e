package io.sluice.bench.load;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;

/**
 * One event loop's writer of {@code --ledger} lines ({@link LedgerLine}): every session of the
 * loop appends to this object's buffer, which goes to the shared file channel when it is full and
 * at the end of the run ({@link #flush()}).
 *
 * <p>Cost: encoding a line copies about 70 bytes into the buffer (no allocation: the Message-ID is
 * the run's fixed prefix plus 16 hex digits written in place). Once per {@link #BUFFER_BYTES} (about
 * 900 lines) the loop thread blocks in one {@code write(2)} to the page cache, typically some tens
 * of microseconds, no fsync; the file channel serializes writes from different loops, and each
 * write holds whole lines, so lines never interleave. Runs without {@code --ledger} have no
 * ledger object at all and pay one null check per message.
 *
 * <p>Threading: {@link #record} on the owning loop's thread only; {@link #flush()} on that thread
 * or, after the loop has stopped, on the thread that joined it.
 */
final class MessageLedger {

    static final int BUFFER_BYTES = 64 * 1024;
    private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    private static final byte[][] OUTCOMES = new byte[LedgerOutcome.values().length][];

    static {
        for (LedgerOutcome o : LedgerOutcome.values()) {
            OUTCOMES[o.ordinal()] = (" " + o.name() + " ").getBytes(StandardCharsets.US_ASCII);
        }
    }

    private final FileChannel file;
    private final byte[] idPrefix;
    private final byte[] idSuffix = ("@" + MessageTemplates.ID_DOMAIN).getBytes(StandardCharsets.US_ASCII);
    private final ByteBuffer buffer = ByteBuffer.allocate(BUFFER_BYTES);
    private final int maxLineBytes;
    private IOException failure;

    /** @param idPrefix {@link MessageTemplates#messageIdPrefix()} */
    MessageLedger(FileChannel file, String idPrefix) {
        this.file = file;
        this.idPrefix = idPrefix.getBytes(StandardCharsets.US_ASCII);
        this.maxLineBytes = this.idPrefix.length + MessageTemplates.ID_HEX_DIGITS + idSuffix.length + 32;
    }

    /** Appends the line of message {@code sequence}; writes the buffer out first when it is full. */
    void record(long sequence, LedgerOutcome outcome, int code) {
        if (buffer.remaining() < maxLineBytes) {
            flush();
        }
        buffer.put(idPrefix);
        for (int shift = 4 * (MessageTemplates.ID_HEX_DIGITS - 1); shift >= 0; shift -= 4) {
            buffer.put(HEX[(int) (sequence >>> shift) & 0xf]);
        }
        buffer.put(idSuffix);
        buffer.put(OUTCOMES[outcome.ordinal()]);
        putDecimal(Math.max(0, Math.min(code, 999)));
        buffer.put((byte) '\n');
    }

    /** Writes what is buffered; the first write error is kept for {@link #failure()}, later lines dropped. */
    void flush() {
        buffer.flip();
        try {
            while (failure == null && buffer.hasRemaining()) {
                file.write(buffer);
            }
        } catch (IOException e) {
            failure = e;
        }
        buffer.clear();
    }

    /** The first write error, or null. */
    IOException failure() {
        return failure;
    }

    private void putDecimal(int value) {
        if (value >= 100) {
            buffer.put((byte) ('0' + value / 100));
        }
        if (value >= 10) {
            buffer.put((byte) ('0' + value / 10 % 10));
        }
        buffer.put((byte) ('0' + value % 10));
    }
}
