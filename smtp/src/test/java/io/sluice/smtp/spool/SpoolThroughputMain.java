package io.sluice.smtp.spool;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Throughput sanity check, not a test and not a benchmark: N messages of 1 KiB through two
 * appenders, each with up to {@code inFlight} uncommitted messages (like that many sessions
 * waiting for their 250). Run after {@code mvn -pl smtp -am verify}:
 * {@code java -cp smtp/target/classes:smtp/target/test-classes:<jctools jar>
 * io.sluice.smtp.spool.SpoolThroughputMain <dir> [messages] [inFlightPerLoop] [commitWindowMicros]}
 */
public final class SpoolThroughputMain {
    private SpoolThroughputMain() {
    }

    /** Prints messages/s and the writer's batch statistics. */
    public static void main(String[] args) throws Exception {
        Path dir = Files.createTempDirectory(Path.of(args[0]), "spool-throughput");
        int messages = args.length > 1 ? Integer.parseInt(args[1]) : 100_000;
        int inFlight = args.length > 2 ? Integer.parseInt(args[2]) : 256;
        long windowNanos = args.length > 3 ? Long.parseLong(args[3]) * 1000 : 0;
        int loops = 2;
        SpoolOptions options = SpoolOptions.defaults().withCommitWindowNanos(windowNanos);
        CountDownLatch done = new CountDownLatch(messages);
        long start;
        try (Spool spool = Spool.open(dir, options)) {
            Thread[] threads = new Thread[loops];
            start = System.nanoTime();
            for (int loop = 0; loop < loops; loop++) {
                SpoolAppender appender = spool.appender(loop);
                int share = messages / loops + (loop < messages % loops ? 1 : 0);
                threads[loop] = new Thread(() -> run(appender, share, inFlight, done), "loop-" + loop);
                threads[loop].start();
            }
            if (!done.await(10, TimeUnit.MINUTES)) {
                throw new IllegalStateException("not done: " + done.getCount());
            }
            long nanos = System.nanoTime() - start;
            SpoolStats s = spool.stats();
            System.out.printf("dir=%s messages=%d inFlightPerLoop=%d window=%dus: %.0f msg/s, %.1f MiB/s,"
                            + " batches=%d meanBatch=%.1f maxBatch=%d fsyncs=%d meanFsync=%.0fus%n",
                    args[0], messages, inFlight, windowNanos / 1000, messages * 1e9 / nanos,
                    messages * 1024 * 1e9 / nanos / (1 << 20), s.batches(), s.meanBatch(), s.maxBatch(),
                    s.fsyncs(), s.meanFsyncNanos() / 1000);
        }
    }

    private static void run(SpoolAppender appender, int count, int inFlight, CountDownLatch done) {
        Semaphore permits = new Semaphore(inFlight);
        CommitListener listener = new CommitListener() {
            @Override
            public void committed(QueueId id) {
                permits.release();
                done.countDown();
            }

            @Override
            public void failed(QueueId id, java.io.IOException cause) {
                throw new IllegalStateException(cause);
            }
        };
        ByteBuffer body = ByteBuffer.allocateDirect(1024);
        body.put(SpoolTestSupport.content(1, 1024)).flip();
        Envelope envelope = SpoolTestSupport.envelope("bench@example.com");
        try {
            for (int i = 0; i < count; i++) {
                permits.acquire();
                QueueId id = appender.begin(envelope);
                appender.append(id, body.clear());
                appender.commit(id, 1024, listener, Runnable::run);
            }
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
