package io.sluice.smtp.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HexFormat;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sluice.smtp.dkim.TestKeys;

/** {@code sluice dkim-record}: the zone line for RFC 8463's Ed25519 key, an RSA-2048 key's split strings, a bad key. */
class DkimRecordCommandTest {
    @TempDir
    Path dir;

    private record Run(int status, String out, String err) {
    }

    private static synchronized Run run(String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
            int status = Main.run(args);
            return new Run(status, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    @Test
    void printsTheRfc8463Ed25519Record() throws Exception {
        byte[] der = HexFormat.of().parseHex("302e020100300506032b657004220420");
        byte[] seed = Base64.getDecoder().decode("nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=");
        byte[] pkcs8 = new byte[der.length + seed.length];
        System.arraycopy(der, 0, pkcs8, 0, der.length);
        System.arraycopy(seed, 0, pkcs8, der.length, seed.length);
        Path key = TestKeys.write(dir.resolve("ed.pem"), pkcs8);
        Run r = run("dkim-record", "--key", key.toString(), "--selector", "brisbane", "--domain", "football.example.com");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("brisbane._domainkey.football.example.com. IN TXT ( "
                + "\"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\" )"), r.out());
    }

    @Test
    void splitsALongRsaRecordIntoStringsOfAtMost255() throws Exception {
        Path key = TestKeys.write(dir.resolve("rsa.pem"), TestKeys.rsa2048());
        Run r = run("dkim-record", "--key", key.toString(), "--selector", "s2026", "--domain", "example.com");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("s2026._domainkey.example.com. IN TXT ( \"v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"), r.out());
        Matcher strings = Pattern.compile("\"([^\"]*)\"").matcher(r.out());
        StringBuilder joined = new StringBuilder();
        int count = 0;
        while (strings.find()) {
            assertTrue(strings.group(1).length() <= 255, strings.group(1));
            joined.append(strings.group(1));
            count++;
        }
        assertEquals(2, count, "a 2048-bit key's record needs two strings: " + r.out());
        assertTrue(joined.toString().matches("v=DKIM1; k=rsa; p=[A-Za-z0-9+/=]{392}"), joined.toString());
    }

    @Test
    void serveRefusesToStartWithABadKeyInOneLine() throws Exception {
        Path key = TestKeys.write(dir.resolve("small.pem"), TestKeys.pkcs8("RSA", 512));
        Run r = run("serve", "--set", "listen=127.0.0.1:0", "--set", "spool.dir=" + dir.resolve("spool"),
                "--set", "dkim.example.org.selector=s1", "--set", "dkim.example.org.key=" + key);
        assertEquals(1, r.status(), r.err());
        assertTrue(r.err().contains("sluice: cannot start: config: dkim.example.org.key=" + key
                + ": RSA key of 512 bits < MIN=1024 (2048 recommended)\n"), r.err());
        assertEquals(1, r.err().lines().filter(l -> l.contains("dkim")).count(), r.err());
    }

    @Test
    void aBadKeyIsOneLineWithoutItsContent() throws Exception {
        Path key = dir.resolve("bad.pem");
        Files.writeString(key, "-----BEGIN RSA PRIVATE KEY-----\nSECRETSECRET\n-----END RSA PRIVATE KEY-----\n");
        Run r = run("dkim-record", "--key", key.toString(), "--selector", "s", "--domain", "example.com");
        assertEquals(2, r.status());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().startsWith("sluice: dkim-record: --key=" + key + ": PKCS#1"), r.err());
        assertFalse(r.err().contains("SECRET"));
    }
}
