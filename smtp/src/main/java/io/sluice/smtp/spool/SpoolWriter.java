package io.sluice.smtp.spool;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.logging.Level;
import java.util.logging.Logger;
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
 *
 * <p>Stall watchdog without a thread of its own: the writer stamps {@link #progressNanos} at the
 * start of every pass of its loop (a pass idles at most 50 ms), so a writer blocked anywhere (a
 * commit round's fsyncs, the deletion journal's fsync or its lock, a listener) stops stamping, and
 * any thread that asks ({@link #isStalled}, {@link #stallReason}) computes the age; a writer that
 * died counts as stalled. It also publishes each commit round's start in {@link #roundStartNanos},
 * only to say what it is stuck in. {@link #isStalled} (every MAIL) compares numbers and logs
 * nothing; the one WARN of a stall comes from {@link #stallReason} (health checks, metrics) or
 * from the writer when a round ends late.
 */
final class SpoolWriter implements Runnable {
    private static final Logger LOG = Logger.getLogger(SpoolWriter.class.getName());
    /** {@link #roundStartNanos} between rounds. */
    private static final long NO_ROUND = Long.MIN_VALUE;
    /** What a round forces while it fsyncs {@code segments/} (a new segment's directory entry). */
    private static final Object DIRECTORY = "directory segments/";
    /** {@link #resolving}: the writer may resolve its next round (publish, answer, release segments). */
    private static final int RUNNING = 0;
    /** {@link #resolving}: the writer is publishing and answering a round. */
    private static final int RESOLVING = 1;
    /** {@link #resolving}: close gave up on the writer, which must not touch the spool again. */
    private static final int ABANDONED = 2;
    /** {@link #resolving}: close gave up on the writer while it answered a round; it stops after it. */
    private static final int ABANDON_AFTER_ROUND = 3;
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

    private final long stallTimeoutNanos;
    private final long closeTimeoutNanos;
    /** When the running round began its fsyncs, {@link #NO_ROUND} between rounds; publishes the round's fields below. */
    private volatile long roundStartNanos = NO_ROUND;
    /** The round's first segment, or {@link #DIRECTORY} (plain, published likewise). */
    private Object roundTarget;
    private int roundSegments;
    private int roundRequests;
    /** When the writer last began a pass of its loop: its sign of life. */
    private volatile long progressNanos = System.nanoTime();
    /** Set when the writer's thread ends, for whatever reason. */
    private volatile boolean exited;
    /** The {@link #progressNanos} stamp of the last stall whose WARN was written: one WARN per stall. */
    private final AtomicLong warnedStall = new AtomicLong(NO_ROUND);
    private volatile long longestRoundNanos;
    /** Hands the round's outcome either to the writer or to an abandoning close, never both. */
    private final AtomicInteger resolving = new AtomicInteger(RUNNING);

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
        this.stallTimeoutNanos = options.syncStallTimeoutNanos();
        this.closeTimeoutNanos = options.closeTimeoutNanos();
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

    /**
     * Stops after answering every request already queued, waiting at most {@code timeoutNanos} for
     * the thread. Returns true if it finished; false if it is stuck (an fsync that does not return):
     * then the writer is abandoned, logs one WARN, and will never publish, answer or release
     * anything, nor touch a file besides finishing that fsync, even if the disk comes back later.
     * The requests it still holds never got a 250, so nothing acknowledged is lost: recovery
     * treats them as after a crash (a complete COMMIT record may be queued again, a duplicate if
     * the client retries; never a loss). An interrupt ends the wait as the bound does (the flag is
     * kept). The caller thread, once.
     */
    boolean close(long timeoutNanos) {
        closing = true;
        LockSupport.unpark(thread);
        long deadline = System.nanoTime() + timeoutNanos;
        try {
            for (long left = timeoutNanos; left > 0 && thread.isAlive(); left = deadline - System.nanoTime()) {
                // join(0) waits forever, so never less than a millisecond.
                thread.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!thread.isAlive()) {
            return true;
        }
        // Visibility of the round's fields: this read of roundStartNanos follows the writer's write.
        long start = roundStartNanos;
        boolean clean = abandon();
        String stalled = start == NO_ROUND ? "not in a commit round" : "in a commit round for "
                + seconds(System.nanoTime() - start) + "s (" + describe(roundTarget, roundSegments) + ")";
        LOG.warning("spool writer did not finish within " + seconds(timeoutNanos) + "s, " + stalled + ": "
                + unanswered(start) + " commit requests unanswered (none got a 250, so none is lost); "
                + (clean ? "giving it up" : "it is answering a round: giving it up after that round"));
        return false;
    }

    /** The writer's round (roughly: its plain fields may be a round old) and what still waits in the queue. */
    private int unanswered(long start) {
        return (start == NO_ROUND ? 0 : roundRequests) + queue.size();
    }

    /**
     * Gives the writer up: true if it was between rounds' answers (it will never touch the spool
     * again), false if it is answering one (it stops after that round, which may still release
     * segments and write tombstones).
     */
    private boolean abandon() {
        while (true) {
            int state = resolving.get();
            if (state == ABANDONED) {
                return true;
            }
            if (state == ABANDON_AFTER_ROUND) {
                return false;
            }
            if (resolving.compareAndSet(state, state == RUNNING ? ABANDONED : ABANDON_AFTER_ROUND)) {
                return state == RUNNING;
            }
        }
    }

    /** Tests: waits up to {@code timeoutMillis} for the thread to end; true if it has. */
    boolean awaitStopped(long timeoutMillis) throws InterruptedException {
        thread.join(Math.max(1, timeoutMillis));
        return !thread.isAlive();
    }

    /** Whether {@link #close} gave up on this writer and it is done touching the spool's files. */
    boolean abandoned() {
        return resolving.get() == ABANDONED;
    }

    void observe(CommitBatchObserver batchObserver) {
        this.observer = batchObserver;
    }

    /** Null while the writer runs and its last batch succeeded, else why new commits will not succeed. */
    String unhealthyReason() {
        if (closing || !thread.isAlive()) {
            return "spool writer stopped";
        }
        String stalled = stallReason();
        return stalled != null ? stalled : lastFailure;
    }

    /**
     * Any thread: whether the writer has made no progress for the stall timeout, or has stopped, so
     * a commit now would wait for its answer, maybe for minutes. Two volatile reads and a clock
     * read, no allocation, no logging: cheap and safe on an event loop, for every MAIL command.
     */
    boolean isStalled() {
        return exited || System.nanoTime() - progressNanos >= stallTimeoutNanos;
    }

    /**
     * Any thread: {@code spool fsync stalled for 42.0s (segment 00-000000000123.seg)} or
     * {@code spool writer blocked for 42.0s outside a commit round ...}, or null; writes the
     * stall's one WARN if no one did yet. Allocates: health checks and metrics, not the hot path.
     */
    String stallReason() {
        if (exited) {
            return "spool writer stopped";
        }
        long progress = progressNanos;
        long ageNanos = System.nanoTime() - progress;
        if (ageNanos < stallTimeoutNanos) {
            return null;
        }
        long start = roundStartNanos;
        // The round fields are plain: at worst they name the wrong segment (never a wrong verdict).
        String reason = start == NO_ROUND
                ? "spool writer blocked for " + seconds(ageNanos) + "s outside a commit round (the deletion"
                        + " journal's fsync or lock, or a listener)"
                : "spool fsync stalled for " + seconds(System.nanoTime() - start) + "s ("
                        + describe(roundTarget, roundSegments) + ")";
        warnOnce(progress, reason);
        return reason;
    }

    /** Time since the running commit round began its fsyncs, 0 between rounds; any thread. */
    long roundAgeNanos() {
        long start = roundStartNanos;
        return start == NO_ROUND ? 0 : Math.max(0, System.nanoTime() - start);
    }

    /** The longest commit round so far (segment and directory fsyncs); any thread. */
    long longestRoundNanos() {
        return longestRoundNanos;
    }

    /** The one WARN of a stall: its first observer claims the stall's progress stamp. */
    private void warnOnce(long stall, String reason) {
        long warned = warnedStall.get();
        if (warned != stall && warnedStall.compareAndSet(warned, stall)) {
            LOG.warning(reason + ": commits wait for it; the spool reports itself unhealthy and new MAIL"
                    + " gets 451 4.3.0 until the writer moves again");
        }
    }

    private static String describe(Object target, int segments) {
        if (target == DIRECTORY) {
            return (String) DIRECTORY;
        }
        return "segment " + target + (segments > 1 ? " and " + (segments - 1) + " more" : "");
    }

    private static String seconds(long nanos) {
        return String.format(java.util.Locale.ROOT, "%.1f", nanos / 1e9);
    }

    SpoolStats stats(long damagedRanges) {
        return new SpoolStats(batches, messages, failedMessages, fsyncs, dirFsyncs, maxBatchSeen,
                totalFsyncNanos, callbackErrors, damagedRanges);
    }

    @Override
    public void run() {
        try {
            while (resolving.get() != ABANDONED) {
                progressNanos = System.nanoTime(); // one volatile write per pass, not per message
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
            exited = true; // new MAIL gets 451 from now on, whether we were closed or died
            closeForcer(); // also when the writer dies: its helper threads must not outlive it
        }
    }

    private void closeForcer() {
        try {
            if (!forcer.close(closeTimeoutNanos)) {
                LOG.warning("spool: an fsync helper thread is still stuck in an fsync; leaving it (a daemon)");
            }
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
        long start = beginRound();
        long fsyncNanos = forceSegments();
        if (newSegment) {
            roundTarget = DIRECTORY;
            roundStartNanos = start; // republishes the target (once per new segment only)
            fsyncNanos += syncDirectory();
        }
        endRound(start);
        if (!resolving.compareAndSet(RUNNING, RESOLVING)) {
            return; // close gave up on us while we were stuck: the spool is no longer ours to touch
        }
        try {
            resolveAndAnswer(fsyncNanos);
        } finally {
            if (!resolving.compareAndSet(RESOLVING, RUNNING)) {
                resolving.set(ABANDONED); // close gave up on us during this round: it was the last
            }
        }
    }

    /** Publishes the round for the stall watchdog: plain fields, then one volatile write; returns its start. */
    private long beginRound() {
        roundTarget = toForce.isEmpty() ? DIRECTORY : toForce.get(0);
        roundSegments = toForce.size();
        roundRequests = batch.size();
        long now = System.nanoTime();
        long start = now == NO_ROUND ? now + 1 : now;
        roundStartNanos = start;
        return start;
    }

    /** Clears the round; a round that outlived the stall timeout gets its WARN (if late) and an INFO. */
    private void endRound(long start) {
        long end = System.nanoTime();
        long tookNanos = end - start;
        long stall = progressNanos; // the stamp a health check saw during this stall, if it did
        roundStartNanos = NO_ROUND;
        progressNanos = end; // the round is progress: a stall ends here, before any answer goes out
        if (tookNanos > longestRoundNanos) {
            longestRoundNanos = tookNanos; // only when a record falls, rarely after warm-up
        }
        if (tookNanos >= stallTimeoutNanos) {
            String target = describe(roundTarget, roundSegments); // allocates: stalled rounds only
            // Logged by the writer only if no health check saw the stall while it lasted.
            warnOnce(stall, "spool fsync stalled for " + seconds(tookNanos) + "s (" + target + ")");
            LOG.log(Level.INFO, "spool fsync round completed after {0}s ({1}, {2} commit requests); the spool"
                    + " is healthy again unless a write failed", new Object[] {seconds(tookNanos), target, batch.size()});
        }
    }

    private void resolveAndAnswer(long fsyncNanos) {
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
        long syncNo = spool.beginDirectorySync();
        try (FileChannel dir = FileChannel.open(segmentsDir, StandardOpenOption.READ)) {
            dir.force(true);
            spool.directorySynced(syncNo); // files retired before it may now be reused
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
                request.noteDurable();
                request.announceDurable();
                spool.publish(request.message);
                ok++;
            } else {
                request.failure = failure;
                spool.discardFailedCommit(request.message, failure);
            }
        }
        for (Segment s : toForce) { // every COMMIT's segment was forced this round
            s.publishDurable();
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
