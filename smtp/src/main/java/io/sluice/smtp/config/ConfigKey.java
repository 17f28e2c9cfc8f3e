package io.sluice.smtp.config;

import java.util.Objects;

/**
 * One configuration key: its name, value type, default (as the text an operator would write),
 * and a one-line description. Immutable; any thread. All keys are constants in {@link ConfigKeys};
 * read a key's value with {@link SluiceConfig#get(ConfigKey)}.
 *
 * @param <T> the type of the parsed value
 */
public final class ConfigKey<T> {
    private final String name;
    private final ValueType<T> type;
    private final String defaultText;
    private final String description;
    private final int index;

    ConfigKey(String name, ValueType<T> type, String defaultText, String description, int index) {
        this.name = Objects.requireNonNull(name);
        this.type = Objects.requireNonNull(type);
        this.defaultText = Objects.requireNonNull(defaultText);
        this.description = Objects.requireNonNull(description);
        this.index = index;
    }

    /** The name operators write, e.g. {@code smtp.max_recipients}. */
    public String name() {
        return name;
    }

    /** The value type, which parses and validates. */
    public ValueType<T> type() {
        return type;
    }

    /** The default as configuration text ({@code 32MiB}); empty for "none" or "computed". */
    public String defaultText() {
        return defaultText;
    }

    /** One line for operators. */
    public String description() {
        return description;
    }

    /** The allowed form in words, e.g. "a whole number >= 100". */
    public String allowed() {
        return type.expected();
    }

    /**
     * Parses a value of this key.
     *
     * @throws ConfigException naming this key, the value and the allowed form
     */
    public T parse(String text) {
        try {
            return type.parse(text);
        } catch (InvalidValueException e) {
            throw ConfigException.badValue(name, text.trim(), e.getMessage());
        }
    }

    /** Position in {@link ConfigKeys#all()}, for array storage in {@link SluiceConfig}. */
    int index() {
        return index;
    }

    @Override
    public String toString() {
        return name;
    }
}
