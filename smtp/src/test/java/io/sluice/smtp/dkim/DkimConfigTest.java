package io.sluice.smtp.dkim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sluice.smtp.config.ConfigException;
import io.sluice.smtp.config.SluiceConfig;

/** dkim.* keys: what starts, and the one line a bad key stops the start with (never the key material). */
class DkimConfigTest {
    @TempDir
    Path dir;

    private static DkimSigner signer(Map<String, String> settings) {
        Map<String, String> all = new HashMap<>(settings);
        all.put("hostname", "mx.example.org");
        return DkimConfig.signer(SluiceConfig.load(null, all));
    }

    private String refusal(Map<String, String> settings) {
        ConfigException e = assertThrows(ConfigException.class, () -> signer(settings));
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        return e.getMessage();
    }

    @Test
    void rsaAndEd25519KeysLoad() throws Exception {
        Path rsa = TestKeys.write(dir.resolve("rsa.pem"), TestKeys.rsa2048());
        Path ed = TestKeys.write(dir.resolve("ed.pem"), TestKeys.pkcs8("Ed25519", 0));
        DkimSigner signer = signer(Map.of("dkim.example.org.selector", "s2026", "dkim.example.org.key", rsa.toString(),
                "dkim..example.com.selector", "ed", "dkim..example.com.key", ed.toString()));
        assertTrue(signer.enabled());
        assertEquals(2, signer.keys().size());
        assertTrue(signer.keys().stream().anyMatch(k -> k.domain().equals("example.com")
                && k.algorithm() == DkimAlgorithm.ED25519_SHA256), "a .parent entry signs as the parent");
        assertFalse(signer(Map.of()).enabled(), "no keys: signs nothing");
    }

    @Test
    void badKeysStopTheStartWithOneLineNamingTheKey() throws Exception {
        byte[] small = TestKeys.pkcs8("RSA", 512);
        Path smallFile = TestKeys.write(dir.resolve("small.pem"), small);
        String msg = refusal(Map.of("dkim.example.org.selector", "s", "dkim.example.org.key", smallFile.toString()));
        assertTrue(msg.startsWith("config: dkim.example.org.key=" + smallFile + ": RSA key of 512 bits < MIN=1024"), msg);
        assertFalse(msg.contains(Base64.getEncoder().encodeToString(small).substring(40, 60)), "no key material: " + msg);

        Path ec = TestKeys.write(dir.resolve("ec.pem"), TestKeys.pkcs8("EC", 256));
        msg = refusal(Map.of("dkim.example.org.selector", "s", "dkim.example.org.key", ec.toString()));
        assertTrue(msg.contains("dkim.example.org.key=") && msg.contains("not an RSA or Ed25519 key"), msg);

        Path pkcs1 = dir.resolve("pkcs1.pem");
        Files.writeString(pkcs1, "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n-----END RSA PRIVATE KEY-----\n");
        msg = refusal(Map.of("dkim.example.org.selector", "s", "dkim.example.org.key", pkcs1.toString()));
        assertTrue(msg.contains("PKCS#1") && msg.contains("openssl pkcs8 -topk8 -nocrypt"), msg);
        assertFalse(msg.contains("MIIBOgIBAAJBAKj34"), msg);

        Path encrypted = dir.resolve("enc.pem");
        Files.writeString(encrypted, "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIBvTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0BBQww\n-----END ENCRYPTED PRIVATE KEY-----\n");
        msg = refusal(Map.of("dkim.example.org.selector", "s", "dkim.example.org.key", encrypted.toString()));
        assertTrue(msg.contains("encrypted"), msg);

        Path garbage = dir.resolve("garbage.pem");
        Files.writeString(garbage, "-----BEGIN PRIVATE KEY-----\nc2VjcmV0IGJ5dGVzIHRoYXQgYXJlIG5vdCBhIGtleQ==\n-----END PRIVATE KEY-----\n");
        msg = refusal(Map.of("dkim.example.org.selector", "s", "dkim.example.org.key", garbage.toString()));
        assertTrue(msg.contains("dkim.example.org.key=") && msg.contains("not an RSA or Ed25519 key"), msg);
        assertFalse(msg.contains("c2VjcmV0"), msg);

        Path text = dir.resolve("cert.pem");
        Files.writeString(text, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", StandardCharsets.US_ASCII);
        msg = refusal(Map.of("dkim.example.org.selector", "s", "dkim.example.org.key", text.toString()));
        assertTrue(msg.contains("no PEM block BEGIN PRIVATE KEY"), msg);

        msg = refusal(Map.of("dkim.example.org.selector", "s", "dkim.example.org.key", dir.resolve("missing.pem").toString()));
        assertTrue(msg.endsWith(": no such file"), msg);
    }

    @Test
    void incompleteOrMisnamedEntriesAreRefused() throws Exception {
        Path ed = TestKeys.write(dir.resolve("ed.pem"), TestKeys.pkcs8("Ed25519", 0));
        assertTrue(refusal(Map.of("dkim.example.org.key", ed.toString())).contains("dkim.example.org.selector must be set too"));
        assertTrue(refusal(Map.of("dkim.example.org.selector", "s")).contains("dkim.example.org.key must be set too"));
        assertTrue(refusal(Map.of("dkim.example.org.selector", "bad selector!", "dkim.example.org.key", ed.toString()))
                .contains("expected a selector"));
        assertTrue(refusal(Map.of("dkim.exa_mple.org.selector", "s", "dkim.exa_mple.org.key", ed.toString()))
                .contains("<domain> must be a domain"));
        String noFrom = refusal(Map.of("dkim.headers", "to,subject"));
        assertTrue(noFrom.startsWith("config: dkim.headers=to,subject: must include from"), noFrom);
        assertTrue(refusal(Map.of("dkim.headers", "from,bad:name")).startsWith("config: dkim.headers="));
    }

    @Test
    void headersAreLowerCasedAndSelectorsMayBeNumeric() throws Exception {
        Path ed = TestKeys.write(dir.resolve("ed.pem"), TestKeys.pkcs8("Ed25519", 0));
        DkimSigner signer = signer(Map.of("dkim.headers", "From, Subject", "dkim.Example.ORG.selector", "2026",
                "dkim.Example.ORG.key", ed.toString()));
        byte[] message = "From: a@example.org\r\nSubject: s\r\nTo: b@example.net\r\n\r\nx\r\n".getBytes(StandardCharsets.US_ASCII);
        DkimSignature sig = signer.signatureFor(DkimSignerTest.msg(1), message, message.length);
        String field = new String(sig.field(), StandardCharsets.US_ASCII);
        assertTrue(field.contains("h=from:from:subject;"), field);
        assertTrue(field.contains("s=2026;") && field.contains("d=example.org;"), field);
        assertEquals(List.of("example.org"), signer.keys().stream().map(DkimKey::domain).toList());
    }
}
