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
import java.util.BitSet;
import java.util.List;
import java.util.function.LongPredicate;
import java.util.zip.CRC32C;

/**
 * {@code deleted.log}: append-only, fsynced tombstones of deleted or delivered messages, written
 * by the server and by CLI processes alike. Each record is {@code u32 magic, u32 reason,
 * u64 id, u32 crc32c(first 16 bytes)}; readers resynchronise byte by byte past a torn record, so
 * a crashed writer never hides later tombstones. A CLI appends under {@code deleted.lock}, which
 * the server also holds while it compacts the file.
 *
 * <p>The server remembers, for every tombstone in the file, which segments its message's records
 * lie in ({@link TrackedTombstones}), and rewrites the file without the tombstones whose segments
 * are all gone once it has doubled since the last rewrite and passed {@link #MIN_COMPACT_BYTES}:
 * at start, and at runtime on the thread whose append crossed the threshold. Thread-safe.
 */
final class DeletionJournal implements Closeable {
    static final int RECORD_BYTES = 20;
    static final int MAGIC = 0x53444C54; // "SDLT"
    static final int REASON_DELETED = 1;
    static final int REASON_DELIVERED = 2;
    /** The writer answered {@code failed}: the client retries, so the spool must not keep it. */
    static final int REASON_FAILED = 3;
    /**
     * Reason bit of a tombstone appended by a {@code sluice queue} process ({@link #appendShared}):
     * the server reads its own tombstones back too, and only a CLI's may name a message the server
     * has not published yet (see {@link #trackUnknown}). Readers before this bit ignore reasons.
     */
    static final int FROM_CLI = 0x100;
    /** Longest a delivered message's tombstone waits for its fsync (a crash inside it redelivers). */
    static final long LAZY_SYNC_NANOS = 50_000_000L;
    /**
     * Smallest file the server rewrites at runtime: 52,428 tombstones, which the next start reads
     * in about a millisecond and whose segment ranges take about 1.2 MiB of heap. Beyond it the
     * file is rewritten each time it doubles, so each rewrite (O(tombstones kept)) is paid for by
     * as many appends: amortised O(1) per tombstone, and the file stays within twice what is needed.
     */
    static final long MIN_COMPACT_BYTES = 1L << 20;
    static final String FILE_NAME = "deleted.log";
    static final String TMP_NAME = "deleted.log.tmp";
    /** FileLock belongs to the whole JVM; threads of one JVM queue here first. */
    private static final Object JVM_LOCK = new Object();

    private final Path dir;
    private final Path file;
    private final Path tmpFile;
    private final Path lockFile;
    private final Path segmentsDir;
    private final boolean readOnly;
    private final long minCompactBytes;
    private final ByteBuffer record = ByteBuffer.allocate(RECORD_BYTES);
    private final CRC32C crc = new CRC32C();
    private final TrackedTombstones tracked = new TrackedTombstones();
    private FileChannel appendChannel;
    private long readOffset;
    private long lastSyncNanos;
    private boolean unsynced;
    /** When the oldest lazily appended tombstone must be fsynced; MAX_VALUE when none waits. */
    private volatile long syncDueNanos = Long.MAX_VALUE;
    /** A rename whose directory fsync failed: done before the next fsync of an append counts. */
    private boolean dirUnsynced;
    /** The file's size after the last rewrite (or at open), and the bytes this server appended since. */
    private long compactedBytes;
    private long appendedBytes;
    private long compactions;

    DeletionJournal(Path dir, boolean readOnly, long minCompactBytes) {
        this.dir = dir;
        this.file = dir.resolve(FILE_NAME);
        this.tmpFile = dir.resolve(TMP_NAME);
        this.lockFile = dir.resolve("deleted.lock");
        this.segmentsDir = dir.resolve("segments");
        this.readOnly = readOnly;
        this.minCompactBytes = minCompactBytes;
    }

    /** Tombstoned ids appended since the last call (by anyone), as raw values. */
    synchronized List<Long> readNew() throws IOException {
        List<Long> ids = new ArrayList<>();
        readNew(ids, null);
        return ids;
    }

