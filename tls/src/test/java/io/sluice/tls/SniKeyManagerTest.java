package io.sluice.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Which alias {@link SniKeyManager} gives for each key type the engine asks about. */
class SniKeyManagerTest {

    private static final CertifiedKey EC = TestCertificates.of("EC");
    private static final CertifiedKey RSA = TestCertificates.of("RSA");

    @AfterEach
    void clearSlot() {
        SniKeyManager.HANDSHAKE.get().clear();
    }

    private static SSLEngine engine() throws Exception {
        return SSLContext.getDefault().createSSLEngine(); // only its identity matters here
    }

    @Test
    void oneSlotEnginesGetTheCertificateOnceAndNullForTheOtherKeyTypes() throws Exception {
        SniKeyManager keys = new SniKeyManager(List.of(RSA, EC), Map.of(), true);
        SSLEngine first = engine();
        SSLEngine second = engine();

        String alias = keys.chooseEngineServerAlias("RSA", null, first);
        assertNotNull(alias);
        assertEquals(EC.leaf(), keys.getCertificateChain(alias)[0], "EC preferred for an unknown client");
        assertNull(keys.chooseEngineServerAlias("EC", null, first), "already installed on this engine");
        assertEquals(alias, keys.chooseEngineServerAlias("EC", null, second), "a new engine gets its own answer");

        SniKeyManager.HANDSHAKE.get().clear();
        assertEquals(alias, keys.chooseEngineServerAlias("RSA", null, first), "after the unwrap the slot is free again");
    }

    @Test
    void rsaOnlyClientGetsTheRsaCertificateOnce() throws Exception {
        SniKeyManager keys = new SniKeyManager(List.of(EC, RSA), Map.of(), true);
        SSLEngine engine = engine();
        SniKeyManager.HANDSHAKE.get().clientKeyType = ClientHelloKeyType.RSA_ONLY;

        String alias = keys.chooseEngineServerAlias("RSA", null, engine);
        assertEquals(RSA.leaf(), keys.getCertificateChain(alias)[0]);
        assertNull(keys.chooseEngineServerAlias("EC", null, engine));
    }

    @Test
    void severalSlotEnginesGetOneAnswerPerKeyType() throws Exception {
        SniKeyManager keys = new SniKeyManager(List.of(RSA, EC), Map.of(), false);
        SSLEngine engine = engine();

        assertEquals(RSA.leaf(), keys.getCertificateChain(keys.chooseEngineServerAlias("RSA", null, engine))[0]);
        assertEquals(EC.leaf(), keys.getCertificateChain(keys.chooseEngineServerAlias("EC", null, engine))[0]);
        assertNull(SniKeyManager.HANDSHAKE.get().answered, "the slot is only for one-slot engines");
    }

    @Test
    void chainsAreCopiesSoACallerCannotChangeTheNextHandshake() {
        SniKeyManager keys = new SniKeyManager(List.of(EC), Map.of(), true);
        String alias = keys.getServerAliases("EC", null)[0];
        X509Certificate[] chain = keys.getCertificateChain(alias);
        chain[0] = null;
        assertNotSame(chain, keys.getCertificateChain(alias));
        assertEquals(EC.leaf(), keys.getCertificateChain(alias)[0]);
    }
}
