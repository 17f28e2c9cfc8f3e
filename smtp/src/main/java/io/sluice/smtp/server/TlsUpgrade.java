package io.sluice.smtp.server;

import io.sluice.reactor.StreamLayer;

/**
 * How a session turns into TLS: STARTTLS on a plain listener, or at once on an implicit-TLS
 * listener. Implemented over the {@code tls} module; {@code null} where no certificate is loaded.
 */
public interface TlsUpgrade {

    /** A fresh server-side layer for one connection that reports its handshake to {@code listener}. */
    StreamLayer newServerLayer(HandshakeListener listener);

    /** The outcome of one handshake, reported on the connection's loop thread. */
    interface HandshakeListener {

        void handshakeCompleted(String protocol, String cipherSuite);

        void handshakeFailed(Throwable cause);
    }
}
