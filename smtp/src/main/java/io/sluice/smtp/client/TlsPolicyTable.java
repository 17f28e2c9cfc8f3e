package io.sluice.smtp.client;

import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

import io.sluice.smtp.config.ClientTlsLevel;
import io.sluice.smtp.config.ConfigException;
import io.sluice.smtp.config.ConfigKeys;
import io.sluice.smtp.config.SluiceConfig;

/**
 * The outbound TLS level of each destination: {@code tls.client.policy.<domain>} entries (exact
 * name, or {@code .example.com} for every subdomain, longest suffix first) over the global
 * {@code tls.client.level}. Immutable; any thread.
 */
public final class TlsPolicyTable {
    private final ClientTlsLevel defaultLevel;
    private final Map<String, ClientTlsLevel> byName;

    /**
     * @param defaultLevel the level of every destination without an entry
     * @param byName       lower-case names ({@code example.com}, {@code .example.com}) to levels
     */
    public TlsPolicyTable(ClientTlsLevel defaultLevel, Map<String, ClientTlsLevel> byName) {
        this.defaultLevel = defaultLevel;
        this.byName = Map.copyOf(byName);
    }

    /** Every destination at one level (tests, tools). */
    public static TlsPolicyTable uniform(ClientTlsLevel level) {
        return new TlsPolicyTable(level, Map.of());
    }

    /**
     * From {@code tls.client.level} and {@code tls.client.policy.*}.
     *
     * @throws ConfigException on a value that is not a level
     */
    public static TlsPolicyTable fromConfig(SluiceConfig config) {
        Map<String, ClientTlsLevel> levels = new HashMap<>();
        config.patternValues(ConfigKeys.TLS_CLIENT_POLICY).forEach((name, value) -> {
            try {
                levels.put(name, ClientTlsLevel.valueOf(value.trim().toUpperCase(Locale.ROOT)));
            } catch (IllegalArgumentException e) {
                throw ConfigException.badValue(ConfigKeys.TLS_CLIENT_POLICY.keyFor(name), value,
                        "expected one of none|may|encrypt|verify");
            }
        });
        return new TlsPolicyTable(config.get(ConfigKeys.TLS_CLIENT_LEVEL), levels);
    }

    /** The level for a destination domain or host. */
    public ClientTlsLevel levelFor(String destination) {
        ClientTlsLevel explicit = explicitLevelFor(destination);
        return explicit != null ? explicit : defaultLevel;
    }

    /** The level of the {@code tls.client.policy.*} entry that names the destination, or null if none does. */
    public ClientTlsLevel explicitLevelFor(String destination) {
        String name = destination.toLowerCase(Locale.ROOT);
        ClientTlsLevel exact = byName.get(name);
        if (exact != null) {
            return exact;
        }
        for (int dot = name.indexOf('.'); dot >= 0; dot = name.indexOf('.', dot + 1)) {
            ClientTlsLevel parent = byName.get(name.substring(dot));
            if (parent != null) {
                return parent;
            }
        }
        return null;
    }
}
