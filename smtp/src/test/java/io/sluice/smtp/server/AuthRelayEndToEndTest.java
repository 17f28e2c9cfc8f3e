package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sluice.smtp.auth.PasswordHash;
import io.sluice.smtp.config.ListenerMode;

/**
 * Sluice to Sluice through {@code serve} with outbound SMTP AUTH: the front server's
 * {@code relay.host} is the back server's submission listener, which wants AUTH inside TLS
 * ({@code auth.users}); the front authenticates with {@code delivery.auth.<host>} from a file,
 * although its {@code tls.client.level} is {@code none} (credentials raise it to encrypt). A wrong
 * password keeps the mail queued, and the delivery log has the back server's 535, not the password.
 */
class AuthRelayEndToEndTest {
    private static final int MESSAGES = 4;
    private static final String PASSWORD = "correct horse:battery";

    @TempDir
    Path dir;

    private Map<String, String> back() throws IOException {
        Path users = dir.resolve("users");
        Files.writeString(users, "relay:" + PasswordHash.create(PASSWORD.toCharArray(), 10_000) + "\n");
        String template = dir.resolve("mail").toAbsolutePath() + "/{domain}/{user}";
        return Map.of("transport.*", "maildir:" + template, "auth.users", users.toString());
    }

    private Map<String, String> front(int backPort, String password) throws IOException {
        Path secret = dir.resolve("relay.auth");
        Files.writeString(secret, "relay:" + password + "\n");
        return Map.of("relay.host", "[127.0.0.1]:" + backPort, "delivery.auth.127.0.0.1", secret.toString(),
                "tls.client.level", "none", "tls.client.policy.127.0.0.1", "none", "delivery.concurrency", "1");
    }

    private static long count(Path folder) {
        if (!Files.isDirectory(folder)) {
            return 0;
        }
        try (Stream<Path> s = Files.list(folder)) {
            return s.count();
        } catch (IOException e) {
            return -1;
        }
    }

    @Test
    void relaysThroughAnAuthenticatedSubmissionListener() throws Exception {
        try (TestServer back = new TestServer(dir.resolve("back"), SmtpServer.Mode.SERVE, back());
             TestServer front = new TestServer(dir.resolve("front"), SmtpServer.Mode.SERVE,
                     front(back.address(ListenerMode.SUBMISSION).getPort(), PASSWORD))) {
            RelayEndToEndTest.submit(front.port(), MESSAGES);
            Path inbox = dir.resolve("mail/example.net/b/new");
            assertTrue(TestServer.await(Duration.ofSeconds(60), () -> count(inbox) == MESSAGES), "all relayed");
            assertTrue(TestServer.await(Duration.ofSeconds(20), () -> front.queued().isEmpty()), "front spool emptied");
            long auths = front.server.client().stats().authSucceeded();
            assertTrue(auths >= 1 && auths < MESSAGES, "one AUTH per connection, connections reused: " + auths);
            assertEquals(auths, front.server.client().stats().tlsHandshakes(), "every AUTH inside TLS");
        }
    }

    @Test
    void wrongPasswordStaysQueuedWithTheServersReplyInTheLog() throws Exception {
        ByteArrayOutputStream logged = new ByteArrayOutputStream();
        EventLog log = new EventLog(EventLog.Level.INFO, new PrintStream(logged, true, StandardCharsets.UTF_8));
        try (TestServer back = new TestServer(dir.resolve("back"), SmtpServer.Mode.SERVE, back());
             TestServer front = new TestServer(dir.resolve("front"), SmtpServer.Mode.SERVE,
                     front(back.address(ListenerMode.SUBMISSION).getPort(), "wrong:one"), log)) {
            RelayEndToEndTest.submit(front.port(), 1);
            assertTrue(TestServer.await(Duration.ofSeconds(30), () -> text(logged).contains("status=deferred")),
                    "a deferral logged: " + text(logged));
            String line = text(logged).lines().filter(l -> l.contains("status=deferred")).findFirst().orElseThrow();
            assertTrue(line.contains("535") && line.contains("in reply to AUTH PLAIN"), line);
            assertFalse(text(logged).contains("wrong:one") || text(logged).contains(PASSWORD), text(logged));
            assertEquals(1, front.queued().size(), "kept for a retry");
            assertEquals(0, count(dir.resolve("mail/example.net/b/new")));
        }
    }

    private static String text(ByteArrayOutputStream out) {
        synchronized (out) {
            return out.toString(StandardCharsets.UTF_8);
        }
    }
}
