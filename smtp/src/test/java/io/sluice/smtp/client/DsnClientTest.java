package io.sluice.smtp.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sluice.smtp.config.ClientTlsLevel;
import io.sluice.smtp.delivery.RecipientResult;
import io.sluice.smtp.delivery.Route;
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
        assertTrue(fake.commands.contains("RCPT TO:<v@y.example>"), fake.commands::toString);
        assertTrue(fake.commands.contains("RCPT TO:<w@y.example> NOTIFY=NEVER"), fake.commands::toString);
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
    void aMessageWithoutDsnParametersSendsNoneEvenToADsnHop() throws Exception {
        Map<String, RecipientResult> results = send("DSN", EnvelopeDsn.NONE);
        assertTrue(fake.commands.contains("MAIL FROM:<b@x.example>"), fake.commands::toString);
        assertTrue(fake.commands.contains("RCPT TO:<u@y.example>"), fake.commands::toString);
        assertFalse(fake.commands.toString().contains("NOTIFY"), fake.commands::toString);
        assertFalse(results.get("u@y.example").dsnPassedOn(), "no NOTIFY=SUCCESS: nothing to mark");
    }
}
