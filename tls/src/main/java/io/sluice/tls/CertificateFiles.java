package io.sluice.tls;

import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.List;

/**
 * A {@link CertificateSource} read from files (PEM pair or PKCS#12 store), which knows its files
 * so a {@link ReloadingTlsContext} can watch them. Immutable; {@link #load()} reads the files on
 * every call, on the caller's thread.
 */
final class CertificateFiles implements CertificateSource {

    private final Path first;
    private final Path second;
    private final char[] pkcs12Password;

    private CertificateFiles(Path first, Path second, char[] pkcs12Password) {
        this.first = first;
        this.second = second;
        this.pkcs12Password = pkcs12Password;
    }

    static CertificateFiles pem(Path certificateChainFile, Path privateKeyFile) {
        return new CertificateFiles(certificateChainFile, privateKeyFile, null);
    }

    static CertificateFiles pkcs12(Path keystoreFile, char[] password) {
        return new CertificateFiles(keystoreFile, null, password.clone());
    }

    @Override
    public List<CertifiedKey> load() throws IOException, GeneralSecurityException {
        return second != null ? List.of(PemFiles.load(first, second)) : PemFiles.loadPkcs12(first, pkcs12Password);
    }

    @Override
    public List<Path> files() {
        return second != null ? List.of(first, second) : List.of(first);
    }

    @Override
    public String toString() {
        return files().toString();
    }
}
