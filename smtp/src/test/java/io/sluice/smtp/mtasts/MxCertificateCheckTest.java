package io.sluice.smtp.mtasts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Optional;

import io.sluice.tls.CertifiedKey;
import io.sluice.tls.SelfSignedCertificate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The testing-mode certificate check: RFC 6125 name matching, and the chain against the given anchors. */
class MxCertificateCheckTest {
    @TempDir
    Path dir;

    @Test
    void aWildcardStandsForExactlyOneLeftmostLabel() {
        assertTrue(MxCertificateCheck.matches("mx.example.com", "mx.example.com"));
        assertTrue(MxCertificateCheck.matches("*.example.com", "mx.example.com"));
        assertFalse(MxCertificateCheck.matches("*.example.com", "a.mx.example.com"));
        assertFalse(MxCertificateCheck.matches("*.example.com", "example.com"));
        assertFalse(MxCertificateCheck.matches("*.com", "example.com"), "a wildcard needs two labels under it");
        assertFalse(MxCertificateCheck.matches("mx.example.com", "mx2.example.com"));
    }

    @Test
    void aTrustedCertificateForTheHostPassesAndOthersSayWhy() throws Exception {
        CertifiedKey mx = SelfSignedCertificate.create("mx.example.com", "EC");
        Path ca = dir.resolve("ca.pem");
        Files.writeString(ca, "-----BEGIN CERTIFICATE-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(mx.leaf().getEncoded())
                + "\n-----END CERTIFICATE-----\n");
        MxCertificateCheck check = MxCertificateCheck.trusting(Optional.of(ca));
        assertNull(check.problem(List.of(mx.leaf()), "MX.example.com."));
        String wrongName = check.problem(List.of(mx.leaf()), "other.example.com");
        assertTrue(wrongName != null && wrongName.contains("not other.example.com"), wrongName);
        CertifiedKey stranger = SelfSignedCertificate.create("mx.example.com", "RSA");
        String untrusted = check.problem(List.of(stranger.leaf()), "mx.example.com");
        assertTrue(untrusted != null && untrusted.startsWith("chain not trusted"), untrusted);
        assertEquals("no X.509 certificate", check.problem(List.of(), "mx.example.com"));
    }
}
