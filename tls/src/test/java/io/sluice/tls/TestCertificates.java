package io.sluice.tls;

import java.security.GeneralSecurityException;

/** Certificates generated once per test JVM (RSA key generation is the slow part). */
final class TestCertificates {

    static final CertifiedKey EC;
    static final CertifiedKey RSA;

    static {
        try {
            EC = SelfSignedCertificate.create("ec.test", "EC");
            RSA = SelfSignedCertificate.create("rsa.test", "RSA");
        } catch (GeneralSecurityException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private TestCertificates() {
    }

    static CertifiedKey of(String keyType) {
        return keyType.equals("EC") ? EC : RSA;
    }
}
