package io.sluice.smtp.spool;

import static io.sluice.smtp.spool.SpoolTestSupport.content;
import static io.sluice.smtp.spool.SpoolTestSupport.envelope;
import static io.sluice.smtp.spool.SpoolTestSupport.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A commit the writer refuses (its queue full) was answered with a failure, so recovery must
 * never queue it, even when the ABORT written after its COMMIT record is gone (it may sit in a
 * later segment than the COMMIT, deleted or reused once empty): the refusal leaves a tombstone.
 */
class SpoolRefusedCommitTest {
    private static final SpoolOptions TINY_QUEUE = new SpoolOptions(64L << 20, 0L, 1024, 2, 1 << 20, 1);

    @TempDir
    Path tmp;

    @Test
    void aRefusedCommitStaysUnqueuedWithoutItsAbortRecord() throws Exception {
        List<QueueId> accepted = new ArrayList<>();
        QueueId refused = null;
        CountDownLatch writerHeld = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        // Holds the writer in the first message's durable() so that its queue fills; later ones pass.
        SpoolTestSupport.RecordingListener answers = SpoolTestSupport.RecordingListener.holdingWriter(0, writerHeld, release);
        try (Spool spool = Spool.open(tmp, TINY_QUEUE)) {
            SpoolAppender appender = spool.appender(0);
            byte[] body = content(1, 300);
            QueueId first = write(appender, envelope("a@example.com"), body, body.length);
            appender.commit(first, body.length, answers, Runnable::run);
            accepted.add(first);
            assertTrue(writerHeld.await(SpoolTestSupport.AWAIT_SECONDS, TimeUnit.SECONDS));
            for (int i = 0; i < 16 && refused == null; i++) {
                QueueId id = write(appender, envelope("b@example.com"), body, body.length);
                try {
                    appender.commit(id, body.length, answers, Runnable::run);
                    accepted.add(id);
                } catch (IOException e) {
                    assertTrue(e.getMessage().contains("queue full"), e.getMessage());
                    refused = id;
                }
            }
            assertNotNull(refused, "a writer queue of 2 refuses a commit while the writer is held");
            release.countDown();
            awaitCommitted(answers, accepted);
        }
        // The refused message's ABORT is the segment's last record (20 octets): cut it, as if it
        // had been in a later segment that is gone.
        Path segment = onlySegment();
        long size = Files.size(segment);
        try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.WRITE)) {
            ch.truncate(size - SpoolRecord.HEADER_BYTES);
        }
        try (Spool spool = Spool.open(tmp, TINY_QUEUE)) {
            List<QueueId> queued = spool.list().stream().map(QueuedMessage::id).collect(Collectors.toList());
            assertFalse(queued.contains(refused), "the client was told it failed: " + queued);
            assertEquals(accepted, queued);
        }
    }

    private static void awaitCommitted(SpoolTestSupport.RecordingListener answers, List<QueueId> ids)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(SpoolTestSupport.AWAIT_SECONDS);
        while (!answers.committedOn.keySet().containsAll(ids)) {
            assertTrue(System.nanoTime() < deadline, "committed in time: " + answers.committedOn.keySet());
            LockSupport.parkNanos(1_000_000L);
        }
        assertEquals(List.of(), new ArrayList<>(answers.failed.keySet()));
    }

    private Path onlySegment() throws IOException {
        try (Stream<Path> s = Files.list(tmp.resolve("segments"))) {
            List<Path> all = s.filter(p -> p.toString().endsWith(".seg")).collect(Collectors.toList());
            assertEquals(1, all.size(), all.toString());
            return all.get(0);
        }
    }
}
