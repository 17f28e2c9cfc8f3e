package io.sluice.smtp.spool;

import static io.sluice.smtp.spool.SpoolTestSupport.AWAIT_SECONDS;
import static io.sluice.smtp.spool.SpoolTestSupport.content;
import static io.sluice.smtp.spool.SpoolTestSupport.envelope;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A kept {@code .free} file is readied for the loop's next roll by the spool's preparer thread:
 * header written and fdatasynced there, so the roll only renames it. A roll never waits for it; a
 * short disk and the close take back a file being readied or readied without losing or reusing
 * it twice; a crash with one readied leaves nothing that confuses the next start. Each test's
 * "event loop" is one thread of its own; forces are seen through {@link SegmentChannelFactory}.
 */
class SegmentPreparerTest {
    private static final int SEGMENT_BYTES = 4096;
    private static final SpoolOptions OPTIONS = SpoolOptions.defaults()
            .withSegmentMaxBytes(SEGMENT_BYTES).withMaxRecordPayloadBytes(SEGMENT_BYTES);
    private static final Envelope ENVELOPE = envelope("rcpt@example.com");
    private static final int SMALL = 100;
    private static final String PREPARER = "sluice-spool-prepare";

    @TempDir
    Path tmp;

    /** "thread file" for every force of a segment channel. */
    private final ConcurrentLinkedQueue<String> forces = new ConcurrentLinkedQueue<>();
    /** Channels handed out for reuse, newest last. */
    private final ConcurrentLinkedQueue<FileChannel> reused = new ConcurrentLinkedQueue<>();
    /** Counted down when a force of a reused file begins; that force then waits for {@link #release}. */
    private final CountDownLatch entered = new CountDownLatch(1);
    private final CountDownLatch release = new CountDownLatch(1);
    private volatile boolean holdReusedForce;
    private volatile boolean failReusedForce;
    private final AtomicLong usable = new AtomicLong(Long.MAX_VALUE / 4);
    private final List<ExecutorService> loops = new ArrayList<>();

    private final SegmentChannelFactory disk = new SegmentChannelFactory() {
        @Override
        public FileChannel create(Path path) throws IOException {
            return recorded(DEFAULT.create(path), path, false);
        }

        @Override
        public FileChannel reuse(Path path) throws IOException {
            FileChannel channel = recorded(SegmentChannelFactory.super.reuse(path), path, true);
            reused.add(channel);
            return channel;
        }

        @Override
        public long usableBytes(Path directory) {
            return usable.get();
        }
    };

    private FileChannel recorded(FileChannel real, Path path, boolean reuse) {
        FailingFileChannel channel = new FailingFileChannel(real, -1, false);
        channel.beforeForce = () -> {
            forces.add(Thread.currentThread().getName() + " " + path.getFileName());
            if (reuse && holdReusedForce) {
                entered.countDown();
                awaitQuietly(release);
            }
            if (reuse && failReusedForce) {
                throw new UncheckedIOException(new IOException("Input/output error"));
            }
        };
        return channel;
    }

    @AfterEach
    void stopLoops() {
        release.countDown();
        loops.forEach(ExecutorService::shutdownNow);
    }

    @Test
    void aRollIntoAReadiedFileForcesNothingOnTheLoop() throws Exception {
        Loop loop = new Loop("test-loop-0");
        try (Spool spool = Spool.open(tmp, OPTIONS, disk)) {
            SpoolAppender appender = spool.appender(0);
            Object inode = keepSegmentZero(spool, loop, appender, new ArrayList<>());
            SpoolTestSupport.awaitReadyForReuse(spool, 0);
            assertTrue(forces.contains(PREPARER + " " + Segment.freeName(0, 0)),
                    "the kept file's new header was forced by the preparer, under its .free name: " + forces);

            loop.call(() -> commit(appender, content(6, SMALL))); // rolls to segment 2: segment 0's file
            assertEquals(1, spool.segmentsRecycled());
            assertEquals(inode, Files.getAttribute(segment(0, 2), "unix:ino"), "segment 2 is segment 0's file");
            assertEquals(Segment.fileName(0, 2), headerName(segment(0, 2)));
            assertEquals(List.of(), forces.stream().filter(f -> f.startsWith(loop.name)).collect(Collectors.toList()),
                    "no fsync ever ran on the loop");
        }
    }

