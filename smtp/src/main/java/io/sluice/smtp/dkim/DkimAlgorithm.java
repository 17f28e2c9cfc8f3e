package io.sluice.smtp.dkim;

import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.Signature;

/**
 * The two signing algorithms: {@code rsa-sha256} (RFC 6376) and {@code ed25519-sha256} (RFC 8463,
 * which signs the SHA-256 of the canonical header data with PureEdDSA). Stateless; any thread.
 */
public enum DkimAlgorithm {
    /** RSASSA-PKCS1-v1_5 over SHA-256; {@code k=rsa} in the key record. */
    RSA_SHA256("rsa-sha256", "rsa", "SHA256withRSA"),
    /** Ed25519 over the SHA-256 of the data; {@code k=ed25519} in the key record. */
    ED25519_SHA256("ed25519-sha256", "ed25519", "Ed25519");

    private final String tag;
    private final String keyType;
    private final String jcaName;

    DkimAlgorithm(String tag, String keyType, String jcaName) {
        this.tag = tag;
        this.keyType = keyType;
        this.jcaName = jcaName;
    }

    /** The {@code a=} value. */
    public String tag() {
        return tag;
    }

    /** The {@code k=} value of the DNS key record. */
    public String keyType() {
        return keyType;
    }

    /** Signs the canonical header data (the bytes the {@code b=} tag covers). */
    byte[] sign(PrivateKey key, byte[] data) throws GeneralSecurityException {
        // Signature objects are not thread-safe and cheap next to the private-key operation itself.
        Signature s = Signature.getInstance(jcaName);
        s.initSign(key);
        s.update(this == ED25519_SHA256 ? MessageDigest.getInstance("SHA-256").digest(data) : data);
        return s.sign();
    }
}
