package io.sluice.smtp.client;

import static io.sluice.smtp.delivery.RecipientResult.Outcome.DEFERRED;
import static io.sluice.smtp.delivery.RecipientResult.Outcome.DELIVERED;
import static io.sluice.smtp.delivery.RecipientResult.Outcome.FAILED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sluice.smtp.config.ClientTlsLevel;
import io.sluice.smtp.delivery.RecipientResult;
import io.sluice.smtp.delivery.Route;
import io.sluice.smtp.spool.BodyType;

/**
 * The outbound client against {@link FakeNextHop}: every failure at every stage, and under each
 * TLS level what it did (delivered, deferred, bounced) and what it sent in plaintext.
 */
class SmtpClientScriptedTest {
    private static final String MESSAGE = "Subject: hi\r\n\r\nHello.\r\n.leading dot\r\n";

    @TempDir
    Path dir;

    private FakeNextHop fake;
    private ClientHarness harness;

    @AfterEach
    void tearDown() throws Exception {
        if (harness != null) {
            harness.close();
        }
        if (fake != null) {
            fake.close();
        }
    }

    private ClientHarness start(ClientTlsLevel level) throws Exception {
        fake = fake == null ? new FakeNextHop() : fake;
        ClientSettings settings = ClientSettings.defaults("client.test", TlsPolicyTable.uniform(level))
                .withTimeouts(Duration.ofSeconds(10));
        harness = new ClientHarness(settings, dir);
        return harness;
    }

    private void restart(ClientTlsLevel level) throws Exception {
        harness.close();
        harness = new ClientHarness(ClientSettings.defaults("client.test", TlsPolicyTable.uniform(level))
                .withTimeouts(Duration.ofSeconds(10)), dir);
    }

    private Route route() {
        return new Route(Route.Kind.SMTP_HOST, "127.0.0.1", fake.port(), "");
    }

    private Map<String, RecipientResult> send(String... recipients) throws Exception {
        return harness.deliver(route(), "a@example.org", List.of(recipients), MESSAGE);
    }

    private RecipientResult sendOne() throws Exception {
        return send("b@example.net").get("b@example.net");
    }

    private boolean plaintextHasMail() {
        return fake.plaintextReceived().contains("MAIL FROM");
    }

    @Test
    void deliversPipelinedAndDotStuffed() throws Exception {
        start(ClientTlsLevel.MAY);
        RecipientResult r = sendOne();
        assertEquals(DELIVERED, r.outcome(), r.reply());
        assertTrue(r.text().contains("said: 250 2.0.0 queued"), r.text());
        assertEquals(List.of("Subject: hi\r\n\r\nHello.\r\n..leading dot\r\n"), fake.messages);
        assertTrue(fake.commands.contains("MAIL FROM:<a@example.org>"), fake.commands.toString());
        assertTrue(fake.commands.contains("RCPT TO:<b@example.net>"), fake.commands.toString());
    }

    @Test
    void greeting4xxDefersAnd5xxBounces() throws Exception {
        start(ClientTlsLevel.MAY);
        fake.replies.put("GREETING", "421 4.3.2 busy");
        RecipientResult r = sendOne();
        assertEquals(DEFERRED, r.outcome());
        assertEquals("4.3.2", r.enhancedCode());
        fake.replies.put("GREETING", "554 5.7.1 go away");
        r = sendOne();
        assertEquals(FAILED, r.outcome());
        assertTrue(r.reply().contains("said: 554 5.7.1 go away (in reply to the greeting)"), r.reply());
    }

    @Test
    void ehlo5xxFallsBackToHelo() throws Exception {
        start(ClientTlsLevel.MAY);
        fake.replies.put("EHLO", "502 5.5.2 no ESMTP here");
        assertEquals(DELIVERED, sendOne().outcome());
        assertTrue(fake.commands.contains("HELO client.test"), fake.commands.toString());
    }

    @Test
    void ehlo4xxDefers() throws Exception {
        start(ClientTlsLevel.MAY);
        fake.replies.put("EHLO", "421 4.7.0 later");
        assertEquals(DEFERRED, sendOne().outcome());
    }

