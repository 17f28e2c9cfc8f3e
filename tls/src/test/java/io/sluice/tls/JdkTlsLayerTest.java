package io.sluice.tls;

/** The TLS layer contract with the JDK provider on both sides. */
class JdkTlsLayerTest extends AbstractTlsLayerContractTest {

    @Override
    TlsProvider serverProvider() {
        return TlsProvider.jdk();
    }

    @Override
    TlsProvider clientProvider() {
        return TlsProvider.jdk();
    }
}
