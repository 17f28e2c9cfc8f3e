package io.sluice.smtp.mtasts;

import java.io.IOException;
import java.nio.file.Path;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import javax.security.auth.x500.X500Principal;

/**
 * What {@code verify} (and so an enforce policy) would say about an MX host's certificate: the
 * chain must lead to a trust anchor ({@code tls.client.ca_file}, else the JDK's trust store) and
 * the leaf must name the MX host (RFC 8461 §4.2 with RFC 6125: a DNS name in subjectAltName, the
 * leftmost label possibly {@code *} standing for exactly one label; the common name only when the
 * certificate has no DNS name, as the JDK's HTTPS check does). Used under a testing policy, where
 * the hop went on with any certificate, to log what enforce would have refused.
 *
 * <p>Threading: immutable, any thread; {@link #problem} is CPU work (a PKIX path check) for a
 * worker thread, never an event loop.
 */
public final class MxCertificateCheck {
    private static final int SAN_DNS_NAME = 2;

    private final X509TrustManager trust;

    private MxCertificateCheck(X509TrustManager trust) {
        this.trust = trust;
    }

    /**
     * A check against the CA certificates of a PEM file, or the JDK's default trust store.
     *
     * @throws IOException when the file cannot be read or holds no certificate
     */
    public static MxCertificateCheck trusting(Optional<Path> caFile) throws IOException {
        for (TrustManager m : PolicyFetcher.trustManagers(caFile)) {
            if (m instanceof X509TrustManager x509) {
                return new MxCertificateCheck(x509);
            }
        }
        throw new IOException("no X.509 trust manager");
    }

    /**
     * Why {@code verify} would refuse this chain for {@code mxHost}, or null when it would accept it.
     *
     * @param chain  the peer's chain as the handshake gave it, leaf first
     * @param mxHost the MX host name the delivery connected to
     */
    public String problem(List<? extends Certificate> chain, String mxHost) {
        if (chain.isEmpty() || !(chain.get(0) instanceof X509Certificate)) {
            return "no X.509 certificate";
        }
        X509Certificate[] x509 = new X509Certificate[chain.size()];
        for (int i = 0; i < x509.length; i++) {
            if (!(chain.get(i) instanceof X509Certificate c)) {
                return "certificate " + i + " of the chain is not X.509";
            }
            x509[i] = c;
        }
        try {
            trust.checkServerTrusted(x509, authType(x509[0]));
        } catch (CertificateException | RuntimeException e) {
            return "chain not trusted: " + e.getMessage();
        }
        String host = canonical(mxHost);
        List<String> names = dnsNames(x509[0]);
        for (String name : names) {
            if (matches(canonical(name), host)) {
                return null;
            }
        }
        return "certificate names " + (names.isEmpty() ? "nothing" : String.join(",", names)) + ", not " + host;
    }

    /** The key exchange a server with this key would sign for (the JDK checks key usage against it). */
    private static String authType(X509Certificate leaf) {
        return switch (leaf.getPublicKey().getAlgorithm()) {
            case "EC" -> "ECDHE_ECDSA";
            case "RSA" -> "ECDHE_RSA";
            default -> "UNKNOWN";
        };
    }

    /** subjectAltName DNS names; without any, the most specific common name. */
    static List<String> dnsNames(X509Certificate leaf) {
        List<String> names = new ArrayList<>();
        try {
            Collection<List<?>> sans = leaf.getSubjectAlternativeNames();
            if (sans != null) {
                for (List<?> san : sans) {
                    if (san.size() >= 2 && san.get(0) instanceof Integer type && type == SAN_DNS_NAME
                            && san.get(1) instanceof String name) {
                        names.add(name);
                    }
                }
            }
        } catch (CertificateParsingException e) {
            return names; // an unreadable extension names nothing
        }
        if (names.isEmpty()) {
            String cn = commonName(leaf.getSubjectX500Principal());
            if (cn != null) {
                names.add(cn);
            }
        }
        return names;
    }

    private static String commonName(X500Principal subject) {
        String cn = null;
        // RFC 2253 form lists the most specific RDN first.
        for (String rdn : subject.getName(X500Principal.RFC2253).split(",")) {
            if (rdn.regionMatches(true, 0, "CN=", 0, 3)) {
                cn = rdn.substring(3);
                break;
            }
        }
        return cn;
    }

    /** RFC 6125 §6.4.3: an exact match, or {@code *.rest} where {@code *} is the whole leftmost label. */
    static boolean matches(String name, String host) {
        if (!name.startsWith("*.")) {
            return name.equals(host);
        }
        int dot = host.indexOf('.');
        return dot > 0 && host.substring(dot + 1).equals(name.substring(2)) && name.indexOf('.', 2) > 0;
    }

    private static String canonical(String name) {
        String lower = name.toLowerCase(Locale.ROOT);
        return lower.endsWith(".") ? lower.substring(0, lower.length() - 1) : lower;
    }
}
