package io.sluice.smtp.client;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

import io.sluice.smtp.config.ConfigException;
import io.sluice.smtp.config.ConfigKeys;
import io.sluice.smtp.config.SluiceConfig;

/**
 * The outbound SMTP AUTH credentials per destination ({@code delivery.auth.<destination>}: the
 * host of an {@code smtp:[HOST]} route or of {@code relay.host}, the domain of an
 * {@code smtp:DOMAIN} route; exact name, as {@code delivery.concurrency.<destination>}). Read
 * once, at start. Immutable; any thread.
 */
public final class AuthTable {
    private static final AuthTable NONE = new AuthTable(Map.of());

    private final Map<String, SmtpCredentials> byDestination;

    /** @param byDestination lower-case destination names to their credentials */
    public AuthTable(Map<String, SmtpCredentials> byDestination) {
        this.byDestination = Map.copyOf(byDestination);
    }

    /** No destination authenticates. */
    public static AuthTable none() {
        return NONE;
    }

    /**
     * Reads every {@code delivery.auth.<destination>} file.
     *
     * @throws ConfigException naming the key of a file that cannot be read or is not one {@code username:password} line
     */
    public static AuthTable fromConfig(SluiceConfig config) {
        Map<String, SmtpCredentials> table = new HashMap<>();
        config.patternValues(ConfigKeys.DELIVERY_AUTH_FOR).forEach((destination, value) -> {
            String key = ConfigKeys.DELIVERY_AUTH_FOR.keyFor(destination);
            if (value.isEmpty()) {
                throw ConfigException.badValue(key, value, "expected the path of a file holding username:password");
            }
            table.put(destination, SmtpCredentials.read(destination, key, Path.of(value)));
        });
        return table.isEmpty() ? NONE : new AuthTable(table);
    }

    /** The credentials for a route's destination, or null when it does not authenticate. */
    public SmtpCredentials credentialsFor(String destination) {
        return byDestination.isEmpty() ? null : byDestination.get(destination.toLowerCase(Locale.ROOT));
    }

    /** How many destinations authenticate. */
    public int size() {
        return byDestination.size();
    }

    /** The destinations and user names; never a password. */
    @Override
    public String toString() {
        return "AuthTable" + byDestination.values();
    }
}
