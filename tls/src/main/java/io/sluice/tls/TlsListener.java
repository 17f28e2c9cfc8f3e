package io.sluice.tls;

/**
 * Told how a {@link TlsLayer}'s handshake ended. Called on the connection's loop thread, from
 * inside the layer's {@code decode}/{@code closed}; at most one of the two methods is called, once.
 * An implementation may write to the connection but should not close it from here (return and
 * let the layer's exception or the deadline do that).
 */
public interface TlsListener {

    /** A listener that ignores both events. */
    TlsListener NONE = new TlsListener() {
        @Override
        public void onHandshakeComplete(String protocol, String cipherSuite) {
        }

        @Override
        public void onHandshakeFailed(Throwable cause) {
        }
    };

    /** The handshake finished; {@code protocol} is e.g. {@code TLSv1.3}. */
    void onHandshakeComplete(String protocol, String cipherSuite);

    /** The handshake failed or the connection closed before it finished. */
    void onHandshakeFailed(Throwable cause);
}
