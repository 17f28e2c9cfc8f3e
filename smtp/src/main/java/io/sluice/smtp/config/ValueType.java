package io.sluice.smtp.config;

import java.util.Objects;
import java.util.function.Function;

/**
 * How the text of one configuration value becomes a typed value, and how the allowed form is
 * described to the operator ("a whole number >= 100"). Immutable; any thread. Instances come from
 * {@link ValueTypes}.
 *
 * @param <T> the parsed Java type
 */
public final class ValueType<T> {
    private final String expected;
    private final Function<String, T> parser;

    ValueType(String expected, Function<String, T> parser) {
        this.expected = Objects.requireNonNull(expected);
        this.parser = Objects.requireNonNull(parser);
    }

    /** The allowed form in words, as it appears after "expected" in error messages. */
    public String expected() {
        return expected;
    }

    /**
     * Parses trimmed text.
     *
     * @throws IllegalArgumentException with a one-line reason (without key or value) when the
     *     text is not allowed
     */
    public T parse(String text) {
        try {
            return parser.apply(text.trim());
        } catch (Mismatch m) {
            String why = m.getMessage();
            throw new InvalidValueException(why == null ? "expected " + expected : why + "; expected " + expected);
        }
    }
}
