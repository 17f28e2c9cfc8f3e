package io.sluice.smtp.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import io.sluice.smtp.config.ConfigException;
import io.sluice.smtp.config.SluiceConfig;

class TransportTableTest {

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "maildir:/var/mail/{domain}/{user}| MAILDIR   | /var/mail/{domain}/{user} | 0     | maildir:/var/mail/{domain}/{user}",
        "lmtp:store.example:2424          | LMTP      | store.example             | 2424  | lmtp:store.example:2424",
        "lmtp:store.example               | LMTP      | store.example             | 24    | lmtp:store.example:24",
        "lmtp:[::1]:24                    | LMTP      | ::1                       | 24    | lmtp:[::1]:24",
        "smtp:[relay.example]:2525        | SMTP_HOST | relay.example             | 2525  | smtp:[relay.example]:2525",
        "smtp:[192.0.2.1]                 | SMTP_HOST | 192.0.2.1                 | 25    | smtp:[192.0.2.1]:25",
        "SMTP:Example.ORG                 | SMTP_MX   | example.org               | 25    | smtp:example.org",
        "smtp:example.org:587             | SMTP_MX   | example.org               | 587   | smtp:example.org:587",
        "smtp:                            | SMTP_MX   | ''                        | 25    | smtp:",
        "discard                          | DISCARD   | ''                        | 0     | discard",
        "error:5.1.1 No such user here    | ERROR     | 5.1.1                     | 0     | error:5.1.1 No such user here",
    })
    void parsesEveryKind(String text, Route.Kind kind, String target, int port, String canonical) {
        Route r = Route.parse(text);
        assertEquals(kind, r.kind());
        assertEquals(target, r.target());
        assertEquals(port, r.port());
        assertEquals(canonical, r.toString());
        assertEquals(r, Route.parse(r.toString()), "the canonical text parses back to the same route");
    }

    @ParameterizedTest
    @ValueSource(strings = {"maildir:relative/{user}", "maildir:/a/../{user}", "maildir:/a/{name}", "maildir:/a/x{user}",
        "lmtp:", "lmtp:::1:24", "smtp:[host", "smtp:[host]x", "smtp:[h]:99999", "smtp:[h]:0", "smtp:h:port",
        "smtp:bad_host!", "error:6.1.1 x", "error:nonsense", "error:", "pigeon:x", "discard:x", ""})
    void refusesBadRoutes(String text) {
        assertThrows(IllegalArgumentException.class, () -> Route.parse(text), text);
    }

    @Test
    void exactBeatsLongestSubdomainBeatsDefault() {
        TransportTable t = TransportTable.of(Map.of(
                "example.com", "maildir:/mail/exact/{user}",
                ".example.com", "maildir:/mail/sub/{user}",
                ".a.example.com", "maildir:/mail/deeper/{user}",
                "*", "discard"), "mx.test");
        assertEquals("maildir:/mail/exact/{user}", t.route("u@example.com").toString());
        assertEquals("maildir:/mail/exact/{user}", t.route("u@EXAMPLE.com.").toString());
        assertEquals("maildir:/mail/sub/{user}", t.route("u@b.example.com").toString());
        assertEquals("maildir:/mail/sub/{user}", t.route("u@a.example.com").toString(),
                ".a.example.com covers subdomains of a.example.com, not a.example.com itself");
        assertEquals("maildir:/mail/deeper/{user}", t.route("u@x.a.example.com").toString());
        assertEquals("discard", t.route("u@example.org").toString());
        assertEquals("discard", t.route("u@notexample.com").toString(), "a suffix match needs the dot");
        assertEquals("discard", t.route("postmaster").toString());
    }

    @Test
    void bareRecipientUsesOurHostName() {
        TransportTable t = TransportTable.of(Map.of("mx.test", "discard", "*", "error:5.1.1 no"), "mx.test");
        assertEquals(Route.Kind.DISCARD, t.route("postmaster").kind());
    }

    @Test
    void defaultIsMxLookupOfTheRecipientDomain() {
        TransportTable t = TransportTable.of(Map.of(), "mx.test");
        assertEquals(new Route(Route.Kind.SMTP_MX, "example.org", 25, ""), t.route("u@Example.org"));
        assertEquals(new Route(Route.Kind.SMTP_MX, "other.net", 25, ""), t.route("v@other.net"),
                "one destination per recipient domain");
    }

    @Test
    void badDomainNamesAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> TransportTable.of(Map.of("exa mple.com", "discard"), "h"));
        assertThrows(IllegalArgumentException.class, () -> TransportTable.of(Map.of("..example.com", "discard"), "h"));
        assertThrows(IllegalArgumentException.class, () -> TransportTable.of(Map.of(".", "discard"), "h"));
    }

    @Test
    void fromConfigReadsPatternKeys() {
        SluiceConfig config = SluiceConfig.load(null, Map.of("hostname", "mx.test",
                "transport.*", "error:5.7.1 We do not relay",
                "transport.Example.NET", "maildir:/srv/mail/{domain}/{user}",
                "transport..example.net", "lmtp:[127.0.0.1]:2424"));
        TransportTable t = TransportTable.fromConfig(config);
        assertEquals(Route.Kind.MAILDIR, t.route("a@example.net").kind());
        assertEquals(new Route(Route.Kind.LMTP, "127.0.0.1", 2424, ""), t.route("a@lists.example.net"));
        assertEquals(Route.Kind.ERROR, t.route("a@example.org").kind());
        assertTrue(config.toPropertiesText().contains("transport.example.net = maildir:/srv/mail/{domain}/{user}"));
    }

    @Test
    void relayHostIsTheDefaultRoute() {
        TransportTable t = TransportTable.fromConfig(SluiceConfig.load(null, Map.of("relay.host", "relay.example:2525")));
        assertEquals(new Route(Route.Kind.SMTP_HOST, "relay.example", 2525, ""), t.route("a@example.org"));
        assertEquals(new Route(Route.Kind.SMTP_HOST, "relay.example", 25, ""),
                TransportTable.fromConfig(SluiceConfig.load(null, Map.of("relay.host", "[relay.example]"))).fallback());
        assertEquals(new Route(Route.Kind.SMTP_HOST, "::1", 25, ""),
                TransportTable.fromConfig(SluiceConfig.load(null, Map.of("relay.host", "::1"))).fallback());
    }

    @Test
    void configErrorsNameTheKey() {
        ConfigException both = assertThrows(ConfigException.class, () -> TransportTable.fromConfig(SluiceConfig.load(null,
                Map.of("relay.host", "relay.example", "transport.*", "discard"))));
        assertTrue(both.getMessage().startsWith("config: relay.host=relay.example: set either"), both.getMessage());
        ConfigException bad = assertThrows(ConfigException.class, () -> TransportTable.fromConfig(SluiceConfig.load(null,
                Map.of("transport.example.com", "maildir:relative"))));
        assertTrue(bad.getMessage().startsWith("config: transport.example.com=maildir:relative: "), bad.getMessage());
        ConfigException relay = assertThrows(ConfigException.class, () -> TransportTable.fromConfig(SluiceConfig.load(null,
                Map.of("relay.host", "relay.example:http"))));
        assertTrue(relay.getMessage().contains("port"), relay.getMessage());
    }
}
