package io.sluice.smtp.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sluice.smtp.config.ClientTlsLevel;
import io.sluice.smtp.config.ConfigException;
import io.sluice.smtp.config.SluiceConfig;
import io.sluice.smtp.server.EventLog;
import io.sluice.smtp.server.SmtpServer;

/** {@code delivery.auth.<destination>}: the credentials file, its errors, and that the password shows nowhere. */
class AuthTableTest {
    private static final String PASSWORD = "Pa55:w0rd-\u00e9t\u00e9";

    @TempDir
    Path dir;

    private Path file(String name, byte[] content) throws Exception {
        Path f = dir.resolve(name);
        Files.write(f, content);
        return f;
    }

    private SluiceConfig config(Map<String, String> extra) {
        Map<String, String> settings = new HashMap<>();
        settings.put("hostname", "mx.test");
        settings.put("spool.dir", dir.resolve("spool").toString());
        settings.putAll(extra);
        return SluiceConfig.load(null, settings);
    }

    @Test
    void readsOneLineSplitAtTheFirstColon() throws Exception {
        Path f = file("relay.pw", ("alice@example.org:" + PASSWORD + "\n").getBytes(StandardCharsets.UTF_8));
        AuthTable table = AuthTable.fromConfig(config(Map.of("delivery.auth.Relay.Example.COM", f.toString())));
        SmtpCredentials c = table.credentialsFor("relay.example.com");
        assertSame(c, table.credentialsFor("RELAY.example.com"), "names compare case-insensitively, one instance");
        assertNull(table.credentialsFor("other.example.com"));
        assertEquals("alice@example.org", c.username());
        String plain = new String(Base64.getDecoder().decode(c.plainResponse()), StandardCharsets.UTF_8);
        assertEquals("\0alice@example.org\0" + PASSWORD, plain);
        assertEquals(PASSWORD, new String(Base64.getDecoder().decode(c.loginPassword()), StandardCharsets.UTF_8));
        assertEquals("alice@example.org", new String(Base64.getDecoder().decode(c.loginUsername()), StandardCharsets.UTF_8));
    }

    @Test
    void crlfLineEndIsAllowed() throws Exception {
        Path f = file("crlf.pw", "bob:pw\r\n".getBytes(StandardCharsets.UTF_8));
        SmtpCredentials c = SmtpCredentials.read("x", "delivery.auth.x", f);
        assertEquals("\0bob\0pw", new String(Base64.getDecoder().decode(c.plainResponse()), StandardCharsets.UTF_8));
    }

