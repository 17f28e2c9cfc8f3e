package io.sluice.smtp.client;

import static io.sluice.smtp.delivery.RecipientResult.Outcome.DEFERRED;
import static io.sluice.smtp.delivery.RecipientResult.Outcome.DELIVERED;
import static io.sluice.smtp.delivery.RecipientResult.Outcome.FAILED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sluice.smtp.config.ClientTlsLevel;
import io.sluice.smtp.delivery.RecipientResult;
import io.sluice.smtp.delivery.Route;

/** LMTP against a scripted server: LHLO, and one reply per accepted recipient after the final dot. */
class LmtpClientTest {
    @TempDir
    Path dir;

    @Test
    void eachAcceptedRecipientGetsItsOwnReplyAfterTheDot() throws Exception {
        try (FakeNextHop fake = new FakeNextHop();
             ClientHarness harness = new ClientHarness(ClientSettings.defaults("client.test",
                     TlsPolicyTable.uniform(ClientTlsLevel.MAY)).withTimeouts(Duration.ofSeconds(10)), dir)) {
            fake.lmtp = true;
            fake.byRecipient.put("DOT:full@example.net", "452 4.2.2 mailbox full");
            fake.byRecipient.put("gone@example.net", "550 5.1.1 no such user");
            Route lmtp = new Route(Route.Kind.LMTP, "127.0.0.1", fake.port(), "");
            Map<String, RecipientResult> r = harness.deliver(lmtp, "a@example.org",
                    List.of("full@example.net", "gone@example.net", "ok@example.net"), "Subject: x\r\n\r\nbody\r\n");
            assertEquals(DEFERRED, r.get("full@example.net").outcome());
            assertEquals("4.2.2", r.get("full@example.net").enhancedCode());
            assertEquals(FAILED, r.get("gone@example.net").outcome());
            assertEquals(DELIVERED, r.get("ok@example.net").outcome());
            assertTrue(fake.commands.contains("LHLO client.test"), fake.commands.toString());
            // and the connection carries the next message
            r = harness.deliver(lmtp, "a@example.org", List.of("ok@example.net"), "Subject: y\r\n\r\nbody\r\n");
            assertEquals(DELIVERED, r.get("ok@example.net").outcome());
            assertEquals(1, fake.connections.get());
        }
    }
}
