package io.sluice.smtp.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import io.sluice.smtp.protocol.BareNewline;

class SluiceConfigTest {
    @TempDir
    Path dir;

    private Path file(String text) throws Exception {
        return Files.writeString(dir.resolve("sluice.conf"), text);
    }

    private static String error(Path file, Map<String, String> overrides) {
        ConfigException e = assertThrows(ConfigException.class, () -> SluiceConfig.load(file, overrides));
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        return e.getMessage();
    }

    @Test
    void defaultsMatchTheDocumentedValues() {
        SluiceConfig c = SluiceConfig.defaults();
        assertEquals(1, c.get(ConfigKeys.LISTEN).size());
        assertEquals(2525, c.get(ConfigKeys.LISTEN).get(0).address().getPort());
        assertEquals(32L << 20, c.get(ConfigKeys.SMTP_MAX_MESSAGE_SIZE));
        assertEquals(1000, c.get(ConfigKeys.SMTP_MAX_RECIPIENTS));
        assertEquals(Duration.ofMinutes(5), c.get(ConfigKeys.SMTP_COMMAND_TIMEOUT));
        assertEquals(Duration.ZERO, c.get(ConfigKeys.SPOOL_COMMIT_WINDOW));
        assertEquals(Path.of("./var/spool"), c.get(ConfigKeys.SPOOL_DIR));
        assertEquals(LoopAssignment.ROUND_ROBIN, c.get(ConfigKeys.REACTOR_ASSIGN));
        assertEquals(TlsLevel.MAY, c.get(ConfigKeys.TLS_LEVEL));
        assertEquals(TlsProviderName.CONSCRYPT, c.get(ConfigKeys.TLS_PROVIDER));
        assertEquals(List.of("TLSv1.3", "TLSv1.2"), c.get(ConfigKeys.TLS_PROTOCOLS));
        assertEquals(Optional.empty(), c.get(ConfigKeys.TLS_CERT));
        assertEquals(List.of(), c.get(ConfigKeys.DOMAINS));
        assertEquals("ESMTP Sluice", c.get(ConfigKeys.SMTP_GREETING_BANNER));
        assertEquals(BareNewline.NORMALIZE, c.get(ConfigKeys.SMTP_BARE_NEWLINE));
        assertEquals(Duration.ZERO, c.get(ConfigKeys.SMTP_GREET_PAUSE));
        assertEquals(LogLevel.INFO, c.get(ConfigKeys.LOG_LEVEL));
        assertFalse(c.get(ConfigKeys.HOSTNAME).isEmpty());
        assertTrue(c.sniCertificates().isEmpty());
    }

    @Test
    void fileThenOverrides() throws Exception {
        Path f = file("# comment\nsmtp.max_recipients = 200\nsmtp.max_errors=3\n"
                + "domains = Example.com, example.org\nlisten = [::1]:0 smtps\n");
        SluiceConfig c = SluiceConfig.load(f, Map.of("smtp.max_recipients", "300", "reactor.pin", "yes"));
        assertEquals(300, c.get(ConfigKeys.SMTP_MAX_RECIPIENTS));
        assertEquals(3, c.get(ConfigKeys.SMTP_MAX_ERRORS));
        assertEquals(true, c.get(ConfigKeys.REACTOR_PIN));
        assertEquals(List.of("example.com", "example.org"), c.get(ConfigKeys.DOMAINS));
        assertEquals(ListenerMode.SMTPS, c.get(ConfigKeys.LISTEN).get(0).mode());
        assertEquals("300", c.text(ConfigKeys.SMTP_MAX_RECIPIENTS));
        assertEquals("10m", c.text(ConfigKeys.SMTP_DATA_TIMEOUT));
    }

    @Test
    void withOverridesKeepsEarlierValuesAndRevalidates() {
        SluiceConfig base = SluiceConfig.load(null, Map.of("smtp.max_errors", "4"));
        SluiceConfig next = base.withOverrides(Map.of("smtp.max_recipients", "150"));
        assertEquals(4, next.get(ConfigKeys.SMTP_MAX_ERRORS));
        assertEquals(150, next.get(ConfigKeys.SMTP_MAX_RECIPIENTS));
        assertEquals(1000, base.get(ConfigKeys.SMTP_MAX_RECIPIENTS));
        assertThrows(ConfigException.class, () -> base.withOverrides(Map.of("smtp.max_recipients", "99")));
    }

