package io.sluice.smtp.client;

import static io.sluice.smtp.delivery.RecipientResult.Outcome.DEFERRED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sluice.smtp.config.ClientTlsLevel;
import io.sluice.smtp.delivery.RecipientResult;
import io.sluice.smtp.delivery.Route;

/**
 * A refused AUTH must not carry the server's reply text into the recipient's reason (delivery log,
 * {@code sluice queue}, the DSN to the sender): a server may echo our response, and no string
 * match could mask it once {@link ReplyParser#text()} has shown non-ASCII octets as '?' or cut the
 * text at {@link ReplyParser#MAX_TEXT_BYTES}. Found by the session-6 review; both failed before.
 */
class AuthRefusalTextTest {
    private static final String BODY = "Subject: hi\r\n\r\nHello.\r\n";

    @TempDir
    Path dir;

    private RecipientResult refusedWith(String password, String reply) throws Exception {
        AuthTable auth = new AuthTable(Map.of("127.0.0.1", SmtpCredentials.of("127.0.0.1", "user", password)));
        ClientSettings settings = ClientSettings.defaults("client.test", new TlsPolicyTable(ClientTlsLevel.NONE, Map.of("127.0.0.1", ClientTlsLevel.ENCRYPT)))
                .withTimeouts(Duration.ofSeconds(10)).withAuth(auth);
        try (FakeNextHop fake = new FakeNextHop(); ClientHarness harness = new ClientHarness(settings, dir)) {
            fake.offerStartTls = true;
            fake.extraCapabilities = "AUTH PLAIN";
            fake.replies.put("AUTH", reply);
            RecipientResult r = harness.deliver(new Route(Route.Kind.SMTP_HOST, "127.0.0.1", fake.port(), ""),
                    "a@example.org", List.of("b@example.net"), BODY).get("b@example.net");
            assertEquals(DEFERRED, r.outcome(), r.reply());
            return r;
        }
    }

    @Test
    void anEchoedNonAsciiPasswordIsRedacted() throws Exception {
        String password = "sécret-Passwort-42";
        // FakeNextHop writes ISO-8859-1: these chars are the password's UTF-8 octets on the wire.
        String echoed = new String(password.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
        RecipientResult r = refusedWith(password, "535 5.7.8 bad password " + echoed);
        assertFalse(r.reply().contains("cret-Passwort-42"), "password in the reason: " + r.reply());
    }

    @Test
    void anEchoCutByTheReplyTextLimitIsRedacted() throws Exception {
        String password = "correct-horse-battery-staple";
        String b64 = Base64.getEncoder().encodeToString(("\0user\0" + password).getBytes(StandardCharsets.UTF_8));
        String prefix = "5.7.8 bad response ";
        // The text (after "535 ") is cut at 400 octets: keep the first 28 base64 characters of the echo.
        String padding = "x".repeat(ReplyParser.MAX_TEXT_BYTES - prefix.length() - 28);
        RecipientResult r = refusedWith(password, "535 " + prefix + padding + b64);
        String leaked = b64.substring(0, 28); // 21 octets: NUL user NUL "correct-horse-b"
        assertFalse(r.reply().contains(leaked), "most of the PLAIN response in the reason: " + r.reply());
    }
}
