package io.sluice.smtp.spool;

import static io.sluice.smtp.spool.SpoolTestSupport.content;
import static io.sluice.smtp.spool.SpoolTestSupport.envelope;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * deleted.log is rewritten while the server runs: it stays bounded while messages flow through
 * many segments, and a crash at any point (a copy of the directory taken between operations, as
 * a killed process leaves it) neither brings a delivered message back nor loses a queued one.
 */
class DeletionJournalCompactionTest {
    /** Small segments, so messages span and empty many of them. */
    private static final SpoolOptions OPTIONS = SpoolOptions.defaults().withSegmentMaxBytes(4096);
    /** About 100 tombstones: rewrites happen every few batches. */
    private static final long MIN_COMPACT_BYTES = 2048;
    private static final int BODY_OCTETS = 1200;

    @TempDir
    Path tmp;

    private int snapshots;

    @Test
    void deletedLogStaysBoundedAndEveryCrashPointRecoversExactlyTheQueue() throws Exception {
        Path dir = tmp.resolve("spool");
        Set<QueueId> queued = new TreeSet<>();
        Set<QueueId> gone = new HashSet<>();
        long maxJournalBytes = 0;
        int flowed = 0;
        try (Spool spool = Spool.open(dir, OPTIONS, SegmentChannelFactory.DEFAULT, MIN_COMPACT_BYTES)) {
            SpoolAppender appender = spool.appender(0);
            ArrayDeque<QueueId> window = new ArrayDeque<>();
            for (int batch = 0; batch < 40; batch++) {
                List<QueueId> ids = commitBatch(appender, batch * 20, 20);
                queued.addAll(ids);
                // One message in 200 stays queued to the end and pins its segments (and their tombstones).
                window.addAll(batch % 10 == 0 ? ids.subList(1, ids.size()) : ids);
                while (window.size() > 30) {
                    QueueId id = window.poll();
                    // Mostly deliveries (lazy fsync), sometimes an operator's delete (fsynced at once).
                    assertTrue(flowed++ % 25 == 0 ? spool.delete(id) : spool.remove(id), "queued: " + id);
                    queued.remove(id);
                    gone.add(id);
                    maxJournalBytes = Math.max(maxJournalBytes, journalBytes(dir));
                }
                if (batch % 10 == 9) {
                    assertCrashRecovers(dir, queued, gone, batch % 20 == 9);
                }
            }
            assertTrue(spool.journalCompactions() >= 5, "rewritten often: " + spool.journalCompactions());
            assertEquals(0, spool.journalCompactionErrors());
        }
        assertTrue(flowed > 700, "messages flowed: " + flowed);
        // Without rewrites the file would hold every tombstone: flowed * 20 bytes (about 15 KiB).
        assertTrue(maxJournalBytes <= 2 * MIN_COMPACT_BYTES,
                "deleted.log bytes=" + maxJournalBytes + " > 2 * MIN_COMPACT_BYTES=" + 2 * MIN_COMPACT_BYTES);
        try (Spool spool = Spool.open(dir, OPTIONS, SegmentChannelFactory.DEFAULT, MIN_COMPACT_BYTES)) {
            assertEquals(queued, ids(spool), "a clean restart too");
        }
    }

    @Test
    void aRewriteInterruptedBeforeItsRenameLeavesATmpFileThatRecoveryIgnoresAndRemoves() throws Exception {
        Path dir = tmp.resolve("spool");
        Set<QueueId> queued = new TreeSet<>();
        Set<QueueId> gone = new HashSet<>();
        try (Spool spool = Spool.open(dir, OPTIONS, SegmentChannelFactory.DEFAULT, MIN_COMPACT_BYTES)) {
            SpoolAppender appender = spool.appender(0);
            for (int batch = 0; batch < 6; batch++) {
                List<QueueId> ids = commitBatch(appender, batch * 20, 20);
                queued.addAll(ids);
                for (QueueId id : ids.subList(0, 15)) {
                    assertTrue(spool.remove(id));
                    queued.remove(id);
                    gone.add(id);
                }
                // The worst tmp: a rewrite that found no tombstone needed. Were it renamed, every
                // delivered message whose segment survives would come back.
                Path snapshot = snapshot(dir);
                Files.write(snapshot.resolve(DeletionJournal.TMP_NAME), new byte[0]);
                assertRecovers(snapshot, queued, gone);
                assertFalse(Files.exists(snapshot.resolve(DeletionJournal.TMP_NAME)), "stale tmp removed");
                // And a torn one: half a record of garbage.
                snapshot = snapshot(dir);
                Files.write(snapshot.resolve(DeletionJournal.TMP_NAME), new byte[] {0x53, 0x44, 0x4C, 0x54, 0, 0});
                assertRecovers(snapshot, queued, gone);
            }
        }
    }