    @Test
    void passwordShowsInNoStringForm() throws Exception {
        Path f = file("relay.pw", ("alice:" + PASSWORD).getBytes(StandardCharsets.UTF_8));
        SluiceConfig config = config(Map.of("delivery.auth.relay.example.com", f.toString()));
        ClientSettings settings = ClientSettings.fromConfig(config);
        SmtpCredentials c = settings.auth().credentialsFor("relay.example.com");
        String b64 = Base64.getEncoder().encodeToString(PASSWORD.getBytes(StandardCharsets.UTF_8));
        for (String shown : new String[] {c.toString(), settings.auth().toString(), settings.toString(),
            config.toPropertiesText(), new HopKey(new java.net.InetSocketAddress("127.0.0.1", 25), false,
                ClientTlsLevel.ENCRYPT, "relay.example.com", c).toString()}) {
            assertFalse(shown.contains(PASSWORD) || shown.contains("Pa55") || shown.contains(b64), shown);
        }
        assertTrue(config.toPropertiesText().contains("delivery.auth.relay.example.com = " + f), "the path is shown");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "empty|''|the file is empty",
        "newline|'\n'|the file is empty",
        "nocolon|'alice-secretpw'|no ':'",
        "nouser|':secretpw'|user name (before the first ':') is empty",
        "nopass|'alice:'|password (after the first ':') is empty",
        "twolines|'alice:secretpw\nbob:secretpw2'|more than one line",
        "nul|'alice:secret\u0000pw'|control character",
    })
    void malformedFileRefusedWithOneLineNamingTheKeyNotTheContent(String name, String content, String reason) throws Exception {
        Path f = file(name, content.getBytes(StandardCharsets.UTF_8));
        ConfigException e = assertThrows(ConfigException.class,
                () -> AuthTable.fromConfig(config(Map.of("delivery.auth.relay.test", f.toString()))));
        assertTrue(e.getMessage().startsWith("config: delivery.auth.relay.test=" + f + ": "), e.getMessage());
        assertTrue(e.getMessage().contains(reason), e.getMessage());
        assertFalse(e.getMessage().contains("secret"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }

    @Test
    void notUtf8IsRefused() throws Exception {
        Path f = file("latin1", new byte[] {'a', ':', (byte) 0xe9, 'x'});
        ConfigException e = assertThrows(ConfigException.class, () -> SmtpCredentials.read("d", "delivery.auth.d", f));
        assertTrue(e.getMessage().contains("not UTF-8"), e.getMessage());
    }

    @Test
    void missingOrEmptyPathIsRefused() {
        ConfigException missing = assertThrows(ConfigException.class, () -> AuthTable.fromConfig(
                config(Map.of("delivery.auth.relay.test", dir.resolve("nope").toString()))));
        assertTrue(missing.getMessage().startsWith("config: delivery.auth.relay.test="), missing.getMessage());
        assertTrue(missing.getMessage().contains("not a readable file"), missing.getMessage());
        ConfigException empty = assertThrows(ConfigException.class, () -> AuthTable.fromConfig(
                config(Map.of("delivery.auth.relay.test", ""))));
        assertTrue(empty.getMessage().contains("expected the path"), empty.getMessage());
    }

    @Test
    void serverStartIsRefused() throws Exception {
        Path f = file("bad", "no colon here".getBytes(StandardCharsets.UTF_8));
        SluiceConfig config = config(Map.of("delivery.auth.relay.test", f.toString(), "listen", "127.0.0.1:0 smtp",
                "reactor.threads", "1"));
        ConfigException e = assertThrows(ConfigException.class,
                () -> SmtpServer.start(config, SmtpServer.Mode.SERVE, EventLog.silent()).close());
        assertTrue(e.getMessage().startsWith("config: delivery.auth.relay.test="), e.getMessage());
        assertFalse(e.getMessage().contains("no colon here"), e.getMessage());
    }

    @Test
    void credentialsGetVerifyUnlessAPolicyEntryNamesTheDestination() {
        SmtpCredentials c = SmtpCredentials.of("d", "u", "p");
        TlsPolicyTable table = new TlsPolicyTable(ClientTlsLevel.MAY, java.util.Map.of(
                "none.test", ClientTlsLevel.NONE, "may.test", ClientTlsLevel.MAY, "encrypt.test", ClientTlsLevel.ENCRYPT));
        assertEquals(ClientTlsLevel.VERIFY, SmtpClient.levelFor(table, "other.test", c), "no entry: verify");
        assertEquals(ClientTlsLevel.ENCRYPT, SmtpClient.levelFor(table, "encrypt.test", c), "the operator's opt-out");
        assertEquals(ClientTlsLevel.ENCRYPT, SmtpClient.levelFor(table, "none.test", c), "never plaintext");
        assertEquals(ClientTlsLevel.ENCRYPT, SmtpClient.levelFor(table, "may.test", c));
        assertEquals(ClientTlsLevel.MAY, SmtpClient.levelFor(table, "other.test", null), "no credentials: the policy");
        assertEquals(ClientTlsLevel.NONE, SmtpClient.levelFor(table, "none.test", null));
    }

    @Test
    void equalityIsIdentitySoTwoConfiguredDestinationsNeverShareAConnection() {
        assertNotEquals(SmtpCredentials.of("a", "u", "p"), SmtpCredentials.of("b", "u", "p"));
        assertThrows(IllegalArgumentException.class, () -> SmtpCredentials.of("a", "", "p"));
        assertThrows(IllegalArgumentException.class, () -> SmtpCredentials.of("a", "u", ""));
    }
}
