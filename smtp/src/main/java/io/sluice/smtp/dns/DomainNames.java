package io.sluice.smtp.dns;

import java.net.IDN;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Locale;
import org.xbill.DNS.Address;
import org.xbill.DNS.Name;
import org.xbill.DNS.TextParseException;

/**
 * The domain names the resolver accepts and how it writes them: lower case, no trailing dot,
 * A-labels for internationalised names. Never touches DNS. Stateless.
 */
final class DomainNames {
    /** RFC 1035 §2.3.4: 255 octets on the wire, i.e. 253 characters written without the root dot. */
    static final int MAX_NAME_CHARS = 253;
    static final int MAX_LABEL_CHARS = 63;

    private DomainNames() {
    }

    /**
     * The address when the text is an IP literal rather than a name: {@code 192.0.2.1},
     * {@code 2001:db8::1}, or the same in brackets ({@code [192.0.2.1]}, {@code [IPv6:2001:db8::1]}).
     *
     * @return the address, or null for anything else
     */
    static InetAddress ipLiteral(String text) {
        String t = literalText(text);
        int family = t.indexOf(':') >= 0 ? Address.IPv6 : Address.IPv4;
        byte[] bytes = Address.toByteArray(t, family);
        if (bytes == null) {
            return null;
        }
        try {
            return InetAddress.getByAddress(bytes);
        } catch (UnknownHostException e) {
            return null; // only for a wrong length, which toByteArray never returns
        }
    }

    /** An IP literal as written, without brackets or {@code IPv6:}, lower case. */
    static String literalText(String text) {
        String t = text;
        if (t.length() > 2 && t.charAt(0) == '[' && t.charAt(t.length() - 1) == ']') {
            t = t.substring(1, t.length() - 1);
            if (t.regionMatches(true, 0, "IPv6:", 0, 5)) {
                t = t.substring(5);
            }
        }
        return t.toLowerCase(Locale.ROOT);
    }

    /**
     * The absolute DNS name of a domain: any case, one trailing dot allowed, U-labels turned into
     * A-labels (RFC 5891), every label letters, digits, hyphens or underscores.
     *
     * @throws NextHopLookupException (permanent, 5.1.2) when it is not a valid host name
     */
    static Name toName(String domain) throws NextHopLookupException {
        String d = domain.endsWith(".") ? domain.substring(0, domain.length() - 1) : domain;
        if (!isAscii(d)) {
            try {
                d = IDN.toASCII(d);
            } catch (IllegalArgumentException e) {
                throw Failures.badDomain(domain, "not a valid internationalised name");
            }
        }
        d = d.toLowerCase(Locale.ROOT);
        String why = syntaxError(d);
        if (why != null) {
            throw Failures.badDomain(domain, why);
        }
        try {
            return Name.fromString(d, Name.root);
        } catch (TextParseException e) {
            throw Failures.badDomain(domain, e.getMessage());
        }
    }

    /** The name as NextHop carries it: lower case, no trailing dot. */
    static String text(Name name) {
        return name.toString(true).toLowerCase(Locale.ROOT);
    }

    private static String syntaxError(String d) {
        if (d.isEmpty()) {
            return "empty";
        }
        if (d.length() > MAX_NAME_CHARS) {
            return "longer than " + MAX_NAME_CHARS + " characters";
        }
        int labelStart = 0;
        for (int i = 0; i <= d.length(); i++) {
            if (i == d.length() || d.charAt(i) == '.') {
                int length = i - labelStart;
                if (length == 0) {
                    return "empty label";
                }
                if (length > MAX_LABEL_CHARS) {
                    return "label longer than " + MAX_LABEL_CHARS + " characters";
                }
                labelStart = i + 1;
            } else if (!isNameChar(d.charAt(i))) {
                return "character '" + (d.charAt(i) < 0x20 ? "?" : String.valueOf(d.charAt(i))) + "' not allowed";
            }
        }
        return null;
    }

    // Underscores are not host-name syntax, but real MX targets carry them; Postfix accepts them too.
    private static boolean isNameChar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    }

    private static boolean isAscii(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) >= 0x80) {
                return false;
            }
        }
        return true;
    }
}