    @Test
    void aFailedRewriteIsCountedTheServerGoesOnAndTheNextOneSucceeds() throws Exception {
        Path dir = tmp.resolve("spool");
        Set<QueueId> queued = new TreeSet<>();
        Set<QueueId> gone = new HashSet<>();
        try (Spool spool = Spool.open(dir, OPTIONS, SegmentChannelFactory.DEFAULT, 1024)) {
            // A directory where the tmp file must go: the rewrite fails before its rename, as on EIO.
            Path blocker = Files.createDirectories(dir.resolve(DeletionJournal.TMP_NAME).resolve("x"));
            int seed = 0;
            while (spool.journalCompactionErrors() == 0) {
                assertTrue(seed < 2000, "a rewrite was attempted");
                seed = flow(spool, seed, queued, gone);
            }
            assertCrashRecovers(dir, queued, gone, false);
            long compactions = spool.journalCompactions();
            Files.delete(blocker);
            Files.delete(blocker.getParent());
            while (spool.journalCompactions() == compactions) {
                assertTrue(seed < 4000, "a rewrite succeeded after the failure");
                seed = flow(spool, seed, queued, gone);
            }
            assertTrue(journalBytes(dir) <= 2048, "rewritten: " + journalBytes(dir));
            assertCrashRecovers(dir, queued, gone, false);
        }
    }

    @Test
    @org.junit.jupiter.api.Timeout(60) // a rewrite that waited for the lock would hang the delivering thread here
    void aSluiceQueueProcessHoldingDeletedLockPostponesTheRewriteInsteadOfStallingDelivery() throws Exception {
        Path dir = tmp.resolve("spool");
        Set<QueueId> queued = new TreeSet<>();
        Set<QueueId> gone = new HashSet<>();
        try (Spool spool = Spool.open(dir, OPTIONS, SegmentChannelFactory.DEFAULT, 1024)) {
            // Another process (as a stopped `sluice queue delete` would) holds deleted.lock; Python's
            // lockf takes the same POSIX record lock as Java's FileLock.
            Process holder;
            try {
                holder = new ProcessBuilder("python3", "-c", "import fcntl,sys; f=open(sys.argv[1],'a'); "
                        + "fcntl.lockf(f, fcntl.LOCK_EX); print('locked', flush=True); sys.stdin.read()",
                        dir.resolve("deleted.lock").toString()).redirectErrorStream(true).start();
            } catch (IOException e) {
                org.junit.jupiter.api.Assumptions.abort("python3 is needed to hold a lock from another process: " + e);
                return;
            }
            try {
                String line = new java.io.BufferedReader(new java.io.InputStreamReader(holder.getInputStream(),
                        java.nio.charset.StandardCharsets.US_ASCII)).readLine();
                assertEquals("locked", line, "the other process holds deleted.lock");
                int seed = 0;
                while (spool.journalCompactionErrors() == 0) { // the thread that is due must not block
                    assertTrue(seed < 2000, "a rewrite was attempted");
                    seed = flow(spool, seed, queued, gone);
                }
                assertEquals(0L, spool.journalCompactions(), "postponed, not done");
                assertCrashRecovers(dir, queued, gone, false);
                holder.getOutputStream().close(); // the other process ends and its lock goes
                assertTrue(holder.waitFor(10, TimeUnit.SECONDS));
                long compactions = spool.journalCompactions();
                while (spool.journalCompactions() == compactions) {
                    assertTrue(seed < 6000, "a rewrite succeeded once the lock was free");
                    seed = flow(spool, seed, queued, gone);
                }
                assertCrashRecovers(dir, queued, gone, false);
            } finally {
                holder.destroyForcibly();
            }
        }
    }

    /** Commits 10 messages and removes 9 of them; returns the next seed. */
    private static int flow(Spool spool, int seed, Set<QueueId> queued, Set<QueueId> gone) throws Exception {
        List<QueueId> ids = commitBatch(spool.appender(0), seed, 10);
        queued.add(ids.get(0));
        for (QueueId id : ids.subList(1, ids.size())) {
            assertTrue(spool.remove(id));
            gone.add(id);
        }
        return seed + 10;
    }

