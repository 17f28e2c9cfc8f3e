package io.sluice.smtp.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

import jakarta.mail.Session;
import jakarta.mail.internet.MimeBodyPart;
import jakarta.mail.internet.MimeMessage;
import jakarta.mail.internet.MimeMultipart;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sluice.smtp.server.EventLog;
import io.sluice.smtp.spool.BodyType;
import io.sluice.smtp.spool.CommitListener;
import io.sluice.smtp.spool.DsnReturn;
import io.sluice.smtp.spool.Envelope;
import io.sluice.smtp.spool.EnvelopeDsn;
import io.sluice.smtp.spool.QueueId;
import io.sluice.smtp.spool.RecipientDsn;
import io.sluice.smtp.spool.Spool;
import io.sluice.smtp.spool.SpoolAppender;
import io.sluice.smtp.spool.SpoolOptions;

/**
 * RFC 3461 in the queue: NOTIFY decides bounces, delay notices and success reports, RET decides
 * how much of the original a bounce carries, ENVID and ORCPT appear in the reports. Driven on the
 * test thread with a manual clock, a real spool and a scripted transport, like QueueManagerTest.
 */
class QueueDsnTest {
    private static final long T0 = 1_700_000_000_000L;
    private static final long MINUTE = 60_000L;
    private static final String SENDER = "b@x.example";
    private static final String BODY = "The body of the original.\r\n";
    private static final Map<String, String> ROUTES = Map.of("*", "smtp:[relay.test]:25",
            "local.test", "maildir:/var/mail/{domain}/{user}", "lmtp.test", "lmtp:[127.0.0.1]:24",
            "drop.test", "discard");

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
    }

    @AfterEach
    void close() throws IOException {
        if (queue != null) {
            queue.close();
        }
        spool.close();
        log.close();
    }

    private static DeliveryOptions options(Duration delayWarning) {
        return new DeliveryOptions("mx.test", 20, List.of(Duration.ofMinutes(5)), Duration.ofDays(5),
                Duration.ofMinutes(10), 1, 0, delayWarning, Map.of(), Map.of());
    }

    private void start(DeliveryOptions options) {
        start(options, log);
    }

    private void start(DeliveryOptions options, EventLog eventLog) {
        queue = new QueueManager(spool, spool.appender(QueueManager.INTERNAL_LOOP_INDEX),
                TransportTable.of(ROUTES, "mx.test"), route -> transport, options, eventLog, clock::get, Runnable::run,
                dir.resolve("spool"));
        queue.recover();
    }

    private static RecipientDsn notify(int bits, String orcpt) {
        return new RecipientDsn(bits, orcpt);
    }

    private QueueId enqueue(EnvelopeDsn dsn, BodyType bodyType, String body, String... recipients) throws Exception {
        Envelope e = new Envelope(SENDER, List.of(recipients), "192.0.2.7", "client.test", "ESMTP", T0, bodyType,
                false, dsn);
        byte[] content = ("Received: from client.test by mx.test\r\nFrom: <" + SENDER
                + ">\r\nSubject: dsn test\r\n\r\n" + body).getBytes(StandardCharsets.UTF_8);
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

    private QueueId enqueue(EnvelopeDsn dsn, String... recipients) throws Exception {
        return enqueue(dsn, BodyType.SEVEN_BIT, BODY, recipients);
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

    private void settle() {
        for (int idle = 0; idle < 3; ) {
            idle = queue.doWork() == 0 ? idle + 1 : 0;
        }
    }

    /** The contents of the reports the transport was given (null sender), in order. */
    private List<String> reports() {
        List<String> out = new java.util.ArrayList<>();
        for (int i = 0; i < transport.jobs.size(); i++) {
            if (transport.job(i).sender().isEmpty()) {
                out.add(transport.content(i));
            }
        }
        return out;
    }

    private String logText() {
        log.close(); // writes out what is queued
        return captured.toString(StandardCharsets.UTF_8);
    }

    private static RecipientResult failedOrDelivered(String r) {
        return r.startsWith("bad") ? RecipientResult.failed(r, "5.1.1", "No such user")
                : RecipientResult.delivered(r, "ok");
    }

    @Test
    void notifyNeverMeansNoBounceAndTheLogSaysSo() throws Exception {
        transport.script = QueueDsnTest::failedOrDelivered;
        enqueue(new EnvelopeDsn(DsnReturn.NONE, "", List.of(notify(RecipientDsn.NOTIFY_NEVER, ""))),
                "bad@y.example");
        start(options(Duration.ZERO));
        drive(() -> spool.list().isEmpty(), "failed and removed without a bounce");
        settle();
        assertEquals(0, queue.bounces());
        assertEquals(1, queue.failed());
        assertEquals(List.of(), reports());
        assertTrue(logText().contains("bounce-suppressed id="), "the log names the suppressed bounce");
        assertTrue(captured.toString(StandardCharsets.UTF_8).contains("rcpt=bad@y.example reason=NOTIFY=NEVER"),
                captured::toString);
    }

    @Test
    void notifyNeverSendsNoDelayNoticeEither() throws Exception {
        transport.script = r -> RecipientResult.deferred(r, "4.4.1", "try later");
        QueueId id = enqueue(new EnvelopeDsn(DsnReturn.NONE, "", List.of(notify(RecipientDsn.NOTIFY_NEVER, ""))),
                "slow@y.example");
        start(options(Duration.ofMinutes(30)));
        drive(() -> queue.deferred() == 1, "first deferral");
        clock.set(T0 + 31 * MINUTE);
        drive(() -> queue.deferred() == 2, "second deferral, past the delay warning age");
        settle();
        assertEquals(0, queue.delayNotices());
        assertEquals(List.of(), reports());
        assertTrue(spool.find(id).isPresent(), "still queued");
        assertTrue(logText().contains("delay-notice-suppressed id=" + id), captured::toString);
    }

    /** A suppressed delay notice is journalled like a sent one: after a restart it is neither logged nor weighed again. */
    @Test
    void aSuppressedDelayNoticeIsJournalledAndNotReconsideredAfterARestart() throws Exception {
        transport.script = r -> RecipientResult.deferred(r, "4.4.1", "try later");
        QueueId id = enqueue(new EnvelopeDsn(DsnReturn.NONE, "", List.of(notify(RecipientDsn.NOTIFY_NEVER, ""))),
                "slow@y.example");
        start(options(Duration.ofMinutes(30)));
        drive(() -> queue.deferred() == 1, "first deferral");
        clock.set(T0 + 31 * MINUTE);
        drive(() -> queue.deferred() == 2, "second deferral, past the delay warning age");
        settle();
        queue.close();
        queue = null;
        assertTrue(RecipientJournal.read(dir.resolve("spool")).get(id.value()).delayNotified(),
                "the suppressed notice is in recipients.log");
        String before = logText();
        assertEquals(1, before.split("delay-notice-suppressed", -1).length - 1, before);

        ByteArrayOutputStream after = new ByteArrayOutputStream();
        EventLog restarted = new EventLog(EventLog.Level.INFO, new PrintStream(after, true, StandardCharsets.UTF_8));
        try {
            clock.set(T0 + 40 * MINUTE);
            start(options(Duration.ofMinutes(30)), restarted);
            drive(() -> queue.deferred() == 1, "deferred again after the restart");
            settle();
            queue.close();
            queue = null;
        } finally {
            restarted.close();
        }
        String text = after.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("deferred"), "the restarted queue logged its deferral: " + text);
        assertFalse(text.contains("delay-notice"), text);
        assertEquals(List.of(), reports());
    }

    @Test
    void failureOnlyBouncesButSendsNoDelayNotice() throws Exception {
        transport.script = r -> RecipientResult.deferred(r, "4.4.1", "try later");
        enqueue(new EnvelopeDsn(DsnReturn.NONE, "", List.of(notify(RecipientDsn.NOTIFY_FAILURE, ""))), "bad@y.example");
        start(options(Duration.ofMinutes(30)));
        drive(() -> queue.deferred() == 1, "deferred");
        clock.set(T0 + 31 * MINUTE);
        drive(() -> queue.deferred() == 2, "deferred again, past the delay warning age");
        settle();
        assertEquals(0, queue.delayNotices(), "NOTIFY=FAILURE: no delay notice");
        assertEquals(List.of(), reports());
        transport.script = QueueDsnTest::failedOrDelivered;
        clock.set(T0 + 40 * MINUTE);
        drive(() -> queue.bounces() == 1 && spool.list().isEmpty(), "bounced");
        List<String> reports = reports();
        assertEquals(1, reports.size(), reports::toString);
        assertTrue(reports.get(0).contains("Subject: Undelivered Mail Returned to Sender\r\n"), reports.get(0));
        assertTrue(reports.get(0).contains("Final-Recipient: rfc822; bad@y.example\r\nAction: failed\r\n"),
                reports.get(0));
    }

    @Test
    void delayNoticeNamesOnlyTheRecipientsThatAskForDelay() throws Exception {
        transport.script = r -> RecipientResult.deferred(r, "4.4.1", "try later");
        enqueue(new EnvelopeDsn(DsnReturn.NONE, "", List.of(notify(RecipientDsn.NOTIFY_FAILURE, ""),
                notify(RecipientDsn.NOTIFY_DELAY, ""))), "quiet@y.example", "told@y.example");
        start(options(Duration.ofMinutes(30)));
        drive(() -> queue.deferred() == 2, "both deferred");
        clock.set(T0 + 31 * MINUTE);
        drive(() -> queue.delayNotices() == 1, "delay notice");
        String notice = reports().get(0);
        assertTrue(notice.contains("Final-Recipient: rfc822; told@y.example\r\nAction: delayed\r\n"), notice);
        assertFalse(notice.contains("quiet@y.example"), notice);
    }

    @Test
    void successToMaildirGetsADeliveredReportWithEnvidAndOrcpt() throws Exception {
        transport.script = r -> RecipientResult.delivered(r, "Delivered to maildir as 1.M2.mx");
        QueueId id = enqueue(new EnvelopeDsn(DsnReturn.HEADERS, "abc+2B1", List.of(
                notify(RecipientDsn.NOTIFY_SUCCESS | RecipientDsn.NOTIFY_FAILURE, "rfc822;u+2Bz@y.example"),
                notify(RecipientDsn.NOTIFY_FAILURE, ""))), "u@local.test", "v@local.test");
        start(options(Duration.ZERO));
        drive(() -> queue.successNotices() == 1 && spool.list().isEmpty(), "success report queued and delivered");
        assertEquals(0, queue.bounces());
        List<String> reports = reports();
        assertEquals(1, reports.size());
        String report = reports.get(0);
        MimeMessage m = new MimeMessage(Session.getInstance(new Properties()),
                new ByteArrayInputStream(report.getBytes(StandardCharsets.UTF_8)));
        assertEquals("Successful Mail Delivery Report", m.getSubject());
        assertEquals("<" + SENDER + ">", m.getHeader("To", null));
        MimeMultipart parts = new MimeMultipart(m.getDataHandler().getDataSource());
        assertEquals(3, parts.getCount());
        String status = new String(((MimeBodyPart) parts.getBodyPart(1)).getRawInputStream().readAllBytes(),
                StandardCharsets.US_ASCII);
        assertTrue(status.startsWith("Original-Envelope-Id: abc+1\r\nReporting-MTA: dns; mx.test\r\n"), status);
        assertTrue(status.contains("X-Sluice-Queue-ID: " + id + "\r\n"), status);
        assertTrue(status.contains("\r\n\r\nOriginal-Recipient: rfc822;u+z@y.example\r\n"
                + "Final-Recipient: rfc822; u@local.test\r\nAction: delivered\r\nStatus: 2.0.0\r\n"
                + "Diagnostic-Code: smtp; 250 2.0.0 Delivered to maildir as 1.M2.mx\r\n"), status);
        assertFalse(status.contains("v@local.test"), "v did not ask for SUCCESS");
        assertTrue(parts.getBodyPart(2).getContentType().startsWith("text/rfc822-headers"));
        String quoted = new String(((MimeBodyPart) parts.getBodyPart(2)).getRawInputStream().readAllBytes(),
                StandardCharsets.US_ASCII);
        assertTrue(quoted.contains("Subject: dsn test"), quoted);
        assertFalse(report.contains("The body of the original"), "a success report carries headers only");
        assertTrue(logText().contains("success-notice id=" + id), captured::toString);
    }

    @Test
    void successRelayedToAHopWithoutDsnIsRelayedAndToAHopWithDsnIsNotReported() throws Exception {
        // The SMTP client marks a result dsnPassedOn when the hop offered DSN and took NOTIFY/ORCPT.
        transport.script = r -> r.startsWith("passed") ? RecipientResult.delivered(r, "queued").withDsnPassedOn()
                : RecipientResult.delivered(r, "queued");
        RecipientDsn success = notify(RecipientDsn.NOTIFY_SUCCESS, "");
        enqueue(new EnvelopeDsn(DsnReturn.NONE, "", List.of(success, success, success, success)),
                "relayed@y.example", "passed@y.example", "dropped@drop.test", "mbox@lmtp.test");
        start(options(Duration.ZERO));
        drive(() -> queue.successNotices() == 1 && spool.list().isEmpty(), "one success report");
        String report = reports().get(0);
        assertTrue(report.contains("Final-Recipient: rfc822; relayed@y.example\r\nAction: relayed\r\n"), report);
        assertTrue(report.contains("Final-Recipient: rfc822; mbox@lmtp.test\r\nAction: delivered\r\n"), report);
        assertFalse(report.contains("passed@y.example"), "the DSN hop reports itself");
        assertFalse(report.contains("dropped@drop.test"), "a discard is no delivery");
    }

    @Test
    void noSuccessReportWhenEveryoneAskingWasPassedOn() throws Exception {
        transport.script = r -> RecipientResult.delivered(r, "queued").withDsnPassedOn();
        enqueue(new EnvelopeDsn(DsnReturn.NONE, "", List.of(notify(RecipientDsn.NOTIFY_SUCCESS, ""))),
                "passed@y.example");
        start(options(Duration.ZERO));
        drive(() -> spool.list().isEmpty(), "delivered and removed");
        settle();
        assertEquals(0, queue.successNotices());
        assertEquals(List.of(), reports());
    }

    @Test
    void aFailureAndASuccessGetOneReportEach() throws Exception {
        transport.script = QueueDsnTest::failedOrDelivered;
        RecipientDsn both = notify(RecipientDsn.NOTIFY_SUCCESS | RecipientDsn.NOTIFY_FAILURE, "");
        enqueue(new EnvelopeDsn(DsnReturn.NONE, "", List.of(both, both, both)),
                "bad1@local.test", "good@local.test", "bad2@local.test");
        start(options(Duration.ZERO));
        drive(() -> queue.successNotices() == 1 && queue.bounces() == 1 && spool.list().isEmpty(), "two reports");
        List<String> reports = reports();
        assertEquals(2, reports.size());
        String success = reports.stream().filter(r -> r.contains("Successful Mail")).findFirst().orElseThrow();
        String bounce = reports.stream().filter(r -> r.contains("Undelivered Mail")).findFirst().orElseThrow();
        assertTrue(success.contains("good@local.test") && !success.contains("bad1@"), success);
        assertTrue(bounce.contains("Final-Recipient: rfc822; bad1@local.test")
                && bounce.contains("Final-Recipient: rfc822; bad2@local.test") && !bounce.contains("good@"), bounce);
    }

    @Test
    void retFullBouncesCarryTheWholeMessage() throws Exception {
        transport.script = QueueDsnTest::failedOrDelivered;
        enqueue(new EnvelopeDsn(DsnReturn.FULL, "", List.of()), "bad@y.example");
        start(options(Duration.ZERO));
        drive(() -> queue.bounces() == 1 && spool.list().isEmpty(), "bounced");
        String bounce = reports().get(0);
        MimeMessage m = new MimeMessage(Session.getInstance(new Properties()),
                new ByteArrayInputStream(bounce.getBytes(StandardCharsets.UTF_8)));
        MimeMultipart parts = new MimeMultipart(m.getDataHandler().getDataSource());
        assertEquals(3, parts.getCount());
        assertTrue(parts.getBodyPart(2).getContentType().startsWith("message/rfc822"), parts.getBodyPart(2).getContentType());
        String returned = new String(((MimeBodyPart) parts.getBodyPart(2)).getRawInputStream().readAllBytes(),
                StandardCharsets.US_ASCII);
        assertEquals("Received: from client.test by mx.test\r\nFrom: <" + SENDER + ">\r\nSubject: dsn test\r\n\r\n"
                + BODY.substring(0, BODY.length() - 2), returned, "the whole original, byte for byte");
        assertTrue(bounce.contains("It is attached below.\r\n"), bounce);
    }

    @Test
    void retFullOverTheLimitFallsBackToHeadersAndSaysSo() throws Exception {
        transport.script = QueueDsnTest::failedOrDelivered;
        enqueue(new EnvelopeDsn(DsnReturn.FULL, "", List.of()), BodyType.SEVEN_BIT, "x".repeat(500) + "\r\n",
                "bad@y.example");
        start(options(Duration.ZERO).withBounceSizeLimit(300));
        drive(() -> queue.bounces() == 1 && spool.list().isEmpty(), "bounced");
        String bounce = reports().get(0);
        assertTrue(bounce.contains("Only its headers are attached below: the message is larger than the limit of 300"
                + " octets.\r\n"), bounce);
        assertTrue(bounce.contains("Content-Type: text/rfc822-headers\r\n"), bounce);
        assertFalse(bounce.contains("xxxxxxxx"), "the body is not returned");
    }

    @Test
    void retHdrsAndBinaryMimeBouncesCarryHeadersOnly() throws Exception {
        transport.script = QueueDsnTest::failedOrDelivered;
        enqueue(new EnvelopeDsn(DsnReturn.HEADERS, "", List.of()), "bad@y.example");
        enqueue(new EnvelopeDsn(DsnReturn.FULL, "", List.of()), BodyType.BINARY_MIME, BODY, "bad@y.example");
        start(options(Duration.ZERO));
        drive(() -> queue.bounces() == 2 && spool.list().isEmpty(), "both bounced");
        for (String bounce : reports()) {
            assertFalse(bounce.contains("The body of the original"), bounce);
            assertTrue(bounce.contains("Content-Type: text/rfc822-headers\r\n"), bounce);
        }
        assertTrue(reports().stream().anyMatch(r -> r.contains("the message is BINARYMIME")), reports()::toString);
    }

    @Test
    void dsnHandOverAndSuccessNoticeSurviveARestart() throws Exception {
        // passed@ is handed on with DSN; slow@ waits: after a restart the report must still leave passed@ out.
        transport.script = r -> r.startsWith("passed") ? RecipientResult.delivered(r, "queued").withDsnPassedOn()
                : RecipientResult.deferred(r, "4.4.1", "later");
        RecipientDsn success = notify(RecipientDsn.NOTIFY_SUCCESS, "");
        enqueue(new EnvelopeDsn(DsnReturn.NONE, "", List.of(success, success)), "passed@y.example", "slow@y.example");
        start(options(Duration.ZERO));
        drive(() -> queue.delivered() == 1 && queue.deferred() == 1, "one passed on, one deferred");
        queue.close();
        queue = null;
        transport.jobs.clear();
        transport.contents.clear();
        transport.script = r -> RecipientResult.delivered(r, "queued");
        clock.set(T0 + 10 * MINUTE);
        start(options(Duration.ZERO));
        drive(() -> queue.successNotices() == 1 && spool.list().isEmpty(), "slow relayed after the restart");
        String report = reports().get(0);
        assertTrue(report.contains("Final-Recipient: rfc822; slow@y.example\r\nAction: relayed\r\n"), report);
        assertFalse(report.contains("passed@y.example"), report);
    }
}
