package io.sluice.smtp.spool;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Child JVM of {@link SpoolCrashTest}: keeps one message open mid-DATA while committing others
 * and prints {@code COMMITTED <id> <seed>} once each commit is durable, until it is killed.
 */
public final class SpoolCrashChild {
    private SpoolCrashChild() {
    }

    /** Args: spool directory. Exits by itself after 60 s in case the parent died. */
    public static void main(String[] args) throws Exception {
        Spool spool = Spool.open(Path.of(args[0]), SpoolOptions.defaults());
        SpoolAppender appender = spool.appender(0);
        QueueId partial = appender.begin(SpoolTestSupport.envelope("partial@example.com"));
        appender.append(partial, ByteBuffer.wrap(SpoolTestSupport.content(-1, 5000)));
        System.out.println("PARTIAL " + partial);
        System.out.flush();
        Semaphore inFlight = new Semaphore(64);
        CommitListener printer = new CommitListener() {
            @Override
            public void committed(QueueId id) {
                System.out.println("COMMITTED " + id);
                System.out.flush();
                inFlight.release();
            }

            @Override
            public void failed(QueueId id, java.io.IOException cause) {
                System.out.println("FAILED " + id + " " + cause);
                inFlight.release();
            }
        };
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        for (int seed = 0; System.nanoTime() < deadline; seed++) {
            inFlight.acquire();
            byte[] body = SpoolCrashTest.body(seed);
            QueueId id = SpoolTestSupport.write(appender, SpoolTestSupport.envelope("m" + seed + "@example.com"),
                    body, 1500);
            appender.commit(id, body.length, printer, Runnable::run);
            appender.append(partial, ByteBuffer.wrap(SpoolTestSupport.content(seed, 100)));
        }
        System.exit(3);
    }
}
