package io.sluice.smtp.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sluice.smtp.delivery.DeliveryOptions;
import io.sluice.smtp.delivery.QueueControl;
import io.sluice.smtp.delivery.QueueManager;
import io.sluice.smtp.delivery.RecipientJournal;
import io.sluice.smtp.delivery.RecipientResult;
import io.sluice.smtp.delivery.Transport;
import io.sluice.smtp.delivery.TransportTable;
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
 * {@code sluice queue list|retry|delete} against a running queue manager (through its control
 * socket) and against a spool with no server (journal only).
 */
class QueueCommandTest {
    private static final long T0 = 1_700_000_000_000L;

    @TempDir
    Path dir;

    private record Run(int status, String out, String err) {
    }

    private static synchronized Run run(String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
            int status = Main.run(args);
            return new Run(status, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    private static QueueId enqueue(Spool spool, String... recipients) throws Exception {
        return enqueue(spool, EnvelopeDsn.NONE, recipients);
    }

    private static QueueId enqueue(Spool spool, EnvelopeDsn dsn, String... recipients) throws Exception {
        SpoolAppender appender = spool.appender(0);
        QueueId id = appender.begin(new Envelope("a@example.org", List.of(recipients), "127.0.0.1", "client.example",
                "ESMTP", T0, BodyType.SEVEN_BIT, false, dsn));
        byte[] bytes = "Subject: hi\r\n\r\nbody\r\n".getBytes(StandardCharsets.US_ASCII);
        appender.append(id, ByteBuffer.wrap(bytes));
        CompletableFuture<QueueId> done = new CompletableFuture<>();
        appender.commit(id, bytes.length, new CommitListener() {
            @Override
            public void committed(QueueId q) {
                done.complete(q);
            }

            @Override
            public void failed(QueueId q, IOException cause) {
                done.completeExceptionally(cause);
            }
        }, Runnable::run);
        return done.get(10, TimeUnit.SECONDS);
    }

    /** Delivers "ok@" recipients; defers the others while {@code defer} is set. */
    private static Transport transport(AtomicBoolean defer) {
        return (job, callback) -> {
            for (String r : job.recipients()) {
                callback.completed(r.startsWith("ok") || !defer.get()
                        ? RecipientResult.delivered(r, "ok") : RecipientResult.deferred(r, "4.4.1", "no answer"));
            }
        };
    }

    private static QueueManager queue(Spool spool, Path spoolDir, Transport transport, AtomicLong clock) {
        DeliveryOptions options = new DeliveryOptions("mx.test", 4, List.of(Duration.ofHours(1)), Duration.ofDays(5),
                Duration.ofMinutes(10), 1);
        return new QueueManager(spool, spool.appender(QueueManager.INTERNAL_LOOP_INDEX),
                TransportTable.of(Map.of("*", "discard"), "mx.test"), route -> transport, options, EventLog.silent(),
                clock::get, Runnable::run, spoolDir);
    }

    private static void await(BooleanSupplier condition, String what) {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < end, "timed out waiting for: " + what);
            Thread.yield(); // the queue thread makes it true; bounded above
        }
    }

