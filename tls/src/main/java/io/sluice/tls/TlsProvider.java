package io.sluice.tls;

import java.lang.System.Logger.Level;
import java.security.NoSuchAlgorithmException;
import java.security.Provider;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLContext;
import org.conscrypt.Conscrypt;

/**
 * The JSSE provider that makes our {@code SSLEngine}s: Conscrypt (BoringSSL) when its native
 * library loads, the JDK's own otherwise or when configured. Immutable and safe from any thread;
 * normally chosen once at startup with {@link #select(String)}.
 *
 * <p>Renegotiation is refused: loading this class sets
 * {@code jdk.tls.rejectClientInitiatedRenegotiation=true} (unless the operator set it) before the
 * JDK's TLS classes read it. Conscrypt's BoringSSL never accepts renegotiation on the server side,
 * and TLS 1.3 has none at all.
 */
public final class TlsProvider {

    /** Protocols enabled unless configured otherwise. */
    public static final List<String> DEFAULT_PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");

    /** Protocols refused unless explicitly configured (RFC 8996 deprecates them). */
    public static final List<String> LEGACY_PROTOCOLS = List.of("TLSv1.1", "TLSv1");

    private static final System.Logger LOG = System.getLogger(TlsProvider.class.getName());
    private static final Set<String> LOGGED = ConcurrentHashMap.newKeySet();
    private static final String[] WEAK_SUITE_MARKERS = {
        "_NULL_", "_EXPORT", "_RC4_", "_3DES_", "_anon_", "_DES_", "_DES40_", "_MD5", "_SCSV"
    };

    static {
        if (System.getProperty("jdk.tls.rejectClientInitiatedRenegotiation") == null) {
            System.setProperty("jdk.tls.rejectClientInitiatedRenegotiation", "true");
        }
    }

    private final String name;
    private final Provider provider;

    /** The JCA provider behind Conscrypt, or {@code null} for the JDK's. */
    Provider jcaProvider() {
        return provider;
    }

    private TlsProvider(String name, Provider provider) {
        this.name = name;
        this.provider = provider;
    }

    /**
     * Chooses a provider by configured name: {@code auto} (Conscrypt if it loads, else JDK),
     * {@code conscrypt} (fails if it cannot load) or {@code jdk}. Logs the choice once per JVM.
     */
    public static TlsProvider select(String configured) {
        String key = configured == null ? "auto" : configured.trim().toLowerCase(Locale.ROOT);
        TlsProvider chosen;
        switch (key) {
            case "auto":
                chosen = ConscryptHolder.AVAILABLE ? conscrypt() : jdk();
                break;
            case "conscrypt":
                chosen = conscrypt();
                break;
            case "jdk":
                chosen = jdk();
                break;
            default:
                throw new IllegalArgumentException("tls.provider=" + configured + " is not one of auto, conscrypt, jdk");
        }
        if (LOGGED.add(chosen.name)) {
            LOG.log(Level.INFO, "TLS provider {0} (configured {1}, conscrypt available={2})",
                    chosen.describe(), key, ConscryptHolder.AVAILABLE);
        }
        return chosen;
    }

    /** The JDK's SunJSSE provider. */
    public static TlsProvider jdk() {
        return JdkHolder.JDK;
    }

    /** Conscrypt; throws {@link IllegalStateException} if its native library cannot load here. */
    public static TlsProvider conscrypt() {
        if (!ConscryptHolder.AVAILABLE) {
            throw new IllegalStateException("Conscrypt is not available on this platform: "
                    + ConscryptHolder.UNAVAILABLE_CAUSE);
        }
        return ConscryptHolder.CONSCRYPT;
    }

    /** True when Conscrypt's native library loaded in this JVM. */
    public static boolean conscryptAvailable() {
        return ConscryptHolder.AVAILABLE;
    }

    public String name() {
        return name;
    }

    public boolean isConscrypt() {
        return provider != null;
    }

    /** A new, uninitialised TLS {@link SSLContext} from this provider. */
    public SSLContext newSslContext() throws NoSuchAlgorithmException {
        return provider == null ? SSLContext.getInstance("TLS") : SSLContext.getInstance("TLS", provider);
    }

    /** Filters {@code suites} to those without NULL, EXPORT, RC4, (3)DES, anon, MD5 or signalling values. */
    public static String[] strongCipherSuites(String[] suites) {
        List<String> kept = new ArrayList<>(suites.length);
        for (String suite : suites) {
            if (isStrong(suite)) {
                kept.add(suite);
            }
        }
        return kept.toArray(new String[0]);
    }

    static boolean isStrong(String suite) {
        for (String marker : WEAK_SUITE_MARKERS) {
            if (suite.contains(marker)) {
                return false;
            }
        }
        return !suite.startsWith("SSL_");
    }

    private String describe() {
        return provider == null ? "jdk (SunJSSE " + System.getProperty("java.version") + ")"
                : "conscrypt " + conscryptVersion() + " (" + provider.getName() + ")";
    }

    private static String conscryptVersion() {
        Conscrypt.Version version = Conscrypt.version();
        return version == null ? "?" : version.major() + "." + version.minor() + "." + version.patch();
    }

    @Override
    public String toString() {
        return name;
    }

    private static final class JdkHolder {
        static final TlsProvider JDK = new TlsProvider("jdk", null);
    }

    /** Loads Conscrypt lazily and once: {@code newProvider()} makes a new Provider per call. */
    private static final class ConscryptHolder {
        static final boolean AVAILABLE;
        static final Throwable UNAVAILABLE_CAUSE;
        static final TlsProvider CONSCRYPT;

        static {
            boolean available = false;
            Throwable cause = null;
            TlsProvider conscrypt = null;
            try {
                available = Conscrypt.isAvailable();
                if (available) {
                    conscrypt = new TlsProvider("conscrypt", Conscrypt.newProvider());
                } else {
                    cause = unavailableCause();
                }
            } catch (LinkageError | RuntimeException e) {
                available = false;
                cause = e;
            }
            AVAILABLE = available;
            UNAVAILABLE_CAUSE = cause;
            CONSCRYPT = conscrypt;
        }

        private static Throwable unavailableCause() {
            try {
                Conscrypt.checkAvailability();
                return new IllegalStateException("Conscrypt.isAvailable() returned false");
            } catch (Throwable t) {
                return t;
            }
        }
    }
}
