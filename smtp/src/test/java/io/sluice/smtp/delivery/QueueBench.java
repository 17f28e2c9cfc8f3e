package io.sluice.smtp.delivery;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.Function;

import io.sluice.smtp.server.EventLog;
import io.sluice.smtp.spool.BodyType;
import io.sluice.smtp.spool.CommitListener;
import io.sluice.smtp.spool.Envelope;
import io.sluice.smtp.spool.QueueId;
import io.sluice.smtp.spool.Spool;
import io.sluice.smtp.spool.SpoolAppender;
import io.sluice.smtp.spool.SpoolOptions;

/**
 * A real spool and a queue manager with durable state in the spool directory, driven step by
 * step with a manual clock; {@link #restart} reopens both as after a crash (the old queue
 * manager is abandoned without close, so nothing is flushed gracefully).
 */
final class QueueBench implements AutoCloseable {
    static final long T0 = 1_700_000_000_000L;
    static final long MINUTE = 60_000L;

    final Path spoolDir;
    final AtomicLong clock = new AtomicLong(T0);
    Spool spool;
    SpoolAppender client;
    QueueManager queue;

    QueueBench(Path spoolDir) throws IOException {
        this.spoolDir = spoolDir;
        spool = Spool.open(spoolDir, SpoolOptions.defaults());
        client = spool.appender(0);
    }

    static DeliveryOptions options(int concurrency, Duration retry, Duration delayWarning, int rate,
            Map<String, Integer> concurrencyOverrides, Map<String, Integer> rateOverrides) {
        return new DeliveryOptions("mx.test", concurrency, List.of(retry), Duration.ofDays(5), Duration.ofMinutes(10),
                1, rate, delayWarning, concurrencyOverrides, rateOverrides);
    }

    static DeliveryOptions defaults() {
        return options(20, Duration.ofMinutes(5), Duration.ZERO, 0, Map.of(), Map.of());
    }

    QueueManager start(DeliveryOptions options, Map<String, String> routes, Function<Route, Transport> transports) {
        queue = new QueueManager(spool, spool.appender(QueueManager.INTERNAL_LOOP_INDEX),
                TransportTable.of(routes, "mx.test"), transports, options, EventLog.silent(), clock::get,
                Runnable::run, spoolDir);
        queue.recover();
        return queue;
    }

    /** Abandons the queue manager (no close: its journal is not flushed gracefully) and reopens the spool. */
    void crashAndReopen() throws IOException {
        queue = null;
        spool.close();
        spool = Spool.open(spoolDir, SpoolOptions.defaults());
        client = spool.appender(0);
    }

    QueueId enqueue(String sender, String... recipients) throws Exception {
        Envelope e = new Envelope(sender, List.of(recipients), "192.0.2.7", "client.test", "ESMTP", T0,
                BodyType.SEVEN_BIT, false);
        byte[] content = ("Received: from client.test by mx.test\r\nFrom: <" + sender
                + ">\r\nSubject: hi\r\n\r\nHello.\r\n").getBytes(StandardCharsets.US_ASCII);
        QueueId id = client.begin(e);
        client.append(id, ByteBuffer.wrap(content));
        CountDownLatch durable = new CountDownLatch(1);
        client.commit(id, content.length, new CommitListener() {
            @Override
            public void committed(QueueId queueId) {
                durable.countDown();
            }

            @Override
            public void failed(QueueId queueId, IOException cause) {
            }
        }, Runnable::run);
        assertTrue(durable.await(5, TimeUnit.SECONDS), "message committed");
        return id;
    }

    /** Steps the queue until the condition holds; fails after 5 s of wall time. */
    void drive(BooleanSupplier condition, String what) {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < end, "timed out waiting for: " + what);
            if (queue.doWork() == 0) {
                Thread.onSpinWait();
            }
        }
    }

    /** Steps until the queue has nothing left to do at the current time. */
    void settle() {
        for (int idle = 0; idle < 3; ) {
            idle = queue.doWork() == 0 ? idle + 1 : 0;
        }
    }

    boolean inSpool(QueueId id) {
        return spool.find(id).isPresent();
    }

    @Override
    public void close() throws IOException {
        if (queue != null) {
            queue.close();
        }
        spool.close();
    }
}
