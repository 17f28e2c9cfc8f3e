package io.sluice.tls;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.BeforeAll;

/** The TLS layer contract with a JDK server and a Conscrypt client (interop). */
class ConscryptClientJdkServerTlsLayerTest extends AbstractTlsLayerContractTest {

    @BeforeAll
    static void needsConscrypt() {
        assumeTrue(TlsProvider.conscryptAvailable(), "Conscrypt's native library does not load on this platform");
    }

    @Override
    TlsProvider serverProvider() {
        return TlsProvider.jdk();
    }

    @Override
    TlsProvider clientProvider() {
        return TlsProvider.conscrypt();
    }
}
