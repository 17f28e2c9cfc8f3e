package io.sluice.tls;

import java.io.IOException;
import java.io.Writer;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The embedded default certificate: a self-signed ECDSA P-256 certificate for the host name, so
 * that STARTTLS works out of the box (MX peers rarely verify). Startup code only; not for loops.
 */
public final class SelfSignedCertificate {

    /** File names inside the directory given to {@link #loadOrCreate}. */
    public static final String CERT_FILE = "cert.pem";
    public static final String KEY_FILE = "key.pem";

    static final Duration VALIDITY = Duration.ofDays(825);

    private SelfSignedCertificate() {
    }

    /**
     * Returns the certificate in {@code dir} ({@value #CERT_FILE}, {@value #KEY_FILE}), creating
     * both first if either is missing. The key file is created with mode 600. Later starts reuse
     * the same files, so peers that pin it see the same certificate.
     */
    public static CertificateSource loadOrCreate(Path dir, String hostname) throws IOException, GeneralSecurityException {
        Path certFile = dir.resolve(CERT_FILE);
        Path keyFile = dir.resolve(KEY_FILE);
        if (!Files.exists(certFile) || !Files.exists(keyFile)) {
            Files.createDirectories(dir);
            CertifiedKey created = create(hostname, "EC");
            writePem(keyFile, created.key(), true);
            writePem(certFile, created.leaf(), false);
        }
        CertificateSource source = CertificateSource.pem(certFile, keyFile);
        source.load(); // fail at startup, not at the first handshake
        return source;
    }

    /**
     * Generates a self-signed certificate in memory.
     *
     * @param keyAlgorithm {@code "EC"} (P-256, SHA256withECDSA) or {@code "RSA"} (2048 bits, SHA256withRSA)
     */
    public static CertifiedKey create(String hostname, String keyAlgorithm) throws GeneralSecurityException {
        KeyPair pair = generateKeyPair(keyAlgorithm);
        String signatureAlgorithm = keyAlgorithm.equals("EC") ? "SHA256withECDSA" : "SHA256withRSA";
        X500Name subject = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, hostname).build();
        Instant now = Instant.now();
        X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(subject,
                new BigInteger(64, new SecureRandom()).abs().add(BigInteger.ONE),
                Date.from(now.minus(Duration.ofDays(1))), Date.from(now.plus(VALIDITY)), subject, pair.getPublic());
        try {
            builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
                new GeneralName(GeneralName.dNSName, hostname),
                new GeneralName(GeneralName.dNSName, "localhost"),
                new GeneralName(GeneralName.iPAddress, "127.0.0.1"),
                new GeneralName(GeneralName.iPAddress, "::1"),
            }));
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            builder.addExtension(Extension.keyUsage, true, new KeyUsage(keyAlgorithm.equals("EC")
                    ? KeyUsage.digitalSignature : KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
            builder.addExtension(Extension.extendedKeyUsage, false,
                    new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
            ContentSigner signer = new JcaContentSignerBuilder(signatureAlgorithm).build(pair.getPrivate());
            X509Certificate certificate = new JcaX509CertificateConverter().getCertificate(builder.build(signer));
            return new CertifiedKey(pair.getPrivate(), List.of(certificate));
        } catch (IOException | OperatorCreationException e) {
            throw new GeneralSecurityException("cannot build self-signed certificate for " + hostname, e);
        }
    }

    private static KeyPair generateKeyPair(String keyAlgorithm) throws GeneralSecurityException {
        KeyPairGenerator generator = KeyPairGenerator.getInstance(keyAlgorithm);
        if (keyAlgorithm.equals("EC")) {
            generator.initialize(new ECGenParameterSpec("secp256r1"));
        } else if (keyAlgorithm.equals("RSA")) {
            generator.initialize(2048);
        } else {
            throw new GeneralSecurityException("keyAlgorithm=" + keyAlgorithm + " is not EC or RSA");
        }
        return generator.generateKeyPair();
    }

    /** Writes through a private temporary file and an atomic rename, so a crash never leaves half a key. */
    static void writePem(Path target, Object value, boolean secret) throws IOException {
        Path temp = Files.createTempFile(target.getParent(), "." + target.getFileName(), ".tmp",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(secret ? "rw-------" : "rw-r--r--")));
        try {
            try (Writer out = Files.newBufferedWriter(temp, StandardCharsets.US_ASCII);
                    JcaPEMWriter pem = new JcaPEMWriter(out)) {
                if (value instanceof PrivateKey) {
                    pem.writeObject(new JcaPKCS8Generator((PrivateKey) value, null));
                } else {
                    pem.writeObject(value);
                }
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(temp);
        }
    }
}
