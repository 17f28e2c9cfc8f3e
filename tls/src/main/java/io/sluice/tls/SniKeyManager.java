package io.sluice.tls;

import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * Chooses the server certificate by the SNI name the client asked for (exact name, then a
 * {@code *.parent} wildcard entry, then the default set) and by the key type the handshake can use
 * (RSA or EC). Immutable after construction; called by the engine on whatever thread drives it.
 */
final class SniKeyManager extends X509ExtendedKeyManager {

    private static final String DEFAULT_NAME = "";

    /**
     * Per-thread state of the handshake being unwrapped, set and cleared by {@link TlsLayer}
     * around the unwrap: Conscrypt calls the key manager inside it, on the same thread. One
     * reused slot per thread, so a handshake allocates nothing for it.
     */
    static final ThreadLocal<HandshakeSlot> HANDSHAKE = ThreadLocal.withInitial(HandshakeSlot::new);

    /** See {@link #HANDSHAKE}; loop-thread confined. */
    static final class HandshakeSlot {
        /** What {@link ClientHelloKeyType} read from the ClientHello; UNKNOWN when not read. */
        int clientKeyType = ClientHelloKeyType.UNKNOWN;
        /** The engine the one-slot answer went to already (see {@link SniKeyManager#chooseEngineServerAlias}); null after the unwrap. */
        SSLEngine answered;

        void clear() {
            clientKeyType = ClientHelloKeyType.UNKNOWN;
            answered = null;
        }
    }

    private final Map<String, List<String>> aliasesByName = new HashMap<>();
    private final Map<String, CertifiedKey> keysByAlias = new HashMap<>();
    private final Map<String, X509Certificate[]> chainsByAlias = new HashMap<>();
    private final boolean oneKeyTypePerEngine;
    /** Whether any SNI name has its own certificates; if not, the requested name is never read. */
    private final boolean hasNamedCertificates;

    /**
     * @param defaults the certificates used without SNI or for unknown names (e.g. one RSA, one EC)
     * @param byName certificates per SNI host name ({@code mx.example.org} or {@code *.example.org})
     * @param oneKeyTypePerEngine true for Conscrypt (see {@link ConscryptQuirks}): answer every key
     *     type with the preferred (EC) entry
     */
    SniKeyManager(List<CertifiedKey> defaults, Map<String, List<CertifiedKey>> byName, boolean oneKeyTypePerEngine) {
        this.oneKeyTypePerEngine = oneKeyTypePerEngine;
        register(DEFAULT_NAME, defaults);
        byName.forEach((name, keys) -> register(name.toLowerCase(Locale.ROOT), keys));
        this.hasNamedCertificates = !byName.isEmpty();
    }

    private void register(String name, List<CertifiedKey> keys) {
        List<String> aliases = new ArrayList<>();
        for (CertifiedKey key : keys) {
            String alias = (name.isEmpty() ? "default" : name) + "#" + keysByAlias.size();
            keysByAlias.put(alias, key);
            chainsByAlias.put(alias, key.chain().toArray(new X509Certificate[0]));
            aliases.add(alias);
        }
        // EC first: the preferred entry when only one can be used.
        aliases.sort((a, b) -> Boolean.compare(!isEc(a), !isEc(b)));
        aliasesByName.put(name, List.copyOf(aliases));
    }

    private boolean isEc(String alias) {
        return keysByAlias.get(alias).keyType().equals("EC");
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
        if (oneKeyTypePerEngine && engine != null) {
            // Conscrypt asks once per key type and installs every answer (a certificate
            // encoding, a key check and a native call each); the engine keeps only the last.
            // All answers are the same here, so the first suffices: later asks get null.
            HandshakeSlot slot = HANDSHAKE.get();
            if (slot.answered == engine) {
                return null;
            }
            String alias = choose(keyType, aliasesFor(hostNameIfNeeded(engine)));
            slot.answered = alias == null ? null : engine;
            return alias;
        }
        return choose(keyType, aliasesFor(hostNameIfNeeded(engine)));
    }

    /** The SNI name asked for, read only when some name has its own certificates (reading it allocates a session view). */
    private String hostNameIfNeeded(SSLEngine engine) {
        return hasNamedCertificates ? requestedHostName(engine) : null;
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
        return choose(keyType, aliasesByName.get(DEFAULT_NAME));
    }

    private String choose(String keyType, List<String> aliases) {
        if (oneKeyTypePerEngine) {
            return aliases.isEmpty() ? null : preferredForClient(aliases);
        }
        for (String alias : aliases) {
            if (keysByAlias.get(alias).keyType().equals(keyType)) {
                return alias;
            }
        }
        return null;
    }

    /**
     * Every key type gets the same answer (the engine keeps only the last it set): EC, unless the
     * ClientHello the layer is unwrapping on this thread showed a client that cannot take ECDSA.
     */
    private String preferredForClient(List<String> aliases) {
        if (HANDSHAKE.get().clientKeyType == ClientHelloKeyType.RSA_ONLY) {
            for (String alias : aliases) {
                if (!isEc(alias)) {
                    return alias;
                }
            }
        }
        return aliases.get(0);
    }

    /** Whether some name has both an RSA and an EC entry, so the ClientHello must guide the pick. */
    boolean hasSeveralKeyTypes() {
        for (List<String> aliases : aliasesByName.values()) {
            if (aliases.stream().anyMatch(this::isEc) && !aliases.stream().allMatch(this::isEc)) {
                return true;
            }
        }
        return false;
    }

    private List<String> aliasesFor(String hostName) {
        if (hostName != null) {
            List<String> exact = aliasesByName.get(hostName);
            if (exact != null) {
                return exact;
            }
            int dot = hostName.indexOf('.');
            List<String> wildcard = dot < 0 ? null : aliasesByName.get("*" + hostName.substring(dot));
            if (wildcard != null) {
                return wildcard;
            }
        }
        return aliasesByName.get(DEFAULT_NAME);
    }

    private static String requestedHostName(SSLEngine engine) {
        SSLSession handshake = engine == null ? null : engine.getHandshakeSession();
        if (!(handshake instanceof ExtendedSSLSession)) {
            return null;
        }
        for (SNIServerName name : ((ExtendedSSLSession) handshake).getRequestedServerNames()) {
            if (name instanceof SNIHostName) {
                return ((SNIHostName) name).getAsciiName().toLowerCase(Locale.ROOT);
            }
        }
        return null;
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
        return keysByAlias.entrySet().stream()
                .filter(e -> e.getValue().keyType().equals(keyType))
                .map(Map.Entry::getKey)
                .toArray(String[]::new);
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
        X509Certificate[] chain = chainsByAlias.get(alias);
        return chain == null ? null : chain.clone();
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
        CertifiedKey key = keysByAlias.get(alias);
        return key == null ? null : key.key();
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
        return getServerAliases(keyType, issuers);
    }

    @Override
    public String chooseClientAlias(String[] keyTypes, Principal[] issuers, Socket socket) {
        return chooseEngineClientAlias(keyTypes, issuers, null);
    }

    @Override
    public String chooseEngineClientAlias(String[] keyTypes, Principal[] issuers, SSLEngine engine) {
        for (String keyType : keyTypes) {
            String alias = choose(keyType, aliasesByName.get(DEFAULT_NAME));
            if (alias != null) {
                return alias;
            }
        }
        return null;
    }
}
