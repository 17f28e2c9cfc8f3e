package io.sluice.smtp.dkim;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import io.sluice.smtp.config.ConfigException;
import io.sluice.smtp.config.ConfigKeys;
import io.sluice.smtp.config.SluiceConfig;
import io.sluice.smtp.config.ValueTypes;

/**
 * Builds the {@link DkimSigner} from {@code dkim.<domain>.selector}, {@code dkim.<domain>.key}
 * and {@code dkim.headers}: every key file is read and tried once (a test signature) at start; a
 * problem stops the start with one line naming the key and what is wrong, never the key's content.
 * Keys are not reloaded while running (a restart picks up new ones). Called once by the starting
 * thread.
 */
public final class DkimConfig {
    private DkimConfig() {
    }

    /** The signer of a configuration ({@link DkimSigner#none()}-like when no domain is configured). */
    public static DkimSigner signer(SluiceConfig config) {
        Map<String, String> selectors = config.patternValues(ConfigKeys.DKIM_SELECTOR);
        Map<String, String> files = config.patternValues(ConfigKeys.DKIM_KEY);
        TreeSet<String> names = new TreeSet<>(selectors.keySet());
        names.addAll(files.keySet());
        Map<String, DkimKey> keys = new LinkedHashMap<>();
        for (String name : names) {
            keys.put(name, key(name, selectors.get(name), files.get(name)));
        }
        List<String> headers = config.get(ConfigKeys.DKIM_HEADERS);
        if (headers.isEmpty()) {
            headers = DkimSigner.DEFAULT_HEADERS;
        }
        if (!headers.contains("from")) {
            throw ConfigException.badValue(ConfigKeys.DKIM_HEADERS.name(), config.text(ConfigKeys.DKIM_HEADERS),
                    "must include from (RFC 6376 §5.4)");
        }
        return new DkimSigner(keys, headers, config.get(ConfigKeys.HOSTNAME), config.get(ConfigKeys.RELAY_NETWORKS),
                System::currentTimeMillis);
    }

    private static DkimKey key(String name, String selector, String file) {
        String selectorKey = ConfigKeys.DKIM_SELECTOR.keyFor(name);
        String fileKey = ConfigKeys.DKIM_KEY.keyFor(name);
        String domain = name.startsWith(".") ? name.substring(1) : name;
        checkDomain(selectorKey, name, domain);
        if (selector == null) {
            throw ConfigException.badValue(fileKey, file, selectorKey + " must be set too");
        }
        if (file == null) {
            throw ConfigException.badValue(selectorKey, selector, fileKey + " must be set too");
        }
        if (!selector.matches("[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*")) {
            throw ConfigException.badValue(selectorKey, selector, "expected a selector such as s2026 (letters, digits, '-', dots)");
        }
        DkimKey key;
        try {
            key = DkimKey.load(domain, selector, Path.of(file));
            trySigning(key);
        } catch (IOException | GeneralSecurityException | IllegalArgumentException e) {
            throw ConfigException.badValue(fileKey, file, e.getMessage());
        }
        return key;
    }

    private static void checkDomain(String someKey, String name, String domain) {
        try {
            ValueTypes.hostName().parse(domain);
        } catch (IllegalArgumentException e) {
            throw ConfigException.badValue(someKey, name, "<domain> must be a domain such as example.com, or .example.com for its subdomains");
        }
    }

    /** One signature of a tiny message, so that a key the provider refuses fails the start, not the first delivery. */
    private static void trySigning(DkimKey key) throws GeneralSecurityException {
        byte[] probe = ("From: probe@" + key.domain() + "\r\n\r\nprobe\r\n").getBytes(StandardCharsets.US_ASCII);
        DkimSigner.sign(key, HeaderBlock.parse(probe, probe.length), List.of("from"), 0);
    }
}
