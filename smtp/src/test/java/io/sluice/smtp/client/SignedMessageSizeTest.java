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
 * RFC 1870: the SIZE= the client declares, and the size it holds against the peer's SIZE limit,
 * are the octets it sends after 354 (without stuffing dots): with a DKIM-Signature in front of the
 * stored content, or bare line ends made CRLF, that is more than the stored size.
 */
class SignedMessageSizeTest {
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

    private void start(String sizeCapability, DkimSigner signer) throws Exception {
        fake = new FakeNextHop();
        fake.extraCapabilities = sizeCapability;
        harness = new ClientHarness(ClientSettings.defaults("client.test", TlsPolicyTable.uniform(ClientTlsLevel.NONE))
                .withTimeouts(Duration.ofSeconds(10)), dir, signer);
    }

    private static DkimSigner signer() throws Exception {
        DkimKey key = DkimKey.fromPkcs8("example.org", "s", TestKeys.pkcs8("Ed25519", 0));
        return new DkimSigner(Map.of("example.org", key), DkimSigner.DEFAULT_HEADERS, "mx.example.org",
                NetworkSet.parse("127.0.0.0/8"), System::currentTimeMillis);
    }

    private Map<String, RecipientResult> deliver(String content) throws Exception {
        Route route = new Route(Route.Kind.SMTP_HOST, "127.0.0.1", fake.port(), "");
        return harness.deliver(route, "a@example.org", List.of("b@y.example"), content);
    }

    private long declaredSize() {
        String mail = fake.commands.stream().filter(c -> c.startsWith("MAIL FROM:")).findFirst().orElse(null);
        assertNotNull(mail, fake.commands::toString);
        return Long.parseLong(mail.replaceAll(".* SIZE=([0-9]+).*", "$1"));
    }

    @Test
    void declaredSizeIsTheSignedMessageSent() throws Exception {
        start("SIZE 10000000", signer());
        assertEquals(RecipientResult.Outcome.DELIVERED, deliver(MESSAGE).get("b@y.example").outcome());
        String sent = fake.messages.get(0);
        assertTrue(sent.startsWith("DKIM-Signature:"), sent);
        int sentOctets = sent.getBytes(StandardCharsets.ISO_8859_1).length;
        assertTrue(sentOctets > MESSAGE.length());
        assertEquals(sentOctets, declaredSize(), "SIZE= must count the DKIM-Signature sent in front (RFC 1870)");
    }

    @Test
    void declaredSizeCountsBareLineEndsMadeCrlf() throws Exception {
        start("SIZE 10000000", DkimSigner.none());
        String bareLf = "Subject: lf\n\nHello.\nAgain.\n";
        assertEquals(RecipientResult.Outcome.DELIVERED, deliver(bareLf).get("b@y.example").outcome());
        int sentOctets = fake.messages.get(0).getBytes(StandardCharsets.ISO_8859_1).length;
        assertEquals(bareLf.length() + 4, sentOctets, "four LFs sent as CRLF");
        assertEquals(sentOctets, declaredSize());
    }

    @Test
    void aPeerLimitUnderTheSignedSizeRefusesTheMessageBeforeMail() throws Exception {
        // Room for the stored message, not for it with the signature (about 300 octets for Ed25519).
        start("SIZE " + (MESSAGE.length() + 50), signer());
        RecipientResult result = deliver(MESSAGE).get("b@y.example");
        assertEquals(RecipientResult.Outcome.FAILED, result.outcome(), result::toString);
        assertEquals("5.3.4", result.enhancedCode());
        assertTrue(fake.commands.stream().noneMatch(c -> c.startsWith("MAIL FROM:")), fake.commands::toString);
        assertTrue(fake.messages.isEmpty());
    }
}
