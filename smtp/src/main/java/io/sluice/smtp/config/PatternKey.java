package io.sluice.smtp.config;

import java.util.Locale;
import java.util.Objects;

/**
 * A family of keys of the form {@code prefix<name>suffix}, e.g. {@code tls.sni.<name>.cert}, where
 * {@code <name>} is chosen by the operator. Immutable; any thread.
 */
public final class PatternKey {
    private final String prefix;
    private final String placeholder;
    private final String suffix;
    private final String allowed;
    private final String description;

    PatternKey(String prefix, String suffix, String description) {
        this(prefix, "name", suffix, "a readable file", description);
    }

    PatternKey(String prefix, String placeholder, String suffix, String allowed, String description) {
        this.prefix = Objects.requireNonNull(prefix);
        this.placeholder = Objects.requireNonNull(placeholder);
        this.suffix = Objects.requireNonNull(suffix);
        this.allowed = Objects.requireNonNull(allowed);
        this.description = Objects.requireNonNull(description);
    }

    /** The documented form, e.g. {@code tls.sni.<name>.cert}. */
    public String pattern() {
        return prefix + "<" + placeholder + ">" + suffix;
    }

    /** The allowed values in words, for the key table. */
    public String allowed() {
        return allowed;
    }

    /** The fixed start of every key of this pattern, e.g. {@code tls.sni.}. */
    String prefix() {
        return prefix;
    }

    /** One line for operators. */
    public String description() {
        return description;
    }

    /** The concrete key for one name, e.g. {@code tls.sni.mx.example.com.cert}. */
    public String keyFor(String name) {
        return prefix + name + suffix;
    }

    /**
     * The {@code <name>} part of a concrete key, lower-cased, or null when the key is not of this
     * pattern.
     */
    public String nameOf(String key) {
        if (key.length() <= prefix.length() + suffix.length() || !key.startsWith(prefix) || !key.endsWith(suffix)) {
            return null;
        }
        return key.substring(prefix.length(), key.length() - suffix.length()).toLowerCase(Locale.ROOT);
    }

    @Override
    public String toString() {
        return pattern();
    }
}
