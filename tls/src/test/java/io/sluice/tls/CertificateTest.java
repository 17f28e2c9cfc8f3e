package io.sluice.tls;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import org.bouncycastle.asn1.ASN1BitString;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class CertificateTest {

    @TempDir
    Path dir;

    private Path writePem(String name, Object... objects) throws Exception {
        Path file = dir.resolve(name);
        try (Writer out = Files.newBufferedWriter(file, StandardCharsets.US_ASCII); JcaPEMWriter pem = new JcaPEMWriter(out)) {
            for (Object object : objects) {
                pem.writeObject(object);
            }
        }
        return file;
    }

    @ParameterizedTest
    @ValueSource(strings = {"RSA", "EC"})
    void pemPkcs8AndTraditionalKeysLoad(String keyType) throws Exception {
        CertifiedKey expected = TestCertificates.of(keyType);
        Path cert = writePem("cert.pem", expected.leaf());
        Path pkcs8 = writePem("pkcs8.pem", new JcaPKCS8Generator(expected.key(), null));
        Path traditional = writePem("traditional.pem", traditionalKey(expected)); // BEGIN RSA/EC PRIVATE KEY
        assertTrue(Files.readString(pkcs8).contains("BEGIN PRIVATE KEY"));
        assertTrue(Files.readString(traditional).contains("BEGIN " + keyType + " PRIVATE KEY"));

        for (Path key : List.of(pkcs8, traditional)) {
            List<CertifiedKey> loaded = CertificateSource.pem(cert, key).load();
            assertEquals(1, loaded.size());
            assertEquals(expected.leaf(), loaded.get(0).leaf());
            assertEquals(privateScalar(expected.key()), privateScalar(loaded.get(0).key()));
            assertEquals(keyType, loaded.get(0).keyType());
        }
    }

    private static java.math.BigInteger privateScalar(java.security.PrivateKey key) {
        return key instanceof java.security.interfaces.ECPrivateKey ? ((java.security.interfaces.ECPrivateKey) key).getS()
                : ((java.security.interfaces.RSAPrivateKey) key).getPrivateExponent();
    }

    /** The key as OpenSSL writes it: PKCS#1 for RSA, SEC 1 with curve and public key for EC. */
    private static Object traditionalKey(CertifiedKey certified) throws Exception {
        if (!certified.keyType().equals("EC")) {
            return certified.key();
        }
        PrivateKeyInfo info = PrivateKeyInfo.getInstance(certified.key().getEncoded());
        org.bouncycastle.asn1.sec.ECPrivateKey inner = org.bouncycastle.asn1.sec.ECPrivateKey.getInstance(info.parsePrivateKey());
        ASN1BitString publicKey = SubjectPublicKeyInfo.getInstance(certified.leaf().getPublicKey().getEncoded()).getPublicKeyData();
        org.bouncycastle.asn1.sec.ECPrivateKey full = new org.bouncycastle.asn1.sec.ECPrivateKey(256, inner.getKey(),
                publicKey, info.getPrivateKeyAlgorithm().getParameters());
        return new PemObject("EC PRIVATE KEY", full.getEncoded());
    }

    @Test
    void mismatchedKeyIsRefusedAtLoad() throws Exception {
        Path cert = writePem("cert.pem", TestCertificates.RSA.leaf());
        Path otherKey = writePem("key.pem", new JcaPKCS8Generator(SelfSignedCertificate.create("x", "RSA").key(), null));
        GeneralSecurityException e = assertThrows(GeneralSecurityException.class, () -> CertificateSource.pem(cert, otherKey).load());
        assertTrue(e.getMessage().contains("does not match"), e.getMessage());
    }

    @Test
    void pkcs12WithRsaAndEcEntriesLoadsBoth() throws Exception {
        char[] password = "changeit".toCharArray();
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        store.setKeyEntry("rsa", TestCertificates.RSA.key(), password, new Certificate[] {TestCertificates.RSA.leaf()});
        store.setKeyEntry("ec", TestCertificates.EC.key(), password, new Certificate[] {TestCertificates.EC.leaf()});
        Path file = dir.resolve("server.p12");
        try (OutputStream out = Files.newOutputStream(file)) {
            store.store(out, password);
        }
        Set<String> types = CertificateSource.pkcs12(file, password).load().stream()
                .map(CertifiedKey::keyType).collect(Collectors.toSet());
        assertEquals(Set.of("RSA", "EC"), types);
    }

    @Test
    void selfSignedIsCreatedOnceAndReused() throws Exception {
        Path tlsDir = dir.resolve("tls");
        CertifiedKey first = SelfSignedCertificate.loadOrCreate(tlsDir, "mx.example.org").load().get(0);
        assertEquals(Set.of(PosixFilePermissions.fromString("rw-------").toArray()),
                Set.of(Files.getPosixFilePermissions(tlsDir.resolve("key.pem")).toArray()));
        assertEquals("EC", first.keyType());
        X509Certificate leaf = first.leaf();
        Set<String> names = leaf.getSubjectAlternativeNames().stream()
                .map(san -> String.valueOf(san.get(1))).collect(Collectors.toSet());
        assertTrue(names.containsAll(Set.of("mx.example.org", "localhost", "127.0.0.1")), names.toString());
        assertTrue(names.stream().anyMatch(n -> n.startsWith("0:0:0:0:0:0:0:1")), names.toString());

        CertifiedKey second = SelfSignedCertificate.loadOrCreate(tlsDir, "mx.example.org").load().get(0);
        assertArrayEquals(leaf.getEncoded(), second.leaf().getEncoded());
    }

    @ParameterizedTest
    @ValueSource(strings = {"jdk", "conscrypt"})
    void sniPicksTheNamedCertificateAndFallsBackToTheDefault(String provider) throws Exception {
        CertifiedKey named = SelfSignedCertificate.create("mx.example.org", "EC");
        CertifiedKey wildcard = SelfSignedCertificate.create("any.example.net", "EC");
        TlsContext server = TlsContext.forServer().provider(TlsProvider.select(provider))
                .certificate(CertificateSource.of(TestCertificates.EC))
                .sniCertificates(Map.of("MX.example.org", CertificateSource.of(named),
                        "*.example.net", CertificateSource.of(wildcard)))
                .build();
        assertEquals(named.leaf(), serverCertificateFor(server, "mx.example.org", null));
        assertEquals(wildcard.leaf(), serverCertificateFor(server, "relay.example.net", null));
        assertEquals(TestCertificates.EC.leaf(), serverCertificateFor(server, "other.example.com", null));
    }

    @ParameterizedTest
    @ValueSource(strings = {"jdk", "conscrypt"})
    void clientOfferingOnlyEcdsaGetsTheEcCertificate(String provider) throws Exception {
        TlsContext server = dualCertificateServer(provider);
        assertEquals(TestCertificates.EC.leaf(),
                serverCertificateFor(server, "mx.example.org", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"jdk", "conscrypt"})
    void clientOfferingOnlyRsaGetsTheRsaCertificate(String provider) throws Exception {
        TlsContext server = dualCertificateServer(provider);
        assertEquals(TestCertificates.RSA.leaf(),
                serverCertificateFor(server, "mx.example.org", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"jdk", "conscrypt"})
    void tls13ClientOfADualCertificateServerGetsTheEcCertificate(String provider) throws Exception {
        TlsContext server = dualCertificateServer(provider);
        assertEquals(TestCertificates.EC.leaf(), serverCertificateFor(server, "mx.example.org", null));
    }

    private static TlsContext dualCertificateServer(String provider) throws Exception {
        return TlsContext.forServer().provider(TlsProvider.select(provider))
                .certificate(CertificateSource.of(TestCertificates.RSA))
                .certificate(CertificateSource.of(TestCertificates.EC))
                .build();
    }

    /** Handshakes a JDK client (TLS 1.2 with one suite when {@code onlySuite} is set) and returns the leaf it saw. */
    private static Certificate serverCertificateFor(TlsContext server, String sniName, String onlySuite) throws Exception {
        TlsContext.Builder builder = TlsContext.forClient().provider(TlsProvider.jdk()).trustAnyCertificate();
        if (onlySuite != null) {
            builder.protocols("TLSv1.2").cipherSuites(onlySuite);
        }
        TlsContext clientContext = builder.build();
        TlsEndpoint serverEnd = TlsEndpoint.server(server);
        TlsEndpoint clientEnd = new TlsEndpoint(clientContext, sniName);
        TlsEndpoint.pump(clientEnd, serverEnd);
        assertTrue(clientEnd.layer.handshakeComplete());
        return clientEnd.layer.peerCertificates().get(0);
    }

    @Test
    void serverContextWithoutCertificateIsRefused() {
        assertThrows(GeneralSecurityException.class, () -> TlsContext.forServer().provider(TlsProvider.jdk()).build());
    }

    @Test
    void clientEngineSendsSniForHostNamesOnly() throws Exception {
        TlsContext client = TlsContext.forClient().provider(TlsProvider.jdk()).trustAnyCertificate().build();
        SSLEngine named = client.newClientEngine("mx.example.org", 25);
        SSLParameters parameters = named.getSSLParameters();
        assertEquals(1, parameters.getServerNames().size());
        SSLEngine literal = client.newClientEngine("127.0.0.1", 25);
        assertTrue(literal.getSSLParameters().getServerNames() == null
                || literal.getSSLParameters().getServerNames().isEmpty());
    }
}
