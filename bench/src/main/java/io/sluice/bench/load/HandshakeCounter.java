package io.sluice.bench.load;

import java.net.Socket;
import java.security.cert.X509Certificate;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;
import javax.net.ssl.X509ExtendedTrustManager;
import org.conscrypt.Conscrypt;

/**
 * The generator's trust manager. It trusts every server certificate without building or checking
 * a certificate path (a load generator measures, it does not authenticate; the TLS library still
 * verifies the handshake signature with the certificate's key), and it tells full handshakes from
 * resumed ones: a client is shown the server's chain only in a full handshake (BoringSSL and the
 * JDK skip the certificate check when they resume). It remembers the session object of every
 * engine it was shown a chain for; a connection whose session is among them made a full
 * handshake.
 *
 * <p>The session object, not the certificate: both providers hand out one cached certificate
 * object for equal encodings, so concurrent handshakes would share it. Conscrypt's
 * {@code getSession()} is one object per engine for the engine's life (also during the handshake);
 * the JDK's handshake session becomes the engine's session when the handshake ends.
 *
 * <p>Extended, so the JDK provider uses it as it is instead of wrapping it in its own checks.
 * Threading: the engines call the check methods on the loop thread that drives them
 * ({@code TlsLayer} runs delegated tasks inline); {@link #fullHandshake} is called on loop threads.
 * Thread-safe.
 */
final class HandshakeCounter extends X509ExtendedTrustManager {

    /**
     * Sessions shown a chain and not yet claimed. An entry stays only when a handshake failed after
     * the certificate; past this many the set is cleared, which can at worst count a few full
     * handshakes in flight as resumed.
     */
    private static final int MAX_UNCLAIMED = 100_000;

    /** Keyed by identity: sessions may define equality by their ID. */
    private final Map<Identity, Boolean> shown = new ConcurrentHashMap<>();

    /**
     * True when the handshake that made {@code session} (the engine's, once the handshake is
     * complete) showed us the server's chain, false when it resumed. Claims the entry: call once
     * per handshake.
     */
    boolean fullHandshake(SSLSession session) {
        // One small key per handshake; a TLS handshake allocates far more than this.
        return shown.remove(new Identity(session)) != null;
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {
        SSLSession session = Conscrypt.isConscrypt(engine) ? engine.getSession() : engine.getHandshakeSession();
        if (session == null) {
            return;
        }
        if (shown.size() >= MAX_UNCLAIMED) {
            shown.clear();
        }
        shown.put(new Identity(session), Boolean.TRUE);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {
        // the generator uses engines only
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) {
        // the generator uses engines only
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) {
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) {
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
    }

    /** A map key equal only to itself's referent. */
    private record Identity(Object referent) {
        @Override
        public boolean equals(Object other) {
            return other instanceof Identity that && that.referent == referent;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(referent);
        }
    }
}
