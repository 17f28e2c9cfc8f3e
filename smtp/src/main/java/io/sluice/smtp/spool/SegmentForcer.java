package io.sluice.smtp.spool;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Forces the segments of one group commit concurrently: the spool writer forces every
 * {@code stride}-th segment itself and helper threads ({@code sluice-spool-sync-N}, started on
 * first need, at most {@code maxHelpers}) force the others. Each event loop writes its own
 * segment, so a batch usually touches one segment per loop; on ext4 fdatasyncs issued together
 * share a journal commit, while back to back each pays its own (measured on this project's box,
 * two files of 128 KiB each: 9.5 ms back to back, 1.3 ms together, 3.8 ms for one file of both).
 *
 * <p>Only the spool writer thread calls {@link #forceAll} and {@link #close}. A round hands the
 * participating helpers their segments through plain fields published by each one's volatile
 * {@code assigned} (helpers left out of a round are not told of it); a helper
 * answers through {@code unfinished} (and the segment's volatile {@code failure}), so what it did
 * is visible to the writer once the count reaches zero. Nothing is allocated per round.
 */
final class SegmentForcer {
    private final int maxHelpers;
    private final ArrayList<Helper> helpers = new ArrayList<>();
    private final AtomicInteger unfinished = new AtomicInteger();
    private final AtomicInteger forced = new AtomicInteger();
    private Segment[] work = new Segment[8];
    private int size;
    private int participants;
    private Thread writer;
    /** Rounds published so far; written and read by the writer only (helpers see {@link Helper#assigned}). */
    private long round;
    private volatile boolean closed;

    /** @param maxHelpers threads besides the writer that may fsync at the same time (0: all on the writer) */
    SegmentForcer(int maxHelpers) {
        if (maxHelpers < 0) {
            throw new IllegalArgumentException("maxHelpers=" + maxHelpers + " < 0");
        }
        this.maxHelpers = maxHelpers;
    }

    /**
     * Forces every segment of the list that has not failed; a failing force marks its segment
     * failed for good. Returns when all are done, with how many forces succeeded.
     */
    int forceAll(List<Segment> segments) {
        int n = segments.size();
        int helping = Math.min(n - 1, maxHelpers);
        if (helping <= 0) {
            int ok = 0;
            for (int i = 0; i < n; i++) {
                ok += force(segments.get(i));
            }
            return ok;
        }
        writer = Thread.currentThread();
        startHelpers(helping);
        publish(segments, helping);
        for (int h = 0; h < helping; h++) {
            Helper helper = helpers.get(h);
            // Only this round's participants are told: a helper left out can never wake into a
            // later round's half-published fields and count down twice (a 250 before its fsync).
            helper.assigned = round;
            LockSupport.unpark(helper.thread);
        }
        int ok = forceShare(0);
        while (unfinished.get() > 0) {
            LockSupport.park(this); // the last helper unparks us; a spurious return re-checks
        }
        Arrays.fill(work, 0, size, null);
        return ok + forced.getAndSet(0);
    }

    /**
     * Stops the helpers, waiting at most {@code timeoutNanos} for them; the writer calls this once,
     * after its last round. False if a helper is still inside an fsync that does not return: it is
     * a daemon that counts down and exits once the fsync does, and touches nothing else.
     */
    boolean close(long timeoutNanos) throws InterruptedException {
        closed = true;
        for (Helper h : helpers) {
            LockSupport.unpark(h.thread);
        }
        long deadline = System.nanoTime() + timeoutNanos;
        for (Helper h : helpers) {
            long left = deadline - System.nanoTime();
            if (left > 0) {
                h.thread.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left))); // join(0) would wait forever
            }
            if (h.thread.isAlive()) {
                return false;
            }
        }
        return true;
    }

    /** Fields for this round; each participant's volatile {@code assigned} write publishes them. */
    private void publish(List<Segment> segments, int helping) {
        size = segments.size();
        if (work.length < size) {
            work = new Segment[Math.max(size, work.length * 2)]; // grows once to the loop count
        }
        for (int i = 0; i < size; i++) {
            work[i] = segments.get(i);
        }
        participants = helping;
        unfinished.set(helping);
        round = round + 1;
    }

    /** Forces the segments at {@code first}, {@code first + stride}, ...; returns the successes. */
    private int forceShare(int first) {
        int ok = 0;
        for (int i = first; i < size; i += participants + 1) {
            ok += force(work[i]);
        }
        return ok;
    }

    private static int force(Segment s) {
        if (s.failure != null) {
            return 0;
        }
        try {
            s.forceChannel().force(false);
            return 1;
        } catch (IOException e) {
            // fsync failure is sticky (the kernel may have dropped the dirty pages): never retry.
            s.failure = e;
            return 0;
        } catch (RuntimeException | Error e) {
            // A force that did not complete must never leave its segment looking durable, and a
            // helper must survive to count down (else the writer waits forever).
            s.failure = new IOException("fsync of a spool segment did not complete", e);
            return 0;
        }
    }

    private void startHelpers(int wanted) {
        while (helpers.size() < wanted) {
            Helper h = new Helper(helpers.size());
            helpers.add(h);
            h.thread.start();
        }
    }

    /** One helper thread: waits for a round it takes part in, forces its share, reports. */
    private final class Helper implements Runnable {
        private final int index;
        private final Thread thread;
        /** The round the writer last gave this helper; written by the writer before it unparks us. */
        volatile long assigned;
        /** The last round this helper worked on. */
        private long seen;

        Helper(int index) {
            this.index = index;
            this.seen = 0; // rounds start at 1, so the first assignment is never missed
            this.thread = new Thread(this, "sluice-spool-sync-" + (index + 1));
            this.thread.setDaemon(true);
        }

        @Override
        public void run() {
            while (!closed) {
                long r = assigned;
                if (r == seen) {
                    LockSupport.park(this);
                    continue;
                }
                seen = r;
                int ok = 0;
                try {
                    ok = forceShare(index + 1);
                } finally {
                    forced.addAndGet(ok);
                    if (unfinished.decrementAndGet() == 0) {
                        LockSupport.unpark(writer);
                    }
                }
            }
        }
    }
}
