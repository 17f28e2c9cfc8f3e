package io.sluice.smtp.dkim;

import java.net.IDN;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A mailbox of a From: field value (RFC 5322 §3.4): {@code Name <local@domain>} or
 * {@code local@domain (comment)}, with comments, quoted strings and a group's display name
 * skipped. Not a validator: it finds the domain a signature must match, and how many mailboxes
 * the field names (a signer wants exactly one), nothing more. A value.
 *
 * @param localPart the local part as written (quotes kept)
 * @param domain    the domain, lower case, without a trailing dot
 */
record AuthorAddress(String localPart, String domain) {

    /** The first mailbox of an unfolded From: value, or null when there is none with an {@code @}. */
    static AuthorAddress parse(String value) {
        List<String> specs = addrSpecs(value);
        return specs.isEmpty() ? null : ofAddrSpec(specs.get(0));
    }

    /**
     * The addr-specs of an unfolded From: value (RFC 5322 §3.4 mailbox-list, groups included): one
     * per mailbox, as written; empty when there is none with an {@code @}, or when a {@code <} is
     * left open (a malformed value counts as having no author, so it is not signed).
     */
    static List<String> addrSpecs(String value) {
        List<String> specs = new ArrayList<>(1);
        StringBuilder bare = new StringBuilder(value.length());
        int depth = 0;
        boolean quoted = false;
        int angle = -1;
        boolean taken = false; // this item's <...> was taken: the rest of it is display text
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '\\' && (quoted || depth > 0)) {
                i++; // a quoted-pair: the next character is literal
                if (quoted && i < value.length()) {
                    bare.append(value.charAt(i));
                }
                continue;
            }
            if (depth > 0) {
                depth += c == '(' ? 1 : c == ')' ? -1 : 0;
                continue;
            }
            if (quoted) {
                quoted = c != '"';
                bare.append(c);
                continue;
            }
            switch (c) {
                case '(' -> depth = 1;
                case '"' -> {
                    quoted = true;
                    bare.append(c);
                }
                case '<' -> angle = bare.length(); // a second <...> in one item counts as a second mailbox
                case '>' -> {
                    if (angle >= 0) {
                        specs.add(bare.substring(angle).strip());
                        angle = -1;
                        taken = true;
                    }
                }
                case ':' -> {
                    if (angle < 0) {
                        bare.setLength(0); // a group's display name ends here
                    } else {
                        bare.append(c); // an obsolete route inside <...>
                    }
                }
                case ',', ';' -> {
                    if (angle >= 0) {
                        bare.append(c);
                    } else {
                        // An item without @ is text, not a mailbox: "Doe, John <j@example.org>" is one.
                        addBare(specs, bare, taken);
                        bare.setLength(0);
                        taken = false;
                    }
                }
                default -> bare.append(c);
            }
        }
        if (angle >= 0) {
            return List.of();
        }
        addBare(specs, bare, taken);
        return specs;
    }

    private static void addBare(List<String> specs, StringBuilder bare, boolean taken) {
        String spec = bare.toString().strip();
        if (!taken && spec.contains("@")) {
            specs.add(spec);
        }
    }

    /** The address of one addr-spec, or null when it has no usable domain (see {@link #parse}). */
    static AuthorAddress ofAddrSpec(String spec) {
        int at = spec.lastIndexOf('@');
        if (at <= 0 || at == spec.length() - 1) {
            return null;
        }
        String domain = spec.substring(at + 1).strip(); // lower-cased below: octets of UTF-8 must not change first
        if (domain.endsWith(".")) {
            domain = domain.substring(0, domain.length() - 1);
        }
        if (domain.startsWith("[") || domain.isEmpty()) {
            return null; // an address literal has no DKIM domain
        }
        domain = domain.chars().allMatch(c -> c < 0x80) ? domain.toLowerCase(Locale.ROOT) : aLabels(domain);
        if (domain == null) {
            return null;
        }
        return new AuthorAddress(spec.substring(0, at).strip(), domain);
    }

    /**
     * An internationalized domain (RFC 6532: UTF-8 octets, here one character per octet) in the
     * A-label form keys are configured in; null when it is not valid UTF-8 or IDNA.
     */
    private static String aLabels(String octets) {
        CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        try {
            String unicode = utf8.decode(ByteBuffer.wrap(octets.getBytes(StandardCharsets.ISO_8859_1))).toString();
            return IDN.toASCII(unicode).toLowerCase(Locale.ROOT);
        } catch (CharacterCodingException | IllegalArgumentException e) {
            return null;
        }
    }

    /** True for {@code MAILER-DAEMON} (any case): the sender of our bounces and delay notices. */
    boolean mailerDaemon() {
        return localPart.equalsIgnoreCase("MAILER-DAEMON");
    }
}
