package io.sluice.smtp.spool;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The durable message spool: segment files written by one {@link SpoolAppender} per event loop
 * and made durable in groups by the spool writer thread, an in-memory index of the queued
 * messages (envelope and content ranges, never bodies), and a tombstone journal for deletions.
 *
 * <p>The server opens it with {@link #open} (exclusive: a lock file keeps a second server out),
 * which recovers every complete message and discards every incomplete one. The CLI opens it with
 * {@link #openReadOnly} alongside a running server: it lists, copies and deletes (through the
 * journal) but never truncates or removes files. {@link #appender} is for setup code; the other
 * methods are thread-safe; {@link #close} is called once, after the event loops have stopped.
 * The on-disk format is described in {@code package-info.java}.
 */
public final class Spool implements MessageSource, Closeable {
    private static final Logger LOG = Logger.getLogger(Spool.class.getName());
    /** Below this much free space the spool reports itself unhealthy: a message or two more may not fit. */
    static final long MIN_FREE_BYTES = 16L << 20;

    private final Path dir;
    private final Path segmentsDir;
    private final boolean readOnly;
    private final SpoolOptions options;
    private final SegmentChannelFactory channelFactory;
    private final FileChannel lockChannel;
    private final DeletionJournal journal;
    private final ConcurrentSkipListMap<QueueId, StoredMessage> index;
    private final Set<Segment> openSegments = ConcurrentHashMap.newKeySet();
    private final SpoolAppender[] appenders = new SpoolAppender[QueueId.MAX_LOOPS];
    private final long[] maxSeqPerLoop;
    private final long newestIdValue;
    /** Damaged ranges the opening recovery skipped (see SpoolStats#damagedRanges). */
    private final long damagedRanges;
    /** {@link SpoolRecovery#quarantinedIdBound()} of the open: shared with tombstone keeping, scanned once. */
    private final OptionalLong quarantinedIdBound;
    private final SpoolWriter writer;
    /** Readies kept files for the loops' rolls off the loops (read-write spools only). */
    private final SegmentPreparer preparer;
    private final AtomicLong segmentDeleteErrors = new AtomicLong();
    private final AtomicLong segmentsRecycled = new AtomicLong();
    /** Bytes of the {@code .free} files the appenders keep (see {@link #keptSegmentBytes}). */
    private final AtomicLong keptBytes = new AtomicLong();
    /**
     * Fsyncs of {@code segments/} by the writer, begun and completed: a file retired to
     * {@code .free} when {@code begun} was n is reused only once {@code syncedThrough > n}, i.e.
     * once a directory fsync that started after its rename has finished.
     */
    private final AtomicLong directorySyncsBegun = new AtomicLong();
    private final AtomicLong directorySyncedThrough = new AtomicLong();
    private final SecureRandom nonces = new SecureRandom();
    private final AtomicLong journalCompactionErrors = new AtomicLong();
    private volatile Consumer<QueuedMessage> durableConsumer;
    private volatile boolean closed;
    /** The last append failure (ENOSPC, EIO), until a later commit batch succeeds: the disk-full flag. */
    private volatile String writeFailure;

    private Spool(Path dir, boolean readOnly, SpoolOptions options, SegmentChannelFactory channelFactory,
                  FileChannel lockChannel, DeletionJournal journal, SpoolRecovery recovery) {
        this.dir = dir;
        this.segmentsDir = dir.resolve("segments");
        this.readOnly = readOnly;
        this.options = options;
        this.channelFactory = channelFactory;
        this.lockChannel = lockChannel;
        this.journal = journal;
        this.index = recovery.index;
        this.openSegments.addAll(recovery.liveSegments);
        this.maxSeqPerLoop = recovery.maxSeqPerLoop;
        this.newestIdValue = recovery.newestIdValue;
        this.damagedRanges = recovery.damagedRanges;
        this.quarantinedIdBound = recovery.quarantinedIdBound();
        this.writer = readOnly ? null : new SpoolWriter(this, segmentsDir, options);
        this.preparer = readOnly ? null : new SegmentPreparer(this, channelFactory, segmentsDir);
    }

    /**
     * Opens the spool for the server: creates the directories, takes {@code lock}, recovers,
     * compacts the tombstone journal and starts the writer thread.
     *
     * @throws IOException if another process (or another Spool in this JVM) holds the lock
     */
    public static Spool open(Path dir, SpoolOptions options) throws IOException {
        return open(dir, options, SegmentChannelFactory.DEFAULT);
    }

    static Spool open(Path dir, SpoolOptions options, SegmentChannelFactory channelFactory) throws IOException {
        return open(dir, options, channelFactory, DeletionJournal.MIN_COMPACT_BYTES);
    }

    /** As above; tests pass a small {@code journalMinCompactBytes} to see deleted.log rewritten often. */
    static Spool open(Path dir, SpoolOptions options, SegmentChannelFactory channelFactory,
                      long journalMinCompactBytes) throws IOException {
        Files.createDirectories(dir.resolve("segments"));
        FileChannel lockChannel = lock(dir);
        try {
            DeletionJournal journal = new DeletionJournal(dir, false, journalMinCompactBytes);
            journal.removeStaleTmp();
            List<Long> journaled = journal.readNew();
            SpoolRecovery recovery = new SpoolRecovery(new HashSet<>(journaled), false);
            recovery.run(dir.resolve("segments"));
            Spool spool = new Spool(dir, false, options, channelFactory, lockChannel, journal, recovery);
            for (StoredMessage m : recovery.tombstonedSurvivors) {
                journal.track(m.id.value(), m.segments);
            }
            for (long id : recovery.tombstonesOfQuarantined) {
                journal.keepWhileQuarantined(id);
            }
            for (Map.Entry<Long, List<Segment>> e : recovery.tombstonesOfDamaged.entrySet()) {
                journal.track(e.getKey(), e.getValue().toArray(new Segment[0]));
            }
            if (journaled.size() != recovery.tombstonedSurvivors.size() + recovery.tombstonesOfQuarantined.size()
                    + recovery.tombstonesOfDamaged.size()) {
                spool.compactJournal(true);
            } else {
                journal.opened();
            }
            spool.writer.start();
            spool.preparer.start();
            return spool;
        } catch (IOException | RuntimeException e) {
            lockChannel.close();
            throw e;
        }
    }

    /** Opens the spool for inspection next to a running server: no lock, no repair, no writer. */
    public static Spool openReadOnly(Path dir) throws IOException {
        if (!Files.isDirectory(dir.resolve("segments"))) {
            throw new IOException("not a spool directory (no segments/): " + dir);
        }
        DeletionJournal journal = new DeletionJournal(dir, true, Long.MAX_VALUE);
        SpoolRecovery recovery = new SpoolRecovery(new HashSet<>(journal.readNew()), true);
        recovery.run(dir.resolve("segments"));
        return new Spool(dir, true, SpoolOptions.defaults(), SegmentChannelFactory.DEFAULT, null, journal, recovery);
    }

    private static FileChannel lock(Path dir) throws IOException {
        Path lockFile = dir.resolve("lock");
        FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = ch.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null;
        }
        if (lock == null) {
            String holder = readHolder(ch);
            ch.close();
            throw new IOException("spool " + dir + " is locked by another server (" + holder
                    + ", lock file " + lockFile + "); use a different spool.dir or stop that server");
        }
        ch.truncate(0);
        ch.write(ByteBuffer.wrap(("pid " + ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
        return ch;
    }

    private static String readHolder(FileChannel ch) {
        try {
            ByteBuffer b = ByteBuffer.allocate(64);
            ch.read(b, 0);
            return new String(b.array(), 0, b.position(), StandardCharsets.US_ASCII).trim();
        } catch (IOException e) {
            return "holder unknown";
        }
    }

    /**
     * The appender of event loop {@code loopIndex} (created on first call); thereafter it may be
     * used only by that loop's thread. Read-write spools only.
     */
    public synchronized SpoolAppender appender(int loopIndex) {
        if (readOnly) {
            throw new IllegalStateException("read-only spool has no appenders: " + dir);
        }
        if (loopIndex < 0 || loopIndex >= QueueId.MAX_LOOPS) {
            throw new IllegalArgumentException("loopIndex=" + loopIndex + " outside 0.." + (QueueId.MAX_LOOPS - 1));
        }
        if (appenders[loopIndex] == null) {
            appenders[loopIndex] = new SpoolAppender(this, loopIndex, maxSeqPerLoop[loopIndex] + 1,
                    newestIdValue, options, preparer);
            preparer.register(appenders[loopIndex].keptSegments());
        }
        return appenders[loopIndex];
    }

    @Override
    public OptionalLong quarantinedIdBound() {
        return quarantinedIdBound;
    }

    @Override
    public List<QueuedMessage> list() {
        applyExternalDeletions();
        List<QueuedMessage> out = new ArrayList<>(index.size());
        for (StoredMessage m : index.values()) {
            out.add(m.view);
        }
        return out;
    }

    /** The message if it is queued. */
    public Optional<QueuedMessage> find(QueueId id) {
        StoredMessage m = index.get(id);
        return m == null ? Optional.empty() : Optional.of(m.view);
    }

    /**
     * Writes the stored content (exactly the bytes appended) to a blocking channel, with
     * {@code transferTo} (zero-copy where the OS can).
     */
    @Override
    public void copyContent(QueueId id, WritableByteChannel out) throws IOException {
        StoredMessage m = index.get(id);
        if (m == null) {
            throw new IOException("no queued message " + id + " in " + dir);
        }
        if (readOnly) {
            copyCheckedContent(id, out);
            return;
        }
        for (int i = 0; i < m.rangeOffsets.length; i++) {
            FileChannel ch = m.rangeSegments[i].readChannel();
            long position = m.rangeOffsets[i];
            long left = m.rangeLengths[i];
            while (left > 0) {
                long n = ch.transferTo(position, left, out);
                if (n <= 0) {
                    throw new IOException("segment " + m.rangeSegments[i] + " shorter than message " + id
                            + " needs: offset=" + position);
                }
                position += n;
                left -= n;
            }
        }
    }

    /**
     * Next to a running server, which may reuse an emptied segment's file for new messages: each
     * piece goes through {@link #readContent}, which checks it came from the segment's own file,
     * and only then out.
     */
    private void copyCheckedContent(QueueId id, WritableByteChannel out) throws IOException {
        ByteBuffer piece = ByteBuffer.allocate(64 << 10); // CLI only
        long position = 0;
        for (int n; (n = readContent(id, position, piece.clear())) >= 0; position += n) {
            piece.flip();
            while (piece.hasRemaining()) {
                out.write(piece);
            }
        }
    }

    /**
     * Positional reads straight from the segment files (no fstat, no 8 KiB pieces as
     * {@code transferTo} to a non-file channel does): one {@code pread} per range the buffer
     * reaches. Thread-safe (positional reads share the channel).
     */
    @Override
    public int readContent(QueueId id, long position, ByteBuffer dst) throws IOException {
        StoredMessage m = index.get(id);
        if (m == null) {
            throw new IOException("no queued message " + id + " in " + dir);
        }
        if (position < 0) {
            throw new IllegalArgumentException("position=" + position + " < MIN=0");
        }
        long skip = position;
        int read = 0;
        for (int i = 0; i < m.rangeOffsets.length && dst.hasRemaining(); i++) {
            long length = m.rangeLengths[i];
            if (skip >= length) {
                skip -= length;
                continue;
            }
            FileChannel ch = m.rangeSegments[i].readChannel();
            long at = m.rangeOffsets[i] + skip;
            long end = m.rangeOffsets[i] + length;
            skip = 0;
            while (at < end && dst.hasRemaining()) {
                int want = (int) Math.min(dst.remaining(), end - at);
                int limit = dst.limit();
                dst.limit(dst.position() + want);
                int n;
                try {
                    n = ch.read(dst, at);
                } finally {
                    dst.limit(limit);
                }
                if (n <= 0) {
                    throw new IOException("segment " + m.rangeSegments[i] + " shorter than message " + id
                            + " needs: offset=" + at);
                }
                at += n;
                read += n;
            }
            if (readOnly) {
                // Next to a running server that may reuse the file: the bytes are this segment's
                // only if its name still names the file read (dst is the caller's to drop).
                m.rangeSegments[i].checkUnmoved();
            }
        }
        return read == 0 && dst.hasRemaining() ? -1 : read;
    }

    /** Operator deletion: durably tombstones the message (works from a read-only spool too). */
    @Override
    public boolean delete(QueueId id) throws IOException {
        return tombstone(id, DeletionJournal.REASON_DELETED);
    }

    /**
     * Delivery done: forgets the message. Its tombstone's fsync is shared with the deliveries of
     * the next 50 ms (the writer thread does it if none comes): a crash inside that window delivers
     * those messages once more (never loses one).
     */
    @Override
    public boolean remove(QueueId id) throws IOException {
        return tombstone(id, DeletionJournal.REASON_DELIVERED);
    }

    private boolean tombstone(QueueId id, int reason) throws IOException {
        StoredMessage m = index.get(id);
        if (m == null) {
            return false;
        }
        if (readOnly) {
            journal.appendShared(id, reason);
            forget(id);
            return true;
        }
        boolean compactionDue = journal.append(id, m.segments, reason, reason != DeletionJournal.REASON_DELIVERED);
        forget(id);
        if (compactionDue) {
            compactJournalQuietly();
        }
        return true;
    }

    private void forget(QueueId id) {
        StoredMessage m = index.remove(id);
        if (m != null) {
            releaseRefs(m, true); // a delivery or CLI thread, never an event loop: it may fsync segments/
        }
    }

    /**
     * Forgets the message of a tombstone the server did not append itself (a CLI did) and
     * remembers where its records lie; called under the journal's monitor, so no compaction can
     * drop such a tombstone between its reading and its tracking. False for a message it does not
     * know (its own tombstones read back, or a CLI's for one not published yet: the journal keeps that).
     */
    private boolean forgetTombstoned(long id) {
        StoredMessage m = index.remove(QueueId.of(id));
        if (m == null) {
            return false;
        }
        journal.track(id, m.segments);
        releaseRefs(m);
        return true;
    }

    /** A read-write spool picks up tombstones written by CLI processes. */
    private void applyExternalDeletions() {
        if (readOnly || closed) {
            return;
        }
        try {
            journal.applyNew(this::forgetTombstoned);
        } catch (IOException e) {
            // The journal is re-read on the next call; a listing must not fail for it.
        }
    }

    /** Rewrites deleted.log without the tombstones no segment needs any more (see DeletionJournal). */
    private void compactJournal(boolean waitForLock) throws IOException {
        journal.compact(this::forgetTombstoned, waitForLock);
    }

    /**
     * On the thread whose tombstone made the file due (the queue thread, in the server): the
     * tombstone is durable already, so a failed rewrite is only counted and logged, and tried
     * again once the file has doubled once more.
     */
    private void compactJournalQuietly() {
        try {
            compactJournal(false);
        } catch (IOException | RuntimeException e) {
            journalCompactionErrors.incrementAndGet();
            journal.postponeCompaction();
            LOG.log(Level.WARNING, "spool: rewriting " + dir.resolve(DeletionJournal.FILE_NAME) + " failed", e);
        }
    }

    /**
     * Any thread: makes every earlier {@link #remove} durable now (removals are fsynced lazily,
     * within {@code LAZY_SYNC_NANOS}, see {@link #remove}).
     */
    @Override
    public void syncRemovals() throws IOException {
        if (!readOnly) {
            journal.sync();
        }
    }

    /**
     * The writer thread, every cycle: fsyncs lazily journalled removals once the oldest is due, so
     * the last deliveries before a pause are durable within {@code LAZY_SYNC_NANOS} too. A volatile
     * read unless one is due.
     *
     * @return nanoseconds until the next is due, Long.MAX_VALUE if none waits
     */
    long syncRemovalsIfDue() {
        try {
            return journal.syncIfDue(System.nanoTime());
        } catch (IOException e) {
            noteWriteFailure(e);
            return Long.MAX_VALUE;
        }
    }

    /** deleted.log rewrites (at start and at runtime) so far; tests. */
    long journalCompactions() {
        return journal.compactions();
    }

    /** Whether a lazily journalled removal still waits for its fsync; tests. */
    boolean removalsUnsynced() {
        return journal.hasUnsynced();
    }

    /** Tombstones the server remembers (those in deleted.log, give or take duplicates); tests. */
    int trackedTombstones() {
        return journal.trackedTombstones();
    }

    /** Runtime rewrites of deleted.log that failed (each logged; the file keeps growing until one succeeds). */
    public long journalCompactionErrors() {
        return journalCompactionErrors.get();
    }

    @Override
    public void onDurable(Consumer<QueuedMessage> consumer) {
        this.durableConsumer = consumer;
    }

    /** Group-commit counters (all zero for a read-only spool) and the opening recovery's damage count. */
    public SpoolStats stats() {
        return writer == null ? new SpoolStats(0, 0, 0, 0, 0, 0, 0, 0, damagedRanges) : writer.stats(damagedRanges);
    }

    /**
     * Sends every group-commit batch's size and fsync time to {@code observer} (replacing the
     * previous one), on the writer thread. Any thread; a read-only spool has no batches.
     */
    public void observeBatches(CommitBatchObserver observer) {
        if (writer != null) {
            writer.observe(java.util.Objects.requireNonNull(observer, "observer"));
        }
    }

    /**
     * A cheap writability check for health endpoints: {@code null} while the writer runs, its last
     * batch was fsynced without error and the file system has {@link #MIN_FREE_BYTES} for the
     * spool, counting the kept {@code .free} files as free: a new segment file on a short disk
     * takes every loop's back first ({@link #makeRoomForNewSegment}), and a write that fails for
     * space anyway gives them all back ({@link #dropKeptFiles}: that one message is refused, the
     * next one fits); otherwise the reason. Any thread; one {@code statvfs} call.
     */
    public String unhealthyReason() {
        if (writer == null || closed) {
            return readOnly ? "spool opened read-only" : "spool closed";
        }
        String reason = writer.unhealthyReason();
        if (reason != null) {
            return reason;
        }
        String failedWrite = writeFailure;
        if (failedWrite != null) {
            return "spool write failed: " + failedWrite;
        }
        try {
            long usable = channelFactory.usableBytes(segmentsDir);
            long kept = keptBytes.get();
            if (usable + kept < MIN_FREE_BYTES) {
                return "spool disk full: usable=" + usable + " + kept=" + kept + " < MIN_FREE_BYTES=" + MIN_FREE_BYTES;
            }
        } catch (IOException e) {
            return "spool file system unreadable: " + e.getMessage();
        }
        return null;
    }

    /**
     * Whether the spool writer has made no progress for {@code spool.sync_stall_timeout} (a hanging
     * disk: a group commit's fsyncs, the deletion journal's fsync or lock) or has stopped: two
     * volatile reads and a clock read, no logging, for sessions to refuse new mail with
     * {@code 451 4.3.0} instead of queuing it behind the stall. Any thread; false for a read-only spool.
     */
    public boolean commitsStalled() {
        return writer != null && writer.isStalled();
    }

    /** How long the running group commit has been fsyncing, 0 between commits; any thread (metrics). */
    public long fsyncRoundAgeNanos() {
        return writer == null ? 0 : writer.roundAgeNanos();
    }

    /** The longest group commit's fsyncs (segments and directory) since the spool opened; any thread. */
    public long longestFsyncRoundNanos() {
        return writer == null ? 0 : writer.longestRoundNanos();
    }

    /** Tests: waits up to {@code timeoutMillis} for the writer thread to end (after a close that gave it up). */
    boolean awaitWriterStopped(long timeoutMillis) throws InterruptedException {
        return writer == null || writer.awaitStopped(timeoutMillis);
    }

    /** Any appender's thread, on a failed segment write; only the error path allocates. */
    void noteWriteFailure(IOException e) {
        writeFailure = String.valueOf(e.getMessage());
    }

    /** The writer thread, after a batch that committed every request. */
    void clearWriteFailure() {
        if (writeFailure != null) {
            writeFailure = null;
        }
    }

    /** Segment files that could not be deleted when they became empty (left for the next start). */
    public long segmentDeleteErrors() {
        return segmentDeleteErrors.get();
    }

    /** Whether this instance was opened with {@link #openReadOnly}. */
    public boolean isReadOnly() {
        return readOnly;
    }

    /** The spool directory. */
    public Path directory() {
        return dir;
    }

    /**
     * Answers every commit already handed to the writer, then closes every file and releases the
     * lock. Appenders must not be used any more. Takes at most {@code spool.close_timeout} in all:
     * on a disk whose fsync hangs it gives up (one WARN) and returns so the process can exit,
     * leaving every file as a crash would (see {@link #closeAbandoned} and {@link #closeFiles}).
     */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        long deadline = System.nanoTime() + options.closeTimeoutNanos();
        if (writer != null && !closeWriter()) {
            closeAbandoned();
            return;
        }
        if (readOnly) {
            closeFiles(deadline);
            return;
        }
        closeFilesWithin(deadline);
    }

    /**
     * The files' fsyncs and closes on their own thread ({@code sluice-spool-close}, once per close),
     * so a disk that hangs after the writer's last round cannot hang the exit either: past the
     * deadline one WARN, and that thread finishes (and releases the lock) only if the disk comes back.
     * No acknowledged message depends on it: the writer fsynced each before its 250; only ABORT
     * records and lazily journalled removals wait for these fsyncs (a removal not durable is
     * delivered once more after the restart, never lost).
     */
    private void closeFilesWithin(long deadlineNanos) throws IOException {
        IOException[] failure = new IOException[1];
        Thread closer = new Thread(() -> {
            try {
                closeFiles(deadlineNanos);
            } catch (IOException e) {
                failure[0] = e;
            }
        }, "sluice-spool-close");
        closer.setDaemon(true);
        closer.start();
        try {
            long left;
            while (closer.isAlive() && (left = deadlineNanos - System.nanoTime()) > 0) {
                closer.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (closer.isAlive()) {
            LOG.warning("spool: closing the files of " + dir + " did not finish within spool.close_timeout="
                    + options.closeTimeoutNanos() / 1_000_000 + "ms (a hanging fsync?); every acknowledged"
                    + " message was fsynced before its 250, leaving the rest to the process exit");
            return;
        }
        if (failure[0] != null) {
            throw failure[0]; // join() made the closer's write visible
        }
    }

    /**
     * Forces the journal's lazy removals, forces and closes every segment, drops kept files, closes
     * the journal, then releases the lock. The removals go first: they spare the next start a
     * second delivery of messages already handed on, while the segments' force only protects ABORT
     * records, so a segment fsync that hangs should not keep the removals from the disk. For the
     * same reason the preparer (perhaps inside a reused file's fsync) is only told to stop here and
     * waited for at the end, with what is left of {@code deadlineNanos}.
     */
    private void closeFiles(long deadlineNanos) throws IOException {
        if (preparer != null) {
            preparer.close(0); // told to stop; a file it readies meanwhile is dropped (its CAS fails)
        }
        IOException failure = null;
        try {
            journal.sync();
        } catch (IOException e) {
            failure = e;
        }
        writeSyncedRecordsAtClose();
        for (Segment s : openSegments) {
            try {
                if (s.writeChannel != null && s.writeChannel.isOpen()) {
                    s.writeChannel.force(false);
                }
                s.close();
            } catch (IOException e) {
                failure = failure == null ? e : failure;
            }
        }
        if (preparer != null) {
            dropKeptFiles(); // the preparer may still run: dropKeptFiles' order also takes its file
        }
        journal.close();
        if (lockChannel != null && preparerEnded(deadlineNanos)) {
            lockChannel.close(); // releases the lock
        }
        if (failure != null) {
            throw failure;
        }
    }

    /**
     * Close: waits for the preparer until {@code deadlineNanos}. If it is still inside a reused
     * file's fsync, the lock stays with this process until it exits (as in {@link #closeAbandoned}):
     * released, a new spool of this directory in this JVM could ready a {@code .free} file of the
     * same name that the old preparer then overwrites with its stale header.
     */
    private boolean preparerEnded(long deadlineNanos) {
        if (preparer == null || preparer.close(Math.max(0, deadlineNanos - System.nanoTime()))) {
            return true;
        }
        LOG.warning("spool: the segment preparer of " + dir + " is still inside a reused file's fsync after"
                + " spool.close_timeout=" + options.closeTimeoutNanos() / 1_000_000 + "ms; the lock is kept"
                + " until this process exits");
        return false;
    }

    /** True when the writer answered everything and stopped within the bound. */
    private boolean closeWriter() {
        return writer.close(options.closeTimeoutNanos());
    }

    /**
     * The writer is stuck in an fsync (or an fsync helper is). Its unanswered commits never got a
     * 250, so nothing acknowledged is lost; what they wrote is left as a crash leaves it (recovery
     * may queue a message whose COMMIT record is whole: a duplicate if its client retries, never a
     * loss). Nothing here may block on the disk or change the spool's files: no segment force or
     * close (closing a channel waits for a thread blocked in its force), no delete, no {@code .free}
     * rename or removal, no journal fsync (lazily journalled removals since the last one may be
     * delivered again after the restart). The lock is released only if the writer will never touch
     * the files again (it checks before publishing, answering or releasing anything); if it is
     * answering a round right now, the lock stays with this process until it exits.
     */
    private void closeAbandoned() throws IOException {
        if (lockChannel == null) {
            return;
        }
        preparer.close(0); // told to stop, not waited for: a file it readies stays a valid .free
        if (writer.abandoned()) {
            lockChannel.close();
        } else {
            LOG.warning("spool: the writer is still answering a round; the lock on " + dir
                    + " is kept until this process exits");
        }
    }

    // ---- package-private plumbing for appenders, the writer and recovery ----

    Path segmentsDir() {
        return segmentsDir;
    }

    SegmentChannelFactory channelFactory() {
        return channelFactory;
    }

    String submit(CommitRequest request) {
        return writer.submit(request);
    }

    void registerSegment(Segment s) {
        openSegments.add(s);
    }

    /** Writer thread, after the fsync: the message becomes visible and deliverable. */
    void publish(StoredMessage m) {
        index.put(m.id, m);
        Consumer<QueuedMessage> consumer = durableConsumer;
        if (consumer != null) {
            consumer.accept(m.view);
        }
    }

    /**
     * Writer thread: the message's COMMIT record may still be valid on disk (its segment failed
     * later, or a sibling segment did), so a tombstone keeps recovery from queuing a message whose
     * client was told it failed. If even that write fails, a restart may queue it: a duplicate
     * delivery, never a loss.
     */
    void discardFailedCommit(StoredMessage m, IOException failure) {
        try {
            journal.append(m.id, m.segments, DeletionJournal.REASON_FAILED, true); // no rewrite on the writer thread
        } catch (IOException e) {
            failure.addSuppressed(e);
        }
        releaseRefs(m);
    }

    /**
     * Loop thread: the writer refused the commit (queue full, closing). The ABORT after its COMMIT
     * record cancels it in recovery only while the ABORT's segment lasts, and that may be a later
     * segment than the COMMIT's; a tombstone lasts as long as any of the message's segments.
     * Fsynced lazily (within DeletionJournal.LAZY_SYNC_NANOS): a crash before that is the
     * ABORT's case again, and this path must not add an fsync to an overloaded loop.
     */
    void discardRefusedCommit(StoredMessage m, IOException reason) {
        try {
            journal.append(m.id, m.segments, DeletionJournal.REASON_FAILED, false);
        } catch (IOException e) {
            reason.addSuppressed(e);
        }
        releaseRefs(m);
    }

    void releaseRefs(StoredMessage m) {
        releaseRefs(m, false);
    }

    private void releaseRefs(StoredMessage m, boolean mayBlock) {
        for (Segment s : m.segments) {
            release(s, mayBlock);
        }
    }

    /**
     * Drops one ref; the last one retires the file for reuse by its loop's appender or, when that
     * keeps enough already (or the file was found by recovery), deletes it (read-write spools only).
     */
    void release(Segment s) {
        release(s, false);
    }

    /**
     * As {@link #release(Segment)}; {@code mayBlock} says the caller is not an event loop (nor the
     * writer), so a retired file's rename is made durable right here, and the file is reusable at once.
     */
    private void release(Segment s, boolean mayBlock) {
        if (s.refs.decrementAndGet() == 0 && !readOnly) {
            openSegments.remove(s);
            try {
                if (s.writer == null || closed || s.failure != null || !recycle(s, mayBlock)) {
                    s.delete();
                }
            } catch (IOException e) {
                segmentDeleteErrors.incrementAndGet();
            }
        }
    }

    /**
     * Renames an emptied segment to {@code .free} and keeps it for its loop. The preparer
     * overwrites a reused file's header (and forces it) before the loop renames it, so the
     * {@code .free} rename must be durable first: else a power loss can leave the OLD {@code .seg}
     * name over the NEW header, which recovery quarantines as renamed by hand. A caller that may
     * block fsyncs {@code segments/} here (once per retired segment, never per message: delivery
     * and CLI threads); an event loop or the writer does not, and the file waits for the writer's
     * next directory fsync (see {@link #renameDurable}).
     */
    private boolean recycle(Segment s, boolean mayBlock) throws IOException {
        KeptSegments kept = s.writer.keptSegments();
        if (!kept.hasRoom()) {
            return false;
        }
        long octets = s.writeChannel.size();
        Path free = s.retire();
        long retiredAtSync = directorySyncsBegun.get(); // read after the rename: see directorySyncsBegun
        if (mayBlock) {
            try {
                channelFactory.syncDirectory(segmentsDir);
                retiredAtSync = RENAME_DURABLE;
            } catch (IOException e) {
                deleteQuietly(free); // as a plain delete: the unlink is durable with a later fsync
                return true;
            }
        }
        if (!kept.offer(free, octets, retiredAtSync)) {
            Files.deleteIfExists(free);
        }
        return true;
    }

    /**
     * Any thread, when the disk runs short (a failed write, or a new segment file on a nearly
     * full disk), and the close: deletes the files every loop keeps for reuse, so the space the
     * health check counted as free ({@link #unhealthyReason}) is free. Rare path: the monitor
     * guards the appender array.
     */
    synchronized void dropKeptFiles() {
        for (SpoolAppender appender : appenders) {
            if (appender != null) {
                appender.keptSegments().dropQueued();
            }
        }
        preparer.noteDrop(); // between the queues and the slots: see SegmentPreparer.noteDrop
        for (SpoolAppender appender : appenders) {
            if (appender != null) {
                appender.keptSegments().dropNext();
            }
        }
    }

    /**
     * Loop thread, before it creates a segment file (it keeps none of its own to reuse): when other
     * loops keep files and the disk has less than a segment (plus {@link #MIN_FREE_BYTES}) usable,
     * their files go first, so the new file does not fail for space they hold. One statvfs per
     * new file while any file is kept; none otherwise.
     */
    void makeRoomForNewSegment() {
        if (keptBytes.get() > 0 && usableBytes() < MIN_FREE_BYTES + options.segmentMaxBytes()) {
            dropKeptFiles();
        }
    }

    private long usableBytes() {
        try {
            return channelFactory.usableBytes(segmentsDir);
        } catch (IOException e) {
            return 0; // unknown: take the space back rather than risk a write failing for it
        }
    }

    /** {@link #recycle}'s stamp for a file whose {@code .free} rename was fsynced at once. */
    static final long RENAME_DURABLE = -1;

    /** Writer thread, before it fsyncs {@code segments/}: that fsync's number. */
    long beginDirectorySync() {
        return directorySyncsBegun.incrementAndGet();
    }

    /** Writer thread: directory fsync {@code syncNo} (from {@link #beginDirectorySync}) completed. */
    void directorySynced(long syncNo) {
        directorySyncedThrough.accumulateAndGet(syncNo, Math::max); // non-capturing: no allocation
        preparer.directorySynced();
    }

    /**
     * Any thread: whether a file retired with stamp {@code retiredAtSync} (see {@link #recycle})
     * has its {@code .free} name on disk for good, so its header may be overwritten.
     */
    boolean renameDurable(long retiredAtSync) {
        return directorySyncedThrough.get() > retiredAtSync;
    }

    /** Any thread: a kept file's bytes were added ({@code > 0}) or given up ({@code < 0}). */
    void noteKept(long deltaOctets) {
        keptBytes.addAndGet(deltaOctets);
    }

    /**
     * Bytes held by emptied segment files kept for reuse ({@code .free}; see
     * {@code spool.recycle_segments}): space the spool counts as its own free space. Any thread.
     */
    public long keptSegmentBytes() {
        return keptBytes.get();
    }

    /** At close, the writer done: each appender's last SYNCED record, forced with its segment next. */
    private synchronized void writeSyncedRecordsAtClose() {
        for (SpoolAppender appender : appenders) {
            if (appender != null) {
                appender.writeSyncedAtClose();
            }
        }
    }

    /** Tests: whether loop {@code loopIndex}'s next roll would reuse a readied kept file. */
    synchronized boolean segmentReadyForReuse(int loopIndex) {
        SpoolAppender appender = appenders[loopIndex];
        return appender != null && appender.keptSegments().hasReady();
    }

    /**
     * Loop thread, once per new segment: the header's random nonce (see SpoolRecord.crcSalt).
     * SecureRandom, because a guessable salt would let message content pass for records.
     */
    long newSegmentNonce() {
        return nonces.nextLong();
    }

    /** Loop thread: one more segment file reused instead of created. */
    void noteSegmentRecycled() {
        segmentsRecycled.incrementAndGet();
    }

    /** Segment files reused instead of created so far (see {@code spool.recycle_segments}). */
    public long segmentsRecycled() {
        return segmentsRecycled.get();
    }

    static void deleteQuietly(Path path) {
        try {
            Files.deleteIfExists(path);
        } catch (IOException ignored) {
            // left for the next start, which deletes every .free file
        }
    }

    static void fsyncDirectory(Path directory) throws IOException {
        try (FileChannel ch = FileChannel.open(directory, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }
}
