package io.sluice.smtp.delivery;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import io.sluice.smtp.config.ConfigException;
import io.sluice.smtp.config.ConfigKeys;
import io.sluice.smtp.config.SluiceConfig;

/**
 * Routes a recipient by its domain: an exact {@code transport.<domain>} entry first, then the
 * longest matching {@code transport..<parent>} entry (any subdomain of parent, not parent
 * itself), then {@code transport.*}. Without {@code *} the default is {@code smtp:} (MX lookup of
 * the recipient's domain); {@code relay.host} sets {@code *} to {@code smtp:[host]:port}.
 * Immutable; any thread.
 */
public final class TransportTable {
    private final Map<String, Route> exact;
    private final List<Map.Entry<String, Route>> subdomains;
    private final Route fallback;
    private final String localDomain;

    private TransportTable(Map<String, Route> exact, List<Map.Entry<String, Route>> subdomains, Route fallback,
            String localDomain) {
        this.exact = exact;
        this.subdomains = subdomains;
        this.fallback = fallback;
        this.localDomain = localDomain;
    }

    /**
     * Builds the table from {@code transport.<domain>} entries.
     *
     * @param entries     route text by lower-case name: {@code *}, {@code .example.com} or a domain
     * @param localDomain the domain of a recipient without {@code @}
     * @throws IllegalArgumentException naming the entry and the reason
     */
    public static TransportTable of(Map<String, String> entries, String localDomain) {
        Map<String, Route> exact = new HashMap<>();
        List<Map.Entry<String, Route>> subdomains = new ArrayList<>();
        Route fallback = new Route(Route.Kind.SMTP_MX, "", 25, "");
        for (Map.Entry<String, String> e : entries.entrySet()) {
            String name = e.getKey().toLowerCase(Locale.ROOT);
            Route route;
            try {
                route = Route.parse(e.getValue());
            } catch (IllegalArgumentException bad) {
                throw new IllegalArgumentException(name + ": " + bad.getMessage(), bad);
            }
            if (name.equals("*")) {
                fallback = route;
            } else if (name.startsWith(".")) {
                checkDomain(name, name.substring(1));
                subdomains.add(Map.entry(name, route));
            } else {
                checkDomain(name, name);
                exact.put(name, route);
            }
        }
        // Longest suffix first, so .a.example.com beats .example.com.
        subdomains.sort(Comparator.comparingInt((Map.Entry<String, Route> s) -> s.getKey().length()).reversed());
        return new TransportTable(Map.copyOf(exact), List.copyOf(subdomains), fallback, localDomain);
    }

    /**
     * The table from {@code transport.<domain>} keys and {@code relay.host}.
     *
     * @throws ConfigException naming the key when a value is bad, or when both relay.host and
     *     transport.* are set
     */
    public static TransportTable fromConfig(SluiceConfig config) {
        Map<String, String> entries = new HashMap<>(config.patternValues(ConfigKeys.TRANSPORT));
        String relay = config.get(ConfigKeys.RELAY_HOST).trim();
        if (!relay.isEmpty()) {
            if (entries.containsKey("*")) {
                throw ConfigException.badValue(ConfigKeys.RELAY_HOST.name(), relay,
                        "set either relay.host or " + ConfigKeys.TRANSPORT.keyFor("*") + ", not both");
            }
            try {
                entries.put("*", relayRoute(relay).toString());
            } catch (IllegalArgumentException e) {
                throw ConfigException.badValue(ConfigKeys.RELAY_HOST.name(), relay, e.getMessage());
            }
        }
        for (Map.Entry<String, String> e : entries.entrySet()) {
            try {
                of(Map.of(e.getKey(), e.getValue()), "");
            } catch (IllegalArgumentException bad) {
                throw ConfigException.badValue(ConfigKeys.TRANSPORT.keyFor(e.getKey()), e.getValue(),
                        bad.getCause() != null ? bad.getCause().getMessage() : bad.getMessage());
            }
        }
        return of(entries, config.get(ConfigKeys.HOSTNAME));
    }

    /** {@code relay.host}: HOST, HOST:PORT or [HOST]:PORT, always without MX lookup. */
    static Route relayRoute(String relay) {
        String bracketed = relay.startsWith("[") ? relay : bracket(relay);
        return Route.hostAndPort(Route.Kind.SMTP_HOST, bracketed, 25);
    }

    private static String bracket(String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        if (colon < 0 || hostPort.indexOf(':') != colon) {
            return "[" + hostPort + "]";
        }
        return "[" + hostPort.substring(0, colon) + "]" + hostPort.substring(colon);
    }

    private static void checkDomain(String name, String domain) {
        boolean ok = !domain.isEmpty() && !domain.startsWith(".") && !domain.endsWith(".") && !domain.contains("..");
        for (int i = 0; i < domain.length() && ok; i++) {
            char c = domain.charAt(i);
            ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
        }
        if (!ok) {
            throw new IllegalArgumentException(name + ": expected *, a domain, or .domain for its subdomains");
        }
    }

    /** The route of a recipient ({@code local@domain}); {@code smtp:} is bound to its domain. */
    public Route route(String recipient) {
        String domain = domainOf(recipient);
        return routeForDomain(domain).forDomain(domain);
    }

    private Route routeForDomain(String domain) {
        Route r = exact.get(domain);
        if (r != null) {
            return r;
        }
        for (Map.Entry<String, Route> s : subdomains) {
            if (domain.endsWith(s.getKey())) {
                return s.getValue();
            }
        }
        return fallback;
    }

    /** The lower-case domain of a recipient, trailing dot removed; our host name when it has none. */
    String domainOf(String recipient) {
        int at = recipient.lastIndexOf('@');
        if (at < 0) {
            return localDomain;
        }
        String domain = recipient.substring(at + 1).toLowerCase(Locale.ROOT);
        return domain.endsWith(".") ? domain.substring(0, domain.length() - 1) : domain;
    }

    /** The route used when no entry matches. */
    public Route fallback() {
        return fallback;
    }
}
