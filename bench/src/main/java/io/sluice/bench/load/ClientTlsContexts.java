package io.sluice.bench.load;

import io.sluice.tls.TlsContext;
import io.sluice.tls.TlsProvider;
import java.io.IOException;
import java.security.GeneralSecurityException;
import javax.net.ssl.SSLSession;

/**
 * Client TLS contexts for a run. With resumption on, every connection shares one context, so
 * its session cache lets later handshakes resume; with it off, each connection gets a context of
 * its own and so a full handshake (building one costs a little CPU on the loop, which is the
 * point of that mode). Trusts any certificate through one {@link HandshakeCounter}, which also tells
 * full handshakes from resumed ones. {@link #forConnection()} and {@link #fullHandshake} are
 * called on loop threads; the shared context and the counter are thread-safe.
 */
final class ClientTlsContexts {

    private final LoadOptions options;
    private final HandshakeCounter handshakes = new HandshakeCounter();
    private final TlsContext shared;

    /** Builds the shared context up front, so bad TLS options fail before the run starts. */
    ClientTlsContexts(LoadOptions options) throws IOException, GeneralSecurityException {
        this.options = options;
        this.shared = options.tlsMode() == TlsMode.NONE ? null : build();
    }

    /** The context for a new connection; null without TLS. */
    TlsContext forConnection() throws IOException, GeneralSecurityException {
        if (shared == null || options.resume()) {
            return shared;
        }
        return build();
    }

    /** True when the handshake that made {@code session} was full, not resumed; once per handshake. */
    boolean fullHandshake(SSLSession session) {
        return handshakes.fullHandshake(session);
    }

    /** The provider actually used (after {@code auto} selection), or "none". */
    String providerName() {
        return shared == null ? "none" : shared.provider().name();
    }

    private TlsContext build() throws IOException, GeneralSecurityException {
        return TlsContext.forClient()
                .provider(TlsProvider.select(options.tlsProvider()))
                .protocols(options.protocols().toArray(new String[0]))
                .trustManagers(handshakes)
                .build();
    }
}