    @Test
    void mailFromRepliesDecideForEveryRecipient() throws Exception {
        start(ClientTlsLevel.MAY);
        fake.replies.put("MAIL", "452 4.3.1 full");
        Map<String, RecipientResult> r = send("b@example.net", "c@example.net");
        assertEquals(DEFERRED, r.get("b@example.net").outcome());
        assertEquals(DEFERRED, r.get("c@example.net").outcome());
        fake.replies.put("MAIL", "550 5.7.1 sender refused");
        r = send("b@example.net", "c@example.net");
        assertEquals(FAILED, r.get("b@example.net").outcome());
        assertEquals("5.7.1", r.get("c@example.net").enhancedCode());
        assertTrue(fake.messages.isEmpty(), "no content after a refused MAIL");
    }

    @Test
    void eachRecipientGetsItsOwnReply() throws Exception {
        start(ClientTlsLevel.MAY);
        fake.byRecipient.put("unknown@example.net", "550 5.1.1 no such user");
        fake.byRecipient.put("later@example.net", "450 4.2.1 try later");
        Map<String, RecipientResult> r = send("b@example.net", "unknown@example.net", "later@example.net");
        assertEquals(DELIVERED, r.get("b@example.net").outcome());
        RecipientResult unknown = r.get("unknown@example.net");
        assertEquals(FAILED, unknown.outcome());
        assertEquals(550, unknown.replyCode());
        assertEquals("5.1.1", unknown.enhancedCode());
        assertTrue(unknown.text().endsWith("said: 550 5.1.1 no such user (in reply to RCPT TO:<unknown@example.net>)"),
                unknown.text());
        assertEquals(DEFERRED, r.get("later@example.net").outcome());
        assertEquals(1, fake.messages.size());
    }

    @Test
    void dataAndFinalDotReplies() throws Exception {
        start(ClientTlsLevel.MAY);
        fake.replies.put("DATA", "554 5.5.1 no valid recipients");
        assertEquals(FAILED, sendOne().outcome());
        fake.replies.put("DATA", "451 4.3.0 later");
        assertEquals(DEFERRED, sendOne().outcome());
        fake.replies.put("DATA", "354 go");
        fake.replies.put("DOT", "451 4.3.0 spool trouble");
        assertEquals(DEFERRED, sendOne().outcome());
        fake.replies.put("DOT", "552 5.3.4 too big");
        RecipientResult r = sendOne();
        assertEquals(FAILED, r.outcome());
        assertEquals("5.3.4", r.enhancedCode());
    }

    @Test
    void disconnectMidDataDefers() throws Exception {
        start(ClientTlsLevel.MAY);
        fake.dropAfterContentOctets = 10;
        StringBuilder big = new StringBuilder("Subject: big\r\n\r\n");
        for (int i = 0; i < 2000; i++) {
            big.append("line ").append(i).append("\r\n");
        }
        RecipientResult r = harness.deliver(route(), "a@example.org", List.of("b@example.net"), big.toString())
                .get("b@example.net");
        assertEquals(DEFERRED, r.outcome(), r.reply());
        assertTrue(r.text().contains("lost connection"), r.text());
    }

    @Test
    void noGreetingTimesOutAndDefers() throws Exception {
        try (ServerSocket silent = new ServerSocket()) {
            silent.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            ClientSettings settings = ClientSettings.defaults("client.test", TlsPolicyTable.uniform(ClientTlsLevel.MAY))
                    .withTimeouts(Duration.ofMillis(300));
            harness = new ClientHarness(settings, dir);
            RecipientResult r = harness.deliver(new Route(Route.Kind.SMTP_HOST, "127.0.0.1", silent.getLocalPort(), ""),
                    "a@example.org", List.of("b@example.net"), MESSAGE).get("b@example.net");
            assertEquals(DEFERRED, r.outcome());
            assertTrue(r.text().contains("timeout while waiting for the greeting"), r.text());
        }
    }

    @Test
    void connectionRefusedMovesToTheNextMx() throws Exception {
        start(ClientTlsLevel.MAY);
        int closedPort;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        harness.dns.put("example.net", List.of(ClientHarness.hop("dead.test", closedPort), ClientHarness.hop("mx.test", fake.port())));
        RecipientResult r = harness.deliver(new Route(Route.Kind.SMTP_MX, "example.net", 25, ""), "a@example.org",
                List.of("b@example.net"), MESSAGE).get("b@example.net");
        assertEquals(DELIVERED, r.outcome(), r.reply());
        assertTrue(r.text().startsWith("mx.test["), r.text());
    }