    @Test
    void cliDeletesRacingRuntimeRewritesAreNeverLost() throws Exception {
        Path dir = tmp.resolve("spool");
        Set<QueueId> kept = new TreeSet<>();
        List<QueueId> cliDeletes = new ArrayList<>();
        Set<QueueId> gone = new HashSet<>();
        try (Spool server = Spool.open(dir, OPTIONS, SegmentChannelFactory.DEFAULT, 1024)) {
            SpoolAppender appender = server.appender(0);
            for (int batch = 0; batch < 4; batch++) {
                List<QueueId> ids = commitBatch(appender, batch * 20, 20);
                for (int i = 0; i < ids.size(); i++) {
                    (i % 2 == 0 ? cliDeletes : kept).add(ids.get(i));
                }
            }
            long compactionsBefore = server.journalCompactions();
            CompletableFuture<Integer> cli = CompletableFuture.supplyAsync(() -> deleteOffline(dir, cliDeletes));
            // Meanwhile the server delivers a steady flow, rewriting deleted.log every 50 or so.
            for (int batch = 4; !cli.isDone() || batch < 40; batch++) {
                for (QueueId id : commitBatch(appender, batch * 20, 20)) {
                    assertTrue(server.remove(id));
                    gone.add(id);
                }
                if (batch % 8 == 0) {
                    server.list(); // the other way CLI tombstones reach the server
                }
            }
            assertEquals(cliDeletes.size(), cli.get(30, TimeUnit.SECONDS), "every CLI delete found its message");
            assertTrue(server.journalCompactions() - compactionsBefore >= 10,
                    "rewrites ran meanwhile: " + (server.journalCompactions() - compactionsBefore));
            assertEquals(kept, ids(server), "the server honours every CLI delete");
            gone.addAll(cliDeletes);
            assertCrashRecovers(dir, kept, gone, false);
        }
        try (Spool spool = Spool.open(dir, OPTIONS)) {
            assertEquals(kept, ids(spool));
        }
    }

