package io.sluice.tls;

import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.List;

/**
 * Where a server's (or client's) certificates and keys come from. {@link #load()} reads them
 * fresh each time it is called (so a reload re-reads the files); call it at startup or on a
 * reload, never on an event loop.
 */
@FunctionalInterface
public interface CertificateSource {

    /**
     * Reads the keys and chains, checking that each key matches its leaf certificate.
     *
     * @return one or more entries (a PKCS#12 store may hold an RSA and an ECDSA one)
     */
    List<CertifiedKey> load() throws IOException, GeneralSecurityException;

    /**
     * The files {@link #load()} reads, for a {@link ReloadingTlsContext} to watch; empty for keys
     * held in memory.
     */
    default List<Path> files() {
        return List.of();
    }

    /**
     * A PEM certificate chain (leaf first) and a PEM private key: PKCS#8 ({@code BEGIN PRIVATE
     * KEY}) or the traditional OpenSSL forms ({@code BEGIN RSA PRIVATE KEY}, {@code BEGIN EC
     * PRIVATE KEY}); RSA or EC. Encrypted keys are refused with a clear message.
     */
    static CertificateSource pem(Path certificateChainFile, Path privateKeyFile) {
        return CertificateFiles.pem(certificateChainFile, privateKeyFile);
    }

    /** Every private-key entry of a PKCS#12 keystore, all protected by {@code password}. */
    static CertificateSource pkcs12(Path keystoreFile, char[] password) {
        return CertificateFiles.pkcs12(keystoreFile, password);
    }

    /** Keys already in memory (tests, generated certificates). */
    static CertificateSource of(CertifiedKey... keys) {
        List<CertifiedKey> list = List.of(keys);
        return () -> list;
    }
}
