package io.sluice.smtp.client;

import static io.sluice.smtp.delivery.RecipientResult.Outcome.DEFERRED;
import static io.sluice.smtp.delivery.RecipientResult.Outcome.DELIVERED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sluice.smtp.auth.PasswordHash;
import io.sluice.smtp.config.ClientTlsLevel;
import io.sluice.smtp.config.ListenerMode;
import io.sluice.smtp.config.SluiceConfig;
import io.sluice.smtp.delivery.RecipientResult;
import io.sluice.smtp.delivery.Route;
import io.sluice.smtp.server.EventLog;
import io.sluice.smtp.server.SmtpServer;

/**
 * Outbound SMTP AUTH (RFC 4954) to a smarthost: against our own submission listener (real TLS,
 * real PBKDF2 user database) and against the scripted {@link FakeNextHop} (to see the bytes).
 */
class OutboundAuthTest {
    private static final String BODY = "Subject: hi\r\n\r\nHello.\r\n";

    @TempDir
    Path dir;

    private static ClientSettings settings(AuthTable auth) {
        // The fake hop's certificate is self-signed: credentials need the explicit encrypt opt-out.
        return ClientSettings.defaults("client.test", new TlsPolicyTable(ClientTlsLevel.NONE, Map.of("127.0.0.1", ClientTlsLevel.ENCRYPT)))
                .withTimeouts(Duration.ofSeconds(10)).withAuth(auth);
    }

    private static AuthTable auth(String destination, String user, String password) {
        return new AuthTable(Map.of(destination, SmtpCredentials.of(destination, user, password)));
    }

    private static Route host(int port) {
        return new Route(Route.Kind.SMTP_HOST, "127.0.0.1", port, "");
    }

    /** Our own server: submission listener with AUTH inside TLS (embedded self-signed certificate). */
    private SmtpServer sluice(Map<String, String> users) throws Exception {
        StringBuilder file = new StringBuilder();
        users.forEach((u, p) -> file.append(u).append(':').append(PasswordHash.create(p.toCharArray(), 10_000)).append('\n'));
        Path usersFile = dir.resolve("users");
        Files.writeString(usersFile, file);
        Map<String, String> config = new HashMap<>();
        config.put("listen", "127.0.0.1:0 submission");
        config.put("hostname", "smarthost.test");
        config.put("spool.dir", dir.resolve("spool").toString());
        config.put("reactor.threads", "1");
        config.put("domains", "example.net");
        config.put("transport.*", "error:4.3.2 test server keeps mail queued");
        config.put("auth.users", usersFile.toString());
        return SmtpServer.start(SluiceConfig.load(null, config), SmtpServer.Mode.SERVE, EventLog.silent());
    }

    @Test
    void goodCredentialsDeliverToOurSubmissionListener() throws Exception {
        SmtpServer server = sluice(Map.of("alice", "s3cret pass"));
        try (ClientHarness harness = new ClientHarness(settings(auth("127.0.0.1", "alice", "s3cret pass")), dir)) {
            int port = server.boundAddress(ListenerMode.SUBMISSION).getPort();
            RecipientResult r = harness.deliver(host(port), "a@example.org", List.of("b@example.net"), BODY).get("b@example.net");
            assertEquals(DELIVERED, r.outcome(), r.reply());
            assertEquals(1, harness.client.stats().authSucceeded());
            assertEquals(1, harness.client.stats().tlsHandshakes(), "AUTH only after STARTTLS");
            assertEquals(1, server.spool().list().size(), "the smarthost queued it");
        } finally {
            server.close();
        }
    }

    @Test
    void wrongPasswordDefersWithTheServersText() throws Exception {
        SmtpServer server = sluice(Map.of("alice", "s3cret"));
        try (ClientHarness harness = new ClientHarness(settings(auth("127.0.0.1", "alice", "WRONG-pw")), dir)) {
            int port = server.boundAddress(ListenerMode.SUBMISSION).getPort();
            RecipientResult r = harness.deliver(host(port), "a@example.org", List.of("b@example.net"), BODY).get("b@example.net");
            assertEquals(DEFERRED, r.outcome(), r.reply());
            assertTrue(r.reply().contains("said: 535"), r.reply());
            assertTrue(r.reply().contains("in reply to AUTH PLAIN"), r.reply());
            assertFalse(r.reply().contains("WRONG-pw"), r.reply());
            assertFalse(r.reply().contains(Base64.getEncoder().encodeToString("\0alice\0WRONG-pw".getBytes(StandardCharsets.UTF_8))),
                    r.reply());
            assertEquals(454, r.replyCode(), r.reply());
            assertEquals("4.7.8", r.enhancedCode(), r.reply());
            assertEquals(0, server.spool().list().size());
        } finally {
            server.close();
        }
    }