    /** As {@link #readNew()}; {@code fromCli}, if given, gets the indexes in {@code ids} of the CLI's tombstones. */
    private void readNew(List<Long> ids, BitSet fromCli) throws IOException {
        if (!Files.exists(file)) {
            return;
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size - readOffset < RECORD_BYTES) {
                return;
            }
            // Startup, a refresh after CLI deletes or a compaction; bounded by the file, which compaction keeps small.
            ByteBuffer bytes = ByteBuffer.allocate((int) Math.min(size - readOffset, Integer.MAX_VALUE - 8));
            while (bytes.hasRemaining() && ch.read(bytes, readOffset + bytes.position()) >= 0) {
                // keep reading
            }
            readOffset += parse(bytes.flip(), ids, fromCli);
        }
    }

    /**
     * Hands each tombstone appended since the last {@link #readNew} to {@code forget} while
     * holding this monitor, so no compaction runs between reading them and tracking them.
     */
    synchronized void applyNew(LongPredicate forget) throws IOException {
        List<Long> ids = new ArrayList<>();
        BitSet fromCli = new BitSet();
        readNew(ids, fromCli);
        for (int i = 0; i < ids.size(); i++) {
            long id = ids.get(i);
            // forget tracks the messages it knew; the server's own tombstones are tracked already
            if (!forget.test(id) && fromCli.get(i)) {
                trackUnknown(id);
            }
        }
    }

    /** Parses whole valid records, skipping garbage; returns the bytes consumed. */
    private int parse(ByteBuffer bytes, List<Long> ids, BitSet fromCli) {
        int pos = 0;
        int end = bytes.limit();
        while (pos + RECORD_BYTES <= end) {
            if (bytes.getInt(pos) == MAGIC && crcOf(bytes, pos) == bytes.getInt(pos + 16)) {
                if (fromCli != null && (bytes.getInt(pos + 4) & FROM_CLI) != 0) {
                    fromCli.set(ids.size());
                }
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

    /**
     * A CLI process (read-only spool): durably appends a tombstone under {@code deleted.lock},
     * opening the file only under the lock so a compaction cannot swap it underneath.
     */
    void appendShared(QueueId id, int reason) throws IOException {
        synchronized (JVM_LOCK) {
            try (FileChannel lockChannel = openLockFile()) {
                lockChannel.lock(); // released when lockChannel closes
                try (FileChannel ch = openForAppend()) {
                    writeRecord(ch, id, reason | FROM_CLI);
                    ch.force(false);
                }
            }
        }
    }

    /**
     * The server: appends a tombstone of a message whose records lie in {@code segments} and
     * remembers those segments. With {@code durable} false (a delivered message: losing the
     * tombstone in a crash means one more delivery, never a lost message) the fsync is shared:
     * at most one per {@link #LAZY_SYNC_NANOS}, so delivery is not limited to one fsync per
     * message; {@link #syncIfDue} catches the last ones when no further append comes.
     *
     * @return true when the file has grown enough that the caller should {@link #compact} it
     */
    synchronized boolean append(QueueId id, Segment[] segments, int reason, boolean durable) throws IOException {
        assert !readOnly;
        if (appendChannel == null) {
            appendChannel = openForAppend();
        }
        writeRecord(appendChannel, id, reason);
        tracked.add(id.value(), segments);
        appendedBytes += RECORD_BYTES;
        long now = System.nanoTime();
        if (durable || now - lastSyncNanos >= LAZY_SYNC_NANOS) {
            force(now);
        } else if (!unsynced) {
            unsynced = true;
            syncDueNanos = lastSyncNanos + LAZY_SYNC_NANOS;
        }
        return appendedBytes >= Math.max(minCompactBytes - compactedBytes, compactedBytes);
    }

    /** The server: remembers a tombstone already in the file (found at start, or appended by a CLI). */
    synchronized void track(long id, Segment[] segments) {
        tracked.add(id, segments);
    }

    /**
     * The server, at start: remembers a tombstone whose message may be in a quarantined file
     * ({@code .corrupt}, out of every scan): every rewrite keeps it until the next start, whose
     * recovery decides again.
     */
    synchronized void keepWhileQuarantined(long id) {
        tracked.pin(id);
    }

    /**
     * The server: remembers a tombstone that a CLI appended for a message the server does not
     * know. Either the message is gone already, or its COMMIT record was on disk when the CLI
     * scanned but the spool writer had not published it yet (its fsync was still running). In
     * that case a rewrite must keep the tombstone, or a restart would recover the message the
     * operator deleted. Its records can only lie in segments of the id's own loop that are on
     * disk now (the CLI saw them), so the tombstone is tracked over that loop's range of them: kept
     * while any is, dropped with the last. Rare (one directory listing); if the listing fails the
     * whole loop's range is kept, which a restart's rewrite trims.
     */
    synchronized void trackUnknown(long id) {
        int loop = QueueId.loopIndexOf(id);
        long low = Segment.key(loop, 0);
        long high = Segment.key(loop, Segment.MAX_SEQ - 1);
        long first = Long.MAX_VALUE;
        long last = Long.MIN_VALUE;
        try {
            for (long key : Segment.keysOnDisk(segmentsDir)) {
                if (key >= low && key <= high) {
                    first = Math.min(first, key);
                    last = Math.max(last, key);
                }
            }
        } catch (IOException e) {
            first = low;
            last = high;
        }
        if (first <= last) {
            tracked.add(id, first, last);
        }
    }

    private void force(long nowNanos) throws IOException {
        appendChannel.force(false);
        if (dirUnsynced) {
            Spool.fsyncDirectory(dir);
            dirUnsynced = false;
        }
        lastSyncNanos = nowNanos;
        unsynced = false;
        syncDueNanos = Long.MAX_VALUE;
    }

    /** Forces tombstones appended lazily (on close, and before another journal relies on them). */
    synchronized void sync() throws IOException {
        if (unsynced && appendChannel != null) {
            force(System.nanoTime());
        } else if (dirUnsynced) {
            // A rewrite renamed the file but its directory fsync failed: the tombstones in it are
            // not durable until the new name is.
            Spool.fsyncDirectory(dir);
            dirUnsynced = false;
        }
    }

    /**
     * Any thread: fsyncs the lazily appended tombstones once the oldest is due. Takes no lock
     * unless one is due (a volatile read otherwise).
     *
     * @return nanoseconds until the next is due, or Long.MAX_VALUE if none waits
     */
    long syncIfDue(long nowNanos) throws IOException {
        long due = syncDueNanos;
        if (due == Long.MAX_VALUE) {
            return Long.MAX_VALUE;
        }
        if (nowNanos - due < 0) {
            return due - nowNanos;
        }
        sync();
        return Long.MAX_VALUE;
    }

    private synchronized void writeRecord(FileChannel ch, QueueId id, int reason) throws IOException {
        record.clear();
        encode(record, id.value(), reason);
        record.flip();
        while (record.hasRemaining()) {
            ch.write(record);
        }
    }

    /** Puts one record at the heap buffer's position. */
    private void encode(ByteBuffer to, long id, int reason) {
        int start = to.position();
        to.putInt(MAGIC).putInt(reason).putLong(id);
        to.putInt(crcOf(to, start));
    }

    private FileChannel openForAppend() throws IOException {
        boolean created = !Files.exists(file);
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND);
        if (created) {
            Spool.fsyncDirectory(dir);
        }
        return ch;
    }

    private FileChannel openLockFile() throws IOException {
        return FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    }

    /**
     * Server, at start before the first append: removes the tmp file of a rewrite that a crash
     * interrupted (recovery never reads it; the file it would have replaced is still whole).
     */
    void removeStaleTmp() throws IOException {
        Files.deleteIfExists(tmpFile);
    }

    /**
     * Server, at start when the file was not rewritten: fsyncs what a killed predecessor may have
     * left in the page cache only (its lazily synced tombstones), because the queue manager is
     * about to drop the recipient state of the messages they delete. Sets the growth baseline.
     */
    synchronized void opened() throws IOException {
        compactedBytes = readOffset;
        if (Files.exists(file)) {
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                ch.force(false);
            }
            // A predecessor killed between its rewrite's rename and the directory fsync left a
            // name that is not durable yet.
            Spool.fsyncDirectory(dir);
        }
    }

    /**
     * Server: rewrites the file to hold exactly the tracked tombstones whose message may still
     * have a record in a segment file on disk, atomically (tmp file, fsync, rename, directory
     * fsync: a crash at any point leaves the old file or the new one, each enough for recovery).
     * Holds {@code deleted.lock} (a CLI's append waits) and this monitor (the server's appends
     * wait) from reading the last tombstones to the rename, so none is appended to the old file
     * unread. {@code forget} gets each tombstone appended since the last {@link #readNew} (as in
     * {@link #applyNew}): it must forget that message, releasing its segments, {@link #track} it
     * if it knew it, and say whether it did.
     */
    void compact(LongPredicate forget, boolean waitForLock) throws IOException {
        synchronized (JVM_LOCK) {
            try (FileChannel lockChannel = openLockFile()) {
                // At run time tryLock, not lock: a CLI stopped while appending (Ctrl-Z) must not
                // stall delivery; the rewrite is postponed instead. Released when lockChannel closes.
                if (waitForLock) {
                    lockChannel.lock();
                } else if (lockChannel.tryLock() == null) {
                    throw new IOException("deleted.lock is held by a sluice queue command; rewrite postponed");
                }
                synchronized (this) {
                    // The new file is fsynced whole: a writer thread due to sync the old one need not wait for us.
                    long dueBefore = syncDueNanos;
                    syncDueNanos = Long.MAX_VALUE;
                    boolean replaced = false;
                    try {
                        applyNew(forget);
                        // Listed after those forgets, whose segments may just have gone. A tombstone is dropped
                        // only once the unlinks of its segments are durable, or a power cut could bring back
                        // both the segments and the message without its tombstone.
                        long[] onDisk = Segment.keysOnDisk(segmentsDir);
                        Spool.fsyncDirectory(segmentsDir);
                        tracked.retainOnDisk(onDisk);
                        replaceFile();
                        replaced = true;
                    } finally {
                        if (!replaced && unsynced) {
                            // lazy tombstones of the old file still need their fsync
                            syncDueNanos = dueBefore == Long.MAX_VALUE ? System.nanoTime() : dueBefore;
                        }
                    }
                }
            }
        }
    }

    private void replaceFile() throws IOException {
        int n = tracked.size();
        ByteBuffer all = ByteBuffer.allocate(n * RECORD_BYTES); // once per rewrite
        for (int i = 0; i < n; i++) {
            encode(all, tracked.id(i), REASON_DELETED);
        }
        all.flip();
        try (FileChannel out = FileChannel.open(tmpFile, StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
            while (all.hasRemaining()) {
                out.write(all);
            }
            out.force(false);
        }
        Files.move(tmpFile, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        if (appendChannel != null) {
            appendChannel.close(); // it writes the old file; the next append opens the new one
            appendChannel = null;
        }
        unsynced = false; // whatever was lazy in the old file is fsynced in the new one
        readOffset = (long) n * RECORD_BYTES;
        compactedBytes = readOffset;
        appendedBytes = 0;
        compactions++;
        dirUnsynced = true;
        Spool.fsyncDirectory(dir);
        dirUnsynced = false;
    }

    /** After a failed {@link #compact}: the next attempt waits until the file doubles again. */
    synchronized void postponeCompaction() {
        compactedBytes += appendedBytes;
        appendedBytes = 0;
    }

    synchronized long compactions() {
        return compactions;
    }

    synchronized boolean hasUnsynced() {
        return unsynced;
    }

    synchronized int trackedTombstones() {
        return tracked.size();
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
