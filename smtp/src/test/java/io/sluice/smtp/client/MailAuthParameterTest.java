package io.sluice.smtp.client;

import static io.sluice.smtp.delivery.RecipientResult.Outcome.DELIVERED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sluice.smtp.config.ClientTlsLevel;
import io.sluice.smtp.delivery.RecipientResult;
import io.sluice.smtp.delivery.Route;

/**
 * RFC 4954 5 on the outbound side. A next hop treats {@code AUTH=} from an unauthenticated client
 * as {@code AUTH=<>}, and to one we authenticated to (delivery.auth.*) we cannot vouch for who
 * submitted a relayed message; so, like Postfix's smtp client with its default
 * {@code smtp_send_dummy_mail_auth = no}, the client sends no {@code AUTH=} at all, even to a peer
 * that offers AUTH or one it authenticated to, and so never passes on a value an inbound client
 * asserted.
 */
class MailAuthParameterTest {

    @TempDir
    Path dir;

    @Test
    void noAuthParameterEvenWhenTheNextHopOffersAuth() throws Exception {
        try (FakeNextHop fake = new FakeNextHop();
             ClientHarness harness = new ClientHarness(ClientSettings.defaults("client.test",
                     TlsPolicyTable.uniform(ClientTlsLevel.NONE)).withTimeouts(Duration.ofSeconds(10)), dir)) {
            fake.extraCapabilities = "AUTH PLAIN LOGIN,SIZE 1000000";
            RecipientResult r = harness.deliver(new Route(Route.Kind.SMTP_HOST, "127.0.0.1", fake.port(), ""),
                    "a@example.org", List.of("b@example.net"), "Subject: hi\r\n\r\nHello.\r\n").get("b@example.net");
            assertEquals(DELIVERED, r.outcome(), r.reply());
            String mail = fake.commands.stream().filter(c -> c.startsWith("MAIL ")).findFirst().orElseThrow();
            assertTrue(mail.startsWith("MAIL FROM:<a@example.org> SIZE="), mail);
            assertTrue(!mail.toUpperCase(java.util.Locale.ROOT).contains("AUTH="), mail);
        }
    }

    @Test
    void noAuthParameterAfterAuthenticating() throws Exception {
        try (FakeNextHop fake = new FakeNextHop();
             ClientHarness harness = new ClientHarness(ClientSettings.defaults("client.test",
                     new TlsPolicyTable(ClientTlsLevel.NONE, java.util.Map.of("127.0.0.1", ClientTlsLevel.ENCRYPT)))
                     .withTimeouts(Duration.ofSeconds(10)).withAuth(new AuthTable(java.util.Map.of("127.0.0.1", SmtpCredentials.of("127.0.0.1", "user", "secret")))),
                     dir)) {
            fake.offerStartTls = true;
            fake.extraCapabilities = "AUTH PLAIN LOGIN";
            RecipientResult r = harness.deliver(new Route(Route.Kind.SMTP_HOST, "127.0.0.1", fake.port(), ""),
                    "a@example.org", List.of("b@example.net"), "Subject: hi\r\n\r\nHello.\r\n").get("b@example.net");
            assertEquals(DELIVERED, r.outcome(), r.reply());
            assertEquals(List.of("user"), fake.authenticated);
            String mail = fake.commands.stream().filter(c -> c.startsWith("tls:MAIL ")).findFirst().orElseThrow();
            assertTrue(!mail.toUpperCase(java.util.Locale.ROOT).contains("AUTH="), mail);
        }
    }
}
