package io.sluice.bench.load;

import io.sluice.tls.TlsContext;
import io.sluice.tls.TlsLayer;
import io.sluice.tls.TlsListener;
import io.sluice.tls.TlsProvider;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLSession;

/**
 * The generator's client TLS: one context for the whole run, a layer per connection. With
 * resumption on, each engine is made for the target's host and port, so the context's session
 * cache resumes later handshakes. With it off, every handshake must be full, without a context
 * per connection (a new {@code SSLContext} costs far more than a handshake's share in Conscrypt):
 * both providers look a client's cached session up by the engine's peer host and port, and
 * <ul>
 *   <li>for a target given as an IP address (no SNI is sent for one anyway) the engine gets no
 *       peer at all, which neither provider ever resumes from or files in its host cache
 *       (Conscrypt's {@code ClientSessionContext.getCachedSession} and the JDK's
 *       {@code SSLSessionContextImpl.get} return nothing for a null host);
 *   <li>for a host name (sent as SNI, which Conscrypt also uses as the cache key) each engine gets
 *       a port number no earlier engine had, so no cached session ever matches; the port is only a
 *       cache key, the connection itself is made by the reactor.
 * </ul>
 * Without resumption the context keeps one cached session, not thousands nobody will ask for.
 * Trusts any certificate through one {@link HandshakeCounter}, which also tells full handshakes
 * from resumed ones. {@link #newLayer} and {@link #fullHandshake} are called on loop threads; the
 * context, the port counter and the handshake counter are thread-safe.
 */
final class ClientTls {

    private final HandshakeCounter handshakes = new HandshakeCounter();
    /** Null without TLS. */
    private final TlsContext context;
    private final boolean resume;
    private final String host;
    private final int port;
    /** The target host is sent as SNI (a host name, not an address): see {@link TlsContext#newClientEngine}. */
    private final boolean sni;
    /** The next cache-key port for a host-name target without resumption. */
    private final AtomicInteger cacheKeyPorts = new AtomicInteger();

    /** Builds the context up front, so bad TLS options fail before the run starts. */
    ClientTls(LoadOptions options) throws IOException, GeneralSecurityException {
        this.resume = options.resume();
        this.host = options.target().getHostString();
        this.port = options.target().getPort();
        this.sni = isHostName(host);
        this.context = options.tlsMode() == TlsMode.NONE ? null : build(options);
    }

    /** A client layer for a new connection to the target; only with TLS. */
    TlsLayer newLayer(TlsListener listener) {
        if (resume) {
            return context.newClientLayer(host, port, listener);
        }
        if (!sni) {
            return context.newClientLayer(null, -1, listener);
        }
        // Above any real port, never -1 (the providers' "no port"); repeats only after 2^30
        // connections, long after the one session the cache keeps has been replaced.
        int cacheKeyPort = 65536 + (cacheKeyPorts.getAndIncrement() & 0x3FFF_FFFF);
        return context.newClientLayer(host, cacheKeyPort, listener);
    }

    /** True when the handshake that made {@code session} was full, not resumed; once per handshake. */
    boolean fullHandshake(SSLSession session) {
        return handshakes.fullHandshake(session);
    }

    /** The provider actually used (after {@code auto} selection), or "none". */
    String providerName() {
        return context == null ? "none" : context.provider().name();
    }

    private TlsContext build(LoadOptions options) throws IOException, GeneralSecurityException {
        TlsContext.Builder builder = TlsContext.forClient()
                .provider(TlsProvider.select(options.tlsProvider()))
                .protocols(options.protocols().toArray(new String[0]))
                .trustManagers(handshakes);
        if (!resume) {
            builder.sessionCacheSize(1);
        }
        return builder.build();
    }

    /** The rule {@link TlsContext#newClientEngine} uses to decide whether to send SNI. */
    static boolean isHostName(String host) {
        return host.indexOf(':') < 0 && !host.chars().allMatch(c -> c == '.' || (c >= '0' && c <= '9'));
    }
}
