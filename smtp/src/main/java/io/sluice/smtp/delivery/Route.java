package io.sluice.smtp.delivery;

import java.util.Locale;
import java.util.Objects;

/**
 * Where a recipient goes, parsed from a {@code transport.<domain>} value. Immutable; any thread.
 * Two equal routes are one destination: they share its concurrency limit.
 *
 * <pre>
 *   maildir:/PATH/{domain}/{user}   MAILDIR   target = the path template (absolute)
 *   lmtp:HOST:PORT  lmtp:[IP]:PORT  LMTP      target = host, port (24 if omitted)
 *   smtp:[HOST]:PORT                SMTP_HOST target = host, port (25 if omitted), no MX lookup
 *   smtp:DOMAIN[:PORT]              SMTP_MX   target = domain whose MX is looked up
 *   smtp:                           SMTP_MX   target = the recipient's domain (resolved per recipient)
 *   discard                         DISCARD   accepted and dropped
 *   error:5.1.1 TEXT                ERROR     target = the enhanced code, text = the reply text
 * </pre>
 *
 * @param kind   what kind of transport
 * @param target path template, host, domain or enhanced code (see above); empty for discard
 * @param port   TCP port for LMTP and SMTP, else 0
 * @param text   the error text for ERROR, else empty
 */
public record Route(Kind kind, String target, int port, String text) {

    /** The transport kinds. */
    public enum Kind {
        /** Local maildir delivery. */
        MAILDIR,
        /** LMTP to a mail store (client not built yet). */
        LMTP,
        /** SMTP to a fixed next hop, no MX lookup (client not built yet). */
        SMTP_HOST,
        /** SMTP to the MX hosts of a domain (client not built yet). */
        SMTP_MX,
        /** Accept and drop. */
        DISCARD,
        /** Refuse with a configured status. */
        ERROR
    }

    private static final int SMTP_PORT = 25;
    private static final int LMTP_PORT = 24;

    /** Validates the fields. */
    public Route {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(text, "text");
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port=" + port + " outside 0..65535");
        }
    }

    /**
     * Parses a {@code transport.<domain>} value.
     *
     * @throws IllegalArgumentException with a one-line reason
     */
    public static Route parse(String value) {
        String v = value.trim();
        int colon = v.indexOf(':');
        String scheme = (colon < 0 ? v : v.substring(0, colon)).toLowerCase(Locale.ROOT);
        String rest = colon < 0 ? "" : v.substring(colon + 1).trim();
        switch (scheme) {
            case "maildir":
                return new Route(Kind.MAILDIR, MaildirPath.checkTemplate(rest), 0, "");
            case "lmtp":
                return hostAndPort(Kind.LMTP, rest, LMTP_PORT);
            case "smtp":
                if (rest.isEmpty()) {
                    return new Route(Kind.SMTP_MX, "", SMTP_PORT, "");
                }
                return hostAndPort(rest.startsWith("[") ? Kind.SMTP_HOST : Kind.SMTP_MX, rest, SMTP_PORT);
            case "discard":
                if (!rest.isEmpty()) {
                    throw new IllegalArgumentException("discard takes no argument");
                }
                return new Route(Kind.DISCARD, "", 0, "");
            case "error":
                return error(rest);
            default:
                throw new IllegalArgumentException("unknown transport '" + scheme
                        + "'; expected maildir:, lmtp:, smtp:, discard or error:");
        }
    }

    /** {@code HOST}, {@code HOST:PORT}, {@code [HOST]:PORT}, {@code [IPv6]:PORT}. */
    static Route hostAndPort(Kind kind, String text, int defaultPort) {
        String host;
        String portText = "";
        if (text.startsWith("[")) {
            int close = text.indexOf(']');
            if (close < 0) {
                throw new IllegalArgumentException("missing ']' in " + text);
            }
            host = text.substring(1, close);
            String after = text.substring(close + 1);
            if (!after.isEmpty() && !after.startsWith(":")) {
                throw new IllegalArgumentException("expected :PORT after ']' in " + text);
            }
            portText = after.isEmpty() ? "" : after.substring(1);
        } else {
            if (text.indexOf(':') != text.lastIndexOf(':')) {
                throw new IllegalArgumentException("an IPv6 address goes in brackets: [" + text + "]");
            }
            int colon = text.lastIndexOf(':');
            host = colon < 0 ? text : text.substring(0, colon);
            portText = colon < 0 ? "" : text.substring(colon + 1);
        }
        if (!isHostOrAddress(host)) {
            throw new IllegalArgumentException("not a host name or IP address: '" + host + "'");
        }
        int port = portText.isEmpty() ? defaultPort : port(portText);
        return new Route(kind, host.toLowerCase(Locale.ROOT), port, "");
    }

    private static int port(String text) {
        if (text.isEmpty() || text.length() > 5 || !text.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new IllegalArgumentException("port '" + text + "' is not a number from 1 to 65535");
        }
        int port = Integer.parseInt(text);
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port=" + port + " outside 1..65535");
        }
        return port;
    }

    private static boolean isHostOrAddress(String host) {
        if (host.isEmpty() || host.length() > 253) {
            return false;
        }
        for (int i = 0; i < host.length(); i++) {
            char c = host.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || c == '-' || c == '.' || c == ':';
            if (!ok) {
                return false;
            }
        }
        return !host.startsWith(".") && !host.startsWith("-") && !host.contains("..");
    }

    private static Route error(String rest) {
        int space = rest.indexOf(' ');
        String code = space < 0 ? rest : rest.substring(0, space);
        String text = space < 0 ? "" : rest.substring(space + 1).trim();
        if (!code.matches("[45]\\.[0-9]{1,3}\\.[0-9]{1,3}")) {
            throw new IllegalArgumentException("error: needs an enhanced status code 4.X.X or 5.X.X first, e.g. error:5.1.1 No such user");
        }
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c < 0x20 || c > 0x7e) {
                throw new IllegalArgumentException("error text must be printable ASCII");
            }
        }
        return new Route(Kind.ERROR, code, 0, text.isEmpty() ? "Delivery refused by configuration" : text);
    }

    /** The same route with {@code smtp:} bound to the recipient's domain. */
    Route forDomain(String domain) {
        return kind == Kind.SMTP_MX && target.isEmpty() ? new Route(kind, domain, port, text) : this;
    }

    /** The canonical configuration text, as logs show it. */
    @Override
    public String toString() {
        switch (kind) {
            case MAILDIR:
                return "maildir:" + target;
            case LMTP:
                return "lmtp:" + bracketed() + ":" + port;
            case SMTP_HOST:
                return "smtp:[" + target + "]:" + port;
            case SMTP_MX:
                return "smtp:" + target + (port == SMTP_PORT ? "" : ":" + port);
            case DISCARD:
                return "discard";
            default:
                return "error:" + target + " " + text;
        }
    }

    private String bracketed() {
        return target.indexOf(':') >= 0 ? "[" + target + "]" : target;
    }
}