    @Test
    void greeting4xxMovesToTheNextMxAndAllFailingDefers() throws Exception {
        start(ClientTlsLevel.MAY);
        fake.replies.put("GREETING", "421 4.3.2 busy");
        try (FakeNextHop second = new FakeNextHop()) {
            harness.dns.put("example.net", List.of(ClientHarness.hop("a.test", fake.port()), ClientHarness.hop("b.test", second.port())));
            Route mx = new Route(Route.Kind.SMTP_MX, "example.net", 25, "");
            assertEquals(DELIVERED, harness.deliver(mx, "a@example.org", List.of("b@example.net"), MESSAGE)
                    .get("b@example.net").outcome());
            assertEquals(1, second.messages.size());
            second.replies.put("GREETING", "421 4.3.2 busy too");
            restart(ClientTlsLevel.MAY);
            harness.dns.put("example.net", List.of(ClientHarness.hop("a.test", fake.port()), ClientHarness.hop("b.test", second.port())));
            RecipientResult r = harness.deliver(mx, "a@example.org", List.of("b@example.net"), MESSAGE).get("b@example.net");
            assertEquals(DEFERRED, r.outcome());
            assertTrue(r.text().contains("busy too"), r.text());
        }
    }

    @Test
    void permanentLookupFailureBounces() throws Exception {
        start(ClientTlsLevel.MAY);
        RecipientResult r = harness.deliver(new Route(Route.Kind.SMTP_MX, "nowhere.test", 25, ""), "a@example.org",
                List.of("b@nowhere.test"), MESSAGE).get("b@nowhere.test");
        assertEquals(FAILED, r.outcome());
        assertEquals("5.1.2", r.enhancedCode());
    }

    @Test
    void sizeLimitIsHonoured() throws Exception {
        start(ClientTlsLevel.MAY);
        fake.extraCapabilities = "SIZE 20";
        RecipientResult r = sendOne();
        assertEquals(FAILED, r.outcome());
        assertEquals("5.3.4", r.enhancedCode());
        assertFalse(fake.commands.stream().anyMatch(c -> c.startsWith("MAIL")), "nothing sent");
        fake.extraCapabilities = "SIZE 100000";
        restart(ClientTlsLevel.MAY); // the idle connection still knows the old limit
        assertEquals(DELIVERED, sendOne().outcome());
        assertTrue(fake.commands.stream().anyMatch(c -> c.startsWith("MAIL FROM:<a@example.org> SIZE=")), fake.commands.toString());
    }

    @Test
    void smtpUtf8AndEightBitNeedTheExtensions() throws Exception {
        start(ClientTlsLevel.MAY);
        fake.replies.put("EHLO", "250-fake.test\r\n250 PIPELINING");
        byte[] eightBit = "Subject: caf\u00e9\r\n\r\nna\u00efve\r\n".getBytes(StandardCharsets.UTF_8);
        RecipientResult r = harness.deliver(route(), "a@example.org", List.of("b@example.net"), eightBit,
                BodyType.EIGHT_BIT_MIME, false).get("b@example.net");
        assertEquals(FAILED, r.outcome());
        assertEquals("5.6.3", r.enhancedCode());
        r = harness.deliver(route(), "a@example.org", List.of("b\u00fc@example.net"), MESSAGE.getBytes(StandardCharsets.UTF_8),
                BodyType.SEVEN_BIT, true).get("b\u00fc@example.net");
        assertEquals(FAILED, r.outcome());
        assertEquals("5.6.7", r.enhancedCode());
        fake.replies.remove("EHLO");
        restart(ClientTlsLevel.MAY);
        r = harness.deliver(route(), "a@example.org", List.of("b@example.net"), eightBit, BodyType.EIGHT_BIT_MIME, false)
                .get("b@example.net");
        assertEquals(DELIVERED, r.outcome());
        assertTrue(fake.commands.contains("MAIL FROM:<a@example.org> BODY=8BITMIME"), fake.commands.toString());
    }

    @Test
    void longLinesAreWrappedAndBareNewlinesBecomeCrlf() throws Exception {
        start(ClientTlsLevel.MAY);
        String content = "Subject: " + "h".repeat(1500) + "\r\n\r\nbare\nlf and bare\rcr\r\n" + "b".repeat(2500) + "\r\n";
        assertEquals(DELIVERED, harness.deliver(route(), "a@example.org", List.of("b@example.net"), content)
                .get("b@example.net").outcome());
        String got = fake.messages.get(0);
        for (String line : got.split("\r\n")) {
            assertTrue(line.length() <= 998, "line of " + line.length());
        }
        assertTrue(got.contains("\r\nbare\r\nlf and bare\r\ncr\r\n"), got);
        assertTrue(got.startsWith("Subject: " + "h".repeat(989) + "\r\n " + "h".repeat(511) + "\r\n"), "header folded");
        assertEquals(content.chars().filter(c -> c == 'b').count(), got.chars().filter(c -> c == 'b').count(), "body bytes kept");
    }

