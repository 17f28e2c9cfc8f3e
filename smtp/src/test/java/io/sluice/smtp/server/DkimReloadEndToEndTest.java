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
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sluice.smtp.dkim.DkimKey;
import io.sluice.smtp.dkim.DkimTestVerifier;
import io.sluice.smtp.dkim.TestKeys;

/**
 * A DKIM key file replaced under the same path (the same selector, its DNS record updated) signs
 * the next relayed message after a reload, as the new key's record verifies and the old one's no
 * longer does; a broken replacement keeps the key in use, with a WARN that shows no key material.
 */
class DkimReloadEndToEndTest {
    @TempDir
    Path dir;

    private final ByteArrayOutputStream logged = new ByteArrayOutputStream();

    private String log() {
        synchronized (logged) {
            return logged.toString(StandardCharsets.UTF_8);
        }
    }

    private static List<Path> files(Path folder) {
        if (!Files.isDirectory(folder)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(folder)) {
            return s.sorted().collect(Collectors.toList());
        } catch (IOException e) {
            return List.of();
        }
    }

    private static void submit(int port, String subject) throws IOException {
        try (TestServer.Client c = new TestServer.Client(port)) {
            c.reply();
            c.send("EHLO client.example\r\n");
            c.reply();
            c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n");
            assertTrue(c.reply().startsWith("250"));
            assertTrue(c.reply().startsWith("250"));
            assertTrue(c.reply().startsWith("354"));
            c.send("From: a@example.org\r\nTo: b@example.net\r\nSubject: " + subject + "\r\n\r\nbody\r\n.\r\n");
            String queued = c.reply();
            assertTrue(queued.startsWith("250 2.0.0 Ok: queued as "), queued);
            c.send("QUIT\r\n");
        }
    }

    /** Relays one message and returns it as the back server stored it. */
    private byte[] relay(TestServer front, String subject) throws Exception {
        Path inbox = dir.resolve("mail/example.net/b/new");
        int before = files(inbox).size();
        submit(front.port(), subject);
        assertTrue(TestServer.await(Duration.ofSeconds(30), () -> files(inbox).size() == before + 1), subject + " relayed");
        for (Path file : files(inbox)) {
            byte[] stored = Files.readAllBytes(file);
            if (new String(stored, StandardCharsets.ISO_8859_1).contains("Subject: " + subject + "\r\n")) {
                return stored;
            }
        }
        throw new AssertionError(subject + " not stored");
    }

    private static boolean verifies(byte[] message, DkimKey key) {
        return DkimTestVerifier.verify(message, Map.of(key.recordName(), key.recordText())::get).pass();
    }

    @Test
    void aReplacedKeySignsTheNextMessageAndABrokenOneKeepsIt() throws Exception {
        Path keyFile = dir.resolve("example.org.pem");
        TestKeys.write(keyFile, TestKeys.pkcs8("Ed25519", 0));
        DkimKey first = DkimKey.load("example.org", "s2026", keyFile);
        String template = dir.resolve("mail").toAbsolutePath() + "/{domain}/{user}";
        try (TestServer back = new TestServer(dir.resolve("back"), SmtpServer.Mode.SERVE,
                Map.of("transport.*", "maildir:" + template, "domains", "example.net"))) {
            Map<String, String> front = new HashMap<>();
            front.put("hostname", "mx.example.org");
            front.put("relay.host", "[127.0.0.1]:" + back.port());
            front.put("tls.client.level", "none");
            front.put("reload.poll_interval", "0s");
            front.put("dkim.example.org.selector", "s2026");
            front.put("dkim.example.org.key", keyFile.toString());
            EventLog log = new EventLog(EventLog.Level.INFO, new PrintStream(logged, true, StandardCharsets.UTF_8));
            try (log; TestServer sender = new TestServer(dir.resolve("front"), SmtpServer.Mode.SERVE, front, log)) {
                ConfigReloader reloader = sender.server.reloader();
                assertTrue(verifies(relay(sender, "before"), first), "signed with the key of the start");

                byte[] secondDer = TestKeys.pkcs8("Ed25519", 0);
                TestKeys.write(keyFile, secondDer);
                DkimKey second = DkimKey.load("example.org", "s2026", keyFile);
                ConfigReloader.Outcome renewed = reloader.reload("dkim");
                assertTrue(renewed.succeeded(), renewed.detail());
                assertTrue(renewed.detail().startsWith("keys=1 renewed=1: example.org s=s2026 renewed ed25519-sha256"),
                        renewed.detail());
                byte[] after = relay(sender, "after");
                assertTrue(verifies(after, second), "signed with the new key");
                assertFalse(verifies(after, first), "not with the old one");

                String garbage = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0IGJ5dGVzIHRoYXQgYXJlIG5vdCBhIGtleQ==\n-----END PRIVATE KEY-----\n";
                Files.writeString(keyFile, garbage, StandardCharsets.US_ASCII);
                ConfigReloader.Outcome broken = reloader.reload("dkim");
                assertFalse(broken.succeeded(), broken.detail());
                assertTrue(broken.detail().contains("kept the key in use: ") && broken.detail().contains("not an RSA or Ed25519 key"),
                        broken.detail());
                assertTrue(verifies(relay(sender, "kept"), second), "a broken replacement keeps the key in use");

                assertEquals(1, reloader.reloads("dkim"));
                assertEquals(1, reloader.failedReloads("dkim"));
                assertEquals(0, sender.server.client().dkim().stats().failedCount());
                assertTrue(TestServer.await(Duration.ofSeconds(10), () -> log().contains(" WARN reload what=dkim")), log());
                List<String> warnings = log().lines().filter(l -> l.contains(" WARN reload what=dkim")).toList();
                assertEquals(1, warnings.size(), log());
                assertFalse(warnings.get(0).contains("c2VjcmV0"), "no key material: " + warnings.get(0));
                String secondBase64 = Base64.getEncoder().encodeToString(secondDer);
                assertFalse(log().contains(secondBase64.substring(secondBase64.length() - 20)), "no key material logged");
            }
        }
    }
}
