package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sluice.smtp.auth.Authenticator;
import io.sluice.smtp.auth.PasswordHash;
import io.sluice.smtp.auth.UserDatabase;
import io.sluice.smtp.config.ListenerMode;

/**
 * auth.users reloads without a restart: through the server's reloader and through the file
 * poller; a new user gets in on a new session, a removed one is refused, a live session stays
 * authenticated, an AUTH under way finishes against the users it started with, a broken file keeps
 * the users in use with one WARN, and the failure brake survives a reload.
 */
class UsersReloadTest {
    private static final String ALICE = "alice-secret";
    private static final String BOB = "bob-secret";

    @TempDir
    Path dir;

    private final ByteArrayOutputStream logged = new ByteArrayOutputStream();

    private static String line(String user, String password) {
        return user + ":" + PasswordHash.create(password.toCharArray(), 10_000) + "\n";
    }

    private TestServer server(Path users, String pollInterval) throws IOException {
        EventLog log = new EventLog(EventLog.Level.INFO, new PrintStream(logged, true, StandardCharsets.UTF_8));
        Map<String, String> settings = new HashMap<>();
        settings.put("auth.users", users.toString());
        settings.put("reload.poll_interval", pollInterval);
        return new TestServer(dir.resolve("server"), SmtpServer.Mode.SERVE, settings, log);
    }

    private String log() {
        synchronized (logged) {
            return logged.toString(StandardCharsets.UTF_8);
        }
    }

    /** A new implicit-TLS session, greeted and EHLO'd. */
    private static TestServer.Client session(TestServer server) throws Exception {
        Socket plain = new Socket("127.0.0.1", server.address(ListenerMode.SMTPS).getPort());
        TestServer.Client c = new TestServer.Client(ServerSocketTest.handshake(plain));
        assertTrue(c.reply().startsWith("220 "));
        c.send("EHLO client.example\r\n");
        assertTrue(c.reply().contains("AUTH PLAIN LOGIN"));
        return c;
    }

    private static String authPlain(TestServer.Client c, String user, String password) throws IOException {
        String plain = Base64.getEncoder().encodeToString(("\0" + user + "\0" + password).getBytes(StandardCharsets.UTF_8));
        c.send("AUTH PLAIN " + plain + "\r\n");
        return c.reply();
    }

    /** The reply code of AUTH PLAIN on a new session, which is then closed. */
    private static String authenticates(TestServer server, String user, String password) throws Exception {
        try (TestServer.Client c = session(server)) {
            return authPlain(c, user, password).substring(0, 3);
        }
    }

    /** RCPT to a domain we do not serve: only an authenticated session may relay. */
    private static String relayRcpt(TestServer.Client c) throws IOException {
        c.send("MAIL FROM:<a@example.org>\r\n");
        assertTrue(c.reply().startsWith("250"));
        c.send("RCPT TO:<x@elsewhere.example>\r\n");
        String reply = c.reply();
        c.send("RSET\r\n");
        c.reply();
        return reply.substring(0, 3);
    }

    @Test
    void reloadThroughTheServerTakesNewUsersKeepsLiveSessionsAndTheBrake() throws Exception {
        Path users = Files.writeString(dir.resolve("users"), line("alice", ALICE));
        try (TestServer server = server(users, "0s");
             TestServer.Client live = session(server)) {
            assertEquals("235", authPlain(live, "alice", ALICE).substring(0, 3));
            assertEquals("535", authenticates(server, "bob", BOB), "bob is not a user yet");
            long brake = server.server.authenticator().failureDelayNanos(InetAddress.getLoopbackAddress());
            assertTrue(brake > 0, "a failure slows the next answer");

            Files.writeString(users, "# alice left\n" + line("bob", BOB));
            ConfigReloader.Outcome outcome = server.server.reloader().reload("users");
            assertTrue(outcome.succeeded(), outcome.detail());
            assertTrue(outcome.detail().startsWith("users=1 "), outcome.detail());

            assertEquals(brake, server.server.authenticator().failureDelayNanos(InetAddress.getLoopbackAddress()),
                    "the failure brake survives the reload (a success, next, clears it)");
            assertEquals("235", authenticates(server, "bob", BOB), "a new user on a new session");
            assertEquals("250", relayRcpt(live), "a session authenticated before the reload stays so");
            assertEquals("535", authenticates(server, "alice", ALICE), "a removed user is refused");
            assertEquals(1, server.server.reloader().reloads("users"));
            assertEquals(0, server.server.reloader().failedReloads("users"));
            assertTrue(TestServer.await(Duration.ofSeconds(10), () -> log().lines().anyMatch(
                    l -> l.contains(" INFO reload what=users ok=true trigger=api") && l.contains("users=1"))), log());
        }
    }