    @Test
    void connectionIsReusedWithRsetBetweenMessages() throws Exception {
        start(ClientTlsLevel.MAY);
        for (int i = 0; i < 5; i++) {
            assertEquals(DELIVERED, sendOne().outcome());
        }
        assertEquals(1, fake.connections.get());
        assertEquals(4, fake.commands.stream().filter(c -> c.equals("RSET")).count());
        assertEquals(5, fake.messages.size());
        assertEquals(4, harness.client.stats().connectionsReused());
    }

    // ---------------------------------------------------------------- TLS policy

    @Test
    void mayUsesStarttlsWhenOffered() throws Exception {
        start(ClientTlsLevel.MAY);
        fake.offerStartTls = true;
        assertEquals(DELIVERED, sendOne().outcome());
        assertEquals(1, fake.tlsSessions.get());
        assertTrue(fake.commands.contains("tls:EHLO client.test"), fake.commands.toString());
        assertTrue(fake.commands.contains("tls:MAIL FROM:<a@example.org>"), fake.commands.toString());
        assertFalse(plaintextHasMail());
    }

    @Test
    void starttlsNotOfferedMayDeliversEncryptDefers() throws Exception {
        start(ClientTlsLevel.MAY);
        assertEquals(DELIVERED, sendOne().outcome());
        harness.close();
        harness = null;
        fake.close();
        fake = null;
        start(ClientTlsLevel.ENCRYPT);
        RecipientResult r = sendOne();
        assertEquals(DEFERRED, r.outcome());
        assertTrue(r.text().contains("did not offer STARTTLS"), r.text());
        assertFalse(plaintextHasMail(), fake.plaintextReceived());
    }

    @Test
    void starttls454MayGoesOnInPlaintextEncryptDefers() throws Exception {
        start(ClientTlsLevel.ENCRYPT);
        fake.offerStartTls = true;
        fake.replies.put("STARTTLS", "454 4.7.0 TLS not available");
        RecipientResult r = sendOne();
        assertEquals(DEFERRED, r.outcome());
        assertTrue(r.text().contains("refused STARTTLS: 454"), r.text());
        assertFalse(plaintextHasMail(), fake.plaintextReceived());
        harness.close();
        harness = new ClientHarness(ClientSettings.defaults("client.test", TlsPolicyTable.uniform(ClientTlsLevel.MAY))
                .withTimeouts(Duration.ofSeconds(10)), dir);
        assertEquals(DELIVERED, sendOne().outcome());
        assertTrue(plaintextHasMail());
    }

    @Test
    void garbageHandshakeMayRetriesInPlaintextOnANewConnectionEncryptDefers() throws Exception {
        start(ClientTlsLevel.ENCRYPT);
        fake.offerStartTls = true;
        fake.tlsBehaviour = FakeNextHop.TlsBehaviour.GARBAGE;
        RecipientResult r = sendOne();
        assertEquals(DEFERRED, r.outcome());
        assertTrue(r.text().contains("TLS handshake"), r.text());
        assertFalse(plaintextHasMail(), fake.plaintextReceived());
        assertEquals(1, fake.connections.get());
        harness.close();
        harness = new ClientHarness(ClientSettings.defaults("client.test", TlsPolicyTable.uniform(ClientTlsLevel.MAY))
                .withTimeouts(Duration.ofSeconds(10)), dir);
        int before = fake.connections.get();
        assertEquals(DELIVERED, sendOne().outcome());
        assertEquals(before + 2, fake.connections.get(), "the plaintext retry is a new connection");
        assertTrue(plaintextHasMail(), fake.plaintextReceived());
        List<String> byConnection = fake.plaintextByConnection();
        assertFalse(byConnection.get(before).contains("MAIL FROM"), byConnection.get(before));
        assertTrue(byConnection.get(before + 1).contains("MAIL FROM"), byConnection.get(before + 1));
    }

