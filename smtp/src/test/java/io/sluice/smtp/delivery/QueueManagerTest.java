package io.sluice.smtp.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
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
import io.sluice.smtp.spool.QueuedMessage;
import io.sluice.smtp.spool.Spool;
import io.sluice.smtp.spool.SpoolAppender;
import io.sluice.smtp.spool.SpoolOptions;

/**
 * The queue manager driven step by step on the test thread with a manual clock: {@link
 * QueueManager#doWork()} is called until a condition holds (bounded), and time moves only when
 * the test moves it. The spool is real; transports are scripted.
 */
class QueueManagerTest {
    private static final long T0 = 1_700_000_000_000L;
    private static final long MINUTE = 60_000L;
    private static final String SUBJECT = "Subject: quarterly numbers";

    @TempDir
    Path dir;

    private Spool spool;
    private SpoolAppender client;
    private final AtomicLong clock = new AtomicLong(T0);
    private final ScriptedTransport transport = new ScriptedTransport();
    private QueueManager queue;

    @BeforeEach
    void open() throws IOException {
        spool = Spool.open(dir.resolve("spool"), SpoolOptions.defaults());
        client = spool.appender(0);
    }

    @AfterEach
    void close() throws IOException {
        if (queue != null) {
            queue.close();
        }
        spool.close();
    }

    private static DeliveryOptions options(int concurrency, List<Duration> schedule, Duration maxQueueTime) {
        return new DeliveryOptions("mx.test", concurrency, schedule, maxQueueTime, Duration.ofMinutes(10), 1);
    }

    private static DeliveryOptions defaults() {
        return options(20, List.of(Duration.ofMinutes(5), Duration.ofMinutes(10), Duration.ofMinutes(20)),
                Duration.ofDays(5));
    }

    private QueueManager start(DeliveryOptions options, Map<String, String> routes) {
        queue = new QueueManager(spool, spool.appender(QueueManager.INTERNAL_LOOP_INDEX),
                TransportTable.of(routes, "mx.test"), route -> transport, options, EventLog.silent(), clock::get,
                Runnable::run);
        queue.recover();
        return queue;
    }

    private QueueManager start(DeliveryOptions options) {
        return start(options, Map.of("*", "lmtp:[127.0.0.1]:24"));
    }

