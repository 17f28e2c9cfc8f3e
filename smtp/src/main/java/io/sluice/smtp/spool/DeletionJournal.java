package io.sluice.smtp.spool;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * {@code deleted.log}: append-only, fsynced tombstones of deleted or delivered messages, written
 * by the server and by CLI processes alike. Each record is {@code u32 magic, u32 reason,
 * u64 id, u32 crc32c(first 16 bytes)}; readers resynchronise byte by byte past a torn record, so
 * a crashed writer never hides later tombstones. A CLI appends under {@code deleted.lock}, which
 * the server also holds while it compacts the file at start. Thread-safe.
 */
final class DeletionJournal implements Closeable {
    static final int RECORD_BYTES = 20;
    static final int MAGIC = 0x53444C54; // "SDLT"
    static final int REASON_DELETED = 1;
    static final int REASON_DELIVERED = 2;
    /** The writer answered {@code failed}: the client retries, so the spool must not keep it. */
    static final int REASON_FAILED = 3;
    /** FileLock belongs to the whole JVM; threads of one JVM queue here first. */
    private static final Object JVM_LOCK = new Object();

    private final Path file;
    private final Path lockFile;
    private final boolean readOnly;
    private final ByteBuffer record = ByteBuffer.allocate(RECORD_BYTES);
    private final CRC32C crc = new CRC32C();
    private FileChannel appendChannel;
    private long readOffset;

    DeletionJournal(Path dir, boolean readOnly) {
        this.file = dir.resolve("deleted.log");
        this.lockFile = dir.resolve("deleted.lock");
        this.readOnly = readOnly;
    }

    /** Tombstoned ids appended since the last call (by anyone), as raw values. */
    synchronized List<Long> readNew() throws IOException {
        List<Long> ids = new ArrayList<>();
        if (!Files.exists(file)) {
            return ids;
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size - readOffset < RECORD_BYTES) {
                return ids;
            }
            // Startup or a refresh after CLI deletes; bounded by the file, which compaction keeps small.
            ByteBuffer bytes = ByteBuffer.allocate((int) Math.min(size - readOffset, Integer.MAX_VALUE - 8));
            while (bytes.hasRemaining() && ch.read(bytes, readOffset + bytes.position()) >= 0) {
                // keep reading
            }
            readOffset += parse(bytes.flip(), ids);
        }
        return ids;
    }

    /** Parses whole valid records, skipping garbage; returns the bytes consumed. */
    private int parse(ByteBuffer bytes, List<Long> ids) {
        int pos = 0;
        int end = bytes.limit();
        while (pos + RECORD_BYTES <= end) {
            if (bytes.getInt(pos) == MAGIC && crcOf(bytes, pos) == bytes.getInt(pos + 16)) {
                ids.add(bytes.getLong(pos + 8));
                pos += RECORD_BYTES;
            } else {
                pos++;
            }
        }
        return pos;
    }

    private int crcOf(ByteBuffer bytes, int pos) {
        crc.reset();
        crc.update(bytes.array(), bytes.arrayOffset() + pos, 16);
        return (int) crc.getValue();
    }

    /** Longest a delivered message's tombstone waits for its fsync (a crash inside it redelivers). */
    static final long LAZY_SYNC_NANOS = 50_000_000L;
    private long lastSyncNanos;
    private boolean unsynced;

    /** Durably appends a tombstone (write + fsync) before returning. */
    void append(QueueId id, int reason) throws IOException {
        append(id, reason, true);
    }

    /**
     * Appends a tombstone. With {@code durable} false (a delivered message: losing the tombstone
     * in a crash means one more delivery, never a lost message) the fsync is shared: at most one
     * per {@link #LAZY_SYNC_NANOS}, so delivery is not limited to one fsync per message.
     */
    void append(QueueId id, int reason, boolean durable) throws IOException {
        if (readOnly) {
            synchronized (JVM_LOCK) {
                try (FileChannel lockChannel = openLockFile()) {
                    lockChannel.lock(); // released when lockChannel closes
                    // Opened only under the lock, so a compaction cannot swap the file under us.
                    try (FileChannel ch = openForAppend()) {
                        writeRecord(ch, id, reason);
                        ch.force(false);
                    }
                }
            }
        } else {
            synchronized (this) {
                if (appendChannel == null) {
                    appendChannel = openForAppend();
                }
                writeRecord(appendChannel, id, reason);
                long now = System.nanoTime();
                if (durable || now - lastSyncNanos >= LAZY_SYNC_NANOS) {
                    appendChannel.force(false);
                    lastSyncNanos = now;
                    unsynced = false;
                } else {
                    unsynced = true;
                }
            }
        }
    }

    /** Forces tombstones appended lazily; called on close. */
    synchronized void sync() throws IOException {
        if (unsynced && appendChannel != null) {
            appendChannel.force(false);
            unsynced = false;
        }
    }

    private synchronized void writeRecord(FileChannel ch, QueueId id, int reason) throws IOException {
        record.clear();
        record.putInt(MAGIC).putInt(reason).putLong(id.value());
        record.putInt(crcOf(record, 0)).flip();
        while (record.hasRemaining()) {
            ch.write(record);
        }
    }

    private FileChannel openForAppend() throws IOException {
        boolean created = !Files.exists(file);
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND);
        if (created) {
            Spool.fsyncDirectory(file.getParent());
        }
        return ch;
    }

    private FileChannel openLockFile() throws IOException {
        return FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    }

    /**
     * Server only, at start: rewrites the journal keeping only {@code keep} (tombstones whose
     * records still lie in a surviving segment), atomically, under the CLI lock. Returns the
     * tombstones a CLI appended since the last {@link #readNew()}, which the caller must still
     * apply (they are kept in the new file too).
     */
    List<Long> compact(Collection<Long> keep) throws IOException {
        Path tmp = file.resolveSibling("deleted.log.tmp");
        synchronized (JVM_LOCK) {
            try (FileChannel lockChannel = openLockFile()) {
                lockChannel.lock(); // released when lockChannel closes
                List<Long> late = readNew(); // a CLI may have appended since recovery read the file
                try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE,
                        StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
                    for (long id : keep) {
                        writeRecord(out, QueueId.of(id), REASON_DELETED);
                    }
                    for (long id : late) {
                        writeRecord(out, QueueId.of(id), REASON_DELETED);
                    }
                    out.force(false);
                }
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                Spool.fsyncDirectory(file.getParent());
                synchronized (this) {
                    readOffset = Files.size(file);
                }
                return late;
            }
        }
    }

    @Override
    public synchronized void close() throws IOException {
        if (appendChannel != null) {
            sync();
            appendChannel.close();
            appendChannel = null;
        }
    }
}
