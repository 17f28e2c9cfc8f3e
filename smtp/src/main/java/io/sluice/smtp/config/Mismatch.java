package io.sluice.smtp.config;

/**
 * Thrown inside a {@link ValueType} parser: "this text is not allowed", with an optional specific
 * reason. {@link ValueType#parse} completes it with the allowed form.
 */
final class Mismatch extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** @param why a specific reason such as "a unit is needed", or null */
    Mismatch(String why) {
        super(why, null, false, false);
    }
}
