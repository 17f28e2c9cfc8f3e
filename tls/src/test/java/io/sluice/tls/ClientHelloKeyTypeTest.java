package io.sluice.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteBuffer;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;

import org.junit.jupiter.api.Test;

/** Real ClientHellos from the JDK and Conscrypt clients, and every cut and corruption of one. */
class ClientHelloKeyTypeTest {

    @Test
    void tls13ClientTakesEcdsa() throws Exception {
        assertEquals(ClientHelloKeyType.ECDSA, ClientHelloKeyType.of(hello(TlsProvider.jdk(), "TLSv1.3", null), true));
    }

    @Test
    void conscryptTls13ClientTakesEcdsa() throws Exception {
        assumeTrue(TlsProvider.conscryptAvailable(), "Conscrypt has no native library for this platform");
        assertEquals(ClientHelloKeyType.ECDSA, ClientHelloKeyType.of(conscryptHello(), true));
    }

    @Test
    void tls12ClientWithOnlyRsaSuitesIsRsaOnly() throws Exception {
        ByteBuffer hello = hello(TlsProvider.jdk(), "TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
        assertEquals(ClientHelloKeyType.RSA_ONLY, ClientHelloKeyType.of(hello, true));
    }

    @Test
    void tls12ClientWithAnEcdsaSuiteTakesEcdsa() throws Exception {
        ByteBuffer hello = hello(TlsProvider.jdk(), "TLSv1.2", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
        assertEquals(ClientHelloKeyType.ECDSA, ClientHelloKeyType.of(hello, true));
    }

    @Test
    void tls13OfferIgnoredWhenTheServerRefusesTls13() throws Exception {
        // A 1.3 and 1.2 client with RSA-only 1.2 suites, at a 1.2-only server: RSA.
        ByteBuffer hello = hello(TlsProvider.jdk(), "TLSv1.3,TLSv1.2", "TLS_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
        assertEquals(ClientHelloKeyType.ECDSA, ClientHelloKeyType.of(hello.duplicate(), true));
        assertEquals(ClientHelloKeyType.RSA_ONLY, ClientHelloKeyType.of(hello, false));
    }

    @Test
    void everyPrefixAndEveryFlippedByteIsReadWithoutThrowing() throws Exception {
        ByteBuffer hello = hello(TlsProvider.jdk(), "TLSv1.3", null);
        int length = hello.remaining();
        for (int cut = 0; cut < length; cut++) {
            ByteBuffer prefix = hello.duplicate();
            prefix.limit(prefix.position() + cut);
            int verdict = ClientHelloKeyType.of(prefix, true);
            if (cut < 9) {
                assertEquals(ClientHelloKeyType.UNKNOWN, verdict, "cut at " + cut);
            }
        }
        byte[] bytes = new byte[length];
        hello.duplicate().get(bytes);
        for (int i = 0; i < length; i++) {
            for (int value : new int[] {0x00, 0xff, 0x7f}) {
                byte[] corrupt = bytes.clone();
                corrupt[i] = (byte) value;
                ClientHelloKeyType.of(ByteBuffer.wrap(corrupt), true); // must not throw
            }
        }
    }

    @Test
    void notAClientHelloIsUnknown() {
        assertEquals(ClientHelloKeyType.UNKNOWN, ClientHelloKeyType.of(ByteBuffer.wrap("EHLO x\r\n".getBytes()), true));
        assertEquals(ClientHelloKeyType.UNKNOWN, ClientHelloKeyType.of(ByteBuffer.allocate(0), true));
    }

    @Test
    void readingMovesNothing() throws Exception {
        ByteBuffer hello = hello(TlsProvider.jdk(), "TLSv1.3", null);
        int position = hello.position();
        int limit = hello.limit();
        ClientHelloKeyType.of(hello, true);
        assertEquals(position, hello.position());
        assertEquals(limit, hello.limit());
    }

    private static ByteBuffer conscryptHello() throws Exception {
        return hello(TlsProvider.select("conscrypt"), "TLSv1.3", null);
    }

    /** The first flight of a fresh client engine: its ClientHello record. */
    private static ByteBuffer hello(TlsProvider provider, String protocols, String suites) throws Exception {
        TlsContext.Builder builder = TlsContext.forClient().provider(provider).protocols(protocols.split(","))
                .trustAnyCertificate();
        if (suites != null) {
            builder.cipherSuites(suites.split(","));
        }
        SSLEngine engine = builder.build().newClientEngine(null, 0);
        SSLParameters unused = engine.getSSLParameters();
        assertEquals(protocols.split(",").length, unused.getProtocols().length);
        ByteBuffer out = ByteBuffer.allocate(1 << 15);
        engine.beginHandshake();
        engine.wrap(ByteBuffer.allocate(0), out);
        out.flip();
        return out;
    }
}