    @Test
    void withoutAPolicyEntryCredentialsGoOnlyToAVerifiedCertificate() throws Exception {
        ClientSettings strict = ClientSettings.defaults("client.test", TlsPolicyTable.uniform(ClientTlsLevel.NONE))
                .withTimeouts(Duration.ofSeconds(10)).withAuth(auth("127.0.0.1", "user", "secret"));
        try (FakeNextHop fake = new FakeNextHop(); ClientHarness harness = new ClientHarness(strict, dir)) {
            fake.offerStartTls = true;
            fake.extraCapabilities = "AUTH PLAIN LOGIN";
            RecipientResult r = harness.deliver(host(fake.port()), "a@example.org", List.of("b@example.net"), BODY)
                    .get("b@example.net");
            assertEquals(DEFERRED, r.outcome(), r.reply());
            assertTrue(r.enhancedCode().startsWith("4.7."), r.reply());
            assertTrue(r.reply().contains("TLS handshake"), "the self-signed certificate is refused: " + r.reply());
            assertEquals(0, fake.tlsSessions.get(), "no TLS session, so no AUTH inside one");
            assertTrue(fake.commands.stream().noneMatch(c -> c.toUpperCase().contains("AUTH")), fake.commands.toString());
            assertTrue(fake.authenticated.isEmpty());
        }
    }

    @Test
    void noStartTlsOfferedDefersAndSendsNoAuthBytes() throws Exception {
        try (FakeNextHop fake = new FakeNextHop();
             ClientHarness harness = new ClientHarness(settings(auth("127.0.0.1", "user", "secret")), dir)) {
            fake.offerStartTls = false;
            fake.extraCapabilities = "AUTH PLAIN LOGIN";
            RecipientResult r = harness.deliver(host(fake.port()), "a@example.org", List.of("b@example.net"), BODY)
                    .get("b@example.net");
            assertEquals(DEFERRED, r.outcome(), r.reply());
            assertTrue(r.enhancedCode().startsWith("4.7."), r.reply());
            assertTrue(r.reply().contains("did not offer STARTTLS"), r.reply());
            assertTrue(r.reply().contains("credentials are sent only inside TLS"), r.reply());
            String seen = fake.plaintextReceived();
            assertTrue(seen.startsWith("EHLO client.test\r\n"), seen);
            assertFalse(seen.toUpperCase().contains("AUTH"), seen);
            assertFalse(seen.contains("secret") || seen.contains(Base64.getEncoder().encodeToString("secret".getBytes(StandardCharsets.US_ASCII))), seen);
            assertFalse(seen.contains("MAIL"), seen);
            assertTrue(fake.authenticated.isEmpty());
        }
    }

    @Test
    void failedHandshakeDefersAndSendsNoAuthBytes() throws Exception {
        try (FakeNextHop fake = new FakeNextHop();
             ClientHarness harness = new ClientHarness(settings(auth("127.0.0.1", "user", "secret")), dir)) {
            fake.offerStartTls = true;
            fake.tlsBehaviour = FakeNextHop.TlsBehaviour.GARBAGE;
            fake.extraCapabilities = "AUTH PLAIN LOGIN";
            RecipientResult r = harness.deliver(host(fake.port()), "a@example.org", List.of("b@example.net"), BODY)
                    .get("b@example.net");
            assertEquals(DEFERRED, r.outcome(), r.reply());
            assertTrue(r.enhancedCode().startsWith("4.7."), r.reply());
            assertEquals(1, fake.connections.get(), "no plaintext retry with credentials");
            assertFalse(fake.plaintextReceived().toUpperCase().contains("AUTH"), fake.plaintextReceived());
        }
    }