    /**
     * A CLI delete of a message whose COMMIT is on disk while the writer's fsync of it still runs:
     * the server reads the tombstone before it knows the message. A runtime rewrite must keep
     * that tombstone (it was dropped before: untracked), or a restart recovers the deleted message.
     */
    @Test
    void aCliTombstoneForAMessageNotPublishedYetSurvivesARuntimeRewrite() throws Exception {
        Path dir = tmp.resolve("spool");
        java.util.concurrent.CountDownLatch forcing = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicBoolean hold = new java.util.concurrent.atomic.AtomicBoolean();
        Runnable gate = () -> {
            if (hold.getAndSet(false)) {
                forcing.countDown();
                try {
                    release.await(SpoolTestSupport.AWAIT_SECONDS, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
        SegmentChannelFactory factory = path -> {
            FailingFileChannel channel = new FailingFileChannel(SegmentChannelFactory.DEFAULT.create(path),
                    Integer.MAX_VALUE, false);
            channel.beforeForce = gate;
            return channel;
        };
        try (Spool server = Spool.open(dir, OPTIONS, factory, 200)) {
            SpoolAppender appender = server.appender(0);
            List<QueueId> delivered = commitBatch(appender, 0, 12);
            Set<QueueId> kept = new TreeSet<>(delivered.subList(11, 12));

            hold.set(true);
            SpoolTestSupport.RecordingListener pending = new SpoolTestSupport.RecordingListener(1);
            byte[] body = content(99, BODY_OCTETS);
            QueueId unpublished = SpoolTestSupport.write(appender, envelope("99@example.com"), body, 400);
            appender.commit(unpublished, body.length, pending, Runnable::run);
            assertTrue(forcing.await(SpoolTestSupport.AWAIT_SECONDS, TimeUnit.SECONDS), "writer inside its fsync");

            assertEquals(1, deleteOffline(dir, List.of(unpublished)), "the CLI sees the message committed");
            server.list(); // the server reads the CLI's tombstone and does not know the message yet
            assertEquals(1, server.trackedTombstones(), "tracked although the server does not know the message");
            long rewritesBefore = server.journalCompactions();
            for (QueueId id : delivered.subList(0, 11)) {
                assertTrue(server.remove(id)); // past 200 bytes of tombstones: a runtime rewrite
            }
            assertTrue(server.journalCompactions() > rewritesBefore, "rewritten meanwhile");
            server.list();
            assertTrue(server.trackedTombstones() <= 12, "its own tombstones read back are not tracked twice: "
                    + server.trackedTombstones());

            release.countDown();
            pending.await();
            Path snapshot = snapshot(dir);
            try (Spool restarted = Spool.open(snapshot, OPTIONS)) {
                assertEquals(kept, ids(restarted), "the deleted message stays deleted after a restart");
            }
        } finally {
            release.countDown();
        }
    }

    @Test
    void aLazyRemovalIsFsyncedWithoutAFurtherDelivery() throws Exception {
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            List<QueueId> ids = commitBatch(spool.appender(0), 0, 2);
            // The lazy window starts at the clock reading inside the first removal, before its
            // fsync: start ours before it, so a slow first fsync cannot make the wait look short.
            long removedAt = System.nanoTime();
            assertTrue(spool.remove(ids.get(0))); // the first one after open is fsynced at once
            assertTrue(spool.remove(ids.get(1))); // within 50 ms of it: its fsync waits
            boolean lazy = spool.removalsUnsynced();
            await(() -> !spool.removalsUnsynced(), "the writer thread fsyncs the lazy removal");
            long waitedNanos = System.nanoTime() - removedAt;
            // Either the second removal waited for the writer, or the box was so slow that 50 ms had passed.
            assertTrue(lazy || waitedNanos >= DeletionJournal.LAZY_SYNC_NANOS,
                    "second removal was lazy: " + lazy + ", waited " + waitedNanos + " ns");
        }
    }

    // ---- helpers ----

    /** The CLI's way: a read-only spool per delete, retried when a segment vanished under its scan. */
    private static int deleteOffline(Path dir, List<QueueId> ids) {
        int deleted = 0;
        for (QueueId id : ids) {
            for (int attempt = 0; ; attempt++) {
                try (Spool cli = Spool.openReadOnly(dir)) {
                    deleted += cli.delete(id) ? 1 : 0;
                    break;
                } catch (IOException e) {
                    if (attempt > 100) {
                        throw new IllegalStateException("CLI could not open the spool", e);
                    }
                }
            }
        }
        return deleted;
    }

    private static List<QueueId> commitBatch(SpoolAppender appender, int firstSeed, int count) throws Exception {
        SpoolTestSupport.RecordingListener listener = new SpoolTestSupport.RecordingListener(count);
        List<QueueId> ids = new ArrayList<>(count);
        for (int seed = firstSeed; seed < firstSeed + count; seed++) {
            byte[] body = content(seed, BODY_OCTETS);
            QueueId id = SpoolTestSupport.write(appender, envelope(seed + "@example.com"), body, 400);
            appender.commit(id, body.length, listener, Runnable::run);
            ids.add(id);
        }
        listener.await();
        assertEquals(count, listener.committedOn.size(), "failed: " + listener.failed);
        return ids;
    }

    /** Copies the directory as a killed server leaves it and opens the copy. */
    private void assertCrashRecovers(Path dir, Set<QueueId> queued, Set<QueueId> gone, boolean staleTmp)
            throws IOException {
        Path snapshot = snapshot(dir);
        if (staleTmp) {
            Files.write(snapshot.resolve(DeletionJournal.TMP_NAME), new byte[0]);
        }
        assertRecovers(snapshot, queued, gone);
        assertFalse(Files.exists(snapshot.resolve(DeletionJournal.TMP_NAME)), "no tmp file after start");
    }

    private static void assertRecovers(Path snapshot, Set<QueueId> queued, Set<QueueId> gone) throws IOException {
        try (Spool recovered = Spool.open(snapshot, OPTIONS)) {
            Set<QueueId> ids = ids(recovered);
            Set<QueueId> back = new TreeSet<>(ids);
            back.retainAll(gone);
            assertEquals(Set.of(), back, "delivered or deleted messages came back");
            assertEquals(queued, ids, "exactly the queued messages recovered");
            for (QueuedMessage m : recovered.list()) {
                String rcpt = m.envelope().recipients().get(0);
                int seed = Integer.parseInt(rcpt.substring(0, rcpt.indexOf('@')));
                assertArrayEquals(content(seed, BODY_OCTETS), SpoolTestSupport.read(recovered, m.id()));
            }
        }
    }

    private Path snapshot(Path dir) throws IOException {
        Path copy = tmp.resolve("crash-" + snapshots++);
        Files.createDirectories(copy.resolve("segments"));
        Path journal = dir.resolve(DeletionJournal.FILE_NAME);
        if (Files.exists(journal)) {
            Files.copy(journal, copy.resolve(DeletionJournal.FILE_NAME));
        }
        try (Stream<Path> segments = Files.list(dir.resolve("segments"))) {
            for (Path s : segments.collect(Collectors.toList())) {
                Files.copy(s, copy.resolve("segments").resolve(s.getFileName()));
            }
        }
        return copy;
    }

    private static long journalBytes(Path dir) throws IOException {
        Path journal = dir.resolve(DeletionJournal.FILE_NAME);
        return Files.exists(journal) ? Files.size(journal) : 0;
    }

    private static Set<QueueId> ids(Spool spool) {
        return spool.list().stream().map(QueuedMessage::id).collect(Collectors.toCollection(TreeSet::new));
    }

    private static void await(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(SpoolTestSupport.AWAIT_SECONDS);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting for: " + what);
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
        }
    }
}
