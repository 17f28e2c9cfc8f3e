package io.sluice.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TlsProviderTest {

    @Test
    void conscryptLoadsOnThisPlatformAndAutoPrefersIt() {
        // linux-x86_64 is in the uber jar; if this fails the Conscrypt contract tests are skipped.
        assertTrue(TlsProvider.conscryptAvailable(), "Conscrypt native library should load here");
        assertEquals("conscrypt", TlsProvider.select("auto").name());
        assertEquals("jdk", TlsProvider.select("JDK").name());
        assertThrows(IllegalArgumentException.class, () -> TlsProvider.select("openssl"));
    }

    @Test
    void renegotiationIsRefusedByProperty() {
        TlsProvider.jdk();
        assertEquals("true", System.getProperty("jdk.tls.rejectClientInitiatedRenegotiation"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"TLS_RSA_WITH_NULL_SHA256", "TLS_RSA_EXPORT_WITH_RC4_40_MD5", "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
        "SSL_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_DH_anon_WITH_AES_128_CBC_SHA",
        "SSL_RSA_WITH_DES_CBC_SHA", "TLS_EMPTY_RENEGOTIATION_INFO_SCSV"})
    void weakSuitesAreDropped(String suite) {
        assertFalse(TlsProvider.isStrong(suite));
    }

    @Test
    void strongSuitesAreKeptInOrder() {
        String[] kept = TlsProvider.strongCipherSuites(new String[] {
            "TLS_AES_128_GCM_SHA256", "SSL_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"});
        assertEquals(List.of("TLS_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"), List.of(kept));
    }

    @ParameterizedTest
    @ValueSource(strings = {"jdk", "conscrypt"})
    void contextsEnableOnlyModernProtocolsAndStrongSuites(String provider) throws Exception {
        TlsContext context = TlsContext.forServer().provider(TlsProvider.select(provider))
                .certificate(CertificateSource.of(TestCertificates.EC)).build();
        javax.net.ssl.SSLEngine engine = context.newServerEngine();
        assertEquals(List.of("TLSv1.2", "TLSv1.3"), List.of(engine.getEnabledProtocols()).stream().sorted().toList());
        for (String suite : engine.getEnabledCipherSuites()) {
            assertTrue(TlsProvider.isStrong(suite), suite);
        }
    }
}
