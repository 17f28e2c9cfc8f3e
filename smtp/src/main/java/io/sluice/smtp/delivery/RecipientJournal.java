package io.sluice.smtp.delivery;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * {@code recipients.log} in the spool directory: what the queue manager knows of each recipient
 * beyond the envelope, so that a restart neither delivers a recipient twice nor forgets its retry
 * state. Append-only records, big-endian:
 *
 * <pre>
 *   u32 magic "SRJL" | u16 n | n bytes of body | u32 crc32c(magic, n, body)
 *   body: u8 type | u64 queue id | u16 recipient index (envelope order; 0xFFFF = every recipient)
 *         | u16 attempts | u16 reply code | u64 millis | u8 len + enhanced code | u16 len + text (UTF-8)
 * </pre>
 *
 * Types: {@link #DELIVERED} and {@link #FAILED} (final; millis = when), {@link #DEFERRED} (millis =
 * next attempt), {@link #DELAY_NOTIFIED} (the delay DSN of the message is in the spool),
 * {@link #RETRY_NOW} (an operator asked for an attempt now; written by an offline CLI). A reader
 * resynchronises byte by byte past a torn or corrupt record. A later record for the same
 * recipient replaces an earlier one, except that nothing replaces a final one.
 *
 * <p>Durability: final records are group-committed: written at the end of each queue cycle and
 * fsynced at most once per {@link #SYNC_INTERVAL_NANOS} and before the queue thread parks, so a
 * crash of the machine inside that window can only cause a redelivery (the message is still in
 * the spool), never a loss; a killed process loses nothing written. Deferral records are written
 * the same way but never force an fsync of their own (losing one means an earlier retry).
 *
 * <p>The server's queue thread owns an instance (append, flush, compact at start); {@link #read}
 * is for anyone, and an offline CLI appends with {@link #appendNow} while it holds the spool lock.
 */
public final class RecipientJournal implements Closeable {
    /** The file name inside the spool directory. */
    public static final String FILE_NAME = "recipients.log";
    /** Every recipient of the message (in {@link #RETRY_NOW}, {@link #DELAY_NOTIFIED}). */
    public static final int ALL_RECIPIENTS = 0xFFFF;
    static final int MAGIC = 0x53524A4C; // "SRJL"
    static final byte DELIVERED = 1;
    static final byte FAILED = 2;
    static final byte DEFERRED = 3;
    static final byte DELAY_NOTIFIED = 4;
    static final byte RETRY_NOW = 5;
    static final long SYNC_INTERVAL_NANOS = 20_000_000L;
    private static final int MAX_BODY = 0xFFFF;
    private static final int FIXED_BODY = 1 + 8 + 2 + 2 + 2 + 8 + 1 + 2;

    private final Path file;
    private final CRC32C crc = new CRC32C();
    // Records of one queue cycle; grown when a cycle writes more (rare: a cycle drains <= 4096 results).
    private ByteBuffer pending = ByteBuffer.allocate(64 * 1024);
    private FileChannel channel;
    private boolean unsyncedFinal;
    private long lastSyncNanos;

    private RecipientJournal(Path file) {
        this.file = file;
    }

    /** The journal of a spool directory (the file is created on first write). */
    public static RecipientJournal in(Path spoolDir) {
        return new RecipientJournal(spoolDir.resolve(FILE_NAME));
    }

    // ---- writing (queue thread) ----

    /** Queues a final outcome (delivered or failed) for the next {@link #flush}. */
    void recordFinal(long id, int index, int attempts, RecipientResult result, long nowMillis) {
        byte type = result.outcome() == RecipientResult.Outcome.DELIVERED ? DELIVERED : FAILED;
        put(type, id, index, attempts, result.replyCode(), nowMillis, result.enhancedCode(), result.text());
        unsyncedFinal = true;
    }

    /** Queues a deferral (attempts so far, next attempt, last error) for the next {@link #flush}. */
    void recordDeferred(long id, int index, int attempts, RecipientResult result, long nextMillis) {
        put(DEFERRED, id, index, attempts, result.replyCode(), nextMillis, result.enhancedCode(), result.text());
    }

    /** Queues the fact that the message's delay notification is durable. */
    void recordDelayNotified(long id, long nowMillis) {
        put(DELAY_NOTIFIED, id, ALL_RECIPIENTS, 0, 0, nowMillis, "", "");
        unsyncedFinal = true;
    }

    private void put(byte type, long id, int index, int attempts, int code, long millis, String enhanced,
            String text) {
        byte[] e = enhanced.getBytes(StandardCharsets.US_ASCII);
        byte[] t = text.getBytes(StandardCharsets.UTF_8);
        int body = FIXED_BODY + Math.min(e.length, 255) + Math.min(t.length, MAX_BODY - FIXED_BODY - 255);
        if (pending.remaining() < body + 10) {
            ByteBuffer bigger = ByteBuffer.allocate(Math.max(pending.capacity() * 2, body + 10));
            pending.flip();
            bigger.put(pending);
            pending = bigger;
        }
        int start = pending.position();
        pending.putInt(MAGIC).putShort((short) body).put(type).putLong(id).putShort((short) index)
                .putShort((short) Math.min(attempts, 0xFFFF)).putShort((short) code).putLong(millis)
                .put((byte) Math.min(e.length, 255)).put(e, 0, Math.min(e.length, 255));
        int textLength = body - FIXED_BODY - Math.min(e.length, 255);
        pending.putShort((short) textLength).put(t, 0, textLength);
        crc.reset();
        crc.update(pending.array(), start, pending.position() - start);
        pending.putInt((int) crc.getValue());
    }

    /**
     * Writes the queued records; fsyncs when a final record is unsynced and either {@code idle}
     * or the last fsync is {@link #SYNC_INTERVAL_NANOS} old. Queue thread.
     */
    void flush(boolean idle) throws IOException {
        if (pending.position() > 0) {
            if (channel == null) {
                channel = openForAppend(file);
            }
            pending.flip();
            while (pending.hasRemaining()) {
                channel.write(pending);
            }
            pending.clear();
        }
        long now = System.nanoTime();
        if (unsyncedFinal && (idle || now - lastSyncNanos >= SYNC_INTERVAL_NANOS)) {
            channel.force(false);
            unsyncedFinal = false;
            lastSyncNanos = now;
        }
    }

    /**
     * Server start, before anything is appended: rewrites the file keeping only the current state
     * of the messages in {@code liveIds}, atomically (tmp file, fsync, rename, fsync directory).
     */
    void compact(Map<Long, MessageRecord> state, Collection<Long> liveIds) throws IOException {
        Path tmp = file.resolveSibling(FILE_NAME + ".tmp");
        for (long id : liveIds) {
            MessageRecord m = state.get(id);
            if (m != null) {
                m.writeTo(this, id);
            }
        }
        try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
            pending.flip();
            while (pending.hasRemaining()) {
                out.write(pending);
            }
            pending.clear();
            out.force(false);
        }
        unsyncedFinal = false;
        if (channel != null) {
            channel.close();
            channel = null;
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        fsyncDirectory(file.getParent());
    }

    /** Writes and fsyncs what is queued; closes the file. */
    @Override
    public void close() throws IOException {
        try {
            unsyncedFinal |= pending.position() > 0;
            if (pending.position() > 0 || unsyncedFinal && channel != null) {
                flush(true);
            }
        } finally {
            if (channel != null) {
                channel.close();
                channel = null;
            }
        }
    }

    /**
     * An offline CLI (holding the spool lock, so no server runs): appends "attempt now" for the
     * message's deferred recipients, or every message's with {@code id} 0, durably.
     */
    public static void appendRetryNow(Path spoolDir, long id) throws IOException {
        RecipientJournal j = in(spoolDir);
        j.put(RETRY_NOW, id, ALL_RECIPIENTS, 0, 0, 0, "", "");
        j.unsyncedFinal = true;
        j.close();
    }

    // ---- reading (anyone) ----

    /** The current state of every message with records, by raw queue id. */
    public static Map<Long, MessageRecord> read(Path spoolDir) throws IOException {
        Path file = spoolDir.resolve(FILE_NAME);
        Map<Long, MessageRecord> out = new HashMap<>();
        if (!Files.exists(file)) {
            return out;
        }
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file));
        CRC32C crc = new CRC32C();
        boolean retryAll = false;
        int pos = 0;
        while (pos + 10 + FIXED_BODY <= b.limit()) {
            int body = b.getShort(pos + 4) & 0xFFFF;
            if (b.getInt(pos) != MAGIC || body < FIXED_BODY || pos + 10 + body > b.limit()) {
                pos++;
                continue;
            }
            crc.reset();
            crc.update(b.array(), pos, 6 + body);
            if ((int) crc.getValue() != b.getInt(pos + 6 + body)) {
                pos++;
                continue;
            }
            retryAll |= apply(b, pos + 6, out);
            pos += 10 + body;
        }
        if (retryAll) {
            out.values().forEach(MessageRecord::retryNow);
        }
        return out;
    }

    /** Applies one record; true when it is a retry of every message. */
    private static boolean apply(ByteBuffer b, int p, Map<Long, MessageRecord> out) {
        byte type = b.get(p);
        long id = b.getLong(p + 1);
        int index = b.getShort(p + 9) & 0xFFFF;
        int attempts = b.getShort(p + 11) & 0xFFFF;
        int code = b.getShort(p + 13) & 0xFFFF;
        long millis = b.getLong(p + 15);
        int eLength = b.get(p + 23) & 0xFF;
        String enhanced = new String(b.array(), p + 24, eLength, StandardCharsets.US_ASCII);
        int tLength = b.getShort(p + 24 + eLength) & 0xFFFF;
        String text = new String(b.array(), p + 26 + eLength, tLength, StandardCharsets.UTF_8);
        if (type == RETRY_NOW && id == 0) {
            return true;
        }
        MessageRecord m = out.computeIfAbsent(id, k -> new MessageRecord());
        switch (type) {
            case DELIVERED, FAILED, DEFERRED -> m.put(index, new RecipientRecord(type, attempts, code, millis,
                    enhanced, text));
            case DELAY_NOTIFIED -> m.delayNotified = true;
            case RETRY_NOW -> m.retryNow();
            default -> { } // a newer writer's type: ignored
        }
        return false;
    }

    /** One recipient's last record: final ({@link #DELIVERED}, {@link #FAILED}) or {@link #DEFERRED}. */
    public record RecipientRecord(byte type, int attempts, int replyCode, long millis, String enhancedCode,
                                  String text) {
        /** True when delivered or failed. */
        public boolean isFinal() {
            return type == DELIVERED || type == FAILED;
        }

        /** The state word {@code sluice queue} shows. */
        public String state() {
            return type == DELIVERED ? "delivered" : type == FAILED ? "failed" : "deferred";
        }

        /** The reply as the log shows it: {@code 451 4.4.1 text}. */
        public String reply() {
            return replyCode + (enhancedCode.isEmpty() ? "" : " " + enhancedCode) + " " + text;
        }

        RecipientResult result(String recipient) {
            RecipientResult.Outcome o = type == DELIVERED ? RecipientResult.Outcome.DELIVERED
                    : type == FAILED ? RecipientResult.Outcome.FAILED : RecipientResult.Outcome.DEFERRED;
            int safeCode = replyCode >= 200 && replyCode <= 599 ? replyCode : type == DELIVERED ? 250
                    : type == FAILED ? 550 : 451;
            return new RecipientResult(recipient, o, safeCode, enhancedCode, text);
        }
    }

    /** The records of one message: by recipient index, and whether its delay DSN went out. */
    public static final class MessageRecord {
        private final Map<Integer, RecipientRecord> recipients = new HashMap<>(4);
        private boolean delayNotified;

        /** The recipient's last record, or null. */
        public RecipientRecord recipient(int index) {
            return recipients.get(index);
        }

        /** Whether the delay notification was sent. */
        public boolean delayNotified() {
            return delayNotified;
        }

        void put(int index, RecipientRecord r) {
            RecipientRecord old = recipients.get(index);
            if (old == null || !old.isFinal()) {
                recipients.put(index, r);
            }
        }

        void retryNow() {
            recipients.replaceAll((i, r) -> r.isFinal() ? r
                    : new RecipientRecord(r.type, r.attempts, r.replyCode, 0, r.enhancedCode, r.text));
        }

        void writeTo(RecipientJournal j, long id) {
            recipients.forEach((i, r) -> j.put(r.type, id, i, r.attempts, r.replyCode, r.millis, r.enhancedCode,
                    r.text));
            if (delayNotified) {
                j.put(DELAY_NOTIFIED, id, ALL_RECIPIENTS, 0, 0, 0, "", "");
            }
        }
    }

    private static FileChannel openForAppend(Path file) throws IOException {
        boolean created = !Files.exists(file);
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND);
        if (created) {
            fsyncDirectory(file.getParent());
        }
        return ch;
    }

    private static void fsyncDirectory(Path directory) throws IOException {
        try (FileChannel ch = FileChannel.open(directory, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }
}