    @Test
    void listShowsRecipientStateAndRetryAndDeleteGoThroughARunningServer() throws Exception {
        Path spoolDir = dir.resolve("spool");
        AtomicLong clock = new AtomicLong(T0);
        AtomicBoolean defer = new AtomicBoolean(true);
        try (Spool spool = Spool.open(spoolDir, SpoolOptions.defaults())) {
            QueueId id = enqueue(spool, "ok@example.net", "later@example.net");
            QueueId other = enqueue(spool, "never@example.net");
            QueueManager queue = queue(spool, spoolDir, transport(defer), clock);
            try {
                queue.start();
                await(() -> queue.deferred() == 2, "both deferred");
                assertTrue(Files.exists(spoolDir.resolve(QueueControl.SOCKET_NAME)));

                Run list = run("queue", "list", "--spool", spoolDir.toString());
                assertEquals(0, list.status(), list.err());
                assertTrue(list.out().contains("    ok@example.net  delivered  attempts=1  last=250 2.0.0 ok\n"),
                        list.out());
                assertTrue(list.out().contains("    later@example.net  deferred  attempts=1  next=2023-11-14T23:13:20Z"
                        + "  last=451 4.4.1 no answer\n"), list.out());
                Run json = run("queue", "list", "--json", "--spool", spoolDir.toString());
                assertTrue(json.out().contains(",\"state\":[{\"recipient\":\"ok@example.net\",\"state\":\"delivered\","
                        + "\"attempts\":1,\"next_attempt\":null,\"last_error\":\"250 2.0.0 ok\",\"notify\":null,"
                        + "\"orcpt\":null},{\"recipient\":\"later@example.net\",\"state\":\"deferred\",\"attempts\":1,"
                        + "\"next_attempt\":\"2023-11-14T23:13:20Z\",\"last_error\":\"451 4.4.1 no answer\","
                        + "\"notify\":null,\"orcpt\":null}]}"), json.out());
                assertTrue(json.out().contains(",\"protocol\":\"ESMTP\",\"ret\":null,\"envid\":null,"), json.out());

                defer.set(false);
                Run retry = run("queue", "retry", "--spool", spoolDir.toString(), id.toString());
                assertEquals(0, retry.status(), retry.err());
                assertEquals("retrying " + id + " now\n", retry.out());
                await(() -> spool.find(id).isEmpty(), "retried at once and delivered");
                assertEquals(2, queue.delivered());

                Run delete = run("queue", "delete", "--spool", spoolDir.toString(), other.toString());
                assertEquals(0, delete.status(), delete.err());
                assertTrue(spool.find(other).isEmpty(), "the server forgot it at once");
                assertEquals("", run("queue", "list", "--spool", spoolDir.toString()).out());
                assertEquals(2, run("queue", "retry", "--spool", spoolDir.toString()).status(), "IDs or --all");
            } finally {
                queue.close();
            }
            assertFalse(Files.exists(spoolDir.resolve(QueueControl.SOCKET_NAME)), "the socket goes with the server");
        }
    }

    @Test
    void withoutAServerListReadsTheJournalAndRetryIsJournalled() throws Exception {
        Path spoolDir = dir.resolve("spool");
        AtomicLong clock = new AtomicLong(T0);
        QueueId id;
        try (Spool spool = Spool.open(spoolDir, SpoolOptions.defaults())) {
            id = enqueue(spool, "ok@example.net", "later@example.net");
            QueueManager queue = queue(spool, spoolDir, transport(new AtomicBoolean(true)), clock);
            queue.start();
            await(() -> queue.deferred() == 1, "deferred");
            queue.close();
        }
        Run list = run("queue", "list", "--spool", spoolDir.toString());
        assertEquals(0, list.status(), list.err());
        assertTrue(list.out().contains("    ok@example.net  delivered  attempts=1  last=250 2.0.0 ok\n"), list.out());
        assertTrue(list.out().contains("    later@example.net  deferred  attempts=1  next="), list.out());

        Run retry = run("queue", "retry", "--all", "--spool", spoolDir.toString());
        assertEquals(0, retry.status(), retry.err());
        assertEquals("retrying all messages at the next start\n", retry.out());
        RecipientJournal.RecipientRecord later = RecipientJournal.read(spoolDir).get(id.value()).recipient(1);
        assertEquals(0, later.millis(), "due at once");
        assertEquals(1, run("queue", "retry", "--spool", spoolDir.toString(), "0000000000000").status());

        Spool server = Spool.open(spoolDir, SpoolOptions.defaults());
        try {
            assertEquals(1, run("queue", "retry", "--all", "--spool", spoolDir.toString()).status(),
                    "a server holding the lock without a control socket: refused, not journalled behind its back");
        } finally {
            server.close();
        }
    }