    @Test
    void badValueMessageNamesKeyValueAndAllowedForm() {
        assertEquals("config: smtp.max_recipients=abc: expected a whole number >= 100",
                error(null, Map.of("smtp.max_recipients", "abc")));
        assertEquals("config: smtp.max_recipients=99: expected a whole number >= 100",
                error(null, Map.of("smtp.max_recipients", "99")));
        String timeout = error(null, Map.of("smtp.command_timeout", "30"));
        assertTrue(timeout.startsWith("config: smtp.command_timeout=30: a unit is needed; expected a duration"), timeout);
        assertEquals("config: tls.level=strict: expected one of none|may|encrypt",
                error(null, Map.of("tls.level", "strict")));
    }

    @Test
    void badValueInFileIsReportedLikeAnOverride() throws Exception {
        assertEquals("config: smtp.max_line_length=100: expected a whole number from 512 to 65536",
                error(file("smtp.max_line_length = 100\n"), Map.of()));
    }

    @Test
    void unknownKeySuggestsTheClosest() {
        assertEquals("config: smtp.max_mesage_size: unknown key (did you mean smtp.max_message_size?)",
                error(null, Map.of("smtp.max_mesage_size", "1M")));
        assertEquals("config: max_recipients: unknown key (did you mean smtp.max_recipients?)",
                error(null, Map.of("max_recipients", "200")));
        assertEquals("config: SPOOL.DIR: unknown key (did you mean spool.dir?)",
                error(null, Map.of("SPOOL.DIR", "/x")));
        assertEquals("config: tls.levle: unknown key (did you mean tls.level?)",
                error(null, Map.of("tls.levle", "may")));
        assertEquals("config: completely.different: unknown key", error(null, Map.of("completely.different", "1")));
    }

    @Test
    void unknownKeyInFile() throws Exception {
        assertEquals("config: relay.network: unknown key (did you mean relay.networks?)",
                error(file("relay.network = 10.0.0.0/8\n"), Map.of()));
    }

    @Test
    void duplicateKeyInFileIsAnError() throws Exception {
        Path f = file("smtp.max_errors = 5\nsmtp.max_errors = 6\n");
        assertEquals("config: smtp.max_errors: set more than once in " + f, error(f, Map.of()));
    }

    @Test
    void unreadableFiles() throws Exception {
        assertEquals("config: " + dir.resolve("nope.conf") + ": no such file", error(dir.resolve("nope.conf"), Map.of()));
        Path latin1 = Files.write(dir.resolve("latin1.conf"), new byte[] {'a', '=', (byte) 0xe9, '\n'});
        assertEquals("config: " + latin1 + ": not UTF-8 text", error(latin1, Map.of()));
        assertTrue(error(dir, Map.of()).startsWith("config: " + dir + ": cannot read: "));
    }

    @Test
    void backslashesSurviveTheRoundTrip() throws Exception {
        SluiceConfig c = SluiceConfig.load(null, Map.of("spool.dir", "C:\\spool\\dir", "smtp.greeting_banner", "a\\b"));
        SluiceConfig again = SluiceConfig.load(file(c.toPropertiesText()), Map.of());
        assertEquals(c.get(ConfigKeys.SPOOL_DIR), again.get(ConfigKeys.SPOOL_DIR));
        assertEquals("a\\b", again.get(ConfigKeys.SMTP_GREETING_BANNER));
    }

    @Test
    void valueWithNewlineStaysOnOneLine() {
        String e = error(null, Map.of("smtp.greeting_banner", "hi\nthere"));
        assertTrue(e.startsWith("config: smtp.greeting_banner=hi\\nthere: expected printable ASCII"), e);
    }

    @Test
    void setArguments() {
        assertEquals(Map.of("a.b", "1=2", "c", ""), SluiceConfig.parseSetArguments(List.of("a.b=1=2", " c =")));
        assertEquals("2", SluiceConfig.parseSetArguments(List.of("k=1", "k=2")).get("k"));
        ConfigException e = assertThrows(ConfigException.class, () -> SluiceConfig.parseSetArguments(List.of("novalue")));
        assertEquals("config: --set novalue: expected KEY=VALUE", e.getMessage());
        assertThrows(ConfigException.class, () -> SluiceConfig.parseSetArguments(List.of("=x")));
    }

