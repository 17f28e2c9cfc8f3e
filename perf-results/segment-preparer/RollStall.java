import io.sluice.smtp.spool.BodyType;
import io.sluice.smtp.spool.CommitListener;
import io.sluice.smtp.spool.Envelope;
import io.sluice.smtp.spool.QueueId;
import io.sluice.smtp.spool.Spool;
import io.sluice.smtp.spool.SpoolAppender;
import io.sluice.smtp.spool.SpoolOptions;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;

/**
 * One-off: how long the event loop's spool calls stall at a reused roll. One "loop" thread (main)
 * appends messages of MSG bytes into segments of SEG bytes and commits them; a "delivery" thread
 * removes each message once committed, so emptied segments are kept (.free) and reused. Each
 * begin/append/commit call is timed; a call during which segmentsRecycled() grew is a reused roll.
 * Args: spoolDir segBytes msgBytes messages. Same source runs against the old and new build.
 */
public class RollStall {
    public static void main(String[] a) throws Exception {
        Path dir = Path.of(a[0]);
        long segBytes = Long.parseLong(a[1]);
        int msgBytes = Integer.parseInt(a[2]);
        int messages = Integer.parseInt(a[3]);
        long[] reusedRoll = new long[messages];
        int nReused = 0;
        long[] other = new long[messages * 3];
        int nOther = 0;
        ByteBuffer body = ByteBuffer.allocateDirect(msgBytes);
        while (body.hasRemaining()) {
            body.put((byte) 'x');
        }
        Envelope env = new Envelope("s@example.org", List.of("r@example.net"), "192.0.2.7", "client.example", "ESMTP",
                System.currentTimeMillis(), BodyType.SEVEN_BIT, false);
        LinkedBlockingQueue<QueueId> delivered = new LinkedBlockingQueue<>();
        Semaphore inFlight = new Semaphore(32);
        try (Spool spool = Spool.open(dir, SpoolOptions.defaults().withSegmentMaxBytes(segBytes))) {
            Thread delivery = new Thread(() -> {
                try {
                    for (QueueId id; (id = delivered.take()) != null; ) {
                        if (id.value() == 0) {
                            return;
                        }
                        spool.remove(id);
                    }
                } catch (InterruptedException | IOException e) {
                    throw new RuntimeException(e);
                }
            });
            delivery.start();
            SpoolAppender appender = spool.appender(0);
            CommitListener listener = new CommitListener() {
                @Override
                public void committed(QueueId id) {
                    delivered.add(id);
                    inFlight.release();
                }

                @Override
                public void failed(QueueId id, IOException cause) {
                    inFlight.release();
                }
            };
            for (int i = 0; i < messages; i++) {
                inFlight.acquire();
                for (int step = 0; step < 3; step++) {
                    long recycled = spool.segmentsRecycled();
                    long t0 = System.nanoTime();
                    QueueId id;
                    switch (step) {
                        case 0 -> {
                            id = appender.begin(env);
                            lastId = id;
                        }
                        case 1 -> appender.append(lastId, body.clear());
                        default -> appender.commit(lastId, msgBytes, listener, Runnable::run);
                    }
                    long took = System.nanoTime() - t0;
                    if (spool.segmentsRecycled() != recycled) {
                        reusedRoll[nReused++] = took;
                    } else {
                        other[nOther++] = took;
                    }
                }
            }
            inFlight.acquire(32);
            delivered.add(QueueId.of(0));
            delivery.join();
            System.out.printf("messages=%d reusedRolls=%d reusedRollCall median=%.3f ms p90=%.3f ms max=%.3f ms"
                            + " | otherCalls median=%.3f ms p99=%.3f ms%n", messages, nReused,
                    pct(reusedRoll, nReused, 50), pct(reusedRoll, nReused, 90), pct(reusedRoll, nReused, 100),
                    pct(other, nOther, 50), pct(other, nOther, 99));
        }
    }

    private static QueueId lastId;

    private static double pct(long[] v, int n, int p) {
        if (n == 0) {
            return Double.NaN;
        }
        long[] s = Arrays.copyOf(v, n);
        Arrays.sort(s);
        return s[Math.min(n - 1, (int) ((long) n * p / 100))] / 1e6;
    }
}
