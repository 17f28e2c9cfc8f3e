package io.sluice.smtp.spool;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.jctools.queues.MessagePassingQueue;
import org.jctools.queues.MpscArrayQueue;

/**
 * The group-commit stage: one thread ({@code sluice-spool-writer}) that gathers the commit
 * requests of every appender arriving within the commit window, fsyncs each segment they touched
 * once, the segments concurrently (see {@link SegmentForcer}), and the segments directory once if
 * a segment is new, publishes the durable messages to
 * the index and answers every request on its own executor. Appenders hand requests over through
 * a bounded lock-free MPSC queue ({@link #submit}, any thread); everything else is confined to
 * the writer thread.
 */
final class SpoolWriter implements Runnable {
    /** Safety net only: producers unpark the writer when it parks (and lazy removals are synced on time). */
    private static final long IDLE_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    /** Threads besides the writer that fsync a batch's segments at once (one segment per loop). */
    private static final int MAX_SYNC_HELPERS = 7;

    private final MpscArrayQueue<CommitRequest> queue;
    private final Spool spool;
    private final Path segmentsDir;
    private final long commitWindowNanos;
    private final int maxBatch;
    private final ArrayList<CommitRequest> batch;
    private final ArrayList<Segment> toForce = new ArrayList<>();
    private final SegmentForcer forcer = new SegmentForcer(MAX_SYNC_HELPERS);
    private final MessagePassingQueue.Consumer<CommitRequest> collector;
    private final Thread thread;
    private volatile boolean parked;
    private volatile boolean closing;
    private long batchNumber;

    private volatile long batches;
    private volatile long messages;
    private volatile long failedMessages;
    private volatile long fsyncs;
    private volatile long dirFsyncs;
    private volatile long maxBatchSeen;
    private volatile long totalFsyncNanos;
    private volatile long callbackErrors;
    private volatile CommitBatchObserver observer = CommitBatchObserver.NONE;
    /** Why the last batch failed, or null when it succeeded: health checks read it. */
    private volatile String lastFailure;

