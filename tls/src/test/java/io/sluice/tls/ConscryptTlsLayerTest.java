package io.sluice.tls;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.BeforeAll;

/** The TLS layer contract with Conscrypt on both sides. */
class ConscryptTlsLayerTest extends AbstractTlsLayerContractTest {

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
        return TlsProvider.conscrypt();
    }
}
