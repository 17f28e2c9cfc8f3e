package io.sluice.smtp.config;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;

/**
 * The effective configuration: every key of {@link ConfigKeys} parsed and validated, from the
 * defaults, then a {@code key = value} file ({@code --config FILE}), then {@code --set KEY=VALUE}
 * overrides. Immutable and safe to share; any thread may call {@link #get}.
 */
public final class SluiceConfig {
    private final Map<String, String> texts;
    private final Object[] values;
    private final Map<String, SniCertificate> sni;

    private SluiceConfig(Map<String, String> texts) {
        this.texts = Collections.unmodifiableMap(new TreeMap<>(texts));
        List<ConfigKey<?>> keys = ConfigKeys.all();
        this.values = new Object[keys.size()];
        for (ConfigKey<?> key : keys) {
            values[key.index()] = key.parse(texts.getOrDefault(key.name(), key.defaultText()));
        }
        this.sni = sniCertificates(this.texts);
        checkTlsFiles();
    }

    /** Every key at its default. */
    public static SluiceConfig defaults() {
        return new SluiceConfig(Map.of());
    }

    /**
     * Loads the file (if not null), then applies the overrides, then parses and validates every
     * key.
     *
     * @param fileOrNull a Java properties file of {@code key = value} lines, or null
     * @param overrides {@code --set} values by key, applied after the file
     * @throws ConfigException with one line naming the key, the value and what is allowed, on an
     *     unreadable file, a key set twice in the file, an unknown key or a bad value
     */
    public static SluiceConfig load(Path fileOrNull, Map<String, String> overrides) {
        Map<String, String> texts = fileOrNull == null ? new LinkedHashMap<>() : readFile(fileOrNull);
        return new SluiceConfig(merge(texts, overrides));
    }

    /** A copy with these values replacing the current ones, validated like {@link #load}. */
    public SluiceConfig withOverrides(Map<String, String> overrides) {
        return new SluiceConfig(merge(new LinkedHashMap<>(texts), overrides));
    }