    @Test
    void anAuthUnderWayIsCheckedAgainstTheUsersItStartedWith() throws Exception {
        Path users = Files.writeString(dir.resolve("users"), line("alice", ALICE));
        try (TestServer server = server(users, "0s");
             TestServer.Client c = session(server)) {
            c.send("AUTH LOGIN\r\n");
            assertTrue(c.reply().startsWith("334 "), "asks for the user name");
            Files.writeString(users, line("bob", BOB));
            assertTrue(server.server.reloader().reload("users").succeeded());
            c.send(Base64.getEncoder().encodeToString("alice".getBytes(StandardCharsets.UTF_8)) + "\r\n");
            assertTrue(c.reply().startsWith("334 "), "asks for the password");
            c.send(Base64.getEncoder().encodeToString(ALICE.getBytes(StandardCharsets.UTF_8)) + "\r\n");
            assertEquals("235", c.reply().substring(0, 3), "started before the reload: alice was a user then");
            assertEquals("535", authenticates(server, "alice", ALICE), "a new AUTH sees the reloaded users");
        }
    }

    @Test
    void thePollerReloadsAChangedFileAndWarnsOnceAboutABrokenOne() throws Exception {
        Path users = Files.writeString(dir.resolve("users"), line("alice", ALICE));
        try (TestServer server = server(users, "100ms")) {
            ConfigReloader reloader = server.server.reloader();
            String bobHash = PasswordHash.create(BOB.toCharArray(), 10_000);
            Files.writeString(users, line("alice", ALICE) + "bob " + bobHash + "\n");
            assertTrue(TestServer.await(Duration.ofSeconds(10), () -> reloader.failedReloads("users") == 1),
                    "the broken file is noticed: " + log());
            // The log has its own writer thread: the line may come a moment after the count.
            assertTrue(TestServer.await(Duration.ofSeconds(10), () -> log().contains(" WARN reload what=users")), log());
            long polls = reloader.polls();
            assertTrue(TestServer.await(Duration.ofSeconds(10), () -> reloader.polls() >= polls + 4), "polls go on");
            assertEquals(1, reloader.failedReloads("users"), "a broken file is tried once, not on every poll");
            assertEquals(0, reloader.reloads("users"));
            String warn = log().lines().filter(l -> l.contains(" WARN reload what=users")).reduce((a, b) -> a + "\n" + b)
                    .orElseThrow();
            assertFalse(warn.contains("\n"), "one WARN: " + warn);
            assertTrue(warn.contains("ok=false trigger=file") && warn.contains(users + ":2: expected user:hash")
                    && warn.contains("still 1 users"), warn);
            assertFalse(warn.contains(bobHash.substring(20)), "no hash in the log: " + warn);
            assertEquals("235", authenticates(server, "alice", ALICE), "the users in use stay");
            assertEquals(1, server.server.authenticator().users().size());

            Files.writeString(users, line("alice", ALICE) + line("bob", BOB));
            assertTrue(TestServer.await(Duration.ofSeconds(10), () -> reloader.reloads("users") == 1),
                    "the fixed file is loaded: " + log());
            assertEquals("235", authenticates(server, "bob", BOB));
            assertTrue(TestServer.await(Duration.ofSeconds(10),
                    () -> log().contains("reload what=users ok=true trigger=file detail=\"users=2 from ")), log());
        }
    }

    /**
     * A users file caught empty (a config tool's {@code cat > users}, a SIGHUP while it is being
     * rewritten) keeps the users in use: at start no users means AUTH off, which a reload cannot do.
     */
    @Test
    void aUsersFileCaughtEmptyKeepsTheUsersInUse() throws Exception {
        Path file = Files.writeString(dir.resolve("users"), line("alice", ALICE), StandardCharsets.UTF_8);
        try (Authenticator auth = new Authenticator(UserDatabase.load(file), 1, 4)) {
            Files.writeString(file, "", StandardCharsets.UTF_8); // truncated, not yet rewritten
            ConfigReloader.Outcome outcome = ReloadParts.users(auth, file).reload().get();
            assertFalse(outcome.succeeded(), outcome.detail());
            assertTrue(outcome.detail().contains("empty"), outcome.detail());
            assertEquals(1, auth.users().size());
        }
    }
}
