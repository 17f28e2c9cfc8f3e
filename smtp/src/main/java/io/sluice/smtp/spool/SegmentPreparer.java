package io.sluice.smtp.spool;

import io.sluice.smtp.spool.KeptSegments.KeptFile;
import io.sluice.smtp.spool.KeptSegments.NextSegment;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.locks.LockSupport;

/**
 * Readies kept segment files for reuse off the event loops, on its own daemon thread
 * ({@code sluice-spool-prepare}, one per read-write spool): it moves one {@code .free} file of each
 * loop into that loop's {@link KeptSegments#next} slot, waits until its {@code .free} rename is
 * durable, writes the header of a number it reserves from the loop ({@link KeptSegments#mintForNextRoll}),
 * fdatasyncs it and publishes it as ready. The loop's roll then only renames it; a file still being
 * readied is never waited for (the loop creates a new file instead, and the one it passed over is
 * stamped again with a later number). The header stays durable before the rename, as recovery needs.
 *
 * <p>Why its own thread and not the writer's {@code sluice-spool-sync-N} helpers: those run inside
 * the writer's group-commit rounds, which wait for every helper, so an fdatasync for a reuse there
 * would delay every acknowledgement of the round; this thread parks between the few files it
 * readies (one per segment's worth of mail per loop). {@link #wake}, {@link #noteDrop} and
 * {@link #directorySynced} are for any thread; {@link #start}, {@link #register} and {@link #close}
 * for the spool's setup and close.
 */
final class SegmentPreparer implements Runnable {
    /** A safety net only: every change that gives this thread work also wakes it. */
    private static final long IDLE_PARK_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final Spool spool;
    private final SegmentChannelFactory channels;
    private final Path segmentsDir;
    private final AtomicReferenceArray<KeptSegments> loops = new AtomicReferenceArray<>(QueueId.MAX_LOOPS);
    /** Drops of every loop's kept files so far (see {@link #noteDrop}). */
    private final AtomicLong drops = new AtomicLong();
    /** Thread-confined to the preparer; its own random source, so it never contends with a loop's. */
    private final ByteBuffer header = ByteBuffer.allocateDirect(SpoolRecord.SEGMENT_HEADER_BYTES);
    private final SecureRandom nonces = new SecureRandom();
    private final Thread thread;
    private volatile int loopsBound;
    /** Set by {@link #wake} before its unpark and cleared before each scan: no wake is lost. */
    private volatile boolean pending;
    private volatile boolean awaitingDirectorySync;
    private volatile boolean closed;

    SegmentPreparer(Spool spool, SegmentChannelFactory channels, Path segmentsDir) {
        this.spool = spool;
        this.channels = channels;
        this.segmentsDir = segmentsDir;
        this.thread = new Thread(this, "sluice-spool-prepare");
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    /** Setup (under the spool's monitor): the preparer serves this loop from now on. */
    void register(KeptSegments loop) {
        loops.set(loop.loopIndex, loop);
        if (loop.loopIndex >= loopsBound) {
            loopsBound = loop.loopIndex + 1;
        }
    }

    /** Any thread: there may be work (a file kept, claimed, passed over). One unpark. */
    void wake() {
        pending = true;
        LockSupport.unpark(thread);
    }

    /** Writer thread, after each fsync of {@code segments/}: a waiting file's rename may now be durable. */
    void directorySynced() {
        if (awaitingDirectorySync) {
            awaitingDirectorySync = false;
            wake();
        }
    }

    /**
     * Any thread dropping every loop's kept files, after it emptied their queues and before it
     * empties their slots: a file this thread took from a queue before that and puts into a slot
     * after the slots were emptied is then seen as dropped, and deleted here.
     */
    void noteDrop() {
        drops.incrementAndGet();
    }

    /** Close: stops the thread, waiting at most {@code timeoutNanos} (it may be inside an fsync); true if it ended. */
    boolean close(long timeoutNanos) {
        closed = true;
        LockSupport.unpark(thread);
        if (!thread.isAlive()) {
            return true;
        }
        try {
            thread.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(timeoutNanos)));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return !thread.isAlive();
    }