    SpoolWriter(Spool spool, Path segmentsDir, SpoolOptions options) {
        this.spool = spool;
        this.segmentsDir = segmentsDir;
        this.queue = new MpscArrayQueue<>(options.writerQueueCapacity());
        this.commitWindowNanos = options.commitWindowNanos();
        this.maxBatch = options.maxBatchMessages();
        this.batch = new ArrayList<>(maxBatch);
        this.collector = batch::add;
        this.thread = new Thread(this, "sluice-spool-writer");
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    /** Any thread: queues a request; null on success, else why it was refused. */
    String submit(CommitRequest request) {
        if (closing) {
            return "spool closed";
        }
        if (!queue.offer(request)) {
            return "spool writer queue full: capacity=" + queue.capacity();
        }
        if (parked) {
            LockSupport.unpark(thread);
        }
        return null;
    }

    /** Stops after answering every request already queued; waits for the thread. */
    void close() throws InterruptedException {
        closing = true;
        LockSupport.unpark(thread);
        thread.join();
    }

    void observe(CommitBatchObserver batchObserver) {
        this.observer = batchObserver;
    }

    /** Null while the writer runs and its last batch succeeded, else why new commits will not succeed. */
    String unhealthyReason() {
        if (closing || !thread.isAlive()) {
            return "spool writer stopped";
        }
        return lastFailure;
    }

    SpoolStats stats() {
        return new SpoolStats(batches, messages, failedMessages, fsyncs, dirFsyncs, maxBatchSeen,
                totalFsyncNanos, callbackErrors);
    }

    @Override
    public void run() {
        try {
            while (true) {
                // Lazily fsynced removals are caught here when no further delivery comes to sync them.
                long syncInNanos = spool.syncRemovalsIfDue();
                if (queue.drain(collector, maxBatch) == 0) {
                    if (closing && queue.isEmpty()) {
                        return;
                    }
                    idle(Math.min(IDLE_PARK_NANOS, syncInNanos));
                    continue;
                }
                gatherWindow();
                commitBatch();
            }
        } finally {
            closeForcer(); // also when the writer dies: its helper threads must not outlive it
        }
    }

    private void closeForcer() {
        try {
            forcer.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // helpers are daemons: at worst they outlive us parked
        }
    }

    /** Keeps draining until the window since the batch's first request closes or the batch is full. */
    private void gatherWindow() {
        long deadline = System.nanoTime() + commitWindowNanos;
        while (batch.size() < maxBatch) {
            if (queue.drain(collector, maxBatch - batch.size()) > 0) {
                continue;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0 || closing) {
                return;
            }
            idle(left);
        }
    }

    /** Parks unless work is visible; the flag is written before the re-check so no offer is missed. */
    private void idle(long nanos) {
        parked = true;
        if (queue.isEmpty() && !closing) {
            LockSupport.parkNanos(this, nanos);
        }
        parked = false;
    }

    private void commitBatch() {
        long batchNo = ++batchNumber;
        boolean newSegment = false;
        for (CommitRequest request : batch) {
            for (Segment s : request.message.segments) {
                if (s.forceBatch != batchNo) {
                    s.forceBatch = batchNo;
                    toForce.add(s);
                    newSegment |= !s.dirSynced;
                }
            }
        }
        long fsyncNanos = forceSegments();
        if (newSegment) {
            fsyncNanos += syncDirectory();
        }
        int ok = resolve();
        long n = batch.size();
        // Counters before callbacks, so whoever is answered sees its own commit counted.
        batches = batches + 1;
        messages = messages + ok;
        failedMessages = failedMessages + (n - ok);
        totalFsyncNanos = totalFsyncNanos + fsyncNanos;
        if (n > maxBatchSeen) {
            maxBatchSeen = n;
        }
        lastFailure = ok == n ? null : "last commit failed: " + firstFailureText();
        if (ok == n) {
            spool.clearWriteFailure();
        }
        observer.batchCommitted((int) n, fsyncNanos);
        dispatch();
        batch.clear();
        toForce.clear();
    }

    private long forceSegments() {
        long start = System.nanoTime();
        fsyncs = fsyncs + forcer.forceAll(toForce);
        return System.nanoTime() - start;
    }

    private long syncDirectory() {
        long start = System.nanoTime();
        try (FileChannel dir = FileChannel.open(segmentsDir, StandardOpenOption.READ)) {
            dir.force(true);
            for (Segment s : toForce) {
                s.dirSynced = true;
            }
        } catch (IOException e) {
            for (Segment s : toForce) {
                if (!s.dirSynced) {
                    s.failure = e;
                }
            }
        }
        dirFsyncs = dirFsyncs + 1;
        return System.nanoTime() - start;
    }

    /** Publishes each durable message or records why it failed; returns how many succeeded. */
    private int resolve() {
        int ok = 0;
        for (CommitRequest request : batch) {
            IOException failure = firstFailure(request.message.segments);
            if (failure == null) {
                request.announceDurable();
                spool.publish(request.message);
                ok++;
            } else {
                request.failure = failure;
                spool.discardFailedCommit(request.message, failure);
            }
        }
        return ok;
    }

    /** Schedules every listener on its executor. */
    private void dispatch() {
        for (CommitRequest request : batch) {
            try {
                request.executor.execute(request);
            } catch (RuntimeException e) {
                // A refusing executor (or a throwing listener on a direct one) must not stop the writer.
                callbackErrors = callbackErrors + 1;
            }
        }
    }

    private String firstFailureText() {
        for (CommitRequest request : batch) {
            if (request.failure != null) {
                return request.failure.toString();
            }
        }
        return "unknown";
    }

    private static IOException firstFailure(Segment[] segments) {
        for (Segment s : segments) {
            IOException failure = s.failure;
            if (failure != null) {
                return failure;
            }
        }
        return null;
    }
}
