package io.sluice.smtp.dkim;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPairGenerator;
import java.util.Base64;

/** Key files for tests: generated PKCS#8 PEM (RSA, Ed25519, others). Test thread only. */
public final class TestKeys {
    private static byte[] rsa2048;

    private TestKeys() {
    }

    /** PKCS#8 DER of a key of {@code algorithm} ("RSA" with {@code bits}, "Ed25519", "EC" ...). */
    public static byte[] pkcs8(String algorithm, int bits) throws GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance(algorithm);
        if (bits > 0) {
            g.initialize(bits);
        }
        return g.generateKeyPair().getPrivate().getEncoded();
    }

    /** One RSA-2048 key per test run (generating one takes a while on a busy machine). */
    public static synchronized byte[] rsa2048() throws GeneralSecurityException {
        if (rsa2048 == null) {
            rsa2048 = pkcs8("RSA", 2048);
        }
        return rsa2048;
    }

    public static String pem(String label, byte[] der) {
        return "-----BEGIN " + label + "-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
                + "\n-----END " + label + "-----\n";
    }

    /** Writes {@code der} as a PKCS#8 PEM file. */
    public static Path write(Path file, byte[] der) throws IOException {
        Files.writeString(file, pem("PRIVATE KEY", der), StandardCharsets.US_ASCII);
        return file;
    }
}
