package io.sluice.smtp.config;

/** Thrown by a {@link ValueType} parser with the reason only; {@link ConfigKey} adds key and value. */
final class InvalidValueException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    InvalidValueException(String reason) {
        super(reason);
    }
}
