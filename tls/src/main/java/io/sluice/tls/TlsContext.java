package io.sluice.tls;

import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSessionContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * Everything needed to make TLS engines for one role (server or client): provider, protocols,
 * cipher suites, certificates (with SNI), session cache and the shared handshake counters.
 * Built once at startup (or on a certificate reload) with {@link #forServer()} or
 * {@link #forClient()}; afterwards immutable and safe to share by every loop. Making an engine or
 * a layer is cheap and may be called on a loop thread.
 *
 * <p><b>Session resumption</b> works on both providers for TLS 1.3 (PSK from session tickets) and
 * TLS 1.2 (session IDs and RFC 5077 tickets); a client context resumes per peer host and port.
 * Ticket keys live in the {@code SSLContext}, so they rotate:
 * <ul>
 *   <li>JDK: every {@code jdk.tls.server.statelessKeyTimeout} seconds (default 3600, at most
 *       604800), older keys kept to decrypt tickets still valid. A JVM-wide system property, read
 *       once when the JDK's ticket code first loads: set it with {@code -D} at launch.
 *   <li>Conscrypt (BoringSSL): every 2 days, the previous key kept for another period. Conscrypt
 *       2.5.2 exposes no way to set or rotate ticket keys ({@code SSL_CTX_set_tlsext_ticket_keys}
 *       is not bound), so the interval cannot be changed.
 *   <li>Both, on demand: a new context has new keys (and an empty session cache), which is what
 *       {@link ReloadingTlsContext#reload()} and {@link ReloadingTlsContext#reloadEvery} do; tickets
 *       from before then fall back to a full handshake.
 * </ul>
 */
public final class TlsContext {

    /** Default for {@link Builder#maxPlaintextPerDecode(int)}: four full records. */
    public static final int DEFAULT_MAX_PLAINTEXT_PER_DECODE = 64 * 1024;
    /** Default session cache entries (TLS 1.2 session IDs; TLS 1.3 uses tickets). */
    public static final int DEFAULT_SESSION_CACHE_SIZE = 20_000;
    public static final int DEFAULT_SESSION_TIMEOUT_SECONDS = 3600;

    /** Network output buffer per layer: two maximal records (16 KiB + overhead each). */
    static final int NET_BUFFER_BYTES = 2 * (16 * 1024 + 1024);
    private static final int POOLED_NET_BUFFERS = 256;

    private final TlsProvider provider;
    private final SSLContext sslContext;
    private final boolean server;
    private final String[] protocols;
    private final String[] cipherSuites;
    private final boolean verifyHostname;
    private final int maxPlaintextPerDecode;
    /** A Conscrypt server with RSA and EC certificates: its layers read the ClientHello (see {@link ClientHelloKeyType}). */
    private final boolean keyTypeFromClientHello;
    /** A server whose engines hold one certificate at a time (Conscrypt, see {@link ConscryptQuirks}). */
    private final boolean oneKeyTypePerEngine;
    /**
     * Server: the parameters every engine gets, built once; engines only read them, so one
     * instance serves every loop. Spares each connection an engine's {@code getSSLParameters}
     * (array copies, a reflective ALPN read).
     */
    private final SSLParameters serverParameters;
    private final TlsStats stats;
    private final DirectBufferPool netBuffers = new DirectBufferPool(NET_BUFFER_BYTES, POOLED_NET_BUFFERS);

    private TlsContext(Builder builder, SSLContext sslContext, TlsStats stats) {
        this.provider = builder.provider;
        this.stats = stats;
        this.sslContext = sslContext;
        this.server = builder.server;
        this.protocols = builder.protocols.toArray(new String[0]);
        String[] suites = builder.cipherSuites != null ? builder.cipherSuites
                : sslContext.getDefaultSSLParameters().getCipherSuites();
        this.cipherSuites = TlsProvider.strongCipherSuites(suites);
        this.verifyHostname = builder.verifyHostname;
        this.maxPlaintextPerDecode = builder.maxPlaintextPerDecode;
        this.keyTypeFromClientHello = builder.keyTypeFromClientHello;
        this.oneKeyTypePerEngine = server && !ConscryptQuirks.supportsSeveralKeyTypes(provider);
        this.serverParameters = server ? serverParameters(sslContext) : null;
    }

    private SSLParameters serverParameters(SSLContext context) {
        SSLParameters parameters = context.getDefaultSSLParameters();
        parameters.setProtocols(protocols);
        parameters.setCipherSuites(cipherSuites);
        parameters.setUseCipherSuitesOrder(true);
        return parameters;
    }

    /** Whether server engines hold one certificate at a time (the key manager answers once per engine). */
    boolean oneKeyTypePerEngine() {
        return oneKeyTypePerEngine;
    }

    /** Whether server layers must read the ClientHello to pick between RSA and EC certificates. */
    boolean keyTypeFromClientHello() {
        return keyTypeFromClientHello;
    }

    /** Whether TLS 1.3 is among the enabled protocols. */
    boolean allowsTls13() {
        for (String protocol : protocols) {
            if (protocol.equals("TLSv1.3")) {
                return true;
            }
        }
        return false;
    }

    /** A builder for a server context; add at least one {@link Builder#certificate}. */
    public static Builder forServer() {
        return new Builder(true);
    }

    /** A builder for a client context (outbound delivery). */
    public static Builder forClient() {
        return new Builder(false);
    }

    /** A new server-mode engine with our protocols and suites. */
    public SSLEngine newServerEngine() {
        requireRole(true);
        SSLEngine engine = sslContext.createSSLEngine();
        engine.setUseClientMode(false); // first: see ConscryptQuirks
        engine.setSSLParameters(serverParameters);
        ConscryptQuirks.configure(engine);
        return engine;
    }

    /** A new client-mode engine for {@code peerHost} (sent as SNI when it is a host name). */
    public SSLEngine newClientEngine(String peerHost, int port) {
        requireRole(false);
        SSLEngine engine = sslContext.createSSLEngine(peerHost, port);
        engine.setUseClientMode(true); // first: see ConscryptQuirks
        boolean sni = peerHost != null && isHostName(peerHost);
        if (!sni && !verifyHostname) {
            // Plain setters: Conscrypt's get/setSSLParameters copy everything and go through
            // reflection (ALPN), ~5% of a load generator's loop time per STARTTLS connection.
            engine.setEnabledProtocols(protocols);
            engine.setEnabledCipherSuites(cipherSuites);
            ConscryptQuirks.configure(engine);
            return engine;
        }
        SSLParameters parameters = engine.getSSLParameters();
        parameters.setProtocols(protocols);
        parameters.setCipherSuites(cipherSuites);
        if (sni) {
            parameters.setServerNames(List.of(new SNIHostName(peerHost)));
        }
        if (verifyHostname) {
            parameters.setEndpointIdentificationAlgorithm("HTTPS");
        }
        engine.setSSLParameters(parameters);
        ConscryptQuirks.configure(engine);
        return engine;
    }

    /** A layer for an accepted connection (STARTTLS or implicit TLS); install it on the loop. */
    public TlsLayer newServerLayer(TlsListener listener) {
        return new TlsLayer(this, newServerEngine(), listener);
    }

    /** A layer for an outbound connection to {@code peerHost}. */
    public TlsLayer newClientLayer(String peerHost, int port, TlsListener listener) {
        return new TlsLayer(this, newClientEngine(peerHost, port), listener);
    }

    public TlsProvider provider() {
        return provider;
    }

    public boolean isServer() {
        return server;
    }

    public TlsStats stats() {
        return stats;
    }

    public List<String> protocols() {
        return List.of(protocols);
    }

    /** The TLS 1.2-and-below suites we enable (Conscrypt always adds its TLS 1.3 suites). */
    public List<String> cipherSuites() {
        return List.of(cipherSuites);
    }

    /** The engine-side session cache (server: session IDs; client: resumable sessions). */
    public SSLSessionContext sessionContext() {
        return server ? sslContext.getServerSessionContext() : sslContext.getClientSessionContext();
    }

    int maxPlaintextPerDecode() {
        return maxPlaintextPerDecode;
    }

    DirectBufferPool netBuffers() {
        return netBuffers;
    }

    /** Pooled network buffers currently held by open layers (0 after every layer closed). */
    public int buffersInUse() {
        return netBuffers.inUse();
    }

    private void requireRole(boolean serverRole) {
        if (server != serverRole) {
            throw new IllegalStateException("this TlsContext is for the " + (server ? "server" : "client") + " role");
        }
    }

    private static boolean isHostName(String host) {
        return host.indexOf(':') < 0 && !host.chars().allMatch(c -> c == '.' || (c >= '0' && c <= '9'));
    }

    /** Collects the settings of a {@link TlsContext}; single-threaded startup code. */
    public static final class Builder {
        private final boolean server;
        private TlsProvider provider;
        private List<String> protocols = TlsProvider.DEFAULT_PROTOCOLS;
        private String[] cipherSuites;
        private final List<CertificateSource> defaults = new ArrayList<>();
        private final Map<String, CertificateSource> byName = new LinkedHashMap<>();
        private TrustManager[] trustManagers;
        private boolean verifyHostname;
        private int sessionCacheSize = DEFAULT_SESSION_CACHE_SIZE;
        private int sessionTimeoutSeconds = DEFAULT_SESSION_TIMEOUT_SECONDS;
        private int maxPlaintextPerDecode = DEFAULT_MAX_PLAINTEXT_PER_DECODE;
        private boolean keyTypeFromClientHello;

        private Builder(boolean server) {
            this.server = server;
        }

        /** Default: {@code TlsProvider.select("auto")}. */
        public Builder provider(TlsProvider provider) {
            this.provider = provider;
            return this;
        }

        /**
         * Protocols to enable; default TLSv1.3 and TLSv1.2. {@code TLSv1}/{@code TLSv1.1} only
         * when listed here (the JDK provider also disables them in {@code java.security}).
         */
        public Builder protocols(String... protocols) {
            if (protocols.length == 0) {
                throw new IllegalArgumentException("tls.protocols is empty");
            }
            this.protocols = List.of(protocols);
            return this;
        }

        /** TLS 1.2-and-below suites in preference order; weak ones are always dropped. */
        public Builder cipherSuites(String... cipherSuites) {
            this.cipherSuites = cipherSuites.clone();
            return this;
        }

        /** A default certificate; call once per key type to offer RSA and ECDSA together. */
        public Builder certificate(CertificateSource source) {
            defaults.add(source);
            return this;
        }

        /** A certificate for clients that ask for {@code hostName} by SNI ({@code *.example.org} allowed). */
        public Builder sniCertificate(String hostName, CertificateSource source) {
            byName.put(hostName, source);
            return this;
        }

        /** Certificates by SNI host name ({@code tls.sni.<name>.cert/key}). */
        public Builder sniCertificates(Map<String, CertificateSource> sources) {
            byName.putAll(sources);
            return this;
        }

        /** Client: how to verify servers; default is the provider's default trust store. */
        public Builder trustManagers(TrustManager... trustManagers) {
            this.trustManagers = trustManagers.clone();
            return this;
        }

        /**
         * Client: trust exactly the CA certificates in a PEM file (instead of the default trust
         * store). Startup code, reads the file.
         */
        public Builder trustCertificates(Path pemFile) throws IOException, GeneralSecurityException {
            java.security.KeyStore store = java.security.KeyStore.getInstance(java.security.KeyStore.getDefaultType());
            store.load(null, null);
            int n = 0;
            for (X509Certificate certificate : PemFiles.readCertificates(pemFile)) {
                store.setCertificateEntry("ca-" + n++, certificate);
            }
            javax.net.ssl.TrustManagerFactory factory =
                    javax.net.ssl.TrustManagerFactory.getInstance(javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
            factory.init(store);
            this.trustManagers = factory.getTrustManagers();
            return this;
        }

        /**
         * Client: accept any server certificate (opportunistic SMTP TLS, RFC 7435, where
         * unauthenticated encryption beats plaintext) and tests.
         */
        public Builder trustAnyCertificate() {
            this.trustManagers = new TrustManager[] {new TrustAnyCertificate()};
            return this;
        }

        /** Client: check the server certificate names the peer host (DANE/MTA-STS policies). */
        public Builder verifyHostname(boolean verifyHostname) {
            this.verifyHostname = verifyHostname;
            return this;
        }

        public Builder sessionCacheSize(int entries) {
            this.sessionCacheSize = entries;
            return this;
        }

        public Builder sessionTimeoutSeconds(int seconds) {
            this.sessionTimeoutSeconds = seconds;
            return this;
        }

        /**
         * The plaintext one decode call may produce (sizes the connection's plaintext buffer);
         * at least one maximal record, 18432 bytes. Should be at least the connection's network
         * read size so every record of one read decodes in the same call.
         */
        public Builder maxPlaintextPerDecode(int bytes) {
            if (bytes < TlsLayer.MAX_RECORD_PAYLOAD_BYTES) {
                throw new IllegalArgumentException("maxPlaintextPerDecode=" + bytes + " < MIN=" + TlsLayer.MAX_RECORD_PAYLOAD_BYTES);
            }
            this.maxPlaintextPerDecode = bytes;
            return this;
        }

        /** Loads the certificates and makes the context; startup code, reads files. */
        public TlsContext build() throws IOException, GeneralSecurityException {
            return build(new TlsStats());
        }

        /** Like {@link #build()}, counting into {@code stats} (a reload keeps counting where the old context was). */
        TlsContext build(TlsStats stats) throws IOException, GeneralSecurityException {
            if (provider == null) {
                provider = TlsProvider.select("auto");
            }
            SSLContext sslContext = provider.newSslContext();
            sslContext.init(keyManagers(), trustManagers, null);
            SSLSessionContext sessions = server ? sslContext.getServerSessionContext() : sslContext.getClientSessionContext();
            sessions.setSessionCacheSize(sessionCacheSize);
            sessions.setSessionTimeout(sessionTimeoutSeconds);
            return new TlsContext(this, sslContext, stats);
        }

        /** Every file the certificate sources read (duplicates removed), in order. */
        List<Path> certificateFiles() {
            Set<Path> files = new LinkedHashSet<>();
            for (CertificateSource source : defaults) {
                files.addAll(source.files());
            }
            for (CertificateSource source : byName.values()) {
                files.addAll(source.files());
            }
            return List.copyOf(files);
        }

        private KeyManager[] keyManagers() throws IOException, GeneralSecurityException {
            if (defaults.isEmpty() && byName.isEmpty()) {
                if (server) {
                    throw new GeneralSecurityException("a TLS server needs at least one certificate");
                }
                return null;
            }
            if (defaults.isEmpty()) {
                throw new GeneralSecurityException("SNI certificates " + byName.keySet() + " need a default certificate too");
            }
            List<CertifiedKey> defaultKeys = nativeKeys(loadAll(defaults));
            Map<String, List<CertifiedKey>> named = new LinkedHashMap<>();
            for (Map.Entry<String, CertificateSource> entry : byName.entrySet()) {
                named.put(entry.getKey(), nativeKeys(entry.getValue().load()));
            }
            boolean onePerEngine = !ConscryptQuirks.supportsSeveralKeyTypes(provider);
            SniKeyManager keyManager = new SniKeyManager(defaultKeys, named, onePerEngine);
            keyTypeFromClientHello = onePerEngine && keyManager.hasSeveralKeyTypes();
            return new KeyManager[] {keyManager};
        }

        private List<CertifiedKey> nativeKeys(List<CertifiedKey> keys) {
            List<CertifiedKey> converted = new ArrayList<>(keys.size());
            for (CertifiedKey key : keys) {
                converted.add(ConscryptQuirks.nativeKey(key, provider));
            }
            return converted;
        }

        private static List<CertifiedKey> loadAll(List<CertificateSource> sources) throws IOException, GeneralSecurityException {
            List<CertifiedKey> keys = new ArrayList<>();
            for (CertificateSource source : sources) {
                keys.addAll(source.load());
            }
            return keys;
        }

        @Override
        public String toString() {
            return "TlsContext.Builder{server=" + server + ", protocols=" + protocols
                    + ", cipherSuites=" + (cipherSuites == null ? "default" : Arrays.toString(cipherSuites)) + '}';
        }
    }

    /** Accepts every certificate: opportunistic encryption only (see {@link Builder#trustAnyCertificate()}). */
    private static final class TrustAnyCertificate implements X509TrustManager {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
