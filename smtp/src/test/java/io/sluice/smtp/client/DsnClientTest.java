package io.sluice.smtp.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sluice.smtp.config.ClientTlsLevel;
import io.sluice.smtp.delivery.RecipientResult;
import io.sluice.smtp.delivery.Route;
import io.sluice.smtp.spool.BodyType;
import io.sluice.smtp.spool.DsnReturn;
import io.sluice.smtp.spool.EnvelopeDsn;
import io.sluice.smtp.spool.RecipientDsn;

/** RFC 3461 5.2: the DSN parameters go to a next hop that offers DSN, and never to one that does not. */
class DsnClientTest {
    private static final String MESSAGE = "Subject: dsn\r\n\r\nHello.\r\n";
    private static final EnvelopeDsn DSN = new EnvelopeDsn(DsnReturn.HEADERS, "abc+2B1", List.of(
            new RecipientDsn(RecipientDsn.NOTIFY_SUCCESS | RecipientDsn.NOTIFY_FAILURE, "rfc822;u+2Bz@y.example"),
            RecipientDsn.NONE,
            new RecipientDsn(RecipientDsn.NOTIFY_NEVER, "")));

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

    private Map<String, RecipientResult> send(String capabilities, EnvelopeDsn dsn) throws Exception {
        fake = new FakeNextHop();
        fake.extraCapabilities = capabilities;
        harness = new ClientHarness(ClientSettings.defaults("client.test", TlsPolicyTable.uniform(ClientTlsLevel.NONE))
                .withTimeouts(Duration.ofSeconds(10)), dir);
        Route route = new Route(Route.Kind.SMTP_HOST, "127.0.0.1", fake.port(), "");
        return harness.deliver(route, "b@x.example", List.of("u@y.example", "v@y.example", "w@y.example"), MESSAGE,
                dsn);
    }

    @Test
    void aHopOfferingDsnGetsEveryParameterAsReceived() throws Exception {
        Map<String, RecipientResult> results = send("DSN", DSN);
        assertTrue(fake.commands.contains("MAIL FROM:<b@x.example> RET=HDRS ENVID=abc+2B1"), fake.commands::toString);
        assertTrue(fake.commands.contains("RCPT TO:<u@y.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;u+2Bz@y.example"),
                fake.commands::toString);
        // RFC 3461 4.2: a recipient that came without ORCPT gets one naming it as received (as Postfix does).
        assertTrue(fake.commands.contains("RCPT TO:<v@y.example> ORCPT=rfc822;v@y.example"), fake.commands::toString);
        assertTrue(fake.commands.contains("RCPT TO:<w@y.example> NOTIFY=NEVER ORCPT=rfc822;w@y.example"),
                fake.commands::toString);
        for (RecipientResult r : results.values()) {
            assertEquals(RecipientResult.Outcome.DELIVERED, r.outcome(), r.reply());
        }
        assertTrue(results.get("u@y.example").dsnPassedOn(), "the hop reports u's success itself");
        assertFalse(results.get("v@y.example").dsnPassedOn(), "v asked for no success report: nothing to mark");
    }

    @Test
    void aHopWithoutDsnGetsNoneOfThem() throws Exception {
        Map<String, RecipientResult> results = send("", DSN);
        String all = fake.commands.toString();
        assertTrue(fake.commands.contains("MAIL FROM:<b@x.example>"), all);
        assertTrue(fake.commands.contains("RCPT TO:<u@y.example>"), all);
        assertTrue(fake.commands.contains("RCPT TO:<w@y.example>"), all);
        assertFalse(all.contains("NOTIFY") || all.contains("ORCPT") || all.contains("RET=") || all.contains("ENVID"), all);
        for (RecipientResult r : results.values()) {
            assertEquals(RecipientResult.Outcome.DELIVERED, r.outcome(), r.reply());
            assertFalse(r.dsnPassedOn(), "we must report relayed ourselves: " + r);
        }
    }

    @Test
    void aMessageWithoutDsnParametersSendsOnlyTheOriginalRecipientToADsnHop() throws Exception {
        Map<String, RecipientResult> results = send("DSN", EnvelopeDsn.NONE);
        assertTrue(fake.commands.contains("MAIL FROM:<b@x.example>"), fake.commands::toString);
        assertTrue(fake.commands.contains("RCPT TO:<u@y.example> ORCPT=rfc822;u@y.example"), fake.commands::toString);
        assertFalse(fake.commands.toString().contains("NOTIFY"), fake.commands::toString);
        assertFalse(results.get("u@y.example").dsnPassedOn(), "no NOTIFY=SUCCESS: nothing to mark");
    }

