package io.sluice.smtp.server;

import io.sluice.reactor.StreamLayer;
import io.sluice.tls.TlsContext;
import io.sluice.tls.TlsListener;

/** STARTTLS and implicit TLS over a server {@link TlsContext}. Thread-safe. */
public final class TlsServerUpgrade implements TlsUpgrade {

    private final TlsContext context;

    public TlsServerUpgrade(TlsContext context) {
        this.context = context;
    }

    @Override
    public StreamLayer newServerLayer(HandshakeListener listener) {
        return context.newServerLayer(new TlsListener() {
            @Override
            public void onHandshakeComplete(String protocol, String cipherSuite) {
                listener.handshakeCompleted(protocol, cipherSuite);
            }

            @Override
            public void onHandshakeFailed(Throwable cause) {
                listener.handshakeFailed(cause);
            }
        });
    }

    public TlsContext context() {
        return context;
    }
}