    @Test
    void aRollWithNothingReadiedCreatesANewFileAndNeverWaits() throws Exception {
        holdReusedForce = true;
        Loop loop = new Loop("test-loop-0");
        List<QueueId> survivors = new ArrayList<>();
        Object inode;
        try (Spool spool = Spool.open(tmp, OPTIONS, disk)) {
            SpoolAppender appender = spool.appender(0);
            inode = keepSegmentZero(spool, loop, appender, survivors);
            assertTrue(entered.await(AWAIT_SECONDS, TimeUnit.SECONDS), "the preparer forces the kept file");

            // The preparer is inside that fsync (for number 2) and stays there: the roll goes on.
            survivors.add(loop.call(() -> commit(appender, content(6, SMALL))));
            assertEquals(0, spool.segmentsRecycled());
            assertTrue(Files.exists(segment(0, 3)), "a new file, numbered past the one reserved");
            assertNotEquals(inode, Files.getAttribute(segment(0, 3), "unix:ino"));
            assertTrue(Files.exists(free(0, 0)), "the kept file is still being readied");
            survivors.add(loop.call(() -> commit(appender, content(7, fillTo(Files.size(segment(0, 3)))))));

            release.countDown(); // number 2 is behind the loop now: stamped again, for number 4
            SpoolTestSupport.awaitReadyForReuse(spool, 0);
            survivors.add(loop.call(() -> commit(appender, content(8, SMALL)))); // rolls to 4
            assertEquals(1, spool.segmentsRecycled());
            assertEquals(inode, Files.getAttribute(segment(0, 4), "unix:ino"), "segment 4 is segment 0's file");
            assertEquals(Segment.fileName(0, 4), headerName(segment(0, 4)));
            assertFalse(Files.exists(segment(0, 2)), "number 2 was never used");
        }
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertEquals(survivors, ids(spool));
            commit(spool.appender(0), content(9, SMALL));
            assertTrue(Files.exists(segment(0, 5)), "numbers go on after the highest used");
        }
        assertEquals(List.of(), corruptFiles());
    }

    /**
     * Power loss with a readied file unclaimed: a {@code .free} file whose header names a number
     * the loop never used. The next start deletes it unread, queues every acknowledged message,
     * and numbers new segments after the highest {@code .seg} (the reserved one may come again:
     * its file is gone). The disk at the crash is copied while the spool runs (no writes then).
     */
    @Test
    void aCrashWithAReadiedFileUnclaimedQueuesAllMailAndNumbersGoOn() throws Exception {
        Path crashed = tmp.resolve("crashed");
        List<QueueId> survivors = new ArrayList<>();
        Loop loop = new Loop("test-loop-0");
        try (Spool spool = Spool.open(tmp.resolve("live"), OPTIONS, disk)) {
            SpoolAppender appender = spool.appender(0);
            keepSegmentZero(spool, loop, appender, survivors);
            SpoolTestSupport.awaitReadyForReuse(spool, 0);
            Path kept = spool.directory().resolve("segments").resolve(Segment.freeName(0, 0));
            assertEquals(Segment.fileName(0, 2), headerName(kept), "readied for a number not used yet");
            copyTree(spool.directory(), crashed);
        }
        try (Spool spool = Spool.open(crashed, OPTIONS)) {
            assertEquals(survivors, ids(spool), "every acknowledged message is queued");
            assertFalse(Files.exists(crashed.resolve("segments").resolve(Segment.freeName(0, 0))),
                    ".free files are deleted unread at start");
            SpoolAppender appender = spool.appender(0);
            survivors.add(commit(appender, content(6, SMALL)));
            survivors.add(commit(appender, content(7, fillTo(Files.size(segmentIn(crashed, 2))))));
            survivors.add(commit(appender, content(8, SMALL)));
        }
        try (Spool spool = Spool.open(crashed, OPTIONS)) {
            assertEquals(survivors, ids(spool));
        }
        List<String> names = listing(crashed);
        assertEquals(List.of(Segment.fileName(0, 1), Segment.fileName(0, 2), Segment.fileName(0, 3)), names,
                "numbers go on from the highest segment: " + names);
    }

    /**
     * The disk runs short (another loop needs a new file) while the preparer is inside the kept
     * file's fsync: the file is unlinked at once (its bytes no longer counted), the loop that
     * needed the room does not wait for that fsync, the preparer, once out of it, publishes nothing,
     * and the owning loop's next roll creates a new file.
     */
    @Test
    void aShortDiskWhileAFileIsBeingReadiedTakesItBackAndNothingIsUsedTwice() throws Exception {
        holdReusedForce = true;
        Loop loop0 = new Loop("test-loop-0");
        Loop loop1 = new Loop("test-loop-1");
        List<QueueId> survivors = new ArrayList<>();
        try (Spool spool = Spool.open(tmp, OPTIONS, disk)) {
            SpoolAppender appender = spool.appender(0);
            keepSegmentZero(spool, loop0, appender, survivors);
            assertTrue(entered.await(AWAIT_SECONDS, TimeUnit.SECONDS), "the preparer forces the kept file");
            assertTrue(spool.keptSegmentBytes() > 0);

            usable.set(Spool.MIN_FREE_BYTES + SEGMENT_BYTES - 1); // less than a segment to spare
            SpoolAppender other = spool.appender(1);
            survivors.add(loop1.call(() -> commit(other, content(5, SMALL)))); // a new file: room first
            assertFalse(Files.exists(free(0, 0)), "the file being readied was given back");
            assertEquals(0, spool.keptSegmentBytes());

            release.countDown();
            FileChannel channel = reused.peek();
            assertNotNull(channel);
            awaitCondition(() -> !channel.isOpen(), "the preparer closes the file it could not publish");
            assertEquals(0, spool.keptSegmentBytes(), "counted back once");
            assertFalse(spool.segmentReadyForReuse(0));

            usable.set(Long.MAX_VALUE / 4);
            survivors.add(loop0.call(() -> commit(appender, content(6, SMALL)))); // rolls
            assertEquals(0, spool.segmentsRecycled());
            assertEquals(Segment.fileName(0, 3), headerName(segment(0, 3)), "a new file past the reserved number 2");
            assertEquals(List.of(Segment.fileName(0, 1), Segment.fileName(0, 3), Segment.fileName(1, 0)), listing(tmp),
                    "no .free file left, none used twice");
        }
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertEquals(Set.copyOf(survivors), Set.copyOf(ids(spool)));
        }
        assertEquals(List.of(), corruptFiles());
    }

    @Test
    void aShortDiskTakesBackAReadiedFile() throws Exception {
        Loop loop = new Loop("test-loop-0");
        try (Spool spool = Spool.open(tmp, OPTIONS, disk)) {
            SpoolAppender appender = spool.appender(0);
            keepSegmentZero(spool, loop, appender, new ArrayList<>());
            SpoolTestSupport.awaitReadyForReuse(spool, 0);
            FileChannel channel = reused.peek();

            spool.dropKeptFiles(); // as a failed write or a new file on a short disk does
            assertFalse(channel.isOpen());
            assertFalse(Files.exists(free(0, 0)));
            assertEquals(0, spool.keptSegmentBytes());
            loop.call(() -> commit(appender, content(6, SMALL))); // rolls
            assertEquals(0, spool.segmentsRecycled());
            assertTrue(Files.exists(segment(0, 3)));
        }
    }

    @Test
    void aFileWhoseHeaderCannotBeForcedIsDeletedNotReused() throws Exception {
        holdReusedForce = true;
        failReusedForce = true;
        Loop loop = new Loop("test-loop-0");
        try (Spool spool = Spool.open(tmp, OPTIONS, disk)) {
            SpoolAppender appender = spool.appender(0);
            keepSegmentZero(spool, loop, appender, new ArrayList<>());
            assertTrue(entered.await(AWAIT_SECONDS, TimeUnit.SECONDS), "the preparer forces the kept file");
            release.countDown(); // and that fsync fails
            awaitCondition(() -> !Files.exists(free(0, 0)), "the file failing its fsync is deleted");
            assertEquals(0, spool.keptSegmentBytes());
            loop.call(() -> commit(appender, content(6, SMALL))); // rolls
            assertEquals(0, spool.segmentsRecycled());
        }
    }

    @Test
    void theCloseDeletesAReadiedFileAndClosesIt() throws Exception {
        Loop loop = new Loop("test-loop-0");
        FileChannel channel;
        try (Spool spool = Spool.open(tmp, OPTIONS, disk)) {
            keepSegmentZero(spool, loop, spool.appender(0), new ArrayList<>());
            SpoolTestSupport.awaitReadyForReuse(spool, 0);
            channel = reused.peek();
        }
        assertFalse(channel.isOpen());
        assertEquals(List.of(Segment.fileName(0, 1)), listing(tmp));
    }

    /**
     * A reused file's header fsync is an optimisation: the close only tells the preparer to stop,
     * forces the journal's removals and the segments without waiting behind that fsync, and waits
     * for the preparer only before it releases the lock. Seen here: the close thread forces
     * segment 1 (after the journal sync) while the preparer is still held inside its fsync.
     */
    @Test
    void closeForcesTheJournalAndSegmentsWhileTheReusedFilesFsyncHangs() throws Exception {
        holdReusedForce = true;
        Loop loop = new Loop("test-loop-0");
        Spool spool = Spool.open(tmp, OPTIONS.withCloseTimeoutNanos(TimeUnit.SECONDS.toNanos(4 * AWAIT_SECONDS)), disk);
        keepSegmentZero(spool, loop, spool.appender(0), new ArrayList<>());
        assertTrue(entered.await(AWAIT_SECONDS, TimeUnit.SECONDS), "the preparer is inside the kept file's fsync");
        Loop closer = new Loop("test-close");
        java.util.concurrent.Future<?> closing = closer.thread.submit(() -> {
            spool.close();
            return null;
        });
        String segmentOneForced = "sluice-spool-close " + Segment.fileName(0, 1);
        awaitCondition(() -> forces.contains(segmentOneForced), "the close forced segment 1: " + forces);
        assertFalse(closing.isDone(), "the close waits for the preparer before it releases the lock");
        release.countDown();
        closing.get(AWAIT_SECONDS, TimeUnit.SECONDS);
        try (Spool again = Spool.open(tmp, OPTIONS)) {
            assertEquals(tmp, again.directory(), "the lock was released");
        }
    }

    /**
     * A preparer still inside a reused file's fsync at the close deadline keeps the lock with this
     * process: a new spool of the same directory in this JVM could otherwise ready a {@code .free}
     * file of the same name that the old preparer then overwrites with its stale header.
     */
    @Test
    void aPreparerStuckPastTheCloseDeadlineKeepsTheLock() throws Exception {
        holdReusedForce = true;
        Loop loop = new Loop("test-loop-0");
        Spool spool = Spool.open(tmp, OPTIONS.withCloseTimeoutNanos(TimeUnit.MILLISECONDS.toNanos(200)), disk);
        keepSegmentZero(spool, loop, spool.appender(0), new ArrayList<>());
        assertTrue(entered.await(AWAIT_SECONDS, TimeUnit.SECONDS), "the preparer is inside the kept file's fsync");
        spool.close();
        IOException refused = org.junit.jupiter.api.Assertions.assertThrows(IOException.class, () -> Spool.open(tmp, OPTIONS));
        assertTrue(refused.getMessage().contains("locked"), refused.getMessage());
    }

    /**
     * Loop 0 fills segment 0, rolls to 1, fills 1 (its next record rolls) and the test thread
     * deletes segment 0's message, which keeps the file ({@code .free}, rename fsynced there).
     * Returns its inode; adds the messages left to {@code survivors}.
     */
    private Object keepSegmentZero(Spool spool, Loop loop, SpoolAppender appender, List<QueueId> survivors)
            throws Exception {
        QueueId old = loop.call(() -> commit(appender, content(1, fillTo(SpoolRecord.SEGMENT_HEADER_BYTES))));
        Path dir = spool.directory();
        Object inode = Files.getAttribute(segmentIn(dir, 0), "unix:ino");
        survivors.add(loop.call(() -> commit(appender, content(2, SMALL)))); // rolls to segment 1
        survivors.add(loop.call(() -> commit(appender, content(3, fillTo(Files.size(segmentIn(dir, 1)))))));
        assertTrue(spool.delete(old)); // delivered: segment 0 empties and is kept
        assertTrue(Files.exists(dir.resolve("segments").resolve(Segment.freeName(0, 0))));
        return inode;
    }

    /** One event loop: the appender's calls run on its thread; each call is bounded. */
    private final class Loop {
        final String name;
        private final ExecutorService thread;

        Loop(String name) {
            this.name = name;
            this.thread = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, name);
                t.setDaemon(true);
                return t;
            });
            loops.add(thread);
        }

        <T> T call(Callable<T> work) throws Exception {
            return thread.submit(work).get(AWAIT_SECONDS, TimeUnit.SECONDS);
        }
    }

    private static void awaitCondition(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(AWAIT_SECONDS);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() - deadline < 0, what);
            LockSupport.parkNanos(1_000_000L); // polls the condition, bounded by the deadline
        }
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await(AWAIT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void copyTree(Path from, Path to) throws IOException {
        Files.createDirectories(to.resolve("segments"));
        for (String name : List.of("deleted.log", "recipients.log")) {
            if (Files.exists(from.resolve(name))) {
                Files.copy(from.resolve(name), to.resolve(name));
            }
        }
        try (Stream<Path> files = Files.list(from.resolve("segments"))) {
            for (Path p : files.collect(Collectors.toList())) {
                Files.copy(p, to.resolve("segments").resolve(p.getFileName()));
            }
        }
    }

    /** The name a format-3 header gives its file. */
    private static String headerName(Path file) throws IOException {
        ByteBuffer header = ByteBuffer.allocate(SpoolRecord.SEGMENT_HEADER_BYTES);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ch.read(header, 0);
        }
        return Segment.fileName(header.getInt(12), header.getLong(24));
    }

    private static int fillTo(long offset) {
        return SpoolTestSupport.fillTo(SEGMENT_BYTES, ENVELOPE, offset);
    }

    private static QueueId commit(SpoolAppender appender, byte[] body) throws Exception {
        return SpoolTestSupport.commitOne(appender, ENVELOPE, body);
    }

    private Path segment(int loop, long seq) {
        return tmp.resolve("segments").resolve(Segment.fileName(loop, seq));
    }

    private static Path segmentIn(Path dir, long seq) {
        return dir.resolve("segments").resolve(Segment.fileName(0, seq));
    }

    private Path free(int loop, long seq) {
        return tmp.resolve("segments").resolve(Segment.freeName(loop, seq));
    }

    private static List<String> listing(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir.resolve("segments"))) {
            return files.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
        }
    }

    private List<String> corruptFiles() throws IOException {
        return listing(tmp).stream().filter(n -> n.contains(".corrupt")).collect(Collectors.toList());
    }

    private static List<QueueId> ids(Spool spool) {
        return spool.list().stream().map(QueuedMessage::id).collect(Collectors.toList());
    }
}