    /**
     * RFC 6533: a utf-8 ORCPT taken as unitext exists only in an SMTPUTF8 transaction, and such a
     * message needs SMTPUTF8: it goes on, as received, only to a hop that offers DSN and SMTPUTF8.
     */
    @Test
    void aUnitextOrcptGoesOnlyToAHopWithDsnAndSmtpUtf8() throws Exception {
        EnvelopeDsn dsn = new EnvelopeDsn(DsnReturn.NONE, "", List.of(
                new RecipientDsn(RecipientDsn.NOTIFY_FAILURE, "utf-8;caf\u00e9@y.example")));
        Map<String, RecipientResult> results = sendUtf8("DSN,SMTPUTF8", dsn, "u@y.example");
        String utf8AsLatin1 = new String("utf-8;caf\u00e9@y.example".getBytes(StandardCharsets.UTF_8),
                StandardCharsets.ISO_8859_1);
        assertTrue(fake.commands.contains("RCPT TO:<u@y.example> NOTIFY=FAILURE ORCPT=" + utf8AsLatin1),
                fake.commands::toString);
        assertEquals(RecipientResult.Outcome.DELIVERED, results.get("u@y.example").outcome());
        harness.close();
        fake.close();
        results = sendUtf8("DSN", dsn, "u@y.example");
        assertEquals(RecipientResult.Outcome.FAILED, results.get("u@y.example").outcome(), results::toString);
        assertFalse(fake.commands.toString().contains("ORCPT"), fake.commands::toString);
    }

    /**
     * A non-ASCII recipient that came without ORCPT gets RFC 6533's {@code utf-8;} form, which
     * goes only in an SMTPUTF8 transaction (such a recipient needs one anyway).
     */
    @Test
    void aNonAsciiRecipientWithoutOrcptGetsTheUtf8Form() throws Exception {
        Map<String, RecipientResult> results = sendUtf8("DSN,SMTPUTF8", EnvelopeDsn.NONE, "caf\u00e9 x@y.example");
        String expected = new String("RCPT TO:<caf\u00e9 x@y.example> ORCPT=utf-8;caf\u00e9\\x{20}x@y.example"
                .getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
        assertTrue(fake.commands.contains(expected), fake.commands::toString);
        assertEquals(RecipientResult.Outcome.DELIVERED, results.get("caf\u00e9 x@y.example").outcome());
    }

    @Test
    void aQuotedRecipientWithoutOrcptIsXtextEncoded() throws Exception {
        fake = new FakeNextHop();
        fake.extraCapabilities = "DSN";
        harness = new ClientHarness(ClientSettings.defaults("client.test", TlsPolicyTable.uniform(ClientTlsLevel.NONE))
                .withTimeouts(Duration.ofSeconds(10)), dir);
        Route route = new Route(Route.Kind.SMTP_HOST, "127.0.0.1", fake.port(), "");
        Map<String, RecipientResult> results = harness.deliver(route, "b@x.example",
                List.of("\"a b+c=d\"@y.example"), MESSAGE, EnvelopeDsn.NONE);
        assertTrue(fake.commands.contains("RCPT TO:<\"a b+c=d\"@y.example> ORCPT=rfc822;\"a+20b+2Bc+3Dd\"@y.example"),
                fake.commands::toString);
        assertEquals(RecipientResult.Outcome.DELIVERED, results.get("\"a b+c=d\"@y.example").outcome());
    }

    /** A made-up ORCPT that would take the RCPT line past 512 + 500 octets (xtext triples spaces) is left out. */
    @Test
    void noOrcptIsMadeUpWhenItWouldMakeTheLineTooLong() throws Exception {
        fake = new FakeNextHop();
        fake.extraCapabilities = "DSN";
        harness = new ClientHarness(ClientSettings.defaults("client.test", TlsPolicyTable.uniform(ClientTlsLevel.NONE))
                .withTimeouts(Duration.ofSeconds(10)), dir);
        Route route = new Route(Route.Kind.SMTP_HOST, "127.0.0.1", fake.port(), "");
        String spaced = "\"" + " ".repeat(250) + "\"@y.example"; // 262 characters, 762 as xtext
        String fits = "\"" + " ".repeat(150) + "\"@y.example"; // 462 as xtext: the line stays under 1012
        Map<String, RecipientResult> results = harness.deliver(route, "b@x.example", List.of(spaced, fits), MESSAGE,
                EnvelopeDsn.NONE);
        assertTrue(fake.commands.contains("RCPT TO:<" + spaced + ">"), fake.commands::toString);
        assertTrue(fake.commands.contains("RCPT TO:<" + fits + "> ORCPT=rfc822;\"" + "+20".repeat(150) + "\"@y.example"),
                fake.commands::toString);
        assertEquals(RecipientResult.Outcome.DELIVERED, results.get(spaced).outcome());
    }

    private Map<String, RecipientResult> sendUtf8(String capabilities, EnvelopeDsn dsn, String recipient)
            throws Exception {
        fake = new FakeNextHop();
        fake.extraCapabilities = capabilities;
        harness = new ClientHarness(ClientSettings.defaults("client.test", TlsPolicyTable.uniform(ClientTlsLevel.NONE))
                .withTimeouts(Duration.ofSeconds(10)), dir);
        Route route = new Route(Route.Kind.SMTP_HOST, "127.0.0.1", fake.port(), "");
        CountDownLatch done = new CountDownLatch(1);
        Map<String, RecipientResult> results = new ConcurrentHashMap<>();
        harness.start(route, "b@x.example", List.of(recipient), MESSAGE.getBytes(StandardCharsets.UTF_8),
                BodyType.SEVEN_BIT, true, dsn, r -> {
                    results.put(r.recipient(), r);
                    done.countDown();
                });
        assertTrue(done.await(40, TimeUnit.SECONDS), "reported; got " + results);
        return results;
    }
}
