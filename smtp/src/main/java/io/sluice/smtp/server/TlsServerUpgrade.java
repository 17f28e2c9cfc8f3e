package io.sluice.smtp.server;

import java.util.function.Supplier;

import io.sluice.reactor.StreamLayer;
import io.sluice.tls.ReloadingTlsContext;
import io.sluice.tls.TlsContext;
import io.sluice.tls.TlsListener;

/**
 * STARTTLS and implicit TLS over a server {@link TlsContext}: each new layer comes from the
 * context current at that moment, so a certificate reload reaches new connections only.
 * Thread-safe.
 */
public final class TlsServerUpgrade implements TlsUpgrade {

    private final Supplier<TlsContext> context;

    /** Layers from whatever context {@code reloading} holds when each connection upgrades. */
    public TlsServerUpgrade(ReloadingTlsContext reloading) {
        this.context = reloading::current;
    }

    /** Layers from one fixed context (tests, tools). */
    public TlsServerUpgrade(TlsContext context) {
        this.context = () -> context;
    }

    @Override
    public StreamLayer newServerLayer(HandshakeListener listener) {
        return context.get().newServerLayer(new TlsListener() {
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

    /** The context new connections get now. */
    public TlsContext context() {
        return context.get();
    }
}