    @Test
    void plainWithInitialResponseNotPipelinedWithMail() throws Exception {
        try (FakeNextHop fake = new FakeNextHop();
             ClientHarness harness = new ClientHarness(settings(auth("127.0.0.1", "user", "secret")), dir)) {
            fake.offerStartTls = true;
            fake.extraCapabilities = "AUTH LOGIN PLAIN";
            fake.repliesOnlyAfterContentCommand = false;
            RecipientResult r = harness.deliver(host(fake.port()), "a@example.org", List.of("b@example.net"), BODY)
                    .get("b@example.net");
            assertEquals(DELIVERED, r.outcome(), r.reply());
            assertEquals(List.of("user"), fake.authenticated);
            String expected = "tls:AUTH PLAIN " + Base64.getEncoder().encodeToString("\0user\0secret".getBytes(StandardCharsets.UTF_8));
            List<String> cmds = fake.commands;
            int auth = cmds.indexOf(expected);
            assertTrue(auth > 0, cmds.toString());
            assertTrue(cmds.get(auth - 1).startsWith("tls:EHLO"), "AUTH after the EHLO inside TLS: " + cmds);
            assertTrue(cmds.get(auth + 1).startsWith("tls:MAIL FROM:"), cmds.toString());
            assertFalse(fake.plaintextReceived().toUpperCase().contains("AUTH"), fake.plaintextReceived());
        }
    }

    @Test
    void loginOnlyServer() throws Exception {
        try (FakeNextHop fake = new FakeNextHop();
             ClientHarness harness = new ClientHarness(settings(auth("127.0.0.1", "user", "sécret:x")), dir)) {
            fake.offerStartTls = true;
            fake.extraCapabilities = "AUTH=LOGIN";
            fake.authUsers.put("user", "sécret:x");
            RecipientResult r = harness.deliver(host(fake.port()), "a@example.org", List.of("b@example.net"), BODY)
                    .get("b@example.net");
            assertEquals(DELIVERED, r.outcome(), r.reply());
            assertEquals(List.of("user"), fake.authenticated);
            assertTrue(fake.commands.contains("tls:AUTH LOGIN"), fake.commands.toString());
        }
    }

    @Test
    void noUsableMechanismDefers() throws Exception {
        try (FakeNextHop fake = new FakeNextHop();
             ClientHarness harness = new ClientHarness(settings(auth("127.0.0.1", "user", "secret")), dir)) {
            fake.offerStartTls = true;
            fake.extraCapabilities = "AUTH CRAM-MD5 XOAUTH2";
            RecipientResult r = harness.deliver(host(fake.port()), "a@example.org", List.of("b@example.net"), BODY)
                    .get("b@example.net");
            assertEquals(DEFERRED, r.outcome(), r.reply());
            assertEquals("4.7.0", r.enhancedCode(), r.reply());
            assertTrue(r.reply().contains("neither AUTH PLAIN nor AUTH LOGIN"), r.reply());
            assertTrue(fake.commands.stream().noneMatch(c -> c.contains("AUTH") || c.contains("MAIL")), fake.commands.toString());
        }
    }

    @Test
    void temporaryAuthFailureDefersWithItsCode() throws Exception {
        try (FakeNextHop fake = new FakeNextHop();
             ClientHarness harness = new ClientHarness(settings(auth("127.0.0.1", "user", "secret")), dir)) {
            fake.offerStartTls = true;
            fake.extraCapabilities = "AUTH PLAIN";
            fake.replies.put("AUTH", "454 4.7.0 Temporary authentication failure");
            RecipientResult r = harness.deliver(host(fake.port()), "a@example.org", List.of("b@example.net"), BODY)
                    .get("b@example.net");
            assertEquals(DEFERRED, r.outcome(), r.reply());
            assertEquals(454, r.replyCode());
            assertTrue(r.reply().contains("said: 454 4.7.0 (in reply to AUTH PLAIN)"), r.reply());
            assertFalse(r.reply().contains("Temporary authentication failure"), "no server text: " + r.reply());
        }
    }

