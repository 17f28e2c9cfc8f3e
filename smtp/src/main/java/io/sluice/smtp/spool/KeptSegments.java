package io.sluice.smtp.spool;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.jctools.queues.MpmcArrayQueue;

/**
 * The emptied segment files ({@code .free}) one event loop keeps for reuse, the one of them that
 * {@link SegmentPreparer} readies for the loop's next roll, and the loop's segment numbers.
 *
 * <p>Threads: any thread offers a file ({@link #offer}) or drops them all when the disk runs short
 * ({@link #dropQueued}, {@link #dropNext}); the loop's thread claims the ready file at a roll
 * ({@link #claim}) and mints numbers for the new files it creates ({@link #mintForNewFile}); the
 * preparer thread moves one kept file at a time into the {@link #next} slot and stamps it. No
 * locks: a file's owner is whoever holds it (the queue, the slot, or the thread that took it out
 * of either with one atomic step), and only its owner deletes it, closes its channel or hands it on.
 */
final class KeptSegments {
    final int loopIndex;
    private final Spool spool;
    private final SegmentPreparer preparer;
    private final int maxFiles;
    /** Kept files not yet in the slot. Any thread offers; the preparer and droppers poll (MPMC). */
    private final MpmcArrayQueue<KeptFile> queue;
    /** Files this loop keeps: queued, in the slot, or being stamped. */
    private final AtomicInteger files = new AtomicInteger();
    /**
     * The file readied for the next roll: null, one waiting or being stamped (no channel), or one
     * stamped and forced ({@link NextSegment#isReady}). Only the preparer fills it; the loop (a
     * ready one with a number above {@link #lastSeq}), droppers and close empty it.
     */
    final AtomicReference<NextSegment> next = new AtomicReference<>();
    /** The next unused segment number of this loop; the loop and the preparer mint from it. */
    private final AtomicLong nextSeq;
    /** The number of the loop's newest segment: a ready file at or below it is stale (never used). */
    private volatile long lastSeq;

    KeptSegments(Spool spool, SegmentPreparer preparer, int loopIndex, long firstSeq, int maxFiles) {
        this.spool = spool;
        this.preparer = preparer;
        this.loopIndex = loopIndex;
        this.maxFiles = maxFiles;
        this.queue = new MpmcArrayQueue<>(Math.max(2, maxFiles));
        this.nextSeq = new AtomicLong(firstSeq);
        this.lastSeq = firstSeq - 1;
    }

    /** Loop thread: the number of a new file it creates (no file was ready); it becomes the newest. */
    long mintForNewFile() {
        long seq = nextSeq.getAndIncrement();
        lastSeq = seq;
        return seq;
    }

    /** Preparer thread: the number a kept file is stamped with, reserved for the loop's next roll. */
    long mintForNextRoll() {
        return nextSeq.getAndIncrement();
    }

    /**
     * Loop thread, at a roll: takes the ready file if its number is above every number this loop
     * used, and renames it to its segment name (no fsync: its header is durable; the writer fsyncs
     * the directory before any commit in it is acknowledged). Null if none is ready (the caller
     * creates a new file and never waits), if it is stale, or if the rename failed (then it is
     * deleted). Allocates nothing; one rename.
     */
    NextSegment claim() {
        NextSegment ready = next.get();
        if (ready == null || !ready.isReady() || ready.seq <= lastSeq || !next.compareAndSet(ready, null)) {
            return null;
        }
        forgetOne(ready.octets);
        try {
            Files.move(ready.free, ready.path, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            closeQuietly(ready.channel);
            Spool.deleteQuietly(ready.free); // the move is the last step: a failure leaves the .free name
            return null;
        }
        lastSeq = ready.seq;
        return ready;
    }

    /** Loop thread, after a roll: the preparer readies the next kept file or restamps a stale one. */
    void rolled() {
        if (files.get() > 0) {
            preparer.wake();
        }
    }

    /**
     * Any thread: keeps an emptied file of this loop (already renamed {@code .free}, {@code octets}
     * long, stamped {@code retiredAtSync} by Spool.recycle); false if this loop keeps enough (the
     * caller deletes the file). Allocates one small holder per kept file (once per segment's life).
     */
    boolean offer(Path free, long octets, long retiredAtSync) {
        if (files.incrementAndGet() > maxFiles) {
            files.decrementAndGet();
            return false;
        }
        spool.noteKept(octets); // before the offer: a taker subtracts it at once
        if (!queue.offer(new KeptFile(free, octets, retiredAtSync))) {
            forgetOne(octets); // cannot happen (capacity >= maxFiles); kept for safety
            return false;
        }
        preparer.wake();
        return true;
    }

    /** Any thread: whether a file offered now would probably be kept (racy; offer decides). */
    boolean hasRoom() {
        return files.get() < maxFiles;
    }

    /** Any thread, the disk runs short (first step): deletes the queued files. */
    void dropQueued() {
        for (KeptFile kept; (kept = queue.poll()) != null; ) {
            forgetOne(kept.octets);
            Spool.deleteQuietly(kept.path);
        }
    }

    /**
     * Any thread, the disk runs short (last step), and at close: deletes the file in the slot. A
     * ready one's channel is closed (no one else holds it); a file the preparer is stamping is
     * unlinked under it (its space comes back when the preparer, failing to publish, closes it):
     * its channel is the preparer's, and closing it here would wait for that fsync.
     */
    void dropNext() {
        NextSegment taken = next.getAndSet(null);
        if (taken != null) {
            forgetOne(taken.octets);
            if (taken.isReady()) {
                closeQuietly(taken.channel);
            }
            Spool.deleteQuietly(taken.free);
        }
    }

    /** Preparer thread: a kept file to ready, or null. */
    KeptFile poll() {
        return queue.poll();
    }

    /** A file left the keeping (claimed, deleted or failed): its count and bytes. */
    void forgetOne(long octets) {
        files.decrementAndGet();
        spool.noteKept(-octets);
    }

    /** Whether the slot holds a file stamped for a number the loop may still use (tests). */
    boolean hasReady() {
        NextSegment n = next.get();
        return n != null && n.isReady() && n.seq > lastSeq;
    }

    /** Whether {@code ready} names a number this loop has passed: it must be stamped again. */
    boolean isStale(NextSegment ready) {
        return ready.seq <= lastSeq;
    }

    static void closeQuietly(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // the file is deleted or left as .free; nothing written through it matters any more
        }
    }

    /** A kept file, the disk it holds, and when it was retired (see {@link Spool#renameDurable}). */
    record KeptFile(Path path, long octets, long retiredAtSync) {
    }

    /**
     * The file in the slot: while {@link #channel} is null, a kept file waiting for its
     * {@code .free} rename to be durable or being stamped; then a file whose header for segment
     * {@link #seq} is written and forced, its channel positioned after the header, and
     * {@link #path} its segment name (resolved off the loop). Immutable; safely published by the slot.
     */
    static final class NextSegment {
        final Path free;
        final long octets;
        final long retiredAtSync;
        final FileChannel channel;
        final long seq;
        final long nonce;
        final Path path;

        /** Waiting or being stamped. */
        NextSegment(Path free, long octets, long retiredAtSync) {
            this(free, octets, retiredAtSync, null, -1, 0, null);
        }

        NextSegment(Path free, long octets, long retiredAtSync, FileChannel channel, long seq, long nonce, Path path) {
            this.free = free;
            this.octets = octets;
            this.retiredAtSync = retiredAtSync;
            this.channel = channel;
            this.seq = seq;
            this.nonce = nonce;
            this.path = path;
        }

        boolean isReady() {
            return channel != null;
        }
    }
}
