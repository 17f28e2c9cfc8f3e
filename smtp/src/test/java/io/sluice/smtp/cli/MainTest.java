package io.sluice.smtp.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sluice.smtp.auth.PasswordHash;
import io.sluice.smtp.spool.CommitListener;
import io.sluice.smtp.spool.BodyType;
import io.sluice.smtp.spool.Envelope;
import io.sluice.smtp.spool.QueueId;
import io.sluice.smtp.spool.Spool;
import io.sluice.smtp.spool.SpoolAppender;
import io.sluice.smtp.spool.SpoolOptions;

/** The {@code sluice} command line, run in-process with its output captured. */
class MainTest {

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

    private QueueId spoolOne(Path spoolDir, String body) throws Exception {
        try (Spool spool = Spool.open(spoolDir, SpoolOptions.defaults())) {
            SpoolAppender appender = spool.appender(0);
            QueueId id = appender.begin(new Envelope("a@example.org", List.of("b@example.net", "c@example.net"),
                    "127.0.0.1", "client.example", "ESMTP", System.currentTimeMillis(), BodyType.SEVEN_BIT, false));
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
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
    }

    @Test
    void queueListCatAndDelete() throws Exception {
        Path spool = dir.resolve("spool");
        String body = "Subject: hi\r\n\r\nbody\r\n";
        QueueId id = spoolOne(spool, body);

        Run list = run("queue", "list", "--spool", spool.toString());
        assertEquals(0, list.status(), list.err());
        assertTrue(list.out().startsWith(id + "  "), list.out());
        assertTrue(list.out().contains("<a@example.org>  b@example.net c@example.net"), list.out());

        Run json = run("queue", "list", "--json", "--set", "spool.dir=" + spool);
        assertTrue(json.out().startsWith("{\"id\":\"" + id + "\",\"sender\":\"a@example.org\",\"recipients\":[\"b@example.net\",\"c@example.net\"],\"size\":" + body.length()), json.out());

        Run cat = run("queue", "cat", "--spool", spool.toString(), id.toString());
        assertEquals(body, cat.out());

        Run delete = run("queue", "delete", "--spool", spool.toString(), id.toString());
        assertEquals(0, delete.status(), delete.err());
        assertEquals("", run("queue", "list", "--spool", spool.toString()).out());
        assertEquals(1, run("queue", "cat", "--spool", spool.toString(), id.toString()).status());
    }

    @Test
    void badConfigurationStopsWithOneLineNamingTheKey() {
        Run bad = run("serve", "--set", "smtp.max_recipients=abc", "--set", "spool.dir=" + dir);
        assertEquals(2, bad.status());
        assertEquals(1, bad.err().strip().lines().count(), bad.err());
        assertTrue(bad.err().contains("smtp.max_recipients=abc"), bad.err());
        Run unknown = run("serve", "--set", "smtp.max_mesage_size=1", "--set", "spool.dir=" + dir);
        assertEquals(2, unknown.status());
        assertTrue(unknown.err().contains("smtp.max_message_size"), "suggests the right key: " + unknown.err());
    }

    @Test
    void versionAndPasswd() {
        Run version = run("--version");
        assertEquals(0, version.status());
        assertTrue(version.out().startsWith("sluice "), version.out());
        InputStreamSwap.withStdin("hunter2\n", () -> {
            Run passwd = run("passwd", "--iterations", "10000", "alice");
            assertEquals(0, passwd.status(), passwd.err());
            String line = passwd.out().strip();
            assertTrue(line.startsWith("alice:$pbkdf2-sha256$10000$"), line);
            assertTrue(PasswordHash.verify("hunter2".toCharArray(), line.substring(6)));
            assertFalse(PasswordHash.verify("hunter3".toCharArray(), line.substring(6)));
        });
    }

    /** Swaps standard input for one call. */
    private static final class InputStreamSwap {
        static void withStdin(String text, Runnable body) {
            java.io.InputStream in = System.in;
            try {
                System.setIn(new java.io.ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)));
                body.run();
            } finally {
                System.setIn(in);
            }
        }
    }
}