    @Override
    public void run() {
        while (!closed) {
            pending = false;
            boolean progress = false;
            for (int i = 0, n = loopsBound; i < n && !closed; i++) {
                KeptSegments loop = loops.get(i);
                if (loop != null) {
                    progress |= step(loop);
                }
            }
            if (!progress && !pending && !closed) {
                LockSupport.parkNanos(this, IDLE_PARK_NANOS);
            }
        }
    }

    /** One piece of work for one loop: true if it changed anything (then the scan runs again). */
    private boolean step(KeptSegments loop) {
        long dropsSeen = drops.get();
        NextSegment next = loop.next.get();
        if (next == null) {
            return fillSlot(loop, dropsSeen);
        }
        if (next.isReady()) {
            if (!loop.isStale(next)) {
                return false; // ready for the loop's next roll
            }
            // The loop rolled to a new file while this one was being stamped: its number is
            // behind the loop now. Stamp it again (its .free rename is long durable).
            NextSegment again = new NextSegment(next.free, next.octets, Spool.RENAME_DURABLE);
            if (!loop.next.compareAndSet(next, again)) {
                return true; // a drop took it meanwhile: look again
            }
            return stamp(loop, again, next.channel);
        }
        if (!spool.renameDurable(next.retiredAtSync)) {
            awaitingDirectorySync = true; // then re-checked: a directory fsync just now is not missed
            if (!spool.renameDurable(next.retiredAtSync)) {
                return false; // the writer's next directory fsync wakes us
            }
        }
        FileChannel channel;
        try {
            channel = channels.reuse(next.free);
        } catch (IOException | RuntimeException e) {
            discard(loop, next, null);
            return true;
        }
        return stamp(loop, next, channel);
    }

    /** Moves a kept file from the loop's queue into its empty slot, to wait there for its stamp. */
    private boolean fillSlot(KeptSegments loop, long dropsSeen) {
        if (closed) {
            return false;
        }
        KeptFile kept = loop.poll();
        if (kept == null) {
            return false;
        }
        loop.next.set(new NextSegment(kept.path(), kept.octets(), kept.retiredAtSync())); // only we fill it
        if (drops.get() != dropsSeen) {
            loop.dropNext(); // a drop emptied the queue while we held this file: it goes too
        }
        return true;
    }

    /**
     * Writes the header of a newly reserved number at offset 0 of {@code waiting}'s file, forces
     * it and publishes it as ready, unless the slot no longer holds {@code waiting} (a drop or the
     * close deleted the file: only the channel is left to close).
     */
    private boolean stamp(KeptSegments loop, NextSegment waiting, FileChannel channel) {
        long seq = loop.mintForNextRoll();
        long nonce = nonces.nextLong();
        try {
            SpoolRecord.encodeSegmentHeader(header, loop.loopIndex, nonce, seq);
            channel.position(0);
            while (header.hasRemaining()) {
                channel.write(header);
            }
            channel.force(false);
        } catch (IOException | RuntimeException e) {
            discard(loop, waiting, channel); // a failed fdatasync may have lost pages: not reused
            return true;
        }
        // Allocates the holder and the segment's path here, off the loop, once per reused file.
        NextSegment ready = new NextSegment(waiting.free, waiting.octets, waiting.retiredAtSync, channel, seq,
                nonce, segmentsDir.resolve(Segment.fileName(loop.loopIndex, seq)));
        if (!loop.next.compareAndSet(waiting, ready)) {
            KeptSegments.closeQuietly(channel);
        }
        return true;
    }

    /** The file could not be readied: deleted, if the slot still holds it (else its taker deleted it). */
    private static void discard(KeptSegments loop, NextSegment waiting, FileChannel channel) {
        if (channel != null) {
            KeptSegments.closeQuietly(channel);
        }
        if (loop.next.compareAndSet(waiting, null)) {
            loop.forgetOne(waiting.octets);
            Spool.deleteQuietly(waiting.free);
        }
    }
}
