package io.sluice.tls;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;

/**
 * A private key with its certificate chain (leaf first). Immutable; safe from any thread.
 *
 * @param key the private key matching {@code chain.get(0)}
 * @param chain the certificate chain, leaf first, never empty
 */
public record CertifiedKey(PrivateKey key, List<X509Certificate> chain) {

    public CertifiedKey {
        chain = List.copyOf(chain);
        if (chain.isEmpty()) {
            throw new IllegalArgumentException("certificate chain is empty");
        }
    }

    /** The leaf certificate. */
    public X509Certificate leaf() {
        return chain.get(0);
    }

    /** The JSSE key type of the key: {@code "RSA"} or {@code "EC"} (others as the JCA names them). */
    public String keyType() {
        return key.getAlgorithm().equals("ECDSA") ? "EC" : key.getAlgorithm();
    }
}
