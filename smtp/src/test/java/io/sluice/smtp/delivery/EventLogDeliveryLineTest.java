package io.sluice.smtp.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sluice.smtp.server.EventLog;
import io.sluice.smtp.spool.BodyType;
import io.sluice.smtp.spool.CommitListener;
import io.sluice.smtp.spool.Envelope;
import io.sluice.smtp.spool.QueueId;
import io.sluice.smtp.spool.Spool;
import io.sluice.smtp.spool.SpoolAppender;
import io.sluice.smtp.spool.SpoolOptions;

/**
 * Delivery attempt lines in Postfix's terms (relay= as the transport named it, delay= since
 * arrival, dsn=, status=) and the queue census the metrics read, driven step by step with a
 * manual clock.
 */
class EventLogDeliveryLineTest {
    private static final long T0 = 1_700_000_000_000L;

    @TempDir
    Path dir;

    private Spool spool;
    private SpoolAppender client;
    private final AtomicLong clock = new AtomicLong(T0);
    private final ScriptedTransport transport = new ScriptedTransport();
    private final ByteArrayOutputStream captured = new ByteArrayOutputStream();
    private final EventLog log = new EventLog(EventLog.Level.INFO, new PrintStream(captured, true, StandardCharsets.UTF_8));
    private QueueManager queue;

    @BeforeEach
    void open() throws IOException {
        spool = Spool.open(dir.resolve("spool"), SpoolOptions.defaults());
        client = spool.appender(0);
        DeliveryOptions options = new DeliveryOptions("mx.test", 20, List.of(Duration.ofMinutes(5)), Duration.ofDays(5),
                Duration.ofMinutes(10), 1);
        queue = new QueueManager(spool, spool.appender(QueueManager.INTERNAL_LOOP_INDEX),
                TransportTable.of(Map.of("*", "smtp:[relay.test]:25"), "mx.test"), route -> transport, options, log,
                clock::get, Runnable::run);
        queue.recover();
    }

    @AfterEach
    void close() throws IOException {
        queue.close();
        spool.close();
        log.close();
    }

    @Test
    void attemptLinesNameTheRelayDelayDsnAndStatus() throws Exception {
        transport.script = null; // hold the callbacks: the test answers as a remote server would
        QueueId id = enqueue("s@example.org", "a@example.net", "b@example.net");
        drive(() -> transport.held.size() == 1, "one attempt for both recipients");
        clock.addAndGet(1_234);
        DeliveryCallback callback = transport.held.get(0);
        callback.relay("relay.test[192.0.2.25]:25");
        callback.completed(RecipientResult.delivered("a@example.net", "2.0.0 Ok: queued as 4X"));
        callback.completed(RecipientResult.deferred("b@example.net", "4.2.2", "Mailbox full"));
        drive(() -> queue.deferred() == 1 && queue.delivered() == 1, "both results applied");
        log.close();
        String[] lines = captured.toString(StandardCharsets.UTF_8).split("\n");
        assertEquals(2, lines.length, String.join("\n", lines));
        assertTrue(lines[0].endsWith(" INFO delivery id=" + id + " rcpt=a@example.net relay=relay.test[192.0.2.25]:25"
                + " route=smtp:[relay.test]:25 delay=1.23 attempt=1 dsn=2.0.0 status=sent"
                + " reply=\"250 2.0.0 2.0.0 Ok: queued as 4X\""), lines[0]);
        assertTrue(lines[1].endsWith(" INFO delivery id=" + id + " rcpt=b@example.net relay=relay.test[192.0.2.25]:25"
                + " route=smtp:[relay.test]:25 delay=1.23 attempt=1 dsn=4.2.2 status=deferred"
                + " reply=\"451 4.2.2 Mailbox full\""), lines[1]);
    }

    @Test
    void censusCountsRecipientsByStateAndDestination() throws Exception {
        transport.script = null;
        enqueue("s@example.org", "a@example.net", "b@example.net");
        QueueCensus admitted = census(20);
        assertEquals(1, admitted.messages());
        // The census ran in the cycle that admitted the message, before the cycle's dispatch.
        assertEquals(2, admitted.recipients(QueueCensus.State.READY), "queued at the destination");
        drive(() -> transport.held.size() == 1, "the attempt started");
        assertEquals(2, census(20).recipients(QueueCensus.State.ACTIVE), "handed to the transport");
        transport.held.get(0).completed(RecipientResult.deferred("a@example.net", "4.4.1", "no answer"));
        QueueCensus after = census(20);
        assertEquals(Map.of("smtp:[relay.test]:25", List.of(0L, 1L, 0L, 1L)), asLists(after));
        assertEquals(Map.of(QueueCensus.OTHER, List.of(0L, 1L, 0L, 1L)), asLists(census(0)), "past the top N: other");
    }

    @Test
    void delayIsSecondsWithTwoDecimals() {
        assertEquals("0.00", DelayText.seconds(0));
        assertEquals("0.05", DelayText.seconds(49));
        assertEquals("1.23", DelayText.seconds(1_234));
        assertEquals("3600.00", DelayText.seconds(3_600_000));
        assertEquals("0.00", DelayText.seconds(-5), "a clock step back is not a negative delay");
    }

    private QueueCensus census(int top) throws Exception {
        CompletableFuture<QueueCensus> future = queue.census(top);
        drive(future::isDone, "census answered on the queue thread");
        return future.get();
    }

    private static Map<String, List<Long>> asLists(QueueCensus census) {
        Map<String, List<Long>> out = new java.util.HashMap<>();
        census.byDestination().forEach((d, counts) -> out.put(d, java.util.Arrays.stream(counts).boxed().toList()));
        return out;
    }

    private QueueId enqueue(String sender, String... recipients) throws Exception {
        Envelope e = new Envelope(sender, List.of(recipients), "192.0.2.7", "client.test", "ESMTP", T0,
                BodyType.SEVEN_BIT, false);
        byte[] content = "Subject: s\r\n\r\nHello.\r\n".getBytes(StandardCharsets.US_ASCII);
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

    private void drive(BooleanSupplier condition, String what) {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < end, "timed out waiting for: " + what);
            if (queue.doWork() == 0) {
                Thread.onSpinWait();
            }
        }
    }
}
