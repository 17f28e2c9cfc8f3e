package io.sluice.tls;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;

/** Reads certificate and key files (PEM, PKCS#12). Startup/reload code only, any thread. */
final class PemFiles {

    private static final byte[] PROBE = "sluice key check".getBytes(StandardCharsets.US_ASCII);

    private PemFiles() {
    }

    static CertifiedKey load(Path chainFile, Path keyFile) throws IOException, GeneralSecurityException {
        List<X509Certificate> chain = readCertificates(chainFile);
        PrivateKey key = readPrivateKey(keyFile);
        CertifiedKey certified = new CertifiedKey(key, chain);
        checkKeyMatches(certified, chainFile + " / " + keyFile);
        return certified;
    }

    static List<X509Certificate> readCertificates(Path chainFile) throws IOException, GeneralSecurityException {
        CertificateFactory factory = CertificateFactory.getInstance("X.509");
        List<X509Certificate> chain = new ArrayList<>();
        try (InputStream in = Files.newInputStream(chainFile)) {
            for (Certificate certificate : factory.generateCertificates(in)) {
                chain.add((X509Certificate) certificate);
            }
        }
        if (chain.isEmpty()) {
            throw new GeneralSecurityException("no certificate in " + chainFile);
        }
        return chain;
    }

    static PrivateKey readPrivateKey(Path keyFile) throws IOException, GeneralSecurityException {
        JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
        try (Reader reader = Files.newBufferedReader(keyFile, StandardCharsets.US_ASCII);
                PEMParser parser = new PEMParser(reader)) {
            // An "EC PRIVATE KEY" file may start with an "EC PARAMETERS" block: skip non-keys.
            for (Object pem = parser.readObject(); pem != null; pem = parser.readObject()) {
                if (pem instanceof PrivateKeyInfo) {
                    return converter.getPrivateKey((PrivateKeyInfo) pem);
                }
                if (pem instanceof PEMKeyPair) {
                    // Only the private part: an EC key written without its optional public key has none.
                    return converter.getPrivateKey(((PEMKeyPair) pem).getPrivateKeyInfo());
                }
                if (pem instanceof PKCS8EncryptedPrivateKeyInfo || pem instanceof PEMEncryptedKeyPair) {
                    throw new GeneralSecurityException("encrypted private key in " + keyFile
                            + " is not supported: store it unencrypted with mode 600");
                }
            }
        }
        throw new GeneralSecurityException("no private key in " + keyFile);
    }

    static List<CertifiedKey> loadPkcs12(Path keystoreFile, char[] password) throws IOException, GeneralSecurityException {
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(keystoreFile)) {
            store.load(in, password);
        }
        List<CertifiedKey> keys = new ArrayList<>();
        for (String alias : Collections.list(store.aliases())) {
            if (!store.isKeyEntry(alias)) {
                continue;
            }
            List<X509Certificate> chain = new ArrayList<>();
            for (Certificate certificate : store.getCertificateChain(alias)) {
                chain.add((X509Certificate) certificate);
            }
            CertifiedKey certified = new CertifiedKey((PrivateKey) store.getKey(alias, password), chain);
            checkKeyMatches(certified, keystoreFile + " alias " + alias);
            keys.add(certified);
        }
        if (keys.isEmpty()) {
            throw new GeneralSecurityException("no private key entry in " + keystoreFile);
        }
        return keys;
    }

    /** Signs a probe and verifies it with the leaf's public key: a mismatched pair fails at load, not per handshake. */
    static void checkKeyMatches(CertifiedKey certified, String where) throws GeneralSecurityException {
        String algorithm = certified.keyType().equals("EC") ? "SHA256withECDSA" : "SHA256with" + certified.keyType();
        PublicKey publicKey = certified.leaf().getPublicKey();
        String certificateKeyType = publicKey.getAlgorithm().equals("ECDSA") ? "EC" : publicKey.getAlgorithm();
        if (!certificateKeyType.equals(certified.keyType())) {
            throw new GeneralSecurityException("private key (" + certified.keyType() + ") does not match certificate "
                    + certified.leaf().getSubjectX500Principal() + " (" + certificateKeyType + ") in " + where);
        }
        Signature signer = Signature.getInstance(algorithm);
        signer.initSign(certified.key());
        signer.update(PROBE);
        byte[] signature = signer.sign();
        Signature verifier = Signature.getInstance(algorithm);
        verifier.initVerify(publicKey);
        verifier.update(PROBE);
        if (!verifier.verify(signature)) {
            throw new GeneralSecurityException("private key does not match certificate "
                    + certified.leaf().getSubjectX500Principal() + " in " + where);
        }
    }
}
