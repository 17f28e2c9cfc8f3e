package io.sluice.smtp.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sluice.smtp.config.ClientTlsLevel;
import io.sluice.smtp.config.NetworkSet;
import io.sluice.smtp.delivery.RecipientResult;
import io.sluice.smtp.delivery.Route;
import io.sluice.smtp.dkim.DkimKey;
import io.sluice.smtp.dkim.DkimSigner;
import io.sluice.smtp.dkim.TestKeys;

/**
 * Review s7a: the SIZE= the client declares must cover what it then sends. With DKIM the client
 * sends a DKIM-Signature field in front of the stored content, but SIZE= is the stored size.
 */
class ReviewS7aDkimSizeTest {
    private static final String MESSAGE = "From: a@example.org\r\nSubject: size\r\n\r\nHello.\r\n";

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

    @Test
    void declaredSizeCoversTheSignedMessageSent() throws Exception {
        fake = new FakeNextHop();
        fake.extraCapabilities = "SIZE 10000000";
        DkimKey key = DkimKey.fromPkcs8("example.org", "s", TestKeys.pkcs8("Ed25519", 0));
        DkimSigner signer = new DkimSigner(Map.of("example.org", key), DkimSigner.DEFAULT_HEADERS, "mx.example.org",
                NetworkSet.parse("127.0.0.0/8"), System::currentTimeMillis);
        harness = new ClientHarness(ClientSettings.defaults("client.test", TlsPolicyTable.uniform(ClientTlsLevel.NONE))
                .withTimeouts(Duration.ofSeconds(10)), dir, signer);
        Route route = new Route(Route.Kind.SMTP_HOST, "127.0.0.1", fake.port(), "");
        Map<String, RecipientResult> results = harness.deliver(route, "a@example.org", List.of("b@y.example"), MESSAGE);
        assertEquals(RecipientResult.Outcome.DELIVERED, results.get("b@y.example").outcome());
        String mail = fake.commands.stream().filter(c -> c.startsWith("MAIL FROM:")).findFirst().orElse(null);
        assertNotNull(mail, fake.commands::toString);
        long declared = Long.parseLong(mail.replaceAll(".* SIZE=([0-9]+).*", "$1"));
        String sent = fake.messages.get(0);
        assertTrue(sent.startsWith("DKIM-Signature:"), sent);
        int sentOctets = sent.getBytes(StandardCharsets.ISO_8859_1).length;
        assertTrue(declared >= sentOctets, "MAIL FROM declared SIZE=" + declared + " but the message sent has "
                + sentOctets + " octets (RFC 1870: the size must not be under-declared)");
    }
}