    @Test
    void echoedCredentialsStayOutOfTheReason() throws Exception {
        String b64 = Base64.getEncoder().encodeToString("\0user\0secret".getBytes(StandardCharsets.UTF_8));
        try (FakeNextHop fake = new FakeNextHop();
             ClientHarness harness = new ClientHarness(settings(auth("127.0.0.1", "user", "secret")), dir)) {
            fake.offerStartTls = true;
            fake.extraCapabilities = "AUTH PLAIN";
            fake.replies.put("AUTH", "535 5.7.8 bad response " + b64 + " (password secret)");
            RecipientResult r = harness.deliver(host(fake.port()), "a@example.org", List.of("b@example.net"), BODY)
                    .get("b@example.net");
            assertEquals(DEFERRED, r.outcome(), r.reply());
            assertFalse(r.reply().contains("secret") || r.reply().contains(b64), r.reply());
            assertTrue(r.reply().contains("said: 535 5.7.8 (in reply to AUTH PLAIN)"), r.reply());
            assertFalse(r.reply().contains("bad response"), "no server text at all: " + r.reply());
        }
    }

    @Test
    void unexpectedChallengeIsCancelled() throws Exception {
        try (FakeNextHop fake = new FakeNextHop();
             ClientHarness harness = new ClientHarness(settings(auth("127.0.0.1", "user", "secret")), dir)) {
            fake.offerStartTls = true;
            fake.extraCapabilities = "AUTH PLAIN";
            fake.replies.put("AUTH", "334 bW9yZT8=");
            RecipientResult r = harness.deliver(host(fake.port()), "a@example.org", List.of("b@example.net"), BODY)
                    .get("b@example.net");
            assertEquals(DEFERRED, r.outcome(), r.reply());
            assertTrue(fake.commands.contains("auth-response:*"), fake.commands.toString());
            assertTrue(r.reply().contains("cancelled"), r.reply());
        }
    }

    /**
     * Three MX destinations on one next hop (same address, same MX name): two authenticate as
     * different users, one not at all. A pooled connection serves only its own identity.
     */
    @Test
    void pooledConnectionsKeepIdentitiesApart() throws Exception {
        Map<String, SmtpCredentials> table = Map.of(
                "a.test", SmtpCredentials.of("a.test", "alice", "pa"),
                "b.test", SmtpCredentials.of("b.test", "bob", "pb"));
        ClientSettings settings = ClientSettings.defaults("client.test", new TlsPolicyTable(ClientTlsLevel.NONE,
                Map.of("a.test", ClientTlsLevel.ENCRYPT, "b.test", ClientTlsLevel.ENCRYPT))) // self-signed fake
                .withTimeouts(Duration.ofSeconds(10)).withAuth(new AuthTable(table));
        try (FakeNextHop fake = new FakeNextHop(); ClientHarness harness = new ClientHarness(settings, dir)) {
            fake.offerStartTls = true;
            fake.extraCapabilities = "AUTH PLAIN";
            fake.authUsers.putAll(Map.of("alice", "pa", "bob", "pb"));
            for (String domain : List.of("a.test", "b.test", "c.test")) {
                harness.dns.put(domain, List.of(ClientHarness.hop("mx.test", fake.port())));
            }
            for (String domain : List.of("a.test", "b.test", "a.test", "c.test", "b.test", "c.test")) {
                String rcpt = "x@" + domain;
                RecipientResult r = harness.deliver(new Route(Route.Kind.SMTP_MX, domain, 25, ""), "s@example.org",
                        List.of(rcpt), BODY).get(rcpt);
                assertEquals(DELIVERED, r.outcome(), domain + ": " + r.reply());
            }
            assertEquals(List.of("alice", "bob"), fake.authenticated, "one AUTH per identity, each on its own connection");
            assertEquals(3, fake.connections.get(), "alice's, bob's and the unauthenticated one");
            assertEquals(3, harness.client.stats().connectionsReused());
            assertEquals(2, harness.client.stats().authSucceeded());
            long plaintextMail = fake.commands.stream().filter(c -> c.startsWith("MAIL")).count();
            assertEquals(2, plaintextMail, "c.test (no credentials, level none) went in plaintext, twice: " + fake.commands);
        }
    }
}