    @Test
    void tlsCertAndKeyGoTogether() throws Exception {
        Path cert = Files.writeString(dir.resolve("c.pem"), "c");
        Path key = Files.writeString(dir.resolve("k.pem"), "k");
        assertEquals("config: tls.cert=" + cert + ": tls.key must be set too",
                error(null, Map.of("tls.cert", cert.toString())));
        SluiceConfig c = SluiceConfig.load(null, Map.of("tls.cert", cert.toString(), "tls.key", key.toString()));
        assertEquals(Optional.of(cert), c.get(ConfigKeys.TLS_CERT));
        String both = error(null, Map.of("tls.cert", cert.toString(), "tls.key", key.toString(),
                "tls.keystore", cert.toString()));
        assertTrue(both.contains("not both"), both);
        assertTrue(error(null, Map.of("tls.key", dir.resolve("missing").toString())).contains("no readable file there"));
    }

    @Test
    void sniPatternKeys() throws Exception {
        Path cert = Files.writeString(dir.resolve("c.pem"), "c");
        Path key = Files.writeString(dir.resolve("k.pem"), "k");
        Path f = file("tls.sni.mx.example.com.cert = " + cert + "\ntls.sni.mx.example.com.key = " + key + "\n"
                + "tls.sni.*.Example.org.cert = " + cert + "\ntls.sni.*.example.org.key = " + key + "\n");
        Map<String, SniCertificate> sni = SluiceConfig.load(f, Map.of()).sniCertificates();
        assertEquals(new SniCertificate("mx.example.com", cert, key), sni.get("mx.example.com"));
        assertEquals(new SniCertificate("*.example.org", cert, key), sni.get("*.example.org"));
        assertEquals(2, sni.size());
    }

    @Test
    void sniErrors() throws Exception {
        Path cert = Files.writeString(dir.resolve("c.pem"), "c");
        assertEquals("config: tls.sni.a.com.cert=" + cert + ": tls.sni.a.com.key must be set too",
                error(null, Map.of("tls.sni.a.com.cert", cert.toString())));
        assertTrue(error(null, Map.of("tls.sni.a.com.key", cert.toString())).contains("tls.sni.a.com.cert must be set too"));
        assertTrue(error(null, Map.of("tls.sni.a.com.cert", "/no/such", "tls.sni.a.com.key", cert.toString()))
                .startsWith("config: tls.sni.a.com.cert=/no/such: no readable file there"));
        assertTrue(error(null, Map.of("tls.sni.bad_name.cert", cert.toString()))
                .startsWith("config: tls.sni.bad_name.cert: <name> must be a host name"));
        assertEquals("config: tls.sni..cert: unknown key (expected tls.sni.<name>.cert or tls.sni.<name>.key)",
                error(null, Map.of("tls.sni..cert", cert.toString())));
        assertTrue(error(null, Map.of("tls.sni.a.com.crt", cert.toString())).contains("expected tls.sni.<name>.cert"));
    }

    @Test
    void propertiesTextRoundTrips() throws Exception {
        SluiceConfig c = SluiceConfig.load(null, Map.of("smtp.max_errors", "7", "tls.keystore_password", "hunter2"));
        String text = c.toPropertiesText();
        assertTrue(text.contains("smtp.max_errors = 7\n"));
        assertFalse(text.contains("hunter2"));
        Path f = file(text.replace("********", "x"));
        SluiceConfig again = SluiceConfig.load(f, Map.of());
        for (ConfigKey<?> k : ConfigKeys.all()) {
            if (k != ConfigKeys.TLS_KEYSTORE_PASSWORD) {
                assertEquals(c.get(k), again.get(k), k.name());
            }
        }
    }

    @Test
    void getReturnsTheSameObjectEachTime() {
        SluiceConfig c = SluiceConfig.defaults();
        assertSame(c.get(ConfigKeys.RELAY_NETWORKS), c.get(ConfigKeys.RELAY_NETWORKS));
    }
}