    /** Writes a durable message, arrived at T0, the way a session does. */
    private QueueId enqueue(String sender, String... recipients) throws Exception {
        Envelope e = new Envelope(sender, List.of(recipients), "192.0.2.7", "client.test", "ESMTP", T0,
                BodyType.SEVEN_BIT, false);
        byte[] content = ("Received: from client.test by mx.test\r\nFrom: <" + sender + ">\r\n" + SUBJECT
                + "\r\n\r\nHello.\r\n").getBytes(StandardCharsets.US_ASCII);
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
    private void drive(BooleanSupplier condition, String what) {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < end, "timed out waiting for: " + what);
            if (queue.doWork() == 0) {
                Thread.onSpinWait();
            }
        }
    }

    /** Steps until the queue has nothing left to do at the current time. */
    private void settle() {
        for (int idle = 0; idle < 3; ) {
            idle = queue.doWork() == 0 ? idle + 1 : 0;
        }
    }

    private boolean inSpool(QueueId id) {
        return spool.find(id).isPresent();
    }

    @Test
    void deliveredMessageLeavesTheSpool() throws Exception {
        QueueId id = enqueue("s@example.org", "a@example.net", "b@example.net");
        start(defaults());
        drive(() -> !inSpool(id), "message removed");

        assertEquals(1, transport.jobs.size(), "both recipients in one job: same route");
        assertEquals(List.of("a@example.net", "b@example.net"), transport.job(0).recipients());
        assertTrue(transport.content(0).contains(SUBJECT));
        assertEquals(2, queue.delivered());
        assertEquals(0, queue.queuedMessages());
        assertEquals(List.of(), spool.list());
    }

    @Test
    void recoveredAndNewlyDurableMessagesAreBothDelivered() throws Exception {
        QueueId before = enqueue("s@example.org", "a@example.net");
        start(defaults());
        QueueId after = enqueue("s@example.org", "b@example.net");
        drive(() -> !inSpool(before) && !inSpool(after), "both removed");
        assertEquals(2, transport.jobs.size(), "each delivered once");
    }

    @Test
    void recipientsOfDifferentRoutesGoInSeparateJobs() throws Exception {
        QueueId id = enqueue("s@example.org", "a@example.net", "b@example.org", "c@example.net");
        start(defaults(), Map.of("example.net", "lmtp:[127.0.0.1]:24", "*", "lmtp:[127.0.0.2]:24"));
        drive(() -> !inSpool(id), "message removed");
        assertEquals(2, transport.jobs.size());
        assertEquals(List.of("a@example.net", "c@example.net"), transport.job(0).recipients());
        assertEquals(List.of("b@example.org"), transport.job(1).recipients());
        assertNotEquals(transport.job(0).route(), transport.job(1).route());
    }

    @Test
    void deferredRecipientIsRetriedOnTheBackoffScheduleAndNotBefore() throws Exception {
        AtomicInteger attempts = new AtomicInteger();
        transport.script = r -> attempts.incrementAndGet() <= 2
                ? new RecipientResult(r, RecipientResult.Outcome.DEFERRED, 452, "4.2.2", "Mailbox full")
                : RecipientResult.delivered(r, "ok");
        QueueId id = enqueue("s@example.org", "a@example.net");
        start(defaults());
        drive(() -> queue.deferred() == 1, "first attempt deferred");

        clock.set(T0 + 5 * MINUTE - 1);
        settle();
        assertEquals(1, transport.jobs.size(), "no attempt before the first backoff (5m)");
        clock.set(T0 + 5 * MINUTE);
        drive(() -> queue.deferred() == 2, "second attempt at 5m");
        assertEquals(2, transport.jobs.size());

        clock.set(T0 + 15 * MINUTE - 1);
        settle();
        assertEquals(2, transport.jobs.size(), "the second wait doubles (10m)");
        assertTrue(inSpool(id), "still queued while deferred");
        clock.set(T0 + 15 * MINUTE);
        drive(() -> !inSpool(id), "third attempt delivers");
        assertEquals(3, transport.jobs.size());
        assertEquals(0, queue.bounces());
    }

    @Test
    void onlyTheDeferredRecipientIsRetried() throws Exception {
        transport.script = r -> r.startsWith("slow") && transport.jobs.size() == 1
                ? RecipientResult.deferred(r, "4.4.1", "no answer")
                : RecipientResult.delivered(r, "ok");
        QueueId id = enqueue("s@example.org", "fast@example.net", "slow@example.net");
        start(defaults());
        drive(() -> queue.deferred() == 1, "slow deferred");
        clock.set(T0 + 5 * MINUTE);
        drive(() -> !inSpool(id), "retry delivers");
        assertEquals(List.of("slow@example.net"), transport.job(1).recipients());
        assertEquals(2, queue.delivered());
    }

    @Test
    void permanentFailureBouncesAnRfc3464ReportToTheSender() throws Exception {
        transport.script = r -> r.equals("bad@example.net")
                ? new RecipientResult(r, RecipientResult.Outcome.FAILED, 550, "5.1.1", "No such user")
                : RecipientResult.delivered(r, "ok");
        QueueId id = enqueue("sender@example.org", "bad@example.net", "good@example.net");
        start(defaults());
        drive(() -> queue.bounces() == 1 && spool.list().isEmpty(), "bounce queued, delivered, original removed");

        assertFalse(inSpool(id));
        assertEquals(2, transport.jobs.size());
        DeliveryJob bounce = transport.job(1);
        assertEquals("", bounce.sender(), "a bounce has the null sender");
        assertEquals(List.of("sender@example.org"), bounce.recipients());
        assertEquals(QueueManager.INTERNAL_LOOP_INDEX, bounce.message().id().loopIndex());
        String dsn = transport.content(1);
        assertTrue(dsn.contains("From: MAILER-DAEMON@mx.test"), dsn);
        assertTrue(dsn.contains("To: <sender@example.org>\r\n"), dsn);
        assertTrue(dsn.contains("Subject: Undelivered Mail Returned to Sender\r\n"), dsn);
        assertTrue(dsn.contains("Content-Type: multipart/report; report-type=delivery-status;"), dsn);
        assertTrue(dsn.contains("Reporting-MTA: dns; mx.test\r\n"), dsn);
        assertTrue(dsn.contains("Final-Recipient: rfc822; bad@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n"
                + "Diagnostic-Code: smtp; 550 5.1.1 No such user\r\n"), dsn);
        assertFalse(dsn.contains("Final-Recipient: rfc822; good@example.net"), "delivered recipients are not reported");
        assertTrue(dsn.contains("Content-Type: text/rfc822-headers\r\n\r\nReceived: from client.test by mx.test\r\n"
                + "From: <sender@example.org>\r\n" + SUBJECT + "\r\n\r\n--"), dsn);
        assertFalse(dsn.contains("Hello."), "only the headers are returned");
        assertEquals(1, queue.failed());
    }

    @Test
    void aFailureFromTheNullSenderIsOnlyLogged() throws Exception {
        transport.script = r -> RecipientResult.failed(r, "5.1.1", "No such user");
        QueueId id = enqueue("", "bad@example.net");
        start(defaults());
        drive(() -> !inSpool(id), "removed");
        settle();
        assertEquals(0, queue.bounces());
        assertEquals(1, transport.jobs.size(), "no bounce was delivered");
        assertEquals(List.of(), spool.list());
        assertEquals(1, queue.failed());
    }

    @Test
    void aRecipientDeferredPastTheMaxQueueTimeIsBounced() throws Exception {
        transport.script = r -> r.startsWith("slow") ? RecipientResult.deferred(r, "4.4.2", "connection dropped")
                : RecipientResult.delivered(r, "ok");
        QueueId id = enqueue("sender@example.org", "slow@example.net");
        start(options(20, List.of(Duration.ofHours(1)), Duration.ofMinutes(150)));
        drive(() -> queue.deferred() == 1, "attempt 1");
        clock.set(T0 + 60 * MINUTE);
        drive(() -> queue.deferred() == 2, "attempt 2 after 1h");
        clock.set(T0 + 120 * MINUTE);
        drive(() -> queue.deferred() == 3, "attempt 3 after 2h");
        clock.set(T0 + 150 * MINUTE - 1);
        settle();
        assertEquals(3, transport.jobs.size(), "the last attempt is at the expiry time, not the full backoff");
        clock.set(T0 + 150 * MINUTE);
        drive(() -> queue.bounces() == 1 && spool.list().isEmpty(), "expired, bounced");

        assertFalse(inSpool(id));
        assertEquals(5, transport.jobs.size(), "4 attempts, then the bounce");
        String dsn = transport.content(4);
        assertTrue(dsn.contains("Final-Recipient: rfc822; slow@example.net\r\nAction: failed\r\nStatus: 4.4.7\r\n"), dsn);
        assertTrue(dsn.contains("Delivery time expired; last error: 451 4.4.2 connection dropped"), dsn);
    }

    @Test
    void concurrencyIsLimitedPerDestinationAndOthersKeepFlowing() throws Exception {
        transport.script = null; // hold every job
        for (int i = 0; i < 5; i++) {
            enqueue("s@example.org", "u" + i + "@slow.example");
        }
        QueueId other = enqueue("s@example.org", "x@fast.example");
        start(options(2, List.of(Duration.ofMinutes(5)), Duration.ofDays(5)),
                Map.of("slow.example", "lmtp:[127.0.0.1]:24", "*", "lmtp:[127.0.0.2]:24"));
        drive(() -> transport.jobs.size() == 3, "two slow jobs and the fast one started");
        settle();
        assertEquals(3, transport.jobs.size(), "at most 2 in flight to slow.example");
        assertTrue(transport.jobs.stream().anyMatch(j -> j.message().id().equals(other)),
                "a full destination does not hold up another");

        DeliveryJob first = transport.job(0);
        transport.held.get(0).completed(RecipientResult.delivered(first.recipients().get(0), "ok"));
        drive(() -> transport.jobs.size() == 4, "a freed slot starts the next job");
        settle();
        assertEquals(4, transport.jobs.size());
    }

    @Test
    void anAttemptWithoutResultTimesOutAndLateResultsAreIgnored() throws Exception {
        transport.script = null;
        QueueId id = enqueue("s@example.org", "a@example.net");
        start(defaults());
        drive(() -> transport.jobs.size() == 1, "attempt started");
        clock.set(T0 + 10 * MINUTE);
        drive(() -> queue.deferred() == 1, "attempt timed out");

        transport.held.get(0).completed(RecipientResult.delivered("a@example.net", "too late"));
        settle();
        assertTrue(inSpool(id), "a late result does not count");
        assertEquals(0, queue.delivered());

        transport.script = r -> RecipientResult.delivered(r, "ok");
        clock.set(T0 + 15 * MINUTE);
        drive(() -> !inSpool(id), "retried after the backoff");
        assertEquals(2, transport.jobs.size());
    }

    @Test
    void aTransportExceptionDefers() throws Exception {
        transport.throwNext = true;
        QueueId id = enqueue("s@example.org", "a@example.net");
        start(defaults());
        drive(() -> queue.deferred() == 1, "exception deferred");
        assertTrue(inSpool(id));
        clock.set(T0 + 5 * MINUTE);
        drive(() -> !inSpool(id), "retry delivers");
    }

    @Test
    void blockingTransportsRunOnTheWorkersNotTheQueueThread() throws Exception {
        AtomicReference<String> ranOn = new AtomicReference<>();
        Transport blocking = new Transport() {
            @Override
            public void deliver(DeliveryJob job, DeliveryCallback callback) {
                ranOn.set(Thread.currentThread().getName());
                job.recipients().forEach(r -> callback.completed(RecipientResult.delivered(r, "ok")));
            }

            @Override
            public boolean blocking() {
                return true;
            }
        };
        ExecutorService workers = Executors.newSingleThreadExecutor(r -> new Thread(r, "test-worker"));
        try {
            QueueId id = enqueue("s@example.org", "a@example.net");
            queue = new QueueManager(spool, spool.appender(QueueManager.INTERNAL_LOOP_INDEX),
                    TransportTable.of(Map.of(), "mx.test"), route -> blocking, defaults(), EventLog.silent(), clock::get,
                    workers);
            queue.recover();
            drive(() -> !inSpool(id), "delivered by a worker");
            assertEquals("test-worker", ranOn.get());
        } finally {
            workers.shutdownNow();
        }
    }

    @Test
    void theStartedThreadDeliversWithoutHelp() throws Exception {
        queue = new QueueManager(spool, spool.appender(QueueManager.INTERNAL_LOOP_INDEX),
                TransportTable.of(Map.of(), "mx.test"), route -> transport, defaults(), EventLog.silent(),
                System::currentTimeMillis, null);
        queue.start();
        QueueId id = enqueue("s@example.org", "a@example.net");
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (inSpool(id) && System.nanoTime() < end) {
            Thread.onSpinWait();
        }
        assertFalse(inSpool(id), "sluice-queue delivered and removed it");
        assertEquals(1, queue.delivered());
    }
}
