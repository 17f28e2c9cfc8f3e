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
import java.util.concurrent.TimeUnit;
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
 * next attempt), {@link #DELAY_NOTIFIED} (no delay notice is due again: the message's is in the
 * spool, or it was skipped because no recipient left asked for NOTIFY=DELAY),
 * {@link #RETRY_NOW} (an operator asked for an attempt now; written by an offline CLI),
 * {@link #DSN_PASSED_ON} (follows a {@link #DELIVERED}: the next hop took the DSN parameters, so no
 * success report is due; a reader before DSN support skips it and at worst reports "relayed"),
 * {@link #SUCCESS_NOTIFIED} (the message's NOTIFY=SUCCESS report is in the spool). A reader
 * resynchronises byte by byte past a torn or corrupt record. A later record for the same
 * recipient replaces an earlier one, except that nothing replaces a final one.
 *
 * <p>Durability: final records are group-committed: written at the end of each queue cycle and
 * fsynced at most once per {@link #SYNC_INTERVAL_NANOS} and before the queue thread parks, so a
 * crash of the machine inside that window can only cause a redelivery (the message is still in
 * the spool), never a loss; a killed process loses nothing written. Deferral records are written
 * the same way but never force an fsync of their own (losing one means an earlier retry).
 *
 * <p>Compaction: the file is rewritten with only the state still needed, at start from what
 * {@link #read} found for the messages in the spool (and, while a quarantined segment file is in
 * the spool, for the messages not queued that it may hold: see
 * {@link io.sluice.smtp.spool.MessageSource#quarantinedIdBound}), and at runtime from the queue's own state
 * once {@link #compactionDue} (it grew past {@link #MIN_COMPACT_BYTES}, past its size after the
 * last rewrite and past {@link #COMPACT_BYTES_PER_MESSAGE} per queued message).
 *
 * <p>The server's queue thread owns an instance (append, flush, compact); {@link #read}
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
    static final byte DSN_PASSED_ON = 6;
    static final byte SUCCESS_NOTIFIED = 7;
    static final long SYNC_INTERVAL_NANOS = 20_000_000L;
    /**
     * Least growth before a runtime rewrite: 1 MiB is some 20,000 records, read at the next start
     * in milliseconds; below it a rewrite would cost more than the bytes it saves.
     */
    static final long MIN_COMPACT_BYTES = 1L << 20;
    /**
     * Growth per queued message before a runtime rewrite: the rewrite walks the whole queue, so a
     * million messages waiting (most with no record) must not trigger one per megabyte.
     */
    static final long COMPACT_BYTES_PER_MESSAGE = 32;
    private static final int PENDING_BYTES = 64 * 1024;
    /** A rewrite writes its records out in pieces of about this size. */
    private static final int SPILL_BYTES = 48 * 1024;
    private static final int MAX_BODY = 0xFFFF;
    private static final int FIXED_BODY = 1 + 8 + 2 + 2 + 2 + 8 + 1 + 2;

    /** How the journal fsyncs its file: a seam so tests can make it hang like a dying disk. */
    @FunctionalInterface
    interface FileForce {
        void force(FileChannel channel) throws IOException;
    }

    private static final FileForce FDATASYNC = channel -> channel.force(false);

    private final Path file;
    private final CRC32C crc = new CRC32C();
    private FileForce fileForce = FDATASYNC;
    // Records of one queue cycle; grown when a cycle writes more (rare: a cycle drains <= 4096 results).
    private ByteBuffer pending = ByteBuffer.allocate(PENDING_BYTES);
    private FileChannel channel;
    private boolean unsyncedFinal;
    private long lastSyncNanos;
    /** A rewrite's rename whose directory fsync failed: done with the next fsync. */
    private boolean dirUnsynced;
    private long minCompactBytes = MIN_COMPACT_BYTES;
    /** The file's size after the last rewrite, and the bytes flushed to it since. */
    private long compactedBytes;
    private long writtenBytes;
    private long rewriteBytes;
    private long compactions;

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
        if (result.dsnPassedOn()) {
            put(DSN_PASSED_ON, id, index, 0, 0, nowMillis, "", "");
        }
        unsyncedFinal = true;
    }

    /** Queues a deferral (attempts so far, next attempt, last error) for the next {@link #flush}. */
    void recordDeferred(long id, int index, int attempts, RecipientResult result, long nextMillis) {
        put(DEFERRED, id, index, attempts, result.replyCode(), nextMillis, result.enhancedCode(), result.text());
    }

    /** Queues the fact that the message's success report (NOTIFY=SUCCESS) is durable. */
    void recordSuccessNotified(long id, long nowMillis) {
        put(SUCCESS_NOTIFIED, id, ALL_RECIPIENTS, 0, 0, nowMillis, "", "");
        unsyncedFinal = true;
    }

    /** Queues the fact that no delay notification of the message is due again (its notice is durable, or none was wanted). */
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
            writtenBytes += pending.position();
            pending.flip();
            while (pending.hasRemaining()) {
                channel.write(pending);
            }
            pending.clear();
        }
        long now = System.nanoTime();
        if (unsyncedFinal && channel != null && (idle || now - lastSyncNanos >= SYNC_INTERVAL_NANOS)) {
            fileForce.force(channel);
            if (dirUnsynced) {
                fsyncDirectory(file.getParent()); // the rename of a rewrite, before this fsync counts
                dirUnsynced = false;
            }
            unsyncedFinal = false;
            lastSyncNanos = now;
        }
    }

    /**
     * Whether the file has outgrown the state it describes: it grew by at least
     * {@link #MIN_COMPACT_BYTES}, by as much as it held after the last rewrite (so each rewrite,
     * O(state kept), is paid for by as many bytes appended) and by {@link #COMPACT_BYTES_PER_MESSAGE}
     * per queued message (so the rewrite's walk over the queue is paid for too). Queue thread.
     */
    boolean compactionDue(int queuedMessages) {
        return pending.position() == 0 && writtenBytes >= Math.max(Math.max(minCompactBytes, compactedBytes),
                COMPACT_BYTES_PER_MESSAGE * queuedMessages);
    }

    /** Tests: fsyncs through {@code force} (one that blocks, as on a hanging disk). */
    void forceWith(FileForce force) {
        fileForce = force;
    }

    /** Tests: a smaller {@link #MIN_COMPACT_BYTES}. */
    void minCompactBytes(long bytes) {
        minCompactBytes = bytes;
    }

    /** After a failed rewrite: the next attempt waits until the file has grown as much again. */
    void postponeCompaction() {
        compactedBytes += writtenBytes;
        writtenBytes = 0;
    }

    /** Rewrites so far (at start and at runtime). */
    long compactions() {
        return compactions;
    }

    /**
     * Server start, before anything is appended: rewrites the file keeping only the current state
     * of the messages in {@code liveIds} (see {@link #rewrite}).
     */
    void compact(Map<Long, MessageRecord> state, Collection<Long> liveIds) throws IOException {
        rewrite(out -> {
            for (long id : liveIds) {
                MessageRecord m = state.get(id);
                if (m != null) {
                    m.writeTo(this, id);
                    spill(out, SPILL_BYTES);
                }
            }
        });
    }

    /**
     * Queue thread, after a {@link #flush} left nothing queued: rewrites the file from the queue's
     * own state, the records of the messages still queued, and the records in {@code kept} as read
     * at start (those of messages a quarantined segment may hold; see {@link #rewrite}). The caller
     * makes the removals of the messages no longer queued durable first, since their records go.
     */
    void compact(Collection<QueuedRecipients> queued, Map<Long, MessageRecord> kept, long nowMillis)
            throws IOException {
        rewrite(out -> {
            for (QueuedRecipients q : queued) {
                q.writeStateTo(this, nowMillis);
                spill(out, SPILL_BYTES);
            }
            for (Map.Entry<Long, MessageRecord> e : kept.entrySet()) {
                e.getValue().writeTo(this, e.getKey());
                spill(out, SPILL_BYTES);
            }
        });
    }

    /**
     * Replaces the file with the records {@code body} queues (and spills), atomically: tmp file,
     * fsync, rename, directory fsync. A crash before the rename leaves the old file (a stale tmp
     * is never read and is overwritten by the next rewrite); after it, the new one; each holds the
     * state recovery needs.
     */
    private void rewrite(RecordWriter body) throws IOException {
        assert pending.position() == 0 : "records queued before a rewrite would be lost";
        Path tmp = file.resolveSibling(FILE_NAME + ".tmp");
        rewriteBytes = 0;
        boolean unsyncedBefore = unsyncedFinal;
        try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
            body.writeTo(out);
            spill(out, 1);
            out.force(false);
        } finally {
            unsyncedFinal = unsyncedBefore; // the records queued for the tmp file said otherwise
            pending.clear();
            if (pending.capacity() > 4 * PENDING_BYTES) {
                pending = ByteBuffer.allocate(PENDING_BYTES); // a rewrite of a big queue: give it back
            }
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        if (channel != null) {
            channel.close(); // it writes the old file; the next flush opens the new one
            channel = null;
        }
        unsyncedFinal = false; // what the old file had unsynced is fsynced in the new one
        compactedBytes = rewriteBytes;
        writtenBytes = 0;
        compactions++;
        dirUnsynced = true;
        fsyncDirectory(file.getParent());
        dirUnsynced = false;
    }

    /** Writes the queued records to {@code out} once at least {@code minBytes} are queued. */
    private void spill(FileChannel out, int minBytes) throws IOException {
        if (pending.position() >= minBytes) {
            rewriteBytes += pending.position();
            pending.flip();
            while (pending.hasRemaining()) {
                out.write(pending);
            }
            pending.clear();
        }
    }

    /** Queues the records to keep, spilling as it goes. */
    @FunctionalInterface
    private interface RecordWriter {
        void writeTo(FileChannel out) throws IOException;
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
     * {@link #close} on its own thread ({@code sluice-queue-journal-close}), waiting at most
     * {@code timeoutNanos}, so a disk whose fsync hangs cannot hold the process's exit. On false
     * (given up) that thread finishes, or not, on its own; what it had not made durable is lost
     * with the process, and that loses no mail: the file records outcomes of messages that stay in
     * the spool until their removal is durable, so a lost final record means a redelivery (or a
     * second bounce), a lost deferral an earlier retry, a lost delay notice a second one. The
     * caller must not use the journal afterwards. Rethrows what close threw if it ended in time.
     */
    boolean closeWithin(long timeoutNanos) throws IOException {
        IOException[] failure = new IOException[1];
        Thread closer = new Thread(() -> {
            try {
                close();
            } catch (IOException e) {
                failure[0] = e;
            }
        }, "sluice-queue-journal-close");
        closer.setDaemon(true);
        closer.start();
        long deadline = System.nanoTime() + timeoutNanos;
        try {
            for (long left; closer.isAlive() && (left = deadline - System.nanoTime()) > 0; ) {
                closer.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (closer.isAlive()) {
            return false;
        }
        if (failure[0] != null) {
            throw failure[0]; // join() made the closer's write visible
        }
        return true;
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
            case DSN_PASSED_ON -> m.markDsnPassedOn(index);
            case SUCCESS_NOTIFIED -> m.successNotified = true;
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
        private boolean successNotified;
        /** Null unless some recipient was handed on with its DSN parameters (rare). */
        private java.util.Set<Integer> passedOn;

        /** The recipient's last record, or null. */
        public RecipientRecord recipient(int index) {
            return recipients.get(index);
        }

        /** Whether the recipient was delivered to a next hop that took its DSN parameters. */
        public boolean dsnPassedOn(int index) {
            return passedOn != null && passedOn.contains(index);
        }

        void markDsnPassedOn(int index) {
            if (passedOn == null) {
                passedOn = new java.util.HashSet<>(4);
            }
            passedOn.add(index);
        }

        /** Whether the success report (NOTIFY=SUCCESS) was sent. */
        public boolean successNotified() {
            return successNotified;
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
            if (passedOn != null) {
                passedOn.forEach(i -> j.put(DSN_PASSED_ON, id, i, 0, 0, 0, "", ""));
            }
            if (delayNotified) {
                j.put(DELAY_NOTIFIED, id, ALL_RECIPIENTS, 0, 0, 0, "", "");
            }
            if (successNotified) {
                j.put(SUCCESS_NOTIFIED, id, ALL_RECIPIENTS, 0, 0, 0, "", "");
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
