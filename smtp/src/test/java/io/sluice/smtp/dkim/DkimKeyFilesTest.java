package io.sluice.smtp.dkim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sluice.smtp.config.SluiceConfig;

/** Key-by-key reload of the configured DKIM key files, and the signature cache across a key change. */
class DkimKeyFilesTest {
    @TempDir
    Path dir;

    private Path a;
    private Path b;

    private DkimKeyFiles files() throws Exception {
        a = TestKeys.write(dir.resolve("a.pem"), TestKeys.pkcs8("Ed25519", 0));
        b = TestKeys.write(dir.resolve("b.pem"), TestKeys.pkcs8("Ed25519", 0));
        return DkimKeyFiles.fromConfig(SluiceConfig.load(null, Map.of("hostname", "mx.example.org",
                "dkim.Example.ORG.selector", "sa", "dkim.Example.ORG.key", a.toString(),
                "dkim..example.net.selector", "sb", "dkim..example.net.key", b.toString())));
    }

    private static DkimSigner signer(DkimKeyFiles files) {
        return new DkimSigner(files.loadAll(), DkimSigner.DEFAULT_HEADERS, "mx.example.org",
                io.sluice.smtp.config.NetworkSet.EMPTY, () -> 1_000_000L);
    }

    @Test
    void unchangedFilesKeepTheKeysInUse() throws Exception {
        DkimKeyFiles files = files();
        assertEquals(List.of(b, a), files.files(), "in name order: .example.net before Example.ORG");
        DkimSigner signer = signer(files);
        Map<String, DkimKey> before = signer.keysByName();
        DkimKeyFiles.Reload reload = files.reload(signer);
        assertTrue(reload.succeeded(), reload.detail());
        assertEquals(0, reload.renewed());
        assertEquals(2, reload.keys());
        assertSame(before, signer.keysByName(), "nothing new: no swap");
        assertEquals(".example.net s=sb unchanged; example.org s=sa unchanged", reload.detail());
    }

    @Test
    void eachKeyReloadsOnItsOwn() throws Exception {
        DkimKeyFiles files = files();
        DkimSigner signer = signer(files);
        DkimKey oldA = signer.keysByName().get("example.org");
        DkimKey oldB = signer.keysByName().get(".example.net");
        TestKeys.write(a, TestKeys.pkcs8("Ed25519", 0));
        Files.delete(b);
        DkimKeyFiles.Reload reload = files.reload(signer);
        assertFalse(reload.succeeded(), "one key failed");
        assertEquals(1, reload.renewed());
        assertEquals(2, reload.keys(), "the failed one keeps its key");
        assertTrue(reload.detail().contains(".example.net s=sb kept the key in use: config: dkim..example.net.key=" + b
                + ": no such file"), reload.detail());
        assertNotSame(oldA, signer.keysByName().get("example.org"));
        assertFalse(oldA.sameKeyAs(signer.keysByName().get("example.org")), "a new key for example.org");
        assertSame(oldB, signer.keysByName().get(".example.net"));
    }

    @Test
    void aCachedSignatureIsNotReusedAfterTheKeyChanged() throws Exception {
        DkimKeyFiles files = files();
        DkimSigner signer = signer(files);
        byte[] message = "From: x@example.org\r\n\r\nbody\r\n".getBytes(StandardCharsets.US_ASCII);
        DkimSignature first = signer.signatureFor(DkimSignerTest.msg(7, "192.0.2.1", "ESMTPSA"), message, message.length);
        assertTrue(first != null && first.domain().equals("example.org"), "signed");
        assertSame(first, signer.signatureFor(DkimSignerTest.msg(7, "192.0.2.1", "ESMTPSA"), message, message.length), "a retry reuses it");
        TestKeys.write(a, TestKeys.pkcs8("Ed25519", 0));
        assertEquals(1, files.reload(signer).renewed());
        DkimSignature second = signer.signatureFor(DkimSignerTest.msg(7, "192.0.2.1", "ESMTPSA"), message, message.length);
        assertNotSame(first, second, "signed again with the new key");
        assertEquals(2, signer.stats().signedCount());
        assertEquals(1, signer.stats().reusedCount());
    }

    /** The cache is by key instance: renewing another domain's key keeps this domain's cached signature. */
    @Test
    void renewingAnotherDomainsKeyKeepsThisDomainsCachedSignature() throws Exception {
        DkimKeyFiles files = files();
        DkimSigner signer = signer(files);
        byte[] message = "From: x@example.org\r\n\r\nbody\r\n".getBytes(StandardCharsets.US_ASCII);
        DkimSignature first = signer.signatureFor(DkimSignerTest.msg(7, "192.0.2.1", "ESMTPSA"), message, message.length);
        TestKeys.write(b, TestKeys.pkcs8("Ed25519", 0)); // .example.net's key renewed
        DkimKeyFiles.Reload reload = files.reload(signer);
        assertEquals(1, reload.renewed(), reload.detail());
        DkimSignature retry = signer.signatureFor(DkimSignerTest.msg(7, "192.0.2.1", "ESMTPSA"), message, message.length);
        assertSame(first, retry, "example.org's key did not change: its retry reuses the signature");
        assertEquals(1, signer.stats().signedCount());
        assertEquals(1, signer.stats().reusedCount());
    }
}
