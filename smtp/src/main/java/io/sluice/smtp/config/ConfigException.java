package io.sluice.smtp.config;

/**
 * A configuration error that stops the start. The message is one line that names the key, the
 * value and what is allowed, ready to print as is: {@code config: smtp.max_recipients=abc:
 * expected a whole number >= 100}. Thrown by the loading thread only.
 */
public final class ConfigException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Every message is made one printable line here, whatever a reason quoted of the input. */
    ConfigException(String message) {
        super(escapeControls(message), null, false, false);
    }

    private static String escapeControls(String text) {
        if (text.chars().noneMatch(c -> c < 0x20 || c == 0x7f)) {
            return text;
        }
        StringBuilder out = new StringBuilder(text.length() + 16);
        text.chars().forEach(c -> out.append(c < 0x20 || c == 0x7f ? String.format("\\u%04x", c) : String.valueOf((char) c)));
        return out.toString();
    }

    /** {@code config: KEY=VALUE: reason}, for code outside this package that validates its own keys. */
    public static ConfigException badValue(String key, String value, String reason) {
        return new ConfigException("config: " + key + "=" + printable(value) + ": " + reason);
    }

    static ConfigException forKey(String key, String reason) {
        return new ConfigException("config: " + printable(key) + ": " + reason);
    }

    /** Keeps the message on one line and bounded, whatever the operator typed. */
    static String printable(String text) {
        StringBuilder out = new StringBuilder(Math.min(text.length(), 120));
        for (int i = 0; i < text.length() && out.length() < 100; i++) {
            char c = text.charAt(i);
            if (c == '\n') {
                out.append("\\n");
            } else if (c == '\r') {
                out.append("\\r");
            } else if (c == '\t') {
                out.append("\\t");
            } else if (c < 0x20 || c == 0x7f) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        if (out.length() >= 100) {
            out.append("...");
        }
        return out.toString();
    }
}