    /**
     * Turns {@code --set} arguments ({@code KEY=VALUE}, repeatable; the last one for a key wins)
     * into the overrides map for {@link #load}.
     *
     * @throws ConfigException when an argument has no '=' or an empty key
     */
    public static Map<String, String> parseSetArguments(List<String> arguments) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String argument : arguments) {
            int eq = argument.indexOf('=');
            if (eq <= 0 || argument.substring(0, eq).isBlank()) {
                throw new ConfigException("config: --set " + ConfigException.printable(argument) + ": expected KEY=VALUE");
            }
            out.put(argument.substring(0, eq).trim(), argument.substring(eq + 1).trim());
        }
        return out;
    }

    /** The parsed value of a key. */
    public <T> T get(ConfigKey<T> key) {
        @SuppressWarnings("unchecked") // values[i] was produced by the key at index i
        T value = (T) values[key.index()];
        return value;
    }

    /** The text a key was set to, or its default text. */
    public String text(ConfigKey<?> key) {
        return texts.getOrDefault(key.name(), key.defaultText());
    }

    /**
     * The texts of every key of a pattern, by its lower-cased {@code <name>} part, sorted by name;
     * e.g. {@code transport.*} and {@code transport.example.com} as {@code *} and {@code example.com}.
     * The values are not validated here: the pattern's user parses them.
     */
    public Map<String, String> patternValues(PatternKey pattern) {
        Map<String, String> out = new TreeMap<>();
        texts.forEach((key, value) -> {
            String name = pattern.nameOf(key);
            if (name != null) {
                out.put(name, value.trim());
            }
        });
        return Collections.unmodifiableMap(out);
    }

    /** SNI certificates from {@code tls.sni.<name>.cert}/{@code .key}, by lower-case server name. */
    public Map<String, SniCertificate> sniCertificates() {
        return sni;
    }

    /**
     * The effective configuration as properties text, one {@code key = value} line per key in
     * documentation order, then SNI entries; passwords are masked. For {@code sluice config}.
     */
    public String toPropertiesText() {
        StringBuilder out = new StringBuilder(2048);
        for (ConfigKey<?> key : ConfigKeys.all()) {
            String text = key == ConfigKeys.TLS_KEYSTORE_PASSWORD && !text(key).isEmpty() ? "********" : text(key);
            out.append(key.name()).append(" = ").append(escape(text)).append('\n');
        }
        for (SniCertificate c : sni.values()) {
            out.append(escapeKey(ConfigKeys.TLS_SNI_CERT.keyFor(c.serverName()))).append(" = ").append(escape(c.cert().toString())).append('\n');
            out.append(escapeKey(ConfigKeys.TLS_SNI_KEY.keyFor(c.serverName()))).append(" = ").append(escape(c.key().toString())).append('\n');
        }
        for (PatternKey p : List.of(ConfigKeys.TRANSPORT, ConfigKeys.DELIVERY_CONCURRENCY_FOR,
                ConfigKeys.DELIVERY_RATE_FOR, ConfigKeys.DELIVERY_AUTH_FOR, ConfigKeys.TLS_CLIENT_POLICY,
                ConfigKeys.DKIM_SELECTOR, ConfigKeys.DKIM_KEY)) {
            patternValues(p).forEach((name, value) ->
                    out.append(escapeKey(p.keyFor(name))).append(" = ").append(escape(value)).append('\n'));
        }
        return out.toString();
    }

    @Override
    public String toString() {
        return toPropertiesText();
    }

    /**
     * Escapes a value so that Properties.load reads back exactly this text: a backslash, and control
     * characters as escapes (a value may hold a newline, e.g. from {@code \n} in the file or a
     * {@code --set} argument, and written raw it would start a line of its own: found by
     * ConfigFuzzTest), and a leading space (which load would strip).
     */
    private static String escape(String value) {
        return escape(value, false);
    }

    /** The same for a key, which also must not contain a raw separator or start a comment. */
    private static String escapeKey(String key) {
        return escape(key, true);
    }

    private static String escape(String text, boolean key) {
        StringBuilder out = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            String escaped = switch (c) {
                case '\\' -> "\\\\";
                case '\n' -> "\\n";
                case '\r' -> "\\r";
                case '\t' -> "\\t";
                case '\f' -> "\\f";
                case ' ' -> key || i == 0 ? "\\ " : null;
                case '=', ':', '#', '!' -> key ? "\\" + c : null;
                default -> c < 0x20 || c == 0x7F ? String.format("\\u%04x", (int) c) : null;
            };
            if (escaped != null && out == null) {
                out = new StringBuilder(text.length() + 8).append(text, 0, i);
            }
            if (out != null) {
                if (escaped != null) {
                    out.append(escaped);
                } else {
                    out.append(c);
                }
            }
        }
        return out == null ? text : out.toString();
    }

    private static Map<String, String> merge(Map<String, String> base, Map<String, String> overrides) {
        base.putAll(overrides);
        for (String name : base.keySet()) {
            checkKnown(name);
        }
        return base;
    }

    private static void checkKnown(String name) {
        if (ConfigKeys.byName(name).isPresent()) {
            return;
        }
        for (PatternKey p : ConfigKeys.patterns()) {
            if (p.nameOf(name) != null) {
                return;
            }
        }
        if (name.startsWith(ConfigKeys.TLS_SNI_CERT.prefix())) {
            throw ConfigException.forKey(name, "unknown key (expected " + ConfigKeys.TLS_SNI_CERT.pattern()
                    + " or " + ConfigKeys.TLS_SNI_KEY.pattern() + ")");
        }
        List<String> candidates = new ArrayList<>();
        ConfigKeys.all().forEach(k -> candidates.add(k.name()));
        String suggestion = KeySuggester.suggest(name, candidates);
        throw ConfigException.forKey(name, "unknown key" + (suggestion == null ? "" : " (did you mean " + suggestion + "?)"));
    }

    private static Map<String, String> readFile(Path file) {
        DuplicateDetectingProperties properties = new DuplicateDetectingProperties();
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            properties.load(reader);
        } catch (NoSuchFileException e) {
            throw new ConfigException("config: " + file + ": no such file");
        } catch (AccessDeniedException e) {
            throw new ConfigException("config: " + file + ": permission denied");
        } catch (CharacterCodingException e) {
            throw new ConfigException("config: " + file + ": not UTF-8 text");
        } catch (IOException e) {
            throw new ConfigException("config: " + file + ": cannot read: " + e.getClass().getSimpleName() + " " + e.getMessage());
        } catch (IllegalArgumentException e) {
            throw new ConfigException("config: " + file + ": malformed: " + e.getMessage());
        }
        if (properties.duplicate != null) {
            throw ConfigException.forKey(properties.duplicate, "set more than once in " + file);
        }
        Map<String, String> out = new LinkedHashMap<>();
        properties.forEach((k, v) -> out.put(k.toString(), v.toString()));
        return out;
    }

    private static Map<String, SniCertificate> sniCertificates(Map<String, String> texts) {
        Map<String, String> certs = new TreeMap<>();
        Map<String, String> keys = new TreeMap<>();
        texts.forEach((key, value) -> {
            collect(ConfigKeys.TLS_SNI_CERT, key, value, certs);
            collect(ConfigKeys.TLS_SNI_KEY, key, value, keys);
        });
        Map<String, SniCertificate> out = new LinkedHashMap<>();
        for (String name : certs.keySet()) {
            if (!keys.containsKey(name)) {
                throw ConfigException.badValue(ConfigKeys.TLS_SNI_CERT.keyFor(name), certs.get(name),
                        ConfigKeys.TLS_SNI_KEY.keyFor(name) + " must be set too");
            }
            out.put(name, new SniCertificate(name, readableFile(ConfigKeys.TLS_SNI_CERT.keyFor(name), certs.get(name)),
                    readableFile(ConfigKeys.TLS_SNI_KEY.keyFor(name), keys.get(name))));
        }
        for (String name : keys.keySet()) {
            if (!certs.containsKey(name)) {
                throw ConfigException.badValue(ConfigKeys.TLS_SNI_KEY.keyFor(name), keys.get(name),
                        ConfigKeys.TLS_SNI_CERT.keyFor(name) + " must be set too");
            }
        }
        return Collections.unmodifiableMap(out);
    }

    private static void collect(PatternKey pattern, String key, String value, Map<String, String> into) {
        String name = pattern.nameOf(key);
        if (name == null) {
            return;
        }
        String host = name.startsWith("*.") ? name.substring(2) : name;
        if (!InetLiterals.isHostName(host)) {
            throw ConfigException.forKey(key, "<name> must be a host name or *.domain, in " + pattern.pattern());
        }
        into.put(name, value);
    }

    private static Path readableFile(String key, String text) {
        try {
            return ValueTypes.optionalReadableFile().parse(text)
                    .orElseThrow(() -> new InvalidValueException("expected the path of a readable file"));
        } catch (InvalidValueException e) {
            throw ConfigException.badValue(key, text.trim(), e.getMessage());
        }
    }

    /** tls.cert and tls.key go together; a key store replaces both. */
    private void checkTlsFiles() {
        Optional<Path> cert = get(ConfigKeys.TLS_CERT);
        Optional<Path> key = get(ConfigKeys.TLS_KEY);
        if (cert.isPresent() != key.isPresent()) {
            ConfigKey<?> set = cert.isPresent() ? ConfigKeys.TLS_CERT : ConfigKeys.TLS_KEY;
            ConfigKey<?> missing = cert.isPresent() ? ConfigKeys.TLS_KEY : ConfigKeys.TLS_CERT;
            throw ConfigException.badValue(set.name(), text(set), missing.name() + " must be set too");
        }
        if (cert.isPresent() && get(ConfigKeys.TLS_KEYSTORE).isPresent()) {
            throw ConfigException.badValue(ConfigKeys.TLS_KEYSTORE.name(), text(ConfigKeys.TLS_KEYSTORE),
                    "set either tls.keystore or tls.cert and tls.key, not both");
        }
    }

    /** Properties.load reports every pair through put(); a second put of a key is a duplicate line. */
    private static final class DuplicateDetectingProperties extends Properties {
        private static final long serialVersionUID = 1L;
        private String duplicate;

        @Override
        public synchronized Object put(Object key, Object value) {
            Object previous = super.put(key, value);
            if (previous != null && duplicate == null) {
                duplicate = key.toString();
            }
            return previous;
        }
    }
}
