package io.sluice.tls;

import javax.net.ssl.SSLEngine;
import org.conscrypt.Conscrypt;

/**
 * Every Conscrypt-specific behaviour the TLS layer depends on, in one place (Conscrypt 2.5.2,
 * BoringSSL). Called from {@link TlsContext} when it makes an engine, on any thread.
 *
 * <ul>
 *   <li><b>Mode first.</b> {@code setUseClientMode} must be called before anything else touches
 *       the engine (Conscrypt fixes the native SSL's role on first use). {@link TlsContext} always
 *       sets it right after {@code createSSLEngine}.
 *   <li><b>One certificate slot.</b> Conscrypt asks the key manager once per key type of the
 *       enabled suites ({@code RSA}, then {@code EC}) after the ClientHello (SNI is visible) and
 *       calls {@code SSL_set_chain_and_key} for each; BoringSSL keeps only the last. So an RSA
 *       plus ECDSA pair cannot both be offered by one Conscrypt engine: {@link SniKeyManager}
 *       picks one certificate and gives it to the first key type asked, {@code null} to the
 *       rest (each answer would cost another chain encoding, key check and native install). The peer signature algorithm list
 *       Conscrypt exposes to the key manager is a fixed placeholder ({@code SHA1withRSA,
 *       SHA1withECDSA}), so {@link TlsLayer} reads the raw ClientHello itself
 *       ({@link ClientHelloKeyType}: ECDSA signature schemes, TLS 1.3 or an ECDSA suite) and the
 *       key manager answers RSA for a client that cannot take ECDSA, ECDSA for everyone else.
 *   <li><b>TLS 1.3 suites are not configurable</b>: BoringSSL always enables its three 1.3
 *       AEAD suites; {@code setEnabledCipherSuites} only governs TLS 1.2 and below.
 *   <li><b>Session tickets</b> must be switched on per engine ({@link Conscrypt#setUseSessionTickets}).
 *       A TLS 1.3 server sends its two NewSessionTickets with its first application write, not at
 *       the end of the handshake (harmless for SMTP: the server answers EHLO or greets). Ticket keys
 *       rotate every 2 days inside BoringSSL and cannot be set through Conscrypt 2.5.2.
 *   <li><b>Client session cache</b>: once a server refuses a TLS 1.2 session (its ticket keys
 *       changed), a Conscrypt 2.5.2 client keeps offering that stale session to the host and never
 *       resumes there again until it expires; after a TLS 1.3 refusal it also spends its second
 *       ticket on a second full handshake. The JDK client recovers at once (SessionResumptionTest).
 *   <li><b>Native memory</b> is freed when both directions are closed ({@code closeInbound} and
 *       {@code closeOutbound}), otherwise only by a finalizer: {@link TlsLayer#closed()} closes both.
 *   <li>{@code Conscrypt.setUseEngineSocket} only affects {@code SSLSocket}s; we use engines only.
 *   <li>The negotiated protocol is reported as {@code "TLSv1.3"}/{@code "TLSv1.2"} by
 *       {@code getSession().getProtocol()} once the handshake finished, like the JDK; before that
 *       the session is a placeholder ({@code "NONE"}).
 * </ul>
 */
final class ConscryptQuirks {

    private ConscryptQuirks() {
    }

    /** Applies Conscrypt-only settings to a freshly made engine whose mode is already set. */
    static void configure(SSLEngine engine) {
        if (Conscrypt.isConscrypt(engine)) {
            Conscrypt.setUseSessionTickets(engine, true);
        }
    }

    /** Whether the engine can hold certificates of several key types at once (see class doc). */
    static boolean supportsSeveralKeyTypes(TlsProvider provider) {
        return !provider.isConscrypt();
    }

    /**
     * Conscrypt signs with a BoringSSL key. Handed a JDK {@code PrivateKey}, it re-parses the
     * PKCS#8 encoding on every handshake ({@code OpenSSLKey.fromKeyMaterial} ->
     * {@code EVP_parse_private_key}, seen in a JFR profile of the STARTTLS path); a key made by
     * Conscrypt's own KeyFactory is used as it is. Keys of other providers pass through.
     */
    static CertifiedKey nativeKey(CertifiedKey key, TlsProvider provider) {
        java.security.Provider conscrypt = provider.jcaProvider();
        if (conscrypt == null || key.key().getEncoded() == null) {
            return key;
        }
        try {
            java.security.KeyFactory factory = java.security.KeyFactory.getInstance(key.key().getAlgorithm(), conscrypt);
            java.security.PrivateKey converted = factory.generatePrivate(
                    new java.security.spec.PKCS8EncodedKeySpec(key.key().getEncoded()));
            return new CertifiedKey(converted, key.chain());
        } catch (java.security.GeneralSecurityException e) {
            return key; // still works, only slower: Conscrypt converts per handshake
        }
    }
}
