package io.sluice.smtp.delivery;

import java.nio.file.Path;
import java.util.Locale;

/**
 * The maildir of one recipient from a template such as {@code /var/mail/{domain}/{user}}. The
 * parts a recipient controls are refused unless they are one plain path component: no
 * {@code /}, {@code \}, NUL or other control character, not empty, no leading dot (so neither
 * {@code .} nor {@code ..}); and the result must lie under the template's fixed prefix. Both parts
 * are lower-cased, so {@code User@Example.COM} and {@code user@example.com} share a maildir.
 * Immutable; any thread.
 */
final class MaildirPath {
    static final String DOMAIN = "{domain}";
    static final String USER = "{user}";

    private final String template;
    private final Path base;

    MaildirPath(String template) {
        this.template = checkTemplate(template);
        int brace = template.indexOf('{');
        String fixed = brace < 0 ? template : template.substring(0, template.lastIndexOf('/', brace) + 1);
        this.base = Path.of(fixed).normalize();
    }

    /**
     * Checks a template: absolute, no {@code ..} component, no placeholder other than
     * {@code {domain}} and {@code {user}}, each standing as a whole path component.
     *
     * @return the template
     * @throws IllegalArgumentException with the reason
     */
    static String checkTemplate(String template) {
        if (!template.startsWith("/")) {
            throw new IllegalArgumentException("maildir path must be absolute: '" + template + "'");
        }
        for (String component : template.split("/")) {
            if (component.equals("..") || component.equals(".")) {
                throw new IllegalArgumentException("maildir path must not contain . or .. components");
            }
            boolean placeholder = component.equals(DOMAIN) || component.equals(USER);
            if (!placeholder && (component.indexOf('{') >= 0 || component.indexOf('}') >= 0)) {
                throw new IllegalArgumentException("maildir path: only {domain} and {user} are known, each a whole"
                        + " path component, in '" + template + "'");
            }
            if (component.indexOf('\0') >= 0) {
                throw new IllegalArgumentException("maildir path must not contain NUL");
            }
        }
        return template;
    }

    /**
     * The maildir for a recipient.
     *
     * @param recipient    the envelope recipient, {@code local@domain} (a quoted local part keeps
     *                     its quotes and is usually refused for them)
     * @param localDomain  the domain for a recipient without {@code @} ({@code postmaster})
     * @throws IllegalArgumentException when the recipient's user or domain is not a safe path part
     */
    Path resolve(String recipient, String localDomain) {
        if (template.indexOf('{') < 0) {
            return base; // one maildir for everyone
        }
        int at = recipient.lastIndexOf('@');
        String user = at < 0 ? recipient : recipient.substring(0, at);
        String domain = at < 0 ? localDomain : recipient.substring(at + 1);
        // Component by component, so a value that looks like a placeholder is never expanded again.
        String[] parts = template.split("/", -1);
        for (int i = 0; i < parts.length; i++) {
            parts[i] = parts[i].equals(DOMAIN) ? component("domain", domain)
                    : parts[i].equals(USER) ? component("user", user) : parts[i];
        }
        Path resolved = Path.of(String.join("/", parts)).normalize();
        if (!resolved.startsWith(base) || resolved.equals(base)) {
            throw new IllegalArgumentException("maildir " + resolved + " is outside " + base);
        }
        return resolved;
    }

    /** One safe path component, lower-cased, or IllegalArgumentException. */
    static String component(String what, String text) {
        if (text.isEmpty()) {
            throw new IllegalArgumentException(what + " is empty");
        }
        if (text.charAt(0) == '.') {
            throw new IllegalArgumentException(what + " starts with a dot");
        }
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '/' || c == '\\' || c < 0x20 || c == 0x7f) {
                throw new IllegalArgumentException(what + " holds '/', '\\' or a control character");
            }
        }
        return text.toLowerCase(Locale.ROOT);
    }

    @Override
    public String toString() {
        return template;
    }
}