    /** RFC 3461's parameters as received: RET and ENVID with the message, NOTIFY and ORCPT with each recipient. */
    @Test
    void listShowsTheDsnParameters() throws Exception {
        Path spoolDir = dir.resolve("spool");
        EnvelopeDsn dsn = new EnvelopeDsn(DsnReturn.HEADERS, "env+2B1", List.of(
                new RecipientDsn(RecipientDsn.NOTIFY_SUCCESS | RecipientDsn.NOTIFY_FAILURE, "rfc822;orig+2Bb@example.net"),
                RecipientDsn.NONE,
                new RecipientDsn(RecipientDsn.NOTIFY_NEVER, "")));
        QueueId id;
        QueueId plain;
        try (Spool spool = Spool.open(spoolDir, SpoolOptions.defaults())) {
            id = enqueue(spool, dsn, "b@example.net", "c@example.net", "d@example.net");
            plain = enqueue(spool, "e@example.net");
        }
        Run list = run("queue", "list", "--spool", spoolDir.toString());
        assertEquals(0, list.status(), list.err());
        assertTrue(list.out().contains("<a@example.org>  b@example.net c@example.net d@example.net  RET=HDRS  ENVID=env+2B1\n"),
                list.out());
        assertTrue(list.out().contains("<a@example.org>  e@example.net\n"), "no DSN, nothing added: " + list.out());
        assertTrue(list.out().contains("    b@example.net  pending  attempts=0  NOTIFY=SUCCESS,FAILURE"
                + "  ORCPT=rfc822;orig+2Bb@example.net\n"), list.out());
        assertTrue(list.out().contains("    c@example.net  pending  attempts=0\n"), list.out());
        assertTrue(list.out().contains("    d@example.net  pending  attempts=0  NOTIFY=NEVER\n"), list.out());

        Run json = run("queue", "list", "--json", "--spool", spoolDir.toString());
        assertEquals(0, json.status(), json.err());
        String[] lines = json.out().split("\n");
        assertEquals(2, lines.length, json.out());
        String message = lines[0].contains(id.toString()) ? lines[0] : lines[1];
        assertTrue(message.contains(",\"ret\":\"HDRS\",\"envid\":\"env+2B1\","), message);
        assertTrue(message.contains("{\"recipient\":\"b@example.net\",\"state\":\"pending\",\"attempts\":0,"
                + "\"next_attempt\":null,\"last_error\":null,\"notify\":\"SUCCESS,FAILURE\","
                + "\"orcpt\":\"rfc822;orig+2Bb@example.net\"}"), message);
        assertTrue(message.contains("\"recipient\":\"c@example.net\",\"state\":\"pending\",\"attempts\":0,"
                + "\"next_attempt\":null,\"last_error\":null,\"notify\":null,\"orcpt\":null}"), message);
        assertTrue(message.contains("\"notify\":\"NEVER\",\"orcpt\":null}"), message);
        String other = lines[0].contains(plain.toString()) ? lines[0] : lines[1];
        assertTrue(other.contains(",\"ret\":null,\"envid\":null,"), other);
    }

    /**
     * A unitext ORCPT (RFC 6533, accepted under SMTPUTF8) may hold C1 controls and
     * line separators; {@code queue list} escapes them, so a sender cannot put a terminal escape
     * (U+009B CSI, U+009D OSC) or a Unicode line break (U+0085, U+2028) into the operator's output.
     */
    @Test
    void listDoesNotPrintControlCharactersOfAnOrcptRaw() throws Exception {
        Path spoolDir = dir.resolve("spool");
        String hostile = "utf-8;x\u009b2J\u0085FAKE\u2028y@example.net";
        EnvelopeDsn dsn = new EnvelopeDsn(DsnReturn.NONE, "", List.of(new RecipientDsn(RecipientDsn.NOTIFY_FAILURE, hostile)));
        try (Spool spool = Spool.open(spoolDir, SpoolOptions.defaults())) {
            enqueue(spool, dsn, "b@example.net");
        }
        Run list = run("queue", "list", "--spool", spoolDir.toString());
        assertEquals(0, list.status(), list.err());
        assertTrue(list.out().contains("ORCPT="), list.out());
        for (char c : new char[] {'\u009b', '\u0085', '\u2028'}) {
            assertTrue(list.out().indexOf(c) < 0, "U+" + Integer.toHexString(c) + " printed raw: " + list.out());
        }
    }
}
