package io.sluice.smtp.server;

import java.util.Set;
import java.util.function.Predicate;

import io.sluice.smtp.protocol.BareNewline;

/**
 * The per-listener rules a {@link SmtpSession} enforces, resolved once from configuration.
 *
 * @param hostname            our name in the greeting, EHLO reply and {@code Received:} lines
 * @param banner              text after the hostname in the 220 greeting
 * @param maxMessageOctets    SIZE limit (0 = unlimited)
 * @param maxRecipients       recipients per message (at least 100, RFC 5321 4.5.3.1.8)
 * @param maxErrors           error replies before {@code 421 4.7.0} and close
 * @param maxHops             {@code Received:} fields a message may carry before {@code 554 5.4.6} (0 = off)
 * @param maxLineOctets       command line limit including CRLF
 * @param maxTextLineOctets   message text line limit including CRLF
 * @param commandTimeoutNanos absolute deadline per command
 * @param dataTimeoutNanos    absolute deadline for the whole DATA (or BDAT) phase
 * @param handshakeTimeoutNanos absolute deadline for a TLS handshake
 * @param greetPauseNanos     silence required before the greeting (0 = greet at once)
 * @param bareNewline         what to do with a bare CR or LF in message text
 * @param localDomains        domains (lower case) accepted from any client
 * @param relayClients        clients allowed to relay to any domain
 * @param tlsRequired         {@code tls.level = encrypt}: commands need STARTTLS first
 * @param binaryMime          offer BINARYMIME (RFC 3030) beside CHUNKING and take {@code BODY=BINARYMIME}
 * @param dsn                 offer DSN (RFC 3461) and take RET, ENVID, NOTIFY and ORCPT
 */
public record SessionSettings(
        String hostname,
        String banner,
        long maxMessageOctets,
        int maxRecipients,
        int maxErrors,
        int maxHops,
        int maxLineOctets,
        int maxTextLineOctets,
        long commandTimeoutNanos,
        long dataTimeoutNanos,
        long handshakeTimeoutNanos,
        long greetPauseNanos,
        BareNewline bareNewline,
        Set<String> localDomains,
        Predicate<java.net.InetAddress> relayClients,
        boolean tlsRequired,
        boolean binaryMime,
        boolean dsn) {

    private static final long SECOND = 1_000_000_000L;

    /** RFC 5321 defaults for {@code hostname}, relaying from loopback only; for tests and the sink. */
    public static SessionSettings defaults(String hostname) {
        return new SessionSettings(hostname, "ESMTP Sluice", 32L << 20, 1000, 10, 50, 512, 1000,
                300 * SECOND, 600 * SECOND, 10 * SECOND, 0, BareNewline.NORMALIZE, Set.of(),
                java.net.InetAddress::isLoopbackAddress, false, true, true);
    }

    public SessionSettings withTlsRequired(boolean required) {
        return new SessionSettings(hostname, banner, maxMessageOctets, maxRecipients, maxErrors,
                maxHops, maxLineOctets, maxTextLineOctets, commandTimeoutNanos, dataTimeoutNanos,
                handshakeTimeoutNanos, greetPauseNanos, bareNewline, localDomains, relayClients,
                required, binaryMime, dsn);
    }
}