    @Test
    void verifyChecksTheNameAndTheChain() throws Exception {
        Path ca = dir.resolve("ca.pem");
        Files.writeString(ca, FakeNextHop.certificatePem());
        fake = new FakeNextHop();
        fake.offerStartTls = true;
        harness = new ClientHarness(ClientSettings.defaults("client.test", TlsPolicyTable.uniform(ClientTlsLevel.VERIFY))
                .withTimeouts(Duration.ofSeconds(10)).withTls(TlsPolicyTable.uniform(ClientTlsLevel.VERIFY), Optional.of(ca), false), dir);
        harness.dns.put("wrong.example", List.of(ClientHarness.hop("wrong.test", fake.port())));
        harness.dns.put("right.example", List.of(ClientHarness.hop("mx.test", fake.port())));
        RecipientResult wrong = harness.deliver(new Route(Route.Kind.SMTP_MX, "wrong.example", 25, ""), "a@example.org",
                List.of("b@wrong.example"), MESSAGE).get("b@wrong.example");
        assertEquals(DEFERRED, wrong.outcome());
        assertTrue(wrong.text().contains("TLS handshake"), wrong.text());
        assertFalse(plaintextHasMail());
        RecipientResult right = harness.deliver(new Route(Route.Kind.SMTP_MX, "right.example", 25, ""), "a@example.org",
                List.of("b@right.example"), MESSAGE).get("b@right.example");
        assertEquals(DELIVERED, right.outcome(), right.reply());
        assertFalse(plaintextHasMail());
    }

    @Test
    void verifyWithoutTrustInTheDefaultStoreDefers() throws Exception {
        start(ClientTlsLevel.VERIFY);
        fake.offerStartTls = true;
        harness.dns.put("right.example", List.of(ClientHarness.hop("mx.test", fake.port())));
        RecipientResult r = harness.deliver(new Route(Route.Kind.SMTP_MX, "right.example", 25, ""), "a@example.org",
                List.of("b@right.example"), MESSAGE).get("b@right.example");
        assertEquals(DEFERRED, r.outcome());
        assertFalse(plaintextHasMail());
    }

    @Test
    void repliesInjectedAfterThe220AreDiscarded() throws Exception {
        start(ClientTlsLevel.ENCRYPT);
        fake.offerStartTls = true;
        fake.pipelining = false;
        fake.tlsBehaviour = FakeNextHop.TlsBehaviour.INJECT;
        RecipientResult r = sendOne();
        assertEquals(DELIVERED, r.outcome(), r.reply());
        assertTrue(fake.commands.contains("tls:EHLO client.test"), fake.commands.toString());
        assertFalse(plaintextHasMail());
        assertEquals(List.of("EHLO client.test", "STARTTLS", "tls:EHLO client.test", "tls:MAIL FROM:<a@example.org>",
                "tls:RCPT TO:<b@example.net>", "tls:DATA"), fake.commands.subList(0, 6));
    }

    @Test
    void policyPerDomainOverridesTheDefault() {
        TlsPolicyTable table = new TlsPolicyTable(ClientTlsLevel.MAY,
                Map.of("bank.example", ClientTlsLevel.VERIFY, ".corp.example", ClientTlsLevel.ENCRYPT));
        assertEquals(ClientTlsLevel.VERIFY, table.levelFor("BANK.example"));
        assertEquals(ClientTlsLevel.ENCRYPT, table.levelFor("mx.eu.corp.example"));
        assertEquals(ClientTlsLevel.MAY, table.levelFor("corp.example"));
        assertEquals(ClientTlsLevel.MAY, table.levelFor("other.example"));
    }

    @Test
    void tlsMemoryDefersAPlaintextAnswerAndSurvivesARestart() throws Exception {
        fake = new FakeNextHop();
        fake.offerStartTls = true;
        ClientSettings settings = ClientSettings.defaults("client.test", TlsPolicyTable.uniform(ClientTlsLevel.MAY))
                .withTimeouts(Duration.ofSeconds(10)).withTls(TlsPolicyTable.uniform(ClientTlsLevel.MAY), Optional.empty(), true);
        harness = new ClientHarness(settings, dir);
        assertEquals(DELIVERED, sendOne().outcome());
        harness.close();
        assertTrue(Files.readString(dir.resolve(SmtpClient.TLS_MEMORY_FILE)).startsWith("127.0.0.1 "));
        fake.offerStartTls = false; // stripped by an attacker
        harness = new ClientHarness(settings, dir); // a restart: memory from the file
        RecipientResult r = sendOne();
        assertEquals(DEFERRED, r.outcome());
        assertTrue(r.text().contains("possible downgrade"), r.text());
        assertEquals(1, harness.client.stats().downgrades());
        assertFalse(fake.plaintextReceived().substring(fake.plaintextReceived().lastIndexOf("EHLO")).contains("MAIL FROM"));
    }
}
