package io.sluice.tls;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.BeforeAll;

/** The TLS layer contract with a Conscrypt server and a JDK client (interop). */
class JdkClientConscryptServerTlsLayerTest extends AbstractTlsLayerContractTest {

    @BeforeAll
    static void needsConscrypt() {
        assumeTrue(TlsProvider.conscryptAvailable(), "Conscrypt's native library does not load on this platform");
    }

    @Override
    TlsProvider serverProvider() {
        return TlsProvider.conscrypt();
    }

    @Override
    TlsProvider clientProvider() {
        return TlsProvider.jdk();
    }
}
