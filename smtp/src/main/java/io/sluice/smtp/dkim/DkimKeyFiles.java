package io.sluice.smtp.dkim;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

import io.sluice.smtp.config.ConfigException;
import io.sluice.smtp.config.ConfigKeys;
import io.sluice.smtp.config.SluiceConfig;
import io.sluice.smtp.config.ValueTypes;

/**
 * The DKIM key files a configuration names ({@code dkim.<domain>.selector} and {@code .key}). At
 * start {@link #loadAll()} reads and tries every key, strictly: a bad one stops the start. While
 * running {@link #reload(DkimSigner)} reads them again key by key: a key that loads and signs its
 * probe replaces the one in use, a bad one leaves the one in use as it was. Which domains sign,
 * their selectors and the paths are the configuration's, fixed at start. Immutable; both methods
 * read files and make a signature each, so they run on the starting or the reload thread, never on
 * a loop. Error texts name the key and what is wrong, never the key's content.
 */
public final class DkimKeyFiles {

    /** One configured key: its name as written ({@code example.com} or {@code .example.com}), d=, s= and file. */
    private record Entry(String name, String domain, String selector, Path file) {

        String lowerName() {
            return name.toLowerCase(Locale.ROOT);
        }

        String fileKey() {
            return ConfigKeys.DKIM_KEY.keyFor(name);
        }

        /** Reads and tries the key; the message of a failure is {@code dkim.<name>.key=<file>: reason}. */
        DkimKey load() {
            try {
                DkimKey key = DkimKey.load(domain, selector, file);
                trySigning(key);
                return key;
            } catch (IOException | GeneralSecurityException | IllegalArgumentException e) {
                throw ConfigException.badValue(fileKey(), file.toString(), e.getMessage());
            }
        }
    }

    /**
     * What one {@link #reload} did.
     *
     * @param succeeded true when every key loaded (renewed or unchanged); false when any key was
     *                  kept, even if others were renewed in this reload (counted as one failed reload)
     * @param renewed   keys whose file now holds another key, which signs from now on
     * @param keys      keys in use after the reload
     * @param detail    one line, key by key: {@code example.com s=s2026 renewed}, {@code unchanged}, or
     *                  {@code kept: <reason>} (a failure; the key in use stays)
     */
    public record Reload(boolean succeeded, int renewed, int keys, String detail) {
    }

    private final List<Entry> entries;

    private DkimKeyFiles(List<Entry> entries) {
        this.entries = entries;
    }

    /** No key configured. */
    public static DkimKeyFiles none() {
        return new DkimKeyFiles(List.of());
    }

    /** The configured keys, their names and selectors checked (a {@link ConfigException} names the bad one); no file is read. */
    public static DkimKeyFiles fromConfig(SluiceConfig config) {
        Map<String, String> selectors = config.patternValues(ConfigKeys.DKIM_SELECTOR);
        Map<String, String> files = config.patternValues(ConfigKeys.DKIM_KEY);
        TreeSet<String> names = new TreeSet<>(selectors.keySet());
        names.addAll(files.keySet());
        List<Entry> entries = new ArrayList<>();
        for (String name : names) {
            entries.add(entry(name, selectors.get(name), files.get(name)));
        }
        return new DkimKeyFiles(List.copyOf(entries));
    }

    private static Entry entry(String name, String selector, String file) {
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
        return new Entry(name, domain, selector, Path.of(file));
    }

    private static void checkDomain(String someKey, String name, String domain) {
        try {
            ValueTypes.hostName().parse(domain);
        } catch (IllegalArgumentException e) {
            throw ConfigException.badValue(someKey, name, "<domain> must be a domain such as example.com, or .example.com for its subdomains");
        }
    }

    /** One signature of a tiny message, so that a key the provider refuses fails here, not at the first delivery. */
    private static void trySigning(DkimKey key) throws GeneralSecurityException {
        byte[] probe = ("From: probe@" + key.domain() + "\r\n\r\nprobe\r\n").getBytes(StandardCharsets.US_ASCII);
        DkimSigner.sign(key, HeaderBlock.parse(probe, probe.length), List.of("from"), 0);
    }

    /** The key files, in name order (what a reload poller watches). */
    public List<Path> files() {
        return entries.stream().map(Entry::file).distinct().toList();
    }

    /** True when no key is configured. */
    public boolean isEmpty() {
        return entries.isEmpty();
    }

    /** Every key by configured name; the first bad one throws a one-line {@link ConfigException}. */
    public Map<String, DkimKey> loadAll() {
        Map<String, DkimKey> keys = new LinkedHashMap<>();
        for (Entry entry : entries) {
            keys.put(entry.name(), entry.load());
        }
        return keys;
    }

    /**
     * Reads every key file again and gives {@code signer} the keys that changed (one
     * {@link DkimSigner#replaceKeys} when any did): a key whose file cannot be read, parsed or
     * tried keeps the key in use (or, for a key that never loaded, stays without one). A file that
     * holds the same key as before keeps the instance in use, so signatures cached for retries stay valid.
     */
    public Reload reload(DkimSigner signer) {
        Map<String, DkimKey> inUse = signer.keysByName();
        Map<String, DkimKey> next = new LinkedHashMap<>();
        StringBuilder detail = new StringBuilder();
        int renewed = 0;
        boolean succeeded = true;
        for (Entry entry : entries) {
            DkimKey old = inUse.get(entry.lowerName());
            String outcome;
            try {
                DkimKey fresh = entry.load();
                boolean same = old != null && old.sameKeyAs(fresh);
                next.put(entry.lowerName(), same ? old : fresh);
                renewed += same ? 0 : 1;
                outcome = same ? "unchanged" : "renewed " + fresh.algorithm().tag() + "/" + fresh.bits();
            } catch (ConfigException e) {
                succeeded = false;
                if (old != null) {
                    next.put(entry.lowerName(), old);
                }
                outcome = (old != null ? "kept the key in use: " : "no key: ") + e.getMessage();
            }
            detail.append(detail.length() == 0 ? "" : "; ").append(entry.name()).append(" s=").append(entry.selector())
                    .append(' ').append(outcome);
        }
        if (renewed > 0 || next.size() != inUse.size()) {
            signer.replaceKeys(next);
        }
        return new Reload(succeeded, renewed, next.size(), detail.toString());
    }
}
